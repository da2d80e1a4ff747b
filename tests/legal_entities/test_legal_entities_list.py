"""GET /legal-entities and POST /legal-entities/search: q, the dedicated filter parameters, paging (16 by default in
this spec), sort, fields and totals. Every q and filter test runs both ways: GET with ?q= and POST with {"q": ...}."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import AUTH_FAILURES, PAGE_BOUNDS, Tokens, assert_refused, run_sql
from tests.legal_entities.helpers import LE_MANAGE, LE_READ_BOTH, Management, bad_body, error

VIA = ("GET", "POST")
KNOWN_FIELDS = (
    "accountLimit.currency, accountLimit.value, id, legalInfo.countryOfRegistration, legalInfo.legalName, "
    "legalInfo.registrationAgency, legalInfo.registrationDate, legalInfo.registrationId, "
    "legalInfo.taxRegistrationNumber, metadata.createdAt, metadata.modifiedAt, metadata.version, metadataCreatedAt, "
    "metadataModifiedAt, mixins, name, parentId, type"
)


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Management:
    return Management(client, tokens, tenant)


def find(
    api: Management,
    via: str,
    q: str | None = None,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """List (GET with ?q=) or search (POST with {"q": ...}) the tenant's legal entities."""
    if via == "GET":
        query = dict(params or {})
        if q is not None:
            query["q"] = q
        return api.request("GET", "/legal-entities", params=query, headers=headers)
    return api.request("POST", "/legal-entities/search", params=params, headers=headers, json={"q": q})


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [doc["id"] for doc in response.json()]


def param_error(name: str, message: str) -> dict[str, Any]:
    return error(400, message, field=name)


@pytest.fixture
def seeded(api: Management, database_url: str) -> Management:
    """A company with two subsidiaries and a second company that differ in every field q and the filters address."""
    api.create_legal_entity(
        id="abc",
        name="ABC Company",
        type="COMPANY",
        legalInfo={
            "legalName": "ABC Company GmbH",
            "registrationDate": "2022-03-31T13:18:02.379Z",
            "registrationAgency": "Comp reg agency",
            "countryOfRegistration": "DE",
            "taxRegistrationNumber": "1234",
            "registrationId": "REG-1",
        },
        accountLimit={"currency": "EUR", "value": 1000.99},
        mixins={"attrs": {"tier": "gold", "size": 5}},
    )
    api.create_legal_entity(
        id="abc-sub",
        name="ABC Subsidiary",
        type="SUBSIDIARY",
        parentId="abc",
        legalInfo={
            "legalName": "ABC Sub Ltd",
            "registrationDate": "2022-03-31T20:00:00Z",
            "registrationAgency": "Sub reg agency",
            "countryOfRegistration": "GB",
            "taxRegistrationNumber": "4311",
            "registrationId": "REG-2",
        },
        accountLimit={"currency": "GBP", "value": 200},
    )
    api.create_legal_entity(
        id="abc-sub2",
        name="Second sub",
        type="SUBSIDIARY",
        parentId="abc",
        legalInfo={"registrationDate": "2023-01-01T00:00:00Z"},
    )
    api.create_legal_entity(
        id="xyz",
        name="XYZ Corp",
        legalInfo={"countryOfRegistration": "US"},
        mixins={"attrs": {"tier": "silver", "size": 12}},
    )
    for legal_entity_id, created in (
        ("abc", "2021-05-19T10:00:00Z"),
        ("abc-sub", "2021-05-21T00:00:00Z"),
        ("abc-sub2", "2023-01-01T00:00:00Z"),
    ):
        run_sql(
            database_url,
            "UPDATE legal_entities SET created_at = $3::text::timestamptz WHERE tenant = $1 AND id = $2",
            api.tenant,
            legal_entity_id,
            created,
        )
    return api


class TestListLegalEntities:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Management, case: str) -> None:
        assert_refused(api, case, "GET", "/legal-entities", valid_scopes=LE_MANAGE, required=LE_READ_BOTH)

    def test_empty_tenant(self, api: Management) -> None:
        response = api.request("GET", "/legal-entities")
        assert response.status_code == 200
        assert response.json() == []
        assert "x-total-count" not in response.headers

    def test_whole_documents(self, api: Management) -> None:
        api.create_legal_entity(id="a", legalInfo={"legalName": "A"}, mixins={"m": 1})
        assert api.request("GET", "/legal-entities").json() == [api.get_legal_entity("a")]


