"""GET /categories and POST /categories/search over HTTP: filters, q, paging, sort, totals, languages, visibility."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.category_helpers import (
    READ_FAILURES,
    READ_UNPUBLISHED,
    UNPUBLISHED_FORBIDDEN,
    Categories,
    assert_error,
    error,
)
from tests.factories import PAGE_BOUNDS, Tokens, assert_refused, run_sql

VIA = ("GET", "POST")
KNOWN_FIELDS = (
    "code, id, localizedDescription, localizedName, localizedSlug, metadata.createdAt, metadata.mixins, "
    "metadata.modifiedAt, metadata.version, metadataCreatedAt, metadataModifiedAt, mixins, parentId, "
    "position, published, type, validity.from, validity.to"
)


@pytest.fixture
def categories(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Categories:
    return Categories(client, tokens, tenant)


def find(
    categories: Categories, via: str, q: str | None = None, *, params: dict[str, Any] | None = None, **kwargs: Any
) -> httpx.Response:
    """List (GET with ?q=) or search (POST with {"q": ...})."""
    if via == "GET":
        query = dict(params or {})
        if q is not None:
            query["q"] = q
        return categories.request("GET", "/categories", params=query, **kwargs)
    return categories.request("POST", "/categories/search", params=params, json={} if q is None else {"q": q}, **kwargs)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()]


class TestListCategories:
    @pytest.mark.parametrize("case", READ_FAILURES)
    @pytest.mark.parametrize("via", VIA)
    def test_refused(self, categories: Categories, case: str, via: str) -> None:
        path = "/categories" if via == "GET" else "/categories/search"
        assert_refused(categories, case, via, path, valid_scopes=(), required=(), json={})

    @pytest.mark.parametrize("via", VIA)
    def test_published_only_unless_asked(self, categories: Categories, via: str) -> None:
        categories.create(id="a")
        categories.create(id="u", published=False)
        assert ids(find(categories, via)) == ["a"]
        assert ids(find(categories, via, params={"showUnpublished": "true"})) == ["a", "u"]
        token = categories.storefront("anonymous")
        assert ids(find(categories, via, token=token)) == ["a"]
        assert_error(find(categories, via, params={"showUnpublished": "true"}, token=token), UNPUBLISHED_FORBIDDEN)
        token = categories.without(READ_UNPUBLISHED)
        assert_error(find(categories, via, params={"showUnpublished": "true"}, token=token), UNPUBLISHED_FORBIDDEN)

    @pytest.mark.parametrize("via", VIA)
    def test_show_roots(self, categories: Categories, via: str) -> None:
        categories.create(id="r")
        categories.create(id="c", parentId="r")
        assert ids(find(categories, via, params={"showRoots": "true"})) == ["r"]

    @pytest.mark.parametrize("via", VIA)
    def test_q(self, categories: Categories, via: str) -> None:
        categories.create(id="a", code="A1", localizedName={"en": "Shoes"}, position=2)
        categories.create(id="b", code="B1", localizedName={"en": "Boots"}, parentId="a", position=1)
        assert ids(find(categories, via, "code:A1")) == ["a"]
        assert ids(find(categories, via, "localizedName.en:~Bo")) == ["b"]
        assert ids(find(categories, via, "parentId:a")) == ["b"]
        assert ids(find(categories, via, "position:>=2")) == ["a"]
        assert ids(find(categories, via, "id:(a,b) published:true")) == ["a", "b"]

    @pytest.mark.parametrize("via", VIA)
    def test_unknown_q_field(self, categories: Categories, via: str) -> None:
        message = f"Unknown field 'nope'; known fields: {KNOWN_FIELDS}."
        assert_error(find(categories, via, "nope:1"), error(400, message, field="q"))

    @pytest.mark.parametrize("via", VIA)
    def test_bad_q_syntax(self, categories: Categories, via: str) -> None:
        response = find(categories, via, "code")
        assert response.status_code == 400
        assert response.json()["details"][0].startswith("q: ")

    @pytest.mark.parametrize("via", VIA)
    def test_paging_and_total(self, categories: Categories, via: str) -> None:
        for n in range(5):
            categories.create(id=f"c{n}")
        response = find(categories, via, params={"pageSize": "2", "pageNumber": "2"}, headers={"X-Total-Count": "true"})
        assert ids(response) == ["c2", "c3"]
        assert response.headers["X-Total-Count"] == "5"
        assert "X-Total-Count" not in find(categories, via).headers

    def test_default_page_size_is_60(self, categories: Categories, database_url: str) -> None:
        run_sql(
            database_url,
            "INSERT INTO categories (tenant, id, parent_id, localized_name, published) "
            "SELECT $1, 'c' || lpad(n::text, 3, '0'), NULL, '{\"en\": \"x\"}', true "
            "FROM generate_series(1, 61) AS n",
            categories.tenant,
        )
        assert len(ids(find(categories, "GET"))) == 60

    @pytest.mark.parametrize("via", VIA)
    @pytest.mark.parametrize("size", ["0", "-1", "x"])
    def test_invalid_page_size(self, categories: Categories, via: str, size: str) -> None:
        assert_error(
            find(categories, via, params={"pageSize": size}),
            error(400, f"Invalid pageSize '{size}': expected {PAGE_BOUNDS['pageSize']}.", field="pageSize"),
        )

    @pytest.mark.parametrize("via", VIA)
    def test_sort(self, categories: Categories, via: str) -> None:
        categories.create(id="a", localizedName={"en": "Zebra", "de": "Apfel"}, position=1)
        categories.create(id="b", localizedName={"en": "Apple", "de": "Zebra"}, position=0)
        assert ids(find(categories, via, params={"sort": "position:ASC"})) == ["b", "a"]
        assert ids(find(categories, via, params={"sort": "localizedName.en:DESC"})) == ["a", "b"]
        # A localized field without a language sorts by the Accept-Language's first choice, else the default (en).
        assert ids(find(categories, via, params={"sort": "localizedName"})) == ["b", "a"]
        assert ids(find(categories, via, params={"sort": "localizedName"}, headers={"Accept-Language": "de"})) == [
            "a",
            "b",
        ]

    @pytest.mark.parametrize("via", VIA)
    @pytest.mark.parametrize("field", ["nope", "name"])
    def test_unknown_sort_field(self, categories: Categories, via: str, field: str) -> None:
        message = f"Invalid sort: Unknown field '{field}'; known fields: {KNOWN_FIELDS}."
        assert_error(find(categories, via, params={"sort": f"{field}:ASC"}), error(400, message, field="sort"))

    @pytest.mark.parametrize("via", VIA)
    def test_accept_language_narrows(self, categories: Categories, via: str) -> None:
        categories.create(
            id="a", localizedName={"en": "Shoes", "de": "Schuhe"}, localizedSlug={"en": "shoes", "de": "schuhe"}
        )
        (doc,) = find(categories, via, headers={"Accept-Language": "de"}).json()
        assert (doc["localizedName"], doc["localizedSlug"], doc["name"]) == (
            {"de": "Schuhe"},
            {"de": "schuhe"},
            "Shoes",
        )
        (doc,) = find(categories, via, headers={"Accept-Language": "*"}).json()
        assert doc["localizedName"] == {"en": "Shoes", "de": "Schuhe"}

    def test_search_without_body(self, categories: Categories) -> None:
        categories.create(id="a")
        assert ids(categories.request("POST", "/categories/search")) == ["a"]

    def test_search_malformed_json(self, categories: Categories) -> None:
        response = categories.request(
            "POST", "/categories/search", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert_error(response, error(400, "Input data was truncated"))

    def test_search_q_of_wrong_type(self, categories: Categories) -> None:
        response = categories.request("POST", "/categories/search", json={"q": 5})
        assert_error(
            response,
            error(400, "Validation problem with request body: Expected `str | null`, got `int` (at 'q').", field="q"),
        )


class TestListFilters:
    def test_code_is_exact_and_case_insensitive(self, categories: Categories) -> None:
        categories.create(id="a", code="Shoes")
        categories.create(id="b", code="Shoes2")
        assert categories.ids("/categories?code=shoes") == ["a"]

    def test_ecn_is_exact(self, categories: Categories) -> None:
        categories.create(id="a", ecn=["E1", "E2"])
        categories.create(id="b", ecn=["e2"])
        assert categories.ids("/categories?ecn=E2") == ["a"]
        assert categories.ids("/categories?ecn=E") == []

    @pytest.mark.parametrize("field", ["localizedName", "localizedDescription", "localizedSlug"])
    def test_localized_filters_match_in_the_accepted_languages(self, categories: Categories, field: str) -> None:
        categories.create(id="a", **{field: {"en": "shoes", "de": "schuhe"}})
        categories.create(id="b", **{field: {"en": "boots"}})
        assert categories.ids(f"/categories?{field}=SCHUHE") == ["a"]
        assert categories.ids(f"/categories?{field}=schuhe", headers={"Accept-Language": "en"}) == []
        assert categories.ids(f"/categories?{field}=schuhe", headers={"Accept-Language": "de, en;q=0.5"}) == ["a"]

    def test_dates(self, categories: Categories) -> None:
        categories.create(id="a", validity={"from": "2022-11-01T10:00:00Z", "to": "2023-01-31T10:00:00Z"})
        categories.create(id="b", validity={"from": "2022-10-31T23:00:00Z", "to": "2023-02-01T00:00:00Z"})
        assert categories.ids("/categories?validityFrom=2022-11-01") == ["a"]
        assert categories.ids("/categories?validityTo=2023-01-31") == ["a"]
        assert categories.ids("/categories?metadataModifiedAt=2000-01-01") == ["a", "b"]
        assert categories.ids("/categories?metadataModifiedAt=2999-01-01") == []

    @pytest.mark.parametrize("name", ["validityFrom", "validityTo", "metadataModifiedAt"])
    @pytest.mark.parametrize("value", ["2022-13-01", "01.11.2022", "2022-11-01T00:00:00Z"])
    def test_invalid_dates(self, categories: Categories, name: str, value: str) -> None:
        response = categories.request("GET", f"/categories?{name}={value}")
        assert_error(
            response,
            error(400, f"Invalid {name} '{value}': expected a date as yyyy-MM-dd, e.g. 2022-11-01.", field=name),
        )

    def test_filters_combine(self, categories: Categories) -> None:
        categories.create(id="a", code="X", ecn=["E"])
        categories.create(id="b", code="Y", ecn=["F"])
        assert categories.ids("/categories?code=x&ecn=E") == ["a"]
        assert categories.ids("/categories?code=x&ecn=F") == []
