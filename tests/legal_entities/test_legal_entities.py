"""Single legal-entity operations over HTTP: POST /legal-entities, GET/PUT /legal-entities/{legalEntityId}.

DELETE, parents and cascades are in test_legal_entities_hierarchy.py, lists and search in
test_legal_entities_list.py, customer tokens and tenants in test_legal_entities_visibility.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import AUTH_FAILURES, ISO_MILLIS, Tokens, assert_refused
from tests.legal_entities.helpers import (
    COMPANY_EXAMPLE,
    LE_MANAGE,
    LE_READ,
    LE_READ_BOTH,
    Management,
    bad_body,
    customer_token,
    error,
    missing_field,
)

META = {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1}
#: COMPANY_EXAMPLE as it is stored: entitiesAddresses and approvalGroup are not kept (no locations here).
COMPANY_STORED = {k: v for k, v in COMPANY_EXAMPLE.items() if k not in ("entitiesAddresses", "approvalGroup")}


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Management:
    return Management(client, tokens, tenant)


def not_found(legal_entity_id: str) -> dict[str, Any]:
    return error(404, f"The legal entity with id '{legal_entity_id}' does not exist.", resource_id=legal_entity_id)


class TestCreateLegalEntity:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Management, case: str) -> None:
        assert_refused(
            api,
            case,
            "POST",
            "/legal-entities",
            valid_scopes=LE_READ_BOTH,
            required=LE_MANAGE,
            json={"id": "nope", "name": "Nope"},
        )
        assert api.request("GET", "/legal-entities/nope").status_code == 404

    def test_customer_token_cannot_create(self, api: Management, app: Litestar) -> None:
        response = api.request(
            "POST", "/legal-entities", token=customer_token(app, api.tenant, "c1"), json={"name": "Mine"}
        )
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): customermanagement.legalentity_manage.")
        assert api.ids("/legal-entities") == []

    def test_generated_id_and_minimal_document(self, api: Management) -> None:
        response = api.request("POST", "/legal-entities", json={"name": "ABC Company"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert list(body) == ["id"]
        assert re.fullmatch(r"[0-9a-f]{24}", body["id"])
        # `type` defaults to COMPANY (legalEntityCreate).
        assert api.get_legal_entity(body["id"]) == {
            "id": body["id"],
            "name": "ABC Company",
            "type": "COMPANY",
            "metadata": META,
        }

    def test_spec_example_is_stored_whole(self, api: Management) -> None:
        legal_entity_id = api.create_legal_entity(**COMPANY_EXAMPLE)
        doc = api.get_legal_entity(legal_entity_id)
        assert doc == {"id": legal_entity_id, **COMPANY_STORED, "metadata": META}
        assert list(doc) == [
            "id",
            "name",
            "type",
            "accountLimit",
            "legalInfo",
            "customerGroups",
            "restrictions",
            "metadata",
        ]
        assert list(doc["legalInfo"]) == [
            "legalName",
            "registrationDate",
            "taxRegistrationNumber",
            "registrationAgency",
            "countryOfRegistration",
            "registrationId",
        ]
        assert list(doc["accountLimit"]) == ["currency", "value"]

    def test_created_and_modified_at_are_equal_on_create(self, api: Management) -> None:
        metadata = api.get_legal_entity(api.create_legal_entity())["metadata"]
        assert metadata["createdAt"] == metadata["modifiedAt"]

    def test_mixins_and_metadata_mixins_round_trip(self, api: Management) -> None:
        mixins = {"companyAttributes": {"size": "LARGE", "employees": 1200, "tags": ["a", "b"]}}
        metadata = {"mixins": {"companyAttributes": "https://example.com/companyAttributes.json"}}
        api.create_legal_entity(id="mx", mixins=mixins, metadata=metadata)
        doc = api.get_legal_entity("mx")
        assert doc["mixins"] == mixins
        assert doc["metadata"] == {**META, **metadata}

    def test_version_sent_on_create_is_ignored(self, api: Management) -> None:
        api.create_legal_entity(id="v", metadata={"version": 7})
        assert api.get_legal_entity("v")["metadata"]["version"] == 1

    def test_nulls_and_empty_objects_are_left_out(self, api: Management) -> None:
        api.create_legal_entity(
            id="n",
            parentId=None,
            legalInfo={"legalName": None},
            accountLimit={},
            customerGroups=None,
            restrictions=None,
            mixins=None,
            metadata=None,
        )
        assert api.get_legal_entity("n") == {"id": "n", "name": "n", "type": "COMPANY", "metadata": META}

    def test_registration_date_is_stored_in_utc_with_milliseconds(self, api: Management) -> None:
        api.create_legal_entity(id="tz", legalInfo={"registrationDate": "2022-03-31T15:18:02.3795+02:00"})
        assert api.get_legal_entity("tz")["legalInfo"] == {"registrationDate": "2022-03-31T13:18:02.379Z"}

    def test_customer_groups_keep_name_and_role(self, api: Management) -> None:
        groups = [{"id": "g1", "name": {"en": "Buyers"}, "role": "BUYER"}, {"id": "g2"}]
        api.create_legal_entity(id="g", customerGroups=groups)
        assert api.get_legal_entity("g")["customerGroups"] == groups

    @pytest.mark.parametrize("legal_entity_id", ["custom-ID_1", "x" * 66, "A", "627e06ecf0452c2d6c0b81391"])
    def test_custom_id_accepted(self, api: Management, legal_entity_id: str) -> None:
        response = api.request("POST", "/legal-entities", json={"id": legal_entity_id, "name": "N"})
        assert response.status_code == 201, response.text
        assert response.json() == {"id": legal_entity_id}
        assert api.get_legal_entity(legal_entity_id)["id"] == legal_entity_id

    def test_ids_are_case_sensitive(self, api: Management) -> None:
        api.create_legal_entity(id="Dup", name="upper")
        api.create_legal_entity(id="dup", name="lower")
        assert api.get_legal_entity("Dup")["name"] == "upper"
        assert api.get_legal_entity("dup")["name"] == "lower"

    def test_duplicate_id_is_409_and_keeps_the_first(self, api: Management) -> None:
        api.create_legal_entity(id="dup", name="first")
        response = api.request("POST", "/legal-entities", json={"id": "dup", "name": "second"})
        assert response.status_code == 409
        assert response.json() == error(409, "The resource already exists.", resource_id="dup")
        assert api.get_legal_entity("dup")["name"] == "first"

    def test_search_is_a_reserved_id(self, api: Management) -> None:
        response = api.request("POST", "/legal-entities", json={"id": "search", "name": "N"})
        assert response.status_code == 400
        assert response.json() == error(
            400, "Invalid id 'search': it is reserved by the API's paths (search).", field="id"
        )

    @pytest.mark.parametrize("legal_entity_id", ["a b", "x" * 67, "", "a/b", "ä", "a.b"])
    def test_invalid_id_is_400(self, api: Management, legal_entity_id: str) -> None:
        response = api.request("POST", "/legal-entities", json={"id": legal_entity_id, "name": "N"})
        assert response.status_code == 400
        message = f"Invalid id '{legal_entity_id}': use 1 to 66 characters of letters, digits, '_' and '-'."
        assert response.json() == error(400, message, field="id")
        assert api.ids("/legal-entities") == []

    def test_malformed_json(self, api: Management) -> None:
        response = api.request(
            "POST", "/legal-entities", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json() == error(400, "JSON is malformed: object keys must be strings (byte 1)")

    def test_missing_body(self, api: Management) -> None:
        response = api.request("POST", "/legal-entities")
        assert response.status_code == 400
        assert response.json() == error(400, "The request body is missing; send a JSON body.")

    def test_missing_name(self, api: Management) -> None:
        response = api.request("POST", "/legal-entities", json={"type": "COMPANY"})
        assert response.status_code == 400
        assert response.json() == missing_field("name")
        assert api.ids("/legal-entities") == []

    def test_customer_group_without_id(self, api: Management) -> None:
        response = api.request("POST", "/legal-entities", json={"name": "N", "customerGroups": [{"name": {}}]})
        assert response.status_code == 400
        assert response.json() == error(
            400,
            "Validation problem with request body: Object missing required field `id` (at 'customerGroups[0]').",
            field="customerGroups[0].id",
        )

    @pytest.mark.parametrize(
        ("overrides", "message", "field"),
        [
            ({"name": 5}, "Expected `str`, got `int`", "name"),
            ({"name": ""}, "Expected `str` of length >= 1", "name"),
            ({"type": "PERSON"}, "Invalid enum value 'PERSON'", "type"),
            ({"type": "company"}, "Invalid enum value 'company'", "type"),
            ({"id": 5}, "Expected `str`, got `int`", "id"),
            ({"parentId": 5}, "Expected `str | null`, got `int`", "parentId"),
            ({"parentId": ""}, "Expected `str` of length >= 1", "parentId"),
            ({"legalInfo": "x"}, "Expected `object | null`, got `str`", "legalInfo"),
            (
                {"legalInfo": {"registrationDate": "2022-03-31"}},
                "Invalid RFC3339 encoded datetime",
                "legalInfo.registrationDate",
            ),
            ({"legalInfo": {"legalName": 5}}, "Expected `str | null`, got `int`", "legalInfo.legalName"),
            ({"accountLimit": {"value": -1}}, "Expected `float` >= 0.0", "accountLimit.value"),
            ({"accountLimit": {"value": "ten"}}, "Expected `float | null`, got `str`", "accountLimit.value"),
            ({"customerGroups": {"id": "g"}}, "Expected `array | null`, got `object`", "customerGroups"),
            ({"restrictions": ["US", "DE"]}, "Expected `array` of length <= 1", "restrictions"),
            ({"restrictions": [1]}, "Expected `str`, got `int`", "restrictions[0]"),
            ({"mixins": [1]}, "Expected `object | null`, got `array`", "mixins"),
            ({"metadata": {"mixins": 5}}, "Expected `object`, got `int`", "metadata.mixins"),
        ],
    )
    def test_wrong_type_or_value(self, api: Management, overrides: dict[str, Any], message: str, field: str) -> None:
        response = api.request("POST", "/legal-entities", json={"name": "N", **overrides})
        assert response.status_code == 400
        assert response.json() == bad_body(message, field)
        assert api.ids("/legal-entities") == []

    def test_body_over_10_mb_is_413(self, api: Management) -> None:
        response = api.request("POST", "/legal-entities", json={"name": "x" * (10 * 1024 * 1024)})
        assert response.status_code == 413
        assert response.json() == error(413, "The request body is larger than the allowed 10 MB.")
        assert api.ids("/legal-entities") == []

    def test_body_must_be_an_object(self, api: Management) -> None:
        response = api.request("POST", "/legal-entities", json=[{"name": "N"}])
        assert response.status_code == 400
        assert response.json() == bad_body("Expected `object`, got `array`")

    @pytest.mark.parametrize(
        "overrides",
        [
            {"name": "a\u0000b"},
            {"legalInfo": {"legalName": "\u0000"}},
            {"mixins": {"k\u0000": 1}},
        ],
    )
    def test_nul_characters_are_400(self, api: Management, overrides: dict[str, Any]) -> None:
        response = api.request("POST", "/legal-entities", json={"name": "N", **overrides})
        assert response.status_code == 400
        assert response.json() == error(400, "Invalid input: text cannot contain the NUL character (\\u0000).")


class TestGetLegalEntity:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Management, case: str) -> None:
        api.create_legal_entity(id="le")
        assert_refused(api, case, "GET", "/legal-entities/le", valid_scopes=LE_MANAGE, required=LE_READ)

    def test_customer_token_is_403_even_for_its_own(self, api: Management, app: Litestar) -> None:
        # legal-entity.yml declares only legalentity_read here; `_own` works on the list and search.
        api.create_legal_entity(id="le")
        api.create_customer("c1")
        api.create_contact("le", "c1")
        response = api.request("GET", "/legal-entities/le", token=customer_token(app, api.tenant, "c1"))
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): customermanagement.legalentity_read.")

    def test_read_scope_alone_is_enough(self, api: Management) -> None:
        api.create_legal_entity(id="le")
        token = api.tokens.service(api.tenant, LE_READ)
        assert api.request("GET", "/legal-entities/le", token=token).status_code == 200

    @pytest.mark.parametrize("legal_entity_id", ["unknown", "a b", "x" * 67])
    def test_unknown_id_is_404(self, api: Management, legal_entity_id: str) -> None:
        response = api.request("GET", f"/legal-entities/{legal_entity_id}")
        assert response.status_code == 404
        assert response.json() == not_found(legal_entity_id)

    def test_search_is_the_search_path(self, api: Management) -> None:
        response = api.request("GET", "/legal-entities/search")
        assert response.status_code == 405
        assert response.json() == error(405, "The method is not allowed for the requested resource.")

    def test_nul_in_id_is_400(self, api: Management) -> None:
        response = api.request("GET", "/legal-entities/a%00b")
        assert response.status_code == 400
        assert response.json() == error(400, "Invalid input: text cannot contain the NUL character (\\u0000).")

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ("name", {"id": "le", "name": "ABC Company"}),
            ("name,type", {"id": "le", "name": "ABC Company", "type": "COMPANY"}),
            (
                "legalInfo.legalName,accountLimit",
                {
                    "id": "le",
                    "legalInfo": {"legalName": "ABC Company"},
                    "accountLimit": {"currency": "EUR", "value": 1000.99},
                },
            ),
            ("metadata.version", {"id": "le", "metadata": {"version": 1}}),
            ("nothing.here", {"id": "le"}),
        ],
    )
    def test_fields_projection_keeps_id(self, api: Management, fields: str, expected: dict[str, Any]) -> None:
        api.create_legal_entity(id="le", **COMPANY_EXAMPLE)
        assert api.get_legal_entity("le", params={"fields": fields}) == expected


class TestUpsertLegalEntity:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Management, case: str) -> None:
        assert_refused(
            api,
            case,
            "PUT",
            "/legal-entities/le",
            valid_scopes=LE_READ_BOTH,
            required=LE_MANAGE,
            json={"name": "N", "type": "COMPANY"},
        )
        assert api.request("GET", "/legal-entities/le").status_code == 404

    def test_customer_token_cannot_upsert(self, api: Management, app: Litestar) -> None:
        response = api.request(
            "PUT",
            "/legal-entities/le",
            token=customer_token(app, api.tenant, "c1"),
            json={"name": "N", "type": "COMPANY"},
        )
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): customermanagement.legalentity_manage.")

    def test_creates_when_absent(self, api: Management) -> None:
        response = api.request("PUT", "/legal-entities/new-one", json={**COMPANY_EXAMPLE, "metadata": {"version": 4}})
        assert response.status_code == 201, response.text
        assert response.json() == {"id": "new-one"}
        # A version sent while creating is ignored.
        assert api.get_legal_entity("new-one") == {"id": "new-one", **COMPANY_STORED, "metadata": META}

    def test_updates_when_present(self, api: Management) -> None:
        api.create_legal_entity(id="le", **COMPANY_EXAMPLE)
        created = api.get_legal_entity("le")["metadata"]
        response = api.request("PUT", "/legal-entities/le", json={**COMPANY_EXAMPLE, "name": "Renamed"})
        assert response.status_code == 204
        assert response.content == b""
        doc = api.get_legal_entity("le")
        assert doc == {
            "id": "le",
            **COMPANY_STORED,
            "name": "Renamed",
            "metadata": {"createdAt": created["createdAt"], "modifiedAt": ISO_MILLIS, "version": 2},
        }
        assert doc["metadata"]["modifiedAt"] >= created["modifiedAt"]

    def test_is_a_full_replace(self, api: Management) -> None:
        api.create_legal_entity(id="le", mixins={"a": 1}, metadata={"mixins": {"a": "https://x"}}, **COMPANY_EXAMPLE)
        response = api.request("PUT", "/legal-entities/le", json={"name": "Only", "type": "SUBSIDIARY"})
        assert response.status_code == 204
        assert api.get_legal_entity("le") == {
            "id": "le",
            "name": "Only",
            "type": "SUBSIDIARY",
            "metadata": {**META, "version": 2},
        }

    def test_version_grows_by_one_per_put(self, api: Management) -> None:
        api.create_legal_entity(id="le")
        for expected in (2, 3, 4):
            assert api.request("PUT", "/legal-entities/le", json={"name": "N", "type": "COMPANY"}).status_code == 204
            assert api.get_legal_entity("le")["metadata"]["version"] == expected

    def test_matching_version_updates(self, api: Management) -> None:
        api.create_legal_entity(id="le")
        body = {"name": "B", "type": "COMPANY", "metadata": {"version": 1}}
        assert api.request("PUT", "/legal-entities/le", json=body).status_code == 204
        body = {"name": "C", "type": "COMPANY", "metadata": {"version": 2}}
        assert api.request("PUT", "/legal-entities/le", json=body).status_code == 204
        assert api.get_legal_entity("le")["metadata"]["version"] == 3

    @pytest.mark.parametrize("version", [2, 1000, 2_147_483_647])
    def test_stale_version_is_409_and_nothing_changes(self, api: Management, version: int) -> None:
        api.create_legal_entity(id="le", name="A")
        response = api.request(
            "PUT", "/legal-entities/le", json={"name": "B", "type": "COMPANY", "metadata": {"version": version}}
        )
        assert response.status_code == 409
        assert response.json() == error(409, "The resource you are attempting to access has changed.", resource_id="le")
        doc = api.get_legal_entity("le")
        assert (doc["name"], doc["metadata"]["version"]) == ("A", 1)

    @pytest.mark.parametrize(
        ("version", "message"),
        [
            (0, "Expected `int` >= 1"),
            (2**31, "Expected `int` <= 2147483647"),
            ("one", "Expected `int`, got `str`"),
        ],
    )
    def test_version_out_of_range_is_400(self, api: Management, version: Any, message: str) -> None:
        api.create_legal_entity(id="le")
        response = api.request(
            "PUT", "/legal-entities/le", json={"name": "N", "type": "COMPANY", "metadata": {"version": version}}
        )
        assert response.status_code == 400
        assert response.json() == bad_body(message, "metadata.version")

    def test_omitted_version_means_no_lock(self, api: Management) -> None:
        api.create_legal_entity(id="le")
        api.request("PUT", "/legal-entities/le", json={"name": "B", "type": "COMPANY"})
        assert api.request("PUT", "/legal-entities/le", json={"name": "C", "type": "COMPANY"}).status_code == 204
        assert api.get_legal_entity("le")["metadata"]["version"] == 3

    def test_path_id_wins_over_body_id(self, api: Management) -> None:
        response = api.request("PUT", "/legal-entities/p1", json={"id": "other", "name": "N", "type": "COMPANY"})
        assert response.status_code == 201
        assert response.json() == {"id": "p1"}
        assert api.request("GET", "/legal-entities/other").status_code == 404

    def test_search_is_not_an_upsert_target(self, api: Management) -> None:
        response = api.request("PUT", "/legal-entities/search", json={"name": "N", "type": "COMPANY"})
        assert response.status_code == 405
        assert response.json() == error(405, "The method is not allowed for the requested resource.")
        assert api.ids("/legal-entities") == []

    @pytest.mark.parametrize("legal_entity_id", ["a%20b", "x" * 67, "a.b"])
    def test_invalid_id_is_400(self, api: Management, legal_entity_id: str) -> None:
        response = api.request("PUT", f"/legal-entities/{legal_entity_id}", json={"name": "N", "type": "COMPANY"})
        assert response.status_code == 400
        assert response.json()["details"][0].startswith("id: Invalid id ")
        assert api.ids("/legal-entities") == []

    @pytest.mark.parametrize("field", ["name", "type"])
    def test_missing_required_field(self, api: Management, field: str) -> None:
        api.create_legal_entity(id="le")
        body = {"name": "N", "type": "COMPANY"}
        del body[field]
        response = api.request("PUT", "/legal-entities/le", json=body)
        assert response.status_code == 400
        assert response.json() == missing_field(field)
        assert api.get_legal_entity("le")["metadata"]["version"] == 1

    def test_bad_type(self, api: Management) -> None:
        response = api.request("PUT", "/legal-entities/le", json={"name": "N", "type": "GROUP"})
        assert response.status_code == 400
        assert response.json() == bad_body("Invalid enum value 'GROUP'", "type")

    def test_malformed_json(self, api: Management) -> None:
        response = api.request("PUT", "/legal-entities/le", content=b"[", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json() == error(400, "Input data was truncated")
        assert api.request("GET", "/legal-entities/le").status_code == 404
