"""PATCH /customers/{customerNumber} over HTTP: a merge object (RFC 7396), as `application/json` or
`application/merge-patch+json`."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import (
    MANAGE,
    CustomerApi,
    bad_request,
    body_error,
    customer_error,
    not_found,
)
from tests.factories import ISO_MILLIS, SERVICE_TOKEN_FAILURES, Tokens, assert_refused

MERGE_JSON = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    api = CustomerApi(client, tokens, tenant)
    api.create_customer(
        id="c1",
        contactEmail="jo@example.com",
        firstName="Jo",
        lastName="Doe",
        title="MR",
        mixins={"loyalty": {"level": 3, "since": 2020}, "tags": ["a"]},
        metadata={"mixins": {"loyalty": "https://example.com/loyalty.json"}},
    )
    return api


def patch(api: CustomerApi, body: Any, customer_id: str = "c1", **kwargs: Any) -> Any:
    return api.request("PATCH", f"/customers/{customer_id}", json=body, **kwargs)


def current(api: CustomerApi) -> dict[str, Any]:
    return api.get_customer("c1", expand="mixin:*")


class TestPatchCustomer:
    @pytest.mark.parametrize("case", SERVICE_TOKEN_FAILURES)
    def test_refused_and_nothing_changed(self, api: CustomerApi, case: str) -> None:
        before = current(api)
        assert_refused(api, case, "PATCH", "/customers/c1", required=MANAGE, json={"active": False})
        assert current(api) == before

    def test_spec_example(self, api: CustomerApi) -> None:
        created = current(api)["metadata"]["createdAt"]
        response = patch(api, {"contactEmail": "example@customer.com", "active": True})
        assert response.status_code == 200
        assert response.content == b""
        assert current(api) == {
            "id": "c1",
            "customerNumber": "c1",
            "contactEmail": "example@customer.com",
            "title": "MR",
            "firstName": "Jo",
            "lastName": "Doe",
            "active": True,
            "mixins": {"loyalty": {"level": 3, "since": 2020}, "tags": ["a"]},
            "metadata": {
                "version": 2,
                "createdAt": created,
                "modifiedAt": ISO_MILLIS,
                "mixins": {"loyalty": "https://example.com/loyalty.json"},
            },
        }

    @pytest.mark.parametrize("headers", [{}, MERGE_JSON])
    def test_members_sent_replace_and_null_removes(self, api: CustomerApi, headers: dict[str, str]) -> None:
        assert patch(api, {"firstName": "Joe", "title": None, "active": False}, headers=headers).status_code == 200
        doc = current(api)
        assert (doc["firstName"], doc["lastName"], doc["active"]) == ("Joe", "Doe", False)
        assert "title" not in doc

    def test_mixins_merge_member_by_member(self, api: CustomerApi) -> None:
        assert (
            patch(
                api,
                {
                    "mixins": {"loyalty": {"level": 4, "since": None}, "tags": ["b"], "new": {"x": 1}},
                    "metadata": {"mixins": {"new": "https://example.com/new.json"}},
                },
            ).status_code
            == 200
        )
        doc = current(api)
        assert doc["mixins"] == {"loyalty": {"level": 4}, "tags": ["b"], "new": {"x": 1}}
        assert doc["metadata"]["mixins"] == {
            "loyalty": "https://example.com/loyalty.json",
            "new": "https://example.com/new.json",
        }

    def test_empty_object_changes_nothing_but_the_version(self, api: CustomerApi) -> None:
        before = current(api)
        assert patch(api, {}).status_code == 200
        after = current(api)
        assert after["metadata"]["version"] == 2
        assert {**after, "metadata": before["metadata"]} == before

    def test_active_null_means_its_default(self, api: CustomerApi) -> None:
        patch(api, {"active": False})
        assert patch(api, {"active": None}).status_code == 200
        assert current(api)["active"] is True

    def test_matching_version(self, api: CustomerApi) -> None:
        assert patch(api, {"firstName": "A", "metadata": {"version": 1}}).status_code == 200
        assert current(api)["metadata"]["version"] == 2

    def test_stale_version_is_409_and_nothing_changes(self, api: CustomerApi) -> None:
        before = current(api)
        response = patch(api, {"firstName": "A", "metadata": {"version": 5}})
        assert response.status_code == 409
        assert response.json() == customer_error(
            409, "The resource you are attempting to access has changed.", type="conflict_resource"
        )
        assert current(api) == before

    def test_email_cannot_be_unset(self, api: CustomerApi) -> None:
        response = patch(api, {"contactEmail": None})
        assert response.status_code == 400
        assert response.json() == bad_request(
            "contactEmail cannot be removed once it is set; send the current or a new address.", field="contactEmail"
        )
        assert current(api)["contactEmail"] == "jo@example.com"

    def test_email_of_another_customer_is_409(self, api: CustomerApi) -> None:
        api.create_customer(contactEmail="taken@example.com")
        response = patch(api, {"contactEmail": "TAKEN@example.com"})
        assert response.status_code == 409
        message = f"Duplicate account 'TAKEN@example.com' for tenant '{api.tenant}'."
        assert response.json() == customer_error(
            409, message, type="conflict_resource", field="contactEmail", detail_type="duplicate_value"
        )

    def test_invalid_email_is_400(self, api: CustomerApi) -> None:
        response = patch(api, {"contactEmail": "nope"})
        assert response.status_code == 400
        assert response.json() == bad_request(
            "Invalid contactEmail 'nope': expected an email address such as john.doe@example.com.", field="contactEmail"
        )

    def test_unknown_is_404(self, api: CustomerApi) -> None:
        response = patch(api, {"firstName": "A"}, customer_id="nobody")
        assert response.status_code == 404
        assert response.json() == not_found("nobody")

    def test_id_in_the_body_is_ignored(self, api: CustomerApi) -> None:
        assert patch(api, {"id": "other", "customerNumber": "other"}).status_code == 200
        assert api.request("GET", "/customers/other").status_code == 404

    @pytest.mark.parametrize(
        ("body", "message", "field"),
        [
            ({"firstName": 5}, "Expected `str | null`, got `int`", "firstName"),
            ({"active": "no"}, "Expected `bool | null`, got `str`", "active"),
            ({"mixins": "x"}, "Expected `object | null`, got `str`", "mixins"),
            ({"metadata": {"version": "x"}}, "Expected `int`, got `str`", "metadata.version"),
        ],
    )
    def test_wrong_types(self, api: CustomerApi, body: dict[str, Any], message: str, field: str) -> None:
        before = current(api)
        response = patch(api, body)
        assert response.status_code == 400
        assert response.json() == body_error(message, field)
        assert current(api) == before

    def test_an_array_is_not_a_merge_object(self, api: CustomerApi) -> None:
        response = patch(api, [{"op": "replace", "path": "/firstName", "value": "A"}])
        assert response.status_code == 400
        assert response.json() == body_error("Expected `object`, got `array`")

    def test_malformed_json(self, api: CustomerApi) -> None:
        response = api.request("PATCH", "/customers/c1", content=b"{not json", headers=MERGE_JSON)
        assert response.status_code == 400
        assert response.json() == bad_request(
            "JSON is malformed: object keys must be strings (byte 1)", type="validation_violation"
        )
