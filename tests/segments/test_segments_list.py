"""GET /segments and POST /segments/search over HTTP (operations 2 and 3): q, paging, sort, fields, totals and
languages. Every q test runs both ways: as the `q` query parameter and as `{"q": ...}` in a search body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.factories import AUTH_FAILURES, PAGE_BOUNDS, Api, assert_refused, run_sql, segment_body, segment_error

MANAGE = ("customersegment.segment_manage",)
READ = ("customersegment.segment_read", "customersegment.segment_read_own")
VIA = ("GET", "POST")
KNOWN_FIELDS = (
    "description, id, metadata.createdAt, metadata.modifiedAt, metadata.version, metadataCreatedAt, "
    "metadataModifiedAt, mixins, name, siteCode, status, validity.from, validity.to"
)


def find(
    api: Api,
    via: str,
    q: str | None = None,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """List (GET with ?q=) or search (POST with {"q": ...}) the tenant's segments."""
    if via == "GET":
        query = dict(params or {})
        if q is not None:
            query["q"] = q
        return api.request("GET", "/segments", params=query, headers=headers)
    return api.request("POST", "/segments/search", params=params, headers=headers, json={"q": q})


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [doc["id"] for doc in response.json()]


def q_error(message: str) -> dict[str, Any]:
    return segment_error(400, message, field="q", type="invalid_query_parameter")


def param_error(name: str, message: str) -> dict[str, Any]:
    return segment_error(400, message, field=name, type="invalid_query_parameter")


@pytest.fixture
def seeded(api: Api, database_url: str) -> Api:
    """Four segments that differ in every field q can address; creation times set to fixed dates (delta: now)."""
    api.create_segment(
        id="alpha",
        name={"en": "Alpha", "de": "Alfa"},
        description={"en": "First one"},
        validity={"from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
        mixins={"attrs": {"level": 5, "tier": "gold", "flag": True}},
    )
    api.create_segment(
        id="beta", name={"en": "Beta gamma"}, description=None, status="INACTIVE", siteCode="other", validity=None
    )
    api.create_segment(
        id="gamma",
        name={"en": "Gamma"},
        description={"en": "Third"},
        validity={"from": "2099-01-01T00:00:00Z"},
        mixins={"attrs": {"level": 12, "tier": "silver"}},
    )
    api.create_segment(
        id="delta",
        name={"en": "Delta", "fr": "Delta FR"},
        description={"en": "Fourth"},
        status="INACTIVE",
        siteCode="b2b site",
        validity={"from": "2021-05-19T00:00:00Z", "to": "2022-01-01T00:00:00Z"},
        mixins={"attrs": {"level": 5}, "other": {"x": "y"}},
    )
    for segment_id, created in (
        ("alpha", "2021-05-19T10:00:00Z"),
        ("beta", "2021-05-21T00:00:00Z"),
        ("gamma", "2023-01-01T00:00:00Z"),
    ):
        run_sql(
            database_url,
            "UPDATE segments SET created_at = $3::text::timestamptz WHERE tenant = $1 AND id = $2",
            api.tenant,
            segment_id,
            created,
        )
    return api


class TestListSegments:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Api, case: str) -> None:
        assert_refused(api, case, "GET", "/segments", valid_scopes=MANAGE, required=READ)

    def test_empty_tenant(self, api: Api) -> None:
        response = api.request("GET", "/segments")
        assert response.status_code == 200
        assert response.json() == []
        assert "x-total-count" not in response.headers

    def test_whole_documents(self, api: Api) -> None:
        api.create_segment(id="a")
        body = api.request("GET", "/segments").json()
        assert body == [api.request("GET", "/segments/a").json()]