class TestSearchLegalEntities:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Management, case: str) -> None:
        assert_refused(
            api,
            case,
            "POST",
            "/legal-entities/search",
            valid_scopes=LE_MANAGE,
            required=LE_READ_BOTH,
            json={"q": "type:COMPANY"},
        )

    @pytest.mark.parametrize("body", [None, {}, {"q": None}, {"q": ""}, {"q": "   "}])
    def test_without_q_finds_everything(self, seeded: Management, body: Any) -> None:
        response = seeded.request("POST", "/legal-entities/search", json=body, params={"sort": "id"})
        assert ids(response) == ["abc", "abc-sub", "abc-sub2", "xyz"]

    def test_spec_examples(self, seeded: Management) -> None:
        for q, expected in (
            ("type:COMPANY", ["abc", "xyz"]),
            ('name:"ABC Company"', ["abc"]),
            ('metadata.createdAt:(>"2021-05-18T08:00:00.000Z" AND <"2021-05-20T17:30:00.000Z")', ["abc"]),
        ):
            assert ids(seeded.request("POST", "/legal-entities/search", json={"q": q})) == expected

    @pytest.mark.parametrize(
        ("body", "message", "field"),
        [
            ({"q": 5}, "Expected `str | null`, got `int`", "q"),
            (["type:COMPANY"], "Expected `object | null`, got `array`", None),
        ],
    )
    def test_bad_body(self, api: Management, body: Any, message: str, field: str | None) -> None:
        response = api.request("POST", "/legal-entities/search", json=body)
        assert response.status_code == 400
        assert response.json() == bad_body(message, field)

    def test_malformed_json(self, api: Management) -> None:
        response = api.request(
            "POST", "/legal-entities/search", content=b"q=x", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json() == error(400, "JSON is malformed: invalid character (byte 0)")


@pytest.mark.parametrize("via", VIA)
class TestQuery:
    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("type:COMPANY", ["abc", "xyz"]),
            ("type:SUBSIDIARY parentId:abc", ["abc-sub", "abc-sub2"]),
            ("parentId:missing", ["abc", "xyz"]),
            ('name:"ABC Subsidiary"', ["abc-sub"]),
            ("name:~^ABC", ["abc", "abc-sub"]),
            ("id:(abc,xyz,nope)", ["abc", "xyz"]),
            ("legalInfo.legalName:~GmbH", ["abc"]),
            ("legalInfo.legalName:missing", ["abc-sub2", "xyz"]),
            ("legalInfo.countryOfRegistration:(DE,US)", ["abc", "xyz"]),
            ("legalInfo.taxRegistrationNumber:4311", ["abc-sub"]),
            ("legalInfo.registrationAgency:exists", ["abc", "abc-sub"]),
            ("legalInfo.registrationId:REG-1", ["abc"]),
            ('legalInfo.registrationDate:"2022-03-31T13:18:02.379Z"', ["abc"]),
            ("legalInfo.registrationDate:(>=2022-03-31 AND <2022-04-01)", ["abc", "abc-sub"]),
            ("legalInfo.registrationDate:>2022-12-31", ["abc-sub2"]),
            ("accountLimit.currency:EUR", ["abc"]),
            ("accountLimit.value:>500", ["abc"]),
            ("accountLimit.value:(>=200 AND <=1000.99)", ["abc", "abc-sub"]),
            ("mixins.attrs.tier:gold", ["abc"]),
            ("mixins.attrs.size:>6", ["xyz"]),
            ("mixins:missing", ["abc-sub", "abc-sub2"]),
            ('metadata.createdAt:<"2022-01-01T00:00:00Z"', ["abc", "abc-sub"]),
            ('metadataCreatedAt:>"2022-01-01T00:00:00Z"', ["abc-sub2", "xyz"]),
            ("metadata.version:1", ["abc", "abc-sub", "abc-sub2", "xyz"]),
        ],
    )
    def test_q_form(self, seeded: Management, via: str, q: str, expected: list[str]) -> None:
        assert ids(find(seeded, via, q, params={"sort": "id"})) == expected

    @pytest.mark.parametrize(
        ("q", "message"),
        [
            ("foo:bar", f"Unknown field 'foo'; known fields: {KNOWN_FIELDS}."),
            ("legalInfo:exists", f"Unknown field 'legalInfo'; known fields: {KNOWN_FIELDS}."),
            ("name:(a", "Invalid q at position 6: '(' is never closed; add a matching ')'."),
            ("type", "Invalid q at position 5: expected ':' after field name 'type'."),
            ('name:"abc', "Invalid q at position 6: this double quote is never closed; end the value with '\"'."),
            (
                "accountLimit.value:abc",
                "Field 'accountLimit.value' in q expects a number such as 42 or -1.5, got 'abc'.",
            ),
            (
                "legalInfo.registrationDate:abc",
                "Field 'legalInfo.registrationDate' in q expects an ISO 8601 date-time "
                'such as "2021-05-18T07:27:27.455Z" or a date such as 2021-05-18, '
                "got 'abc'.",
            ),
            ("name.en:x", "Field 'name.en' is not valid: 'name' has no sub-fields."),
        ],
    )
    def test_bad_q_is_400(self, seeded: Management, via: str, q: str, message: str) -> None:
        response = find(seeded, via, q)
        assert response.status_code == 400
        assert response.json() == param_error("q", message)


