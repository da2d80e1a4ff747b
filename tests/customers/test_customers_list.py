"""GET /customers and POST /customers/search over HTTP: q, paging, sort, totals and expand. Every q test runs both
ways: as the `q` query parameter and as `{"q": ...}` in a search body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import READ, CustomerApi, bad_request
from tests.factories import PAGE_BOUNDS, SERVICE_TOKEN_FAILURES, Tokens, assert_refused, run_sql

VIA = ("GET", "POST")
KNOWN_FIELDS = (
    "active, company, contactEmail, customerNumber, firstName, id, lastName, metadata.createdAt, "
    "metadata.modifiedAt, metadata.version, metadataCreatedAt, metadataModifiedAt, mixins, "
    "preferredLanguage, title"
)


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    return CustomerApi(client, tokens, tenant)


@pytest.fixture
def seeded(api: CustomerApi, database_url: str) -> CustomerApi:
    """Four customers that differ in every field q can address; creation times fixed."""
    api.create_customer(
        id="ann",
        contactEmail="ann@example.com",
        firstName="Ann",
        lastName="Lee",
        title="MS",
        company="Acme",
        preferredLanguage="en_US",
        mixins={"loyalty": {"level": 5}},
    )
    api.create_customer(
        id="bob",
        contactEmail="bob@example.com",
        firstName="Bob",
        lastName="Zed",
        active=False,
        preferredLanguage="de_DE",
    )
    api.create_customer(
        id="cid",
        contactEmail="cid@shop.org",
        firstName="Cid",
        lastName="Abe",
        company="Acme",
        mixins={"loyalty": {"level": 12}},
    )
    api.create_customer(id="dee", firstName="Dee")
    for customer_id, created in (
        ("ann", "2021-05-19T10:00:00Z"),
        ("bob", "2021-05-21T00:00:00Z"),
        ("cid", "2023-01-01T00:00:00Z"),
        ("dee", "2024-01-01T00:00:00Z"),
    ):
        run_sql(
            database_url,
            "UPDATE customers SET created_at = $3::text::timestamptz WHERE tenant = $1 AND id = $2",
            api.tenant,
            customer_id,
            created,
        )
    return api


def find(
    api: CustomerApi,
    via: str,
    q: str | None = None,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
) -> httpx.Response:
    if via == "GET":
        query = dict(params or {})
        if q is not None:
            query["q"] = q
        return api.request("GET", "/customers", params=query, headers=headers, token=token)
    return api.request("POST", "/customers/search", params=params, headers=headers, json={"q": q}, token=token)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [doc["id"] for doc in response.json()]


def param_error(name: str, message: str) -> dict[str, Any]:
    return bad_request(message, field=name, type="invalid_query_parameter")


class TestListCustomers:
    @pytest.mark.parametrize("case", SERVICE_TOKEN_FAILURES)
    def test_refused(self, api: CustomerApi, case: str) -> None:
        assert_refused(api, case, "GET", "/customers", required=READ)

    def test_empty_tenant(self, api: CustomerApi) -> None:
        response = api.request("GET", "/customers")
        assert response.status_code == 200
        assert response.json() == []
        assert "x-total-count" not in response.headers

    def test_whole_documents_ordered_by_id(self, seeded: CustomerApi) -> None:
        body = seeded.request("GET", "/customers").json()
        assert [doc["id"] for doc in body] == ["ann", "bob", "cid", "dee"]
        assert body[0] == seeded.get_customer("ann")
        assert "mixins" not in body[0]

    def test_expand_mixins(self, seeded: CustomerApi) -> None:
        body = seeded.request("GET", "/customers", params={"expand": "mixin:*", "q": "id:ann"}).json()
        assert body[0]["mixins"] == {"loyalty": {"level": 5}}

    def test_read_scope_alone_is_enough(self, seeded: CustomerApi) -> None:
        assert len(ids(find(seeded, "GET", token=seeded.tokens.service(seeded.tenant, READ)))) == 4

    def test_other_tenants_are_not_listed(
        self, seeded: CustomerApi, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        assert ids(find(CustomerApi(client, tokens, "o" + seeded.tenant[1:]), "GET")) == []


class TestSearchCustomers:
    @pytest.mark.parametrize("case", SERVICE_TOKEN_FAILURES)
    def test_refused(self, api: CustomerApi, case: str) -> None:
        assert_refused(api, case, "POST", "/customers/search", required=READ, json={"q": "firstName:John"})

    def test_spec_example(self, api: CustomerApi) -> None:
        api.create_customer(id="john", firstName="John")
        api.create_customer(id="jane", firstName="Jane")
        assert ids(find(api, "POST", "firstName:John")) == ["john"]

    @pytest.mark.parametrize("body", [None, {}, {"q": None}])
    def test_without_q_lists_everything(self, seeded: CustomerApi, body: Any) -> None:
        response = seeded.request("POST", "/customers/search", json=body)
        assert ids(response) == ["ann", "bob", "cid", "dee"]


@pytest.mark.parametrize("via", VIA)
class TestQuery:
    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("contactEmail:ann@example.com", ["ann"]),
            ("contactEmail:~example", ["ann", "bob"]),
            ("company:Acme", ["ann", "cid"]),
            ("company:Acme lastName:Abe", ["cid"]),
            ("active:false", ["bob"]),
            ("active:true", ["ann", "cid", "dee"]),
            ("company:null", ["bob", "dee"]),
            ("contactEmail:missing", ["dee"]),
            ("id:(ann,dee)", ["ann", "dee"]),
            ("customerNumber:bob", ["bob"]),
            ("preferredLanguage:de_DE", ["bob"]),
            ("title:MS", ["ann"]),
            ("mixins.loyalty.level:>6", ["cid"]),
            ("mixins.loyalty:exists", ["ann", "cid"]),
            ('metadata.createdAt:(>="2021-05-18T00:00:00Z" AND <"2021-05-20T00:00:00Z")', ["ann"]),
            ('metadataCreatedAt:>"2022-01-01T00:00:00Z"', ["cid", "dee"]),
            ("metadata.version:1", ["ann", "bob", "cid", "dee"]),
        ],
    )
    def test_q(self, seeded: CustomerApi, via: str, q: str, expected: list[str]) -> None:
        assert ids(find(seeded, via, q)) == expected

    def test_unknown_field_is_400(self, seeded: CustomerApi, via: str) -> None:
        response = find(seeded, via, "email:ann@example.com")
        assert response.status_code == 400
        assert response.json() == param_error("q", f"Unknown field 'email'; known fields: {KNOWN_FIELDS}.")

    def test_bad_syntax_is_400(self, seeded: CustomerApi, via: str) -> None:
        response = find(seeded, via, "id:(ann")
        assert response.status_code == 400
        assert response.json() == param_error("q", "Invalid q at position 4: '(' is never closed; add a matching ')'.")

    def test_wrong_value_type_is_400(self, seeded: CustomerApi, via: str) -> None:
        response = find(seeded, via, "metadata.version:x")
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "q"


@pytest.mark.parametrize("via", VIA)
class TestPagingAndSorting:
    def test_pages(self, seeded: CustomerApi, via: str) -> None:
        pages = [ids(find(seeded, via, params={"pageNumber": n, "pageSize": 3})) for n in (1, 2, 3)]
        assert pages == [["ann", "bob", "cid"], ["dee"], []]

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("lastName:DESC", ["bob", "ann", "cid", "dee"]),
            ("company:asc,firstName:desc", ["cid", "ann", "dee", "bob"]),
            ("metadata.createdAt:DESC", ["dee", "cid", "bob", "ann"]),
            ("active", ["bob", "ann", "cid", "dee"]),
        ],
    )
    def test_sort(self, seeded: CustomerApi, via: str, sort: str, expected: list[str]) -> None:
        assert ids(find(seeded, via, params={"sort": sort})) == expected

    def test_unknown_sort_field_is_400(self, seeded: CustomerApi, via: str) -> None:
        response = find(seeded, via, params={"sort": "email:ASC"})
        assert response.status_code == 400
        assert response.json() == param_error(
            "sort", f"Invalid sort: Unknown field 'email'; known fields: {KNOWN_FIELDS}."
        )

    @pytest.mark.parametrize(("name", "value"), [("pageSize", "0"), ("pageNumber", "0"), ("pageSize", "x")])
    def test_bad_paging_is_400(self, seeded: CustomerApi, via: str, name: str, value: str) -> None:
        response = find(seeded, via, params={name: value})
        assert response.status_code == 400
        assert response.json() == param_error(name, f"Invalid {name} '{value}': expected {PAGE_BOUNDS[name]}.")

    @pytest.mark.parametrize(
        ("params", "total"),
        [({}, "4"), ({"pageSize": 1, "pageNumber": 2}, "4"), ({"pageSize": 3, "pageNumber": 2}, "4")],
    )
    def test_total_count_when_asked(self, seeded: CustomerApi, via: str, params: dict[str, Any], total: str) -> None:
        response = find(seeded, via, params=params, headers={"X-Total-Count": "true"})
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == total

    def test_total_of_a_filtered_list(self, seeded: CustomerApi, via: str) -> None:
        response = find(seeded, via, "company:Acme", headers={"X-Total-Count": "true"})
        assert response.headers["X-Total-Count"] == "2"

    def test_invalid_expand_is_400(self, seeded: CustomerApi, via: str) -> None:
        response = find(seeded, via, params={"expand": "everything"})
        assert response.status_code == 400
        assert response.json() == param_error(
            "expand", "Invalid expand 'everything': use mixin:* (or mixin:<name>), addresses or accounts."
        )