class TestSearchSegments:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Api, case: str) -> None:
        assert_refused(
            api, case, "POST", "/segments/search", valid_scopes=MANAGE, required=READ, json={"q": "siteCode:main"}
        )

    @pytest.mark.parametrize("body", [None, {}, {"q": None}, {"q": ""}, {"q": "   "}])
    def test_without_q_finds_everything(self, seeded: Api, body: Any) -> None:
        response = seeded.request("POST", "/segments/search", json=body, params={"sort": "id"})
        assert ids(response) == ["alpha", "beta", "delta", "gamma"]

    def test_empty_body(self, seeded: Api) -> None:
        response = seeded.request("POST", "/segments/search", params={"sort": "id"})
        assert ids(response) == ["alpha", "beta", "delta", "gamma"]

    @pytest.mark.parametrize(
        ("body", "message", "field"),
        [
            ({"q": 5}, "Expected `str | null`, got `int` (at 'q')", "q"),
            (["siteCode:main"], "Expected `object | null`, got `array`", None),
        ],
    )
    def test_bad_body(self, api: Api, body: Any, message: str, field: str | None) -> None:
        response = api.request("POST", "/segments/search", json=body)
        assert response.status_code == 400
        assert response.json() == segment_error(
            400, f"Validation problem with request body: {message}.", field=field, type="invalid_value"
        )

    def test_malformed_json(self, api: Api) -> None:
        response = api.request("POST", "/segments/search", content=b"q=x", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json() == segment_error(400, "JSON is malformed: invalid character (byte 0)")


@pytest.mark.parametrize("via", VIA)
class TestQuery:
    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("status:ACTIVE", ["alpha", "gamma"]),
            ('status:"INACTIVE"', ["beta", "delta"]),
            ('siteCode:"b2b site"', ["delta"]),
            ("siteCode:main status:ACTIVE", ["alpha", "gamma"]),
            ("siteCode:main   status:INACTIVE", []),
            ("id:alpha", ["alpha"]),
            ("id:unknown", []),
            ("id:(alpha,gamma,unknown)", ["alpha", "gamma"]),
            ('id:("alpha", "delta")', ["alpha", "delta"]),
            ("description:null", ["beta"]),
            ("description:missing", ["beta"]),
            ("description:exists", ["alpha", "delta", "gamma"]),
            ("description.en:Third", ["gamma"]),
            ("mixins:missing", ["beta"]),
            ("mixins:exists", ["alpha", "delta", "gamma"]),
            ("mixins.other:exists", ["delta"]),
            ("mixins.other.x:y", ["delta"]),
            ("mixins.attrs.level:5", ["alpha", "delta"]),
            ('mixins.attrs.level:"5"', ["alpha", "delta"]),
            ("mixins.attrs.level:>5", ["gamma"]),
            ("mixins.attrs.level:(>=5 AND <12)", ["alpha", "delta"]),
            ("mixins.attrs.tier:(gold,silver)", ["alpha", "gamma"]),
            ("mixins.attrs.tier:~^s", ["gamma"]),
            ("mixins.attrs.flag:true", ["alpha"]),
            ("mixins.attrs.tier:missing", ["beta", "delta"]),
            ("name.en:Gamma", ["gamma"]),
            ('name.en:"Beta gamma"', ["beta"]),
            ("name.en:~amm", ["beta", "gamma"]),
            ("name.en:~^G", ["gamma"]),
            ("name.en:(~a g)", ["beta"]),
            ("name.en:~(a g)", ["beta"]),
            ("name.en:~(Alpha|Delta)", ["alpha", "delta"]),
            ("name.de:Alfa", ["alpha"]),
            ("name.fr:exists", ["delta"]),
            ("name.de:missing", ["beta", "delta", "gamma"]),
            ("name:Alfa", ["alpha"]),
            ("validity.from:null", ["beta"]),
            ("validity.to:missing", ["beta", "gamma"]),
            ("validity.to:exists", ["alpha", "delta"]),
            ('validity.from:>"2021-01-01T00:00:00.000Z"', ["delta", "gamma"]),
            ('validity.from:>="2021-05-19T00:00:00Z"', ["delta", "gamma"]),
            ('validity.from:<"2021-05-19T00:00:00Z"', ["alpha"]),
            ('validity.from:<="2021-05-19T00:00:00Z"', ["alpha", "delta"]),
            ('validity.from:(>="2020-01-01T00:00:00Z" AND <"2021-05-19T00:00:00Z")', ["alpha"]),
            ('validity.from:"2021-05-19T02:00:00+02:00"', ["delta"]),
            ("validity.from:2020-01-01", ["alpha"]),
            ("validity.to:<=2022-01-01", ["delta"]),
            ('metadataCreatedAt:(>="2021-05-18T07:27:27.455Z" AND <"2021-05-20T07:27:27.455Z")', ["alpha"]),
            ('metadata.createdAt:(>="2021-05-18T07:27:27.455Z" AND <"2021-05-20T07:27:27.455Z")', ["alpha"]),
            ('metadata.createdAt:>"2022-12-31T00:00:00Z"', ["delta", "gamma"]),
            ('metadata.createdAt:<"2021-06-01T00:00:00Z"', ["alpha", "beta"]),
            ('metadata.createdAt:<"2000-01-01T00:00:00Z"', []),
            ("metadata.version:1", ["alpha", "beta", "delta", "gamma"]),
            ("metadata.version:>1", []),
            ("status:ACTIVE mixins.attrs.level:5 name.de:exists", ["alpha"]),
        ],
    )
    def test_q_form(self, seeded: Api, via: str, q: str, expected: list[str]) -> None:
        assert ids(find(seeded, via, q, params={"sort": "id"})) == expected

    def test_version_after_changes(self, seeded: Api, via: str) -> None:
        seeded.request("PUT", "/segments/beta", json=segment_body(siteCode="other"))
        assert ids(find(seeded, via, "metadata.version:>1")) == ["beta"]
        assert ids(find(seeded, via, "metadata.version:2 siteCode:other")) == ["beta"]

    @pytest.mark.parametrize(
        ("q", "message"),
        [
            ("foo:bar", f"Unknown field 'foo'; known fields: {KNOWN_FIELDS}."),
            ("status:ACTIVE validity:exists", f"Unknown field 'validity'; known fields: {KNOWN_FIELDS}."),
            ("name:(a", "Invalid q at position 6: '(' is never closed; add a matching ')'."),
            ("name:", "Invalid q at position 6: expected a value after 'name:'."),
            (":x", "Invalid q at position 1: expected a field name before ':'."),
            ("status", "Invalid q at position 7: expected ':' after field name 'status'."),
            ('name.en:"abc', "Invalid q at position 9: this double quote is never closed; end the value with '\"'."),
            ("name.en:~[", "Invalid q at position 10: unclosed '[' in the regex."),
            ("name.en:~(a", "Invalid q at position 10: unbalanced '(' in the regex."),
            ("id:()", "Invalid q at position 5: the list for 'id' is empty; give at least one value, e.g. id:(a,b)."),
            (
                "validity.from:abc",
                "Field 'validity.from' in q expects an ISO 8601 date-time such as "
                "\"2021-05-18T07:27:27.455Z\" or a date such as 2021-05-18, got 'abc'.",
            ),
            ("metadata.version:abc", "Field 'metadata.version' in q expects a number such as 42 or -1.5, got 'abc'."),
            ("status.x:1", "Field 'status.x' is not valid: 'status' has no sub-fields."),
            (
                "name.en.x:1",
                "Field 'name.en.x' is not valid: 'name' is localized, so add exactly one language tag such "
                "as 'name.en' or 'name.de-CH'.",
            ),
            (
                "validity.from:~2020",
                "Field 'validity.from' in q holds date-times; regex (~) works only on text fields.",
            ),
            (
                "mixins:1",
                "Field 'mixins' in q supports only exists and missing; address a key inside it such as "
                "'mixins.someKey'.",
            ),
            (
                "name.en:~a{1,99999}",
                "Invalid q at position 11: the regular expression for 'name.en' has the repetition "
                "count {1,99999}; a count may be at most 100.",
            ),
            ("name.en:~a{3,2}", "Invalid q: invalid regular expression: invalid repetition count(s)."),
            ("name.en:~(?", "Invalid q at position 10: unbalanced '(' in the regex."),
        ],
    )
    def test_bad_q_is_400(self, seeded: Api, via: str, q: str, message: str) -> None:
        response = find(seeded, via, q)
        assert response.status_code == 400
        assert response.json() == q_error(message)

    def test_nul_in_q_is_400(self, api: Api, via: str) -> None:
        response = find(api, via, 'name.en:"a\u0000"')
        assert response.status_code == 400
        assert response.json() == q_error("q must not contain NUL characters.")


