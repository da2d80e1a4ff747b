"""GET /products and POST /products/search over HTTP: q, paging, sort, fields, totals and languages. Every q test runs
both ways: as the `q` query parameter and as `{"q": ...}` in a search body."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import AUTH_FAILURES, PAGE_BOUNDS, Tokens, assert_refused, run_sql
from tests.products.helpers import Products

VIA = ("GET", "POST")
KNOWN_FIELDS = (
    "code, description, id, metadata.createdAt, metadata.mixins, metadata.modifiedAt, metadata.version, "
    "metadataCreatedAt, metadataModifiedAt, mixins, name, published"
)
READ_FAILURES = tuple(case for case in AUTH_FAILURES if case != "missing scope")


def product_error(
    status: int, message: str, *, field: str | None = None, type: str = "invalid_query_parameter"
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if field is not None:
        body["details"] = [{"field": field, "type": type, "message": message}]
    return body


def find(
    products: Products,
    via: str,
    q: str | None = None,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """List (GET with ?q=) or search (POST with {"q": ...}) the tenant's products."""
    if via == "GET":
        query = dict(params or {})
        if q is not None:
            query["q"] = q
        return products.request("GET", "", params=query, headers=headers)
    return products.request("POST", "/search", params=params, headers=headers, json={"q": q})


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [doc["id"] for doc in response.json()]


@pytest.fixture
def seeded(client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str) -> Products:
    """Four products that differ in every field q can address; creation times set to fixed dates."""
    products = Products(client, tokens, tenant)
    bodies: list[dict[str, Any]] = [
        {
            "id": "alpha",
            "code": "A-100",
            "name": {"en": "Alpha phone", "de": "Alpha Telefon"},
            "description": {"en": "First"},
            "published": True,
            "mixins": {"attrs": {"level": 5, "tier": "gold"}},
            "metadata": {"mixins": {"attrs": "https://example.com/attrs.json"}},
        },
        {
            "id": "beta",
            "code": "B-200",
            "name": {"en": "Beta", "de": "Zeta"},
            "published": True,
            "mixins": {"attrs": {"level": 12}},
        },
        {"id": "gamma", "code": "C 300", "name": {"en": "Gamma"}, "description": {"en": "Third"}},
        {"id": "delta", "code": "D-400", "name": {"en": "Delta", "de": "Anfang"}, "published": True},
    ]
    for body in bodies:
        response = products.request("POST", "", json=body)
        assert response.status_code == 201, response.text
    for _ in range(2):
        assert products.request("PATCH", "/delta", json={}).status_code == 204
    for product_id, created in (
        ("alpha", "2021-05-19T10:00:00Z"),
        ("beta", "2021-05-21T00:00:00Z"),
        ("gamma", "2023-01-01T00:00:00Z"),
    ):
        run_sql(
            database_url,
            "UPDATE products SET created_at = $3::text::timestamptz WHERE tenant = $1 AND id = $2",
            tenant,
            product_id,
            created,
        )
    return products


