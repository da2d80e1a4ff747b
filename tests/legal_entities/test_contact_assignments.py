"""Single contact-assignment operations over HTTP: POST /contact-assignments and
GET/PUT/DELETE /contact-assignments/{contactAssignmentId}. The list is in test_contact_assignments_list.py.

Customers are made through the customer service's API (tests.legal_entities.helpers)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import AUTH_FAILURES, ISO_MILLIS, Tokens, assert_refused, run_sql
from tests.legal_entities.helpers import CA_MANAGE, CA_READ, Management, bad_body, customer_token, error, missing_field

META = {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1}
LE_META = {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1}
JOHN = {"id": "c1", "name": "John", "surname": "Doe", "email": "john@example.com"}


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Management:
    """Legal entities L1 and L2 and customers c1 (John Doe) and c2 exist."""
    api = Management(client, tokens, tenant)
    api.create_legal_entity(id="L1", name="ABC Company")
    api.create_legal_entity(id="L2", name="ABC Subsidiary", type="SUBSIDIARY", parentId="L1")
    api.create_customer("c1", email="john@example.com")
    api.create_customer("c2", first_name="Adam", last_name="Smith")
    return api


def body(legal_entity_id: str = "L1", customer_id: str = "c1", **overrides: Any) -> dict[str, Any]:
    return {"legalEntity": {"id": legal_entity_id}, "customer": {"id": customer_id}, **overrides}


def get(api: Management, assignment_id: str, **kwargs: Any) -> dict[str, Any]:
    response = api.request("GET", f"/contact-assignments/{assignment_id}", **kwargs)
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


def not_found(assignment_id: str) -> dict[str, Any]:
    return error(404, f"The contact assignment with id '{assignment_id}' does not exist.", resource_id=assignment_id)


def no_legal_entity(legal_entity_id: str) -> dict[str, Any]:
    return error(400, f"The legal entity '{legal_entity_id}' does not exist.", field="legalEntity.id")


def no_customer(customer_id: str) -> dict[str, Any]:
    return error(400, f"The customer '{customer_id}' does not exist.", field="customer.id")


class TestCreateContactAssignment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Management, case: str) -> None:
        assert_refused(
            api, case, "POST", "/contact-assignments", valid_scopes=CA_READ, required=CA_MANAGE, json=body(id="nope")
        )
        assert api.request("GET", "/contact-assignments/nope").status_code == 404

    def test_customer_token_cannot_create(self, api: Management, app: Litestar) -> None:
        response = api.request("POST", "/contact-assignments", token=customer_token(app, api.tenant, "c1"), json=body())
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): customermanagement.contactassignment_manage.")
        assert api.ids("/contact-assignments") == []

    def test_spec_example_and_whole_document(self, api: Management) -> None:
        response = api.request("POST", "/contact-assignments", json=body(type="BILLING", primary=True))
        assert response.status_code == 201, response.text
        assert list(response.json()) == ["id"]
        assignment_id = response.json()["id"]
        assert re.fullmatch(r"[0-9a-f]{24}", assignment_id)
        doc = get(api, assignment_id)
        assert doc == {
            "id": assignment_id,
            "legalEntity": {"id": "L1", "name": "ABC Company", "type": "COMPANY", "metadata": LE_META},
            "customer": JOHN,
            "type": "BILLING",
            "primary": True,
            "metadata": META,
        }
        assert list(doc) == ["id", "legalEntity", "customer", "type", "primary", "metadata"]

    def test_defaults_are_contact_and_not_primary(self, api: Management) -> None:
        doc = get(api, api.create_contact("L1", "c2"))
        assert (doc["type"], doc["primary"]) == ("CONTACT", False)
        assert doc["customer"] == {"id": "c2", "name": "Adam", "surname": "Smith", "email": "c2@example.com"}

    def test_mixins_round_trip(self, api: Management) -> None:
        mixins = {"contactAttributes": {"department": "Sales"}}
        metadata = {"mixins": {"contactAttributes": "https://example.com/contactAttributes.json"}}
        doc = get(api, api.create_contact("L1", "c1", mixins=mixins, metadata=metadata))
        assert doc["mixins"] == mixins
        assert doc["metadata"] == {**META, **metadata}

    def test_several_types_for_one_contact(self, api: Management) -> None:
        for contact_type in ("PRIMARY", "BILLING", "LOGISTICS", "CONTACT"):
            api.create_contact("L1", "c1", type=contact_type)
        assert len(api.ids("/contact-assignments")) == 4

    def test_the_same_contact_twice_is_409(self, api: Management) -> None:
        api.create_contact("L1", "c1", id="first", type="BILLING")
        response = api.request("POST", "/contact-assignments", json=body(id="second", type="BILLING", primary=True))
        assert response.status_code == 409
        assert response.json() == error(
            409, "The customer 'c1' is already a BILLING contact of the legal entity 'L1'.", resource_id="second"
        )
        assert api.ids("/contact-assignments") == ["first"]

    def test_custom_id_and_duplicate_id(self, api: Management) -> None:
        assert api.create_contact("L1", "c1", id="ca-1") == "ca-1"
        response = api.request("POST", "/contact-assignments", json=body("L2", "c2", id="ca-1"))
        assert response.status_code == 409
        assert response.json() == error(409, "The resource already exists.", resource_id="ca-1")
        assert get(api, "ca-1")["legalEntity"]["id"] == "L1"

    @pytest.mark.parametrize("assignment_id", ["a b", "x" * 67, "", "a.b"])
    def test_invalid_id_is_400(self, api: Management, assignment_id: str) -> None:
        response = api.request("POST", "/contact-assignments", json=body(id=assignment_id))
        assert response.status_code == 400
        message = f"Invalid id '{assignment_id}': use 1 to 66 characters of letters, digits, '_' and '-'."
        assert response.json() == error(400, message, field="id")

    def test_unknown_legal_entity_is_400(self, api: Management) -> None:
        response = api.request("POST", "/contact-assignments", json=body("nope"))
        assert response.status_code == 400
        assert response.json() == no_legal_entity("nope")
        assert api.ids("/contact-assignments") == []

    def test_unknown_customer_is_400(self, api: Management) -> None:
        response = api.request("POST", "/contact-assignments", json=body("L1", "nobody"))
        assert response.status_code == 400
        assert response.json() == no_customer("nobody")
        assert api.ids("/contact-assignments") == []

    def test_references_of_another_tenant_are_400(
        self, api: Management, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        other = Management(client, tokens, "o" + api.tenant[1:])
        other.create_legal_entity(id="theirs")
        other.create_customer("their-customer")
        assert api.request("POST", "/contact-assignments", json=body("theirs")).json() == no_legal_entity("theirs")
        response = api.request("POST", "/contact-assignments", json=body("L1", "their-customer"))
        assert response.json() == no_customer("their-customer")

    @pytest.mark.parametrize("field", ["legalEntity", "customer"])
    def test_missing_required_field(self, api: Management, field: str) -> None:
        payload = body()
        del payload[field]
        response = api.request("POST", "/contact-assignments", json=payload)
        assert response.status_code == 400
        assert response.json() == missing_field(field)

    @pytest.mark.parametrize(
        ("overrides", "message", "field"),
        [
            ({"type": "BOSS"}, "Invalid enum value 'BOSS'", "type"),
            ({"type": "billing"}, "Invalid enum value 'billing'", "type"),
            ({"primary": "yes"}, "Expected `bool`, got `str`", "primary"),
            ({"legalEntity": "L1"}, "Expected `object`, got `str`", "legalEntity"),
            ({"legalEntity": {"id": 5}}, "Expected `str`, got `int`", "legalEntity.id"),
            ({"customer": {"id": ""}}, "Expected `str` of length >= 1", "customer.id"),
            ({"mixins": 5}, "Expected `object | null`, got `int`", "mixins"),
        ],
    )
    def test_wrong_type_or_value(self, api: Management, overrides: dict[str, Any], message: str, field: str) -> None:
        response = api.request("POST", "/contact-assignments", json=body(**overrides))
        assert response.status_code == 400
        assert response.json() == bad_body(message, field)
        assert api.ids("/contact-assignments") == []

    def test_reference_without_id(self, api: Management) -> None:
        response = api.request("POST", "/contact-assignments", json=body() | {"customer": {}})
        assert response.status_code == 400
        assert response.json() == error(
            400,
            "Validation problem with request body: Object missing required field `id` (at 'customer').",
            field="customer.id",
        )

    def test_malformed_json(self, api: Management) -> None:
        response = api.request(
            "POST", "/contact-assignments", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json() == error(400, "Input data was truncated")


class TestGetContactAssignment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Management, case: str) -> None:
        api.create_contact("L1", "c1", id="ca")
        assert_refused(api, case, "GET", "/contact-assignments/ca", valid_scopes=CA_MANAGE, required=CA_READ)

    def test_customer_token_is_403_even_for_its_own(self, api: Management, app: Litestar) -> None:
        api.create_contact("L1", "c1", id="ca")
        response = api.request("GET", "/contact-assignments/ca", token=customer_token(app, api.tenant, "c1"))
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): customermanagement.contactassignment_read.")

    def test_the_legal_entity_is_expanded_whole(self, api: Management) -> None:
        api.create_contact("L2", "c1", id="ca")
        assert get(api, "ca")["legalEntity"] == api.get_legal_entity("L2")

    def test_a_customer_that_is_gone_is_shown_by_id(self, api: Management, database_url: str) -> None:
        api.create_contact("L1", "c1", id="ca")
        run_sql(database_url, "DELETE FROM customers WHERE tenant = $1 AND id = 'c1'", api.tenant)
        assert get(api, "ca")["customer"] == {"id": "c1"}

    def test_unknown_id_is_404(self, api: Management) -> None:
        response = api.request("GET", "/contact-assignments/unknown")
        assert response.status_code == 404
        assert response.json() == not_found("unknown")

    def test_nul_in_id_is_400(self, api: Management) -> None:
        response = api.request("GET", "/contact-assignments/a%00b")
        assert response.status_code == 400
        assert response.json() == error(400, "Invalid input: text cannot contain the NUL character (\\u0000).")

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ("type,primary", {"id": "ca", "type": "BILLING", "primary": True}),
            ("legalEntity.id,customer.id", {"id": "ca", "legalEntity": {"id": "L1"}, "customer": {"id": "c1"}}),
            ("customer.name,metadata.version", {"id": "ca", "customer": {"name": "John"}, "metadata": {"version": 1}}),
        ],
    )
    def test_fields_projection(self, api: Management, fields: str, expected: dict[str, Any]) -> None:
        api.create_contact("L1", "c1", id="ca", type="BILLING", primary=True)
        assert get(api, "ca", params={"fields": fields}) == expected


class TestUpsertContactAssignment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Management, case: str) -> None:
        assert_refused(
            api,
            case,
            "PUT",
            "/contact-assignments/ca",
            valid_scopes=CA_READ,
            required=CA_MANAGE,
            json=body(type="BILLING"),
        )
        assert api.request("GET", "/contact-assignments/ca").status_code == 404

    def test_customer_token_cannot_upsert(self, api: Management, app: Litestar) -> None:
        response = api.request(
            "PUT", "/contact-assignments/ca", token=customer_token(app, api.tenant, "c1"), json=body(type="CONTACT")
        )
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): customermanagement.contactassignment_manage.")
        assert api.request("GET", "/contact-assignments/ca").status_code == 404

    def test_creates_when_absent(self, api: Management) -> None:
        response = api.request("PUT", "/contact-assignments/ca", json=body(type="LOGISTICS", metadata={"version": 3}))
        assert response.status_code == 201, response.text
        assert response.json() == {"id": "ca"}
        doc = get(api, "ca")
        assert (doc["type"], doc["primary"], doc["metadata"]) == ("LOGISTICS", False, META)

    def test_spec_example_updates_everything(self, api: Management) -> None:
        api.create_contact("L1", "c1", id="ca", type="BILLING", primary=True, mixins={"a": 1})
        response = api.request(
            "PUT",
            "/contact-assignments/ca",
            json=body("L2", "c2", type="LOGISTICS", primary=False, metadata={"version": 1}),
        )
        assert response.status_code == 204
        assert response.content == b""
        doc = get(api, "ca")
        assert doc == {
            "id": "ca",
            "legalEntity": api.get_legal_entity("L2"),
            "customer": {"id": "c2", "name": "Adam", "surname": "Smith", "email": "c2@example.com"},
            "type": "LOGISTICS",
            "primary": False,
            "metadata": {**META, "version": 2},
        }

    def test_stale_version_is_409_and_nothing_changes(self, api: Management) -> None:
        api.create_contact("L1", "c1", id="ca", type="BILLING")
        response = api.request("PUT", "/contact-assignments/ca", json=body(type="CONTACT", metadata={"version": 2}))
        assert response.status_code == 409
        assert response.json() == error(409, "The resource you are attempting to access has changed.", resource_id="ca")
        assert get(api, "ca")["type"] == "BILLING"

    def test_omitted_version_means_no_lock(self, api: Management) -> None:
        api.create_contact("L1", "c1", id="ca")
        for expected in (2, 3):
            assert api.request("PUT", "/contact-assignments/ca", json=body(type="CONTACT")).status_code == 204
            assert get(api, "ca")["metadata"]["version"] == expected

    def test_taking_another_assignments_contact_is_409(self, api: Management) -> None:
        api.create_contact("L1", "c1", id="billing", type="BILLING")
        api.create_contact("L1", "c1", id="other", type="CONTACT")
        response = api.request("PUT", "/contact-assignments/other", json=body(type="BILLING"))
        assert response.status_code == 409
        assert response.json() == error(
            409, "The customer 'c1' is already a BILLING contact of the legal entity 'L1'.", resource_id="other"
        )
        assert get(api, "other")["type"] == "CONTACT"

    @pytest.mark.parametrize(
        ("payload", "expected"),
        [
            (body("nope", type="CONTACT"), no_legal_entity("nope")),
            (body("L1", "nobody", type="CONTACT"), no_customer("nobody")),
        ],
    )
    def test_unknown_references_are_400_and_nothing_changes(
        self, api: Management, payload: dict[str, Any], expected: dict[str, Any]
    ) -> None:
        api.create_contact("L2", "c2", id="ca")
        response = api.request("PUT", "/contact-assignments/ca", json=payload)
        assert response.status_code == 400
        assert response.json() == expected
        doc = get(api, "ca")
        assert (doc["legalEntity"]["id"], doc["customer"]["id"], doc["metadata"]["version"]) == ("L2", "c2", 1)

    @pytest.mark.parametrize("field", ["legalEntity", "customer", "type"])
    def test_missing_required_field(self, api: Management, field: str) -> None:
        payload = body(type="CONTACT")
        del payload[field]
        response = api.request("PUT", "/contact-assignments/ca", json=payload)
        assert response.status_code == 400
        assert response.json() == missing_field(field)
        assert api.request("GET", "/contact-assignments/ca").status_code == 404

    @pytest.mark.parametrize(
        ("overrides", "message", "field"),
        [
            ({"metadata": {"version": 0}}, "Expected `int` >= 1", "metadata.version"),
            ({"metadata": {"version": "x"}}, "Expected `int`, got `str`", "metadata.version"),
            ({"type": "OWNER"}, "Invalid enum value 'OWNER'", "type"),
            ({"primary": [True]}, "Expected `bool`, got `array`", "primary"),
            ({"customer": ["c1"]}, "Expected `object`, got `array`", "customer"),
        ],
    )
    def test_wrong_type_or_value(self, api: Management, overrides: dict[str, Any], message: str, field: str) -> None:
        api.create_contact("L1", "c1", id="ca")
        response = api.request("PUT", "/contact-assignments/ca", json={**body(type="CONTACT"), **overrides})
        assert response.status_code == 400
        assert response.json() == bad_body(message, field)
        assert get(api, "ca")["metadata"]["version"] == 1

    def test_invalid_id_is_400(self, api: Management) -> None:
        response = api.request("PUT", "/contact-assignments/a.b", json=body(type="CONTACT"))
        assert response.status_code == 400
        assert response.json() == error(
            400, "Invalid id 'a.b': use 1 to 66 characters of letters, digits, '_' and '-'.", field="id"
        )

    def test_malformed_json(self, api: Management) -> None:
        response = api.request(
            "PUT", "/contact-assignments/ca", content=b"nope", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json() == error(400, "JSON is malformed: invalid character (byte 4)")


class TestDeleteContactAssignment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_deleted(self, api: Management, case: str) -> None:
        api.create_contact("L1", "c1", id="ca")
        assert_refused(api, case, "DELETE", "/contact-assignments/ca", valid_scopes=CA_READ, required=CA_MANAGE)
        assert api.request("GET", "/contact-assignments/ca").status_code == 200

    def test_customer_token_cannot_delete(self, api: Management, app: Litestar) -> None:
        api.create_contact("L1", "c1", id="ca")
        response = api.request("DELETE", "/contact-assignments/ca", token=customer_token(app, api.tenant, "c1"))
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): customermanagement.contactassignment_manage.")

    def test_deletes_and_keeps_the_rest(self, api: Management) -> None:
        api.create_contact("L1", "c1", id="ca")
        api.create_contact("L1", "c2", id="keep")
        response = api.request("DELETE", "/contact-assignments/ca")
        assert response.status_code == 204
        assert response.content == b""
        assert api.request("GET", "/contact-assignments/ca").json() == not_found("ca")
        assert api.ids("/contact-assignments") == ["keep"]
        assert api.get_legal_entity("L1")["id"] == "L1"

    def test_missing_is_404(self, api: Management) -> None:
        response = api.request("DELETE", "/contact-assignments/missing")
        assert response.status_code == 404
        assert response.json() == not_found("missing")