@pytest.mark.parametrize("via", VIA)
class TestPagingAndTotals:
    def test_pages(self, api: Api, via: str) -> None:
        for n in range(1, 8):
            api.create_segment(id=f"s{n}")
        pages = [
            ids(find(api, via, params={"sort": "id:asc", "pageSize": "3", "pageNumber": str(p)})) for p in (1, 2, 3, 4)
        ]
        assert pages == [["s1", "s2", "s3"], ["s4", "s5", "s6"], ["s7"], []]

    def test_pages_without_sort_are_disjoint_and_complete(self, api: Api, via: str) -> None:
        for n in range(1, 8):
            api.create_segment(id=f"s{n}")
        seen = [i for p in (1, 2, 3) for i in ids(find(api, via, params={"pageSize": "3", "pageNumber": str(p)}))]
        assert sorted(seen) == [f"s{n}" for n in range(1, 8)]

    @pytest.mark.parametrize("page", ["1", "2", "3", "4"])
    def test_total_counts_all_matches_on_every_page(self, api: Api, via: str, page: str) -> None:
        for n in range(1, 8):
            api.create_segment(id=f"s{n}", status="ACTIVE" if n % 2 else "INACTIVE")
        response = find(
            api, via, "status:ACTIVE", params={"pageSize": "1", "pageNumber": page}, headers={"X-Total-Count": "true"}
        )
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "4"

    @pytest.mark.parametrize(("value", "expected"), [("true", "1"), ("TRUE", "1"), ("True", "1")])
    def test_total_only_when_asked(self, api: Api, via: str, value: str, expected: str) -> None:
        api.create_segment(id="a")
        assert find(api, via, headers={"X-Total-Count": value}).headers["X-Total-Count"] == expected

    @pytest.mark.parametrize("headers", [{}, {"X-Total-Count": "false"}, {"X-Total-Count": "1"}])
    def test_no_total_unless_true(self, api: Api, via: str, headers: dict[str, str]) -> None:
        api.create_segment(id="a")
        response = find(api, via, headers=headers)
        assert ids(response) == ["a"]
        assert "X-Total-Count" not in response.headers

    def test_total_of_no_match_is_zero(self, api: Api, via: str) -> None:
        api.create_segment(id="a")
        assert find(api, via, "id:b", headers={"X-Total-Count": "true"}).headers["X-Total-Count"] == "0"

    def test_default_size_and_clamp(self, api: Api, via: str, database_url: str) -> None:
        run_sql(
            database_url,
            "INSERT INTO segments (tenant, id, name, status, site_code, created_at, modified_at)"
            " SELECT $1, 'seg' || lpad(i::text, 4, '0'), '{\"en\": \"x\"}'::jsonb, 'ACTIVE', 'main', now(), now()"
            " FROM generate_series(1, 1001) AS i",
            api.tenant,
        )
        total = {"X-Total-Count": "true"}
        default = find(api, via, headers=total)
        assert len(ids(default)) == 60
        assert default.headers["X-Total-Count"] == "1001"
        assert len(ids(find(api, via, params={"pageSize": "1000"}))) == 1000
        clamped = find(api, via, params={"pageSize": "5000", "sort": "id"})
        assert ids(clamped) == [f"seg{n:04d}" for n in range(1, 1001)]
        assert ids(find(api, via, params={"pageSize": "5000", "pageNumber": "2"})) == ["seg1001"]

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("pageSize", "0"),
            ("pageSize", "-1"),
            ("pageSize", "abc"),
            ("pageSize", "1.5"),
            ("pageSize", " "),
            ("pageNumber", "0"),
            ("pageNumber", "-2"),
            ("pageNumber", "x"),
        ],
    )
    def test_not_a_positive_integer_is_400(self, api: Api, via: str, name: str, value: str) -> None:
        response = find(api, via, params={name: value})
        assert response.status_code == 400
        assert response.json() == param_error(name, f"Invalid {name} '{value}': expected {PAGE_BOUNDS[name]}.")

    def test_absurd_page_number_is_400(self, api: Api, via: str) -> None:
        response = find(api, via, params={"pageNumber": "99999999999999999999"})
        assert response.status_code == 400
        assert response.json() == param_error(
            "pageNumber", "Invalid pageNumber '99999999999999999999': expected an integer from 1 to 10000000."
        )