class TestListAndSearchProducts:
    @pytest.mark.parametrize("via", VIA)
    @pytest.mark.parametrize("case", READ_FAILURES)
    def test_refused(self, seeded: Products, via: str, case: str) -> None:
        method, path = ("GET", "") if via == "GET" else ("POST", "/search")
        assert_refused(
            seeded, case, method, path, valid_scopes=(), required=(), **({"json": {}} if via == "POST" else {})
        )

    @pytest.mark.parametrize("via", VIA)
    def test_everything_in_id_order(self, seeded: Products, via: str) -> None:
        assert ids(find(seeded, via)) == ["alpha", "beta", "delta", "gamma"]

    def test_search_without_a_body_or_with_an_empty_one(self, seeded: Products) -> None:
        assert ids(seeded.request("POST", "/search")) == ["alpha", "beta", "delta", "gamma"]
        assert ids(seeded.request("POST", "/search", json={})) == ["alpha", "beta", "delta", "gamma"]

    @pytest.mark.parametrize("via", VIA)
    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            # Storefronts fetch the products of their segments by id lists (docs/behaviour.md#the-q-language).
            ("id:(gamma,alpha,nope)", ["alpha", "gamma"]),
            ('id:("beta", delta)', ["beta", "delta"]),
            ("id:alpha", ["alpha"]),
            ('code:"C 300"', ["gamma"]),
            ("code:(A-100,D-400)", ["alpha", "delta"]),
            ("code:~^[AB]-", ["alpha", "beta"]),
            ("code:(~C 3)", ["gamma"]),
            ("name.en:Gamma", ["gamma"]),
            ("name:Zeta", ["beta"]),
            ("name.de:~(^A)", ["alpha", "delta"]),
            ("name.en:~(phone$)", ["alpha"]),
            ("published:true", ["alpha", "beta", "delta"]),
            ("published:false", ["gamma"]),
            ("description:missing", ["beta", "delta"]),
            ("description.en:null", ["beta", "delta"]),
            ("description:exists", ["alpha", "gamma"]),
            ("metadata.version:3", ["delta"]),
            ("metadata.version:(>=1 AND <3)", ["alpha", "beta", "gamma"]),
            ('metadataCreatedAt:(>="2021-05-18T00:00:00Z" AND <"2021-05-22T00:00:00Z")', ["alpha", "beta"]),
            ('metadata.createdAt:>"2022-01-01"', ["delta", "gamma"]),
            ("mixins.attrs.level:5", ["alpha"]),
            ("mixins.attrs.level:>10", ["beta"]),
            ("mixins.attrs.tier:exists", ["alpha"]),
            ("mixins:missing", ["delta", "gamma"]),
            ("metadata.mixins.attrs:exists", ["alpha"]),
            ("published:true name.de:~A metadata.version:1", ["alpha"]),
        ],
    )
    def test_q(self, seeded: Products, via: str, q: str, expected: list[str]) -> None:
        assert ids(find(seeded, via, q)) == expected

    @pytest.mark.parametrize("via", VIA)
    @pytest.mark.parametrize(
        ("q", "message"),
        [
            ("colour:red", f"Unknown field 'colour'; known fields: {KNOWN_FIELDS}."),
            ("published:maybe", "Field 'published' in q expects true or false, got 'maybe'."),
            (
                "published:~tr",
                "Field 'published' in q is a boolean; use published:true, published:false, "
                "published:null, published:exists or published:missing.",
            ),
            ("metadata.version:two", "Field 'metadata.version' in q expects a number such as 42 or -1.5, got 'two'."),
            ("id:(a,b", "Invalid q at position 4: '(' is never closed; add a matching ')'."),
            (
                "name.en.x:y",
                "Field 'name.en.x' is not valid: 'name' is localized, so add exactly one language tag such "
                "as 'name.en' or 'name.de-CH'.",
            ),
        ],
    )
    def test_invalid_q(self, seeded: Products, via: str, q: str, message: str) -> None:
        response = find(seeded, via, q)
        assert response.status_code == 400
        assert response.json() == product_error(400, message, field="q")

    @pytest.mark.parametrize("via", VIA)
    def test_paging_and_total(self, seeded: Products, via: str) -> None:
        total = {"X-Total-Count": "true"}
        response = find(seeded, via, params={"pageSize": "3", "pageNumber": "2"}, headers=total)
        assert ids(response) == ["gamma"]
        assert response.headers["X-Total-Count"] == "4"
        response = find(seeded, via, "published:true", params={"pageSize": "2"}, headers=total)
        assert ids(response) == ["alpha", "beta"]
        assert response.headers["X-Total-Count"] == "3"
        assert "X-Total-Count" not in find(seeded, via).headers

    @pytest.mark.parametrize("via", VIA)
    @pytest.mark.parametrize(
        ("sort", "language", "expected"),
        [
            ("code:DESC", None, ["delta", "gamma", "beta", "alpha"]),
            ("published:asc,code:desc", None, ["gamma", "delta", "beta", "alpha"]),
            # A localized field without a language sorts in the Accept-Language's first choice, else the default
            # language (product.yml, `sort`); products without that language come last.
            ("name", None, ["alpha", "beta", "delta", "gamma"]),
            ("name:DESC", "*", ["gamma", "delta", "beta", "alpha"]),
            ("name:ASC", "de, en;q=0.5", ["alpha", "delta", "beta", "gamma"]),
            ("name.en:DESC", "de", ["gamma", "delta", "beta", "alpha"]),
            ("metadata.version:DESC,id", None, ["delta", "alpha", "beta", "gamma"]),
        ],
    )
    def test_sort(self, seeded: Products, via: str, sort: str, language: str | None, expected: list[str]) -> None:
        headers = None if language is None else {"Accept-Language": language}
        assert ids(find(seeded, via, params={"sort": sort}, headers=headers)) == expected

    @pytest.mark.parametrize("via", VIA)
    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({"sort": "colour"}, "sort", f"Invalid sort: Unknown field 'colour'; known fields: {KNOWN_FIELDS}."),
            ({"sort": "code:UP"}, "sort", "Invalid sort 'code:UP': the direction must be ASC or DESC."),
            ({"pageSize": "0"}, "pageSize", f"Invalid pageSize '0': expected {PAGE_BOUNDS['pageSize']}."),
            ({"pageNumber": "x"}, "pageNumber", "Invalid pageNumber 'x': expected an integer from 1 to 10000000."),
        ],
    )
    def test_invalid_parameters(
        self, seeded: Products, via: str, params: dict[str, str], field: str, message: str
    ) -> None:
        response = find(seeded, via, params=params)
        assert response.status_code == 400
        assert response.json() == product_error(400, message, field=field)

    @pytest.mark.parametrize("via", VIA)
    def test_fields_and_accept_language(self, seeded: Products, via: str) -> None:
        response = find(
            seeded, via, "id:(alpha,gamma)", params={"fields": "name,published"}, headers={"Accept-Language": "de"}
        )
        assert response.status_code == 200, response.text
        assert response.json() == [
            {"id": "alpha", "name": {"de": "Alpha Telefon"}, "published": True},
            {"id": "gamma", "name": {"en": "Gamma"}, "published": False},
        ]

    def test_long_id_lists(self, seeded: Products, database_url: str) -> None:
        """q is capped at 4,000 characters (core.query), so one id list holds up to 159 generated (24-hex) ids."""
        run_sql(
            database_url,
            "INSERT INTO products (tenant, id, code, name, published, created_at, modified_at)"
            " SELECT $1, substr(md5(n::text), 1, 24), 'code-' || n, '{\"en\": \"x\"}', true, now(), now()"
            " FROM generate_series(1, 200) AS n",
            seeded.tenant,
        )
        stored = [
            r["id"]
            for r in run_sql(
                database_url,
                "SELECT id FROM products WHERE tenant = $1 AND id <> ALL($2) ORDER BY id",
                seeded.tenant,
                ["alpha", "beta", "gamma", "delta"],
            )
        ]
        q = f"id:({','.join(stored[:159])})"
        assert len(q) <= 4000
        response = seeded.request(
            "POST", "/search", params={"pageSize": "1000"}, json={"q": q}, headers={"X-Total-Count": "true"}
        )
        assert ids(response) == stored[:159]
        assert response.headers["X-Total-Count"] == "159"
        response = seeded.request("POST", "/search", json={"q": f"id:({','.join(['a'] * 1001)})"})
        assert response.status_code == 400
        assert response.json() == product_error(400, "The list for 'id' in q has more than 1000 values.", field="q")
