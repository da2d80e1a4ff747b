"""Bad input never reaches the client as a 500 or as driver wording: regexes PostgreSQL would choke on are refused on
every list that takes q, database errors input provokes are 400s, every integer query parameter names its bounds, and
q on a field of the spec the service does not store answers 200 (nothing matches, missing matches everything)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from segment_service.core.db import input_error
from segment_service.core.errors import BadRequest
from tests.factories import Tokens

ALLOC_REGEX = r"((\w{1,200}){1,200})"
ALLOC_MESSAGE = (
    r"Invalid q at position 9: the regular expression for 'id' has the repetition count {1,200}; a count "
    "may be at most 100."
)

#: Every list that takes q, with the error-body family of its service.
LISTS = [
    ("/customer-segment/{t}/segments", "segment"),
    ("/customer-segment/{t}/segments/s1/customers", "segment"),
    ("/customer-segment/{t}/segments/s1/items", "segment"),
    ("/customer/{t}/customers", "coupon"),
    ("/customer-management/{t}/legal-entities", "category"),
    ("/customer-management/{t}/contact-assignments", "category"),
    ("/product/{t}/products", "product"),
    ("/category/{t}/categories", "category"),
    ("/coupon/{t}/coupons", "coupon"),
    ("/coupon/{t}/coupons/C1/redemptions", "coupon"),
]


def bad_q_body(family: str, message: str) -> dict[str, Any]:
    detail = {"field": "q", "type": "invalid_query_parameter", "message": message}
    if family == "coupon":
        return {"status": 400, "type": "validation_violation", "message": message, "details": [detail]}
    if family == "category":
        return {"code": 400, "status": "Bad Request", "message": message, "details": [f"q: {message}"]}
    if family == "product":
        return {"code": 400, "status": "Bad Request", "message": message, "details": [detail]}
    return {"code": 400, "status": "Bad Request", "message": message, "details": detail}


def auth(tokens: Tokens, tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.service(tenant)}"}


@pytest.fixture
def seeded(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> str:
    headers = auth(tokens, tenant)
    assert (
        client.post(
            f"/customer-segment/{tenant}/segments",
            headers=headers,
            json={"id": "s1", "name": {"en": "x"}, "siteCode": "main"},
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/coupon/{tenant}/coupons",
            headers=headers,
            json={
                "code": "C1",
                "name": "x",
                "discountType": "ABSOLUTE",
                "discountAbsolute": {"amount": 10, "currency": "USD"},
            },
        ).status_code
        == 201
    )
    return tenant


@pytest.mark.parametrize(("path", "family"), LISTS)
def test_a_regex_beyond_the_bound_is_400_on_every_list(
    client: TestClient[Litestar], tokens: Tokens, seeded: str, path: str, family: str
) -> None:
    response = client.get(path.format(t=seeded), params={"q": f"id:~{ALLOC_REGEX}"}, headers=auth(tokens, seeded))
    assert (response.status_code, response.json()) == (400, bad_q_body(family, ALLOC_MESSAGE))


def database_error(database_url: str, query: str, *args: Any) -> BaseException:
    """The exception PostgreSQL (or the driver) raises for `query`, as a handler would see it."""

    async def run() -> BaseException:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.fetchval(query, *args)
        except Exception as exc:
            return exc
        finally:
            await conn.close()
        raise AssertionError(f"{query} did not fail")

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("query", "args", "message"),
    [
        # XX000: the regex the bound now refuses, sent straight to PostgreSQL.
        (
            "SELECT 'x' ~ $1",
            (ALLOC_REGEX,),
            "Invalid q: the query is too complex for the database (for example a regular "
            "expression with too many repetitions); simplify it.",
        ),
        # 2201B
        ("SELECT 'x' ~ $1", ("a{3,2}",), "Invalid q: invalid regular expression: invalid repetition count(s)."),
        # 54000 program_limit_exceeded
        (
            "SELECT array_fill(1, ARRAY[2000000000])",
            (),
            "The request is beyond what the database can process: array size "
            "exceeds the maximum allowed (134217727). Send smaller values or a simpler query.",
        ),
        # The driver's own refusal ("invalid input for query argument $1 ... int32 range") never shows.
        (
            "SELECT $1::integer",
            (2**31,),
            "Invalid input: a value is outside the range the service can store or compare.",
        ),
        # Class 22
        ("SELECT 1 / $1::integer", (0,), "Invalid input: division by zero."),
    ],
)
def test_database_errors_bad_input_provokes_are_400(
    database_url: str, query: str, args: tuple[Any, ...], message: str
) -> None:
    error = input_error(database_error(database_url, query, *args))
    assert isinstance(error, BadRequest)
    assert error.message == message
    assert "$" not in error.message


def integer_parameters(client: TestClient[Litestar]) -> list[tuple[str, str]]:
    """(path, name) of every integer query parameter of every GET operation, from the OpenAPI document."""
    found = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            schema = parameter.get("schema", {})
            types = {schema.get("type"), *(s.get("type") for s in schema.get("oneOf", []))}
            if parameter["in"] == "query" and ("integer" in types or parameter["name"] in ("pageNumber", "pageSize")):
                found.append((path, parameter["name"]))
    return found


BOUNDS = {
    "pageNumber": "an integer from 1 to 10000000",
    "depth": "an integer from 1 to 1000",
    "pageSize": "an integer of at least 1 (above 1000, 1000 is used)",
}


def test_every_integer_parameter_names_its_bounds(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> None:
    headers = auth(tokens, tenant)
    assert (
        client.post(
            f"/category/{tenant}/categories",
            headers=headers,
            json={"id": "c1", "localizedName": {"en": "x"}, "published": True},
        ).status_code
        == 201
    )
    parameters = integer_parameters(client)
    assert {name for _, name in parameters} == set(BOUNDS)
    ids = {
        "tenant": tenant,
        "segmentId": "s1",
        "categoryId": "c1",
        "code": "C1",
        "customerNumber": "x",
        "legalEntityId": "x",
        "rootId": "c1",
        "referenceId": "p1",
    }
    # The customer's own order lists take customer tokens only (docs/orders.md#scopes-and-token-kinds).
    customer_headers = {"Authorization": f"Bearer {tokens.customer(tenant, 'x')}"}
    checked = 0
    for path, name in parameters:
        url = path.format(**ids)
        storefront = path.startswith(("/order-v2/{tenant}/orders", "/order-v2/{tenant}/legal-entity-orders"))
        for value in ("2147483648", "-1", "99999999999999999999"):
            response = client.get(url, params={name: value}, headers=customer_headers if storefront else headers)
            if response.status_code == 404:  # an operation whose resource the walk did not create
                continue
            text = response.text
            assert "query argument" not in text
            assert "int32" not in text
            if name == "pageSize" and value != "-1":
                assert response.status_code in (200, 403), (url, text)
                continue
            assert response.status_code == 400, (url, name, value, text)
            assert response.json()["message"] == f"Invalid {name} '{value}': expected {BOUNDS[name]}."
            checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    ("path", "q", "expected"),
    [
        ("/product/{t}/products", "productType:BASIC", []),
        ("/product/{t}/products", "parentVariantId:p0", []),
        ("/product/{t}/products", "productType:(BASIC,VARIANT)", []),
        ("/product/{t}/products", "template.id:x", []),
        ("/product/{t}/products", "parentVariantId:exists", []),
        ("/product/{t}/products", "parentVariantId:missing", ["p1"]),
        ("/product/{t}/products", "productType:null code:p1", ["p1"]),
        ("/customer/{t}/customers", "middleName:x", []),
        ("/customer-management/{t}/legal-entities", "approvalGroup:x", []),
        ("/category/{t}/categories", "classificationMixins.x:~a", []),
    ],
)
def test_a_field_of_the_spec_that_is_not_stored_matches_as_absent(
    client: TestClient[Litestar], tokens: Tokens, tenant: str, path: str, q: str, expected: list[str]
) -> None:
    headers = auth(tokens, tenant)
    assert (
        client.post(
            f"/product/{tenant}/products",
            headers=headers,
            json={"id": "p1", "code": "p1", "name": {"en": "x"}, "published": True},
        ).status_code
        == 201
    )
    response = client.get(path.format(t=tenant), params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    assert [doc["id"] for doc in response.json()] == expected


def test_a_truly_unknown_field_stays_400(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> None:
    response = client.get(f"/product/{tenant}/products", params={"q": "colour:red"}, headers=auth(tokens, tenant))
    assert response.status_code == 400
    assert response.json()["message"].startswith("Unknown field 'colour'; known fields: code, description, id, ")
    assert "productType" not in response.json()["message"]