@pytest.mark.parametrize("via", VIA)
class TestFilterParameters:
    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"id": "abc"}, ["abc"]),
            ({"id": "ABC"}, ["abc"]),
            ({"id": "ab"}, []),
            ({"name": "abc"}, ["abc", "abc-sub"]),
            ({"name": "SUB"}, ["abc-sub", "abc-sub2"]),
            ({"type": "SUBSIDIARY"}, ["abc-sub", "abc-sub2"]),
            ({"parentId": "abc"}, ["abc-sub", "abc-sub2"]),
            ({"parentId": "ABC"}, []),
            ({"legalInfo.legalName": "gmbh"}, ["abc"]),
            ({"legalInfo.registrationDate": "2022-03-31"}, ["abc", "abc-sub"]),
            ({"legalInfo.registrationDate": "2022-03-31T13:18:02.379Z"}, ["abc"]),
            ({"legalInfo.registrationDate": "2022-03-31T15:18:02.379+02:00"}, ["abc"]),
            ({"legalInfo.registrationDate": "2022-03-31T13:18:02Z"}, []),
            ({"legalInfo.taxRegistrationNumber": "1234"}, ["abc"]),
            ({"legalInfo.taxRegistrationNumber": "123"}, []),
            ({"legalInfo.registrationAgency": "REG AG"}, ["abc", "abc-sub"]),
            ({"legalInfo.countryOfRegistration": "d"}, ["abc"]),
            ({"legalInfo.registrationId": "REG-2"}, ["abc-sub"]),
            ({"legalInfo.registrationId": "reg-2"}, []),
            ({"name": "abc", "type": "COMPANY"}, ["abc"]),
            ({"name": "%"}, []),
            ({"name": "_"}, []),
        ],
    )
    def test_filter(self, seeded: Management, via: str, params: dict[str, str], expected: list[str]) -> None:
        assert ids(find(seeded, via, params={"sort": "id", **params})) == expected

    def test_filters_and_q_together(self, seeded: Management, via: str) -> None:
        assert ids(find(seeded, via, "accountLimit.value:>100", params={"name": "sub", "sort": "id"})) == ["abc-sub"]

    def test_unknown_type_is_400(self, api: Management, via: str) -> None:
        response = find(api, via, params={"type": "PERSON"})
        assert response.status_code == 400
        assert response.json() == param_error("type", "Invalid query parameter 'type': Invalid enum value 'PERSON'.")

    @pytest.mark.parametrize("value", ["yesterday", "2022-13-01", "31.03.2022"])
    def test_bad_registration_date_is_400(self, api: Management, via: str, value: str) -> None:
        response = find(api, via, params={"legalInfo.registrationDate": value})
        assert response.status_code == 400
        assert response.json() == param_error(
            "legalInfo.registrationDate",
            f"Invalid legalInfo.registrationDate '{value}': expected an ISO 8601 "
            "date-time such as 2022-03-31T13:18:02.379Z or a date such as 2022-03-31.",
        )