@pytest.mark.parametrize("via", VIA)
class TestSortFieldsLanguages:
    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("name.en:asc", ["alpha", "beta", "delta", "gamma"]),
            ("name.en", ["alpha", "beta", "delta", "gamma"]),
            ("name.en:DESC", ["gamma", "delta", "beta", "alpha"]),
            ("name.en:desc", ["gamma", "delta", "beta", "alpha"]),
            ("name.en:Desc", ["gamma", "delta", "beta", "alpha"]),
            ("siteCode:asc,name.en:desc", ["delta", "gamma", "alpha", "beta"]),
            ("status:desc,id:asc", ["beta", "delta", "alpha", "gamma"]),
            ("metadata.createdAt:desc", ["delta", "gamma", "beta", "alpha"]),
            ("metadataCreatedAt:asc", ["alpha", "beta", "gamma", "delta"]),
            ("validity.from:asc", ["alpha", "delta", "gamma", "beta"]),
            ("validity.from:desc", ["gamma", "delta", "alpha", "beta"]),
            ("id:desc", ["gamma", "delta", "beta", "alpha"]),
            (" id : desc ", ["gamma", "delta", "beta", "alpha"]),
        ],
    )
    def test_sort(self, seeded: Api, via: str, sort: str, expected: list[str]) -> None:
        assert ids(find(seeded, via, params={"sort": sort})) == expected

    def test_sort_with_q_and_paging(self, seeded: Api, via: str) -> None:
        response = find(seeded, via, "siteCode:main", params={"sort": "name.en:desc", "pageSize": "1"})
        assert ids(response) == ["gamma"]

    @pytest.mark.parametrize(
        ("sort", "message"),
        [
            ("foo", f"Invalid sort: Unknown field 'foo'; known fields: {KNOWN_FIELDS}."),
            ("name.en:up", "Invalid sort 'name.en:up': the direction must be ASC or DESC."),
            ("name.en:ascending", "Invalid sort 'name.en:ascending': the direction must be ASC or DESC."),
            ("status.x:asc", "Invalid sort: Field 'status.x' is not valid: 'status' has no sub-fields."),
        ],
    )
    def test_bad_sort_is_400(self, seeded: Api, via: str, sort: str, message: str) -> None:
        response = find(seeded, via, params={"sort": sort})
        assert response.status_code == 400
        assert response.json() == param_error("sort", message)

    def test_fields(self, seeded: Api, via: str) -> None:
        response = find(
            seeded, via, "status:ACTIVE", params={"sort": "id", "fields": "name.en,metadata.version,mixins.attrs.level"}
        )
        assert response.json() == [
            {"id": "alpha", "name": {"en": "Alpha"}, "metadata": {"version": 1}, "mixins": {"attrs": {"level": 5}}},
            {"id": "gamma", "name": {"en": "Gamma"}, "metadata": {"version": 1}, "mixins": {"attrs": {"level": 12}}},
        ]

    def test_fields_id_only(self, seeded: Api, via: str) -> None:
        response = find(seeded, via, params={"sort": "id", "fields": "id"})
        assert response.json() == [{"id": "alpha"}, {"id": "beta"}, {"id": "delta"}, {"id": "gamma"}]

    @pytest.mark.parametrize(
        ("accept", "names"),
        [
            ("de", [{"de": "Alfa"}, {"en": "Beta gamma"}, {"en": "Delta"}, {"en": "Gamma"}]),
            ("fr;q=0.9, de;q=0.8", [{"de": "Alfa"}, {"en": "Beta gamma"}, {"fr": "Delta FR"}, {"en": "Gamma"}]),
            (
                "*",
                [
                    {"en": "Alpha", "de": "Alfa"},
                    {"en": "Beta gamma"},
                    {"en": "Delta", "fr": "Delta FR"},
                    {"en": "Gamma"},
                ],
            ),
        ],
    )
    def test_accept_language(self, seeded: Api, via: str, accept: str, names: list[dict[str, str]]) -> None:
        response = find(seeded, via, params={"sort": "id", "fields": "name"}, headers={"Accept-Language": accept})
        assert [doc["name"] for doc in response.json()] == names