@pytest.mark.parametrize("via", VIA)
class TestPagingSortAndTotals:
    def test_default_page_size_is_16(self, api: Management, via: str, database_url: str) -> None:
        run_sql(
            database_url,
            "INSERT INTO legal_entities (tenant, id, name, type, created_at, modified_at)"
            " SELECT $1, 'le' || lpad(i::text, 4, '0'), 'x', 'COMPANY', now(), now()"
            " FROM generate_series(1, 1001) AS i",
            api.tenant,
        )
        response = find(api, via, headers={"X-Total-Count": "true"})
        assert ids(response) == [f"le{n:04d}" for n in range(1, 17)]
        assert response.headers["X-Total-Count"] == "1001"
        assert len(ids(find(api, via, params={"pageSize": "5000"}))) == 1000

    def test_pages(self, api: Management, via: str) -> None:
        for n in range(1, 8):
            api.create_legal_entity(id=f"le{n}")
        pages = [
            ids(find(api, via, params={"sort": "id:asc", "pageSize": "3", "pageNumber": str(p)})) for p in (1, 2, 3, 4)
        ]
        assert pages == [["le1", "le2", "le3"], ["le4", "le5", "le6"], ["le7"], []]

    @pytest.mark.parametrize("page", ["1", "2", "3"])
    def test_total_counts_all_matches_on_every_page(self, api: Management, via: str, page: str) -> None:
        for n in range(1, 6):
            api.create_legal_entity(id=f"le{n}", type="COMPANY" if n % 2 else "SUBSIDIARY")
        response = find(
            api, via, "type:COMPANY", params={"pageSize": "1", "pageNumber": page}, headers={"X-Total-Count": "true"}
        )
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "3"

    def test_no_total_unless_asked(self, api: Management, via: str) -> None:
        api.create_legal_entity(id="a")
        assert "X-Total-Count" not in find(api, via, headers={"X-Total-Count": "false"}).headers

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("pageSize", "0"),
            ("pageSize", "-1"),
            ("pageSize", "abc"),
            ("pageNumber", "0"),
            ("pageNumber", "x"),
        ],
    )
    def test_not_a_positive_integer_is_400(self, api: Management, via: str, name: str, value: str) -> None:
        response = find(api, via, params={name: value})
        assert response.status_code == 400
        assert response.json() == param_error(name, f"Invalid {name} '{value}': expected {PAGE_BOUNDS[name]}.")

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("name", ["abc", "abc-sub", "abc-sub2", "xyz"]),
            ("name:desc", ["xyz", "abc-sub2", "abc-sub", "abc"]),
            ("type:DESC,name:ASC", ["abc-sub", "abc-sub2", "abc", "xyz"]),
            ("accountLimit.value:asc", ["abc-sub", "abc", "abc-sub2", "xyz"]),
            ("legalInfo.registrationDate:desc", ["abc-sub2", "abc-sub", "abc", "xyz"]),
            ("metadata.createdAt:desc", ["xyz", "abc-sub2", "abc-sub", "abc"]),
        ],
    )
    def test_sort(self, seeded: Management, via: str, sort: str, expected: list[str]) -> None:
        assert ids(find(seeded, via, params={"sort": sort})) == expected

    @pytest.mark.parametrize(
        ("sort", "message"),
        [
            ("foo", f"Invalid sort: Unknown field 'foo'; known fields: {KNOWN_FIELDS}."),
            ("name:up", "Invalid sort 'name:up': the direction must be ASC or DESC."),
        ],
    )
    def test_bad_sort_is_400(self, api: Management, via: str, sort: str, message: str) -> None:
        response = find(api, via, params={"sort": sort})
        assert response.status_code == 400
        assert response.json() == param_error("sort", message)

    def test_fields(self, seeded: Management, via: str) -> None:
        response = find(seeded, via, "type:COMPANY", params={"sort": "id", "fields": "name,legalInfo.legalName"})
        assert response.json() == [
            {"id": "abc", "name": "ABC Company", "legalInfo": {"legalName": "ABC Company GmbH"}},
            {"id": "xyz", "name": "XYZ Corp"},
        ]
