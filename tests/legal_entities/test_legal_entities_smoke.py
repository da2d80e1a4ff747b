"""The spec's own examples, verbatim: create a company and a subsidiary, read them back, assign a contact, update it;
and the OpenAPI document describes every operation with its Emporix operationId, scopes and error bodies."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import ISO_MILLIS, Tokens
from tests.legal_entities.helpers import COMPANY_EXAMPLE, Management

META = {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1}

#: legal-entity.yml, "Create a subsidiary" (its parentId is the company created first).
SUBSIDIARY_EXAMPLE: dict[str, Any] = {
    "name": "ABC Subsidiary",
    "type": "SUBSIDIARY",
    "parentId": "627e06ecf0452c2d6c0b81391",
    "legalInfo": {
        "legalName": "ABC Subsidiary",
        "registrationDate": "2022-03-31T13:18:02.379Z",
        "registrationAgency": "Sub reg agency",
        "registrationId": "627e06ecf0452c2d6c0b81391",
        "countryOfRegistration": "DE",
        "taxRegistrationNumber": "4311",
    },
    "accountLimit": {"currency": "EUR", "value": 1000.99},
    "customerGroups": [{"id": "123e06ecf0452c2d6c0b81390"}, {"id": "123e06ecf0452c2d6c0b12345"}],
    "entitiesAddresses": [{"id": "123e123455452c2d6c0b81390"}],
    "approvalGroup": [{"id": "123e061110acd223133333345"}],
}

OPERATIONS = {
    ("post", "/customer-management/{tenant}/legal-entities"): "POST-customer-mgmt-create-legal-entity",
    ("get", "/customer-management/{tenant}/legal-entities"): "GET-customer-mgmt-list-legal-entities",
    ("post", "/customer-management/{tenant}/legal-entities/search"): "POST-customer-mgmt-search-legal-entities",
    ("get", "/customer-management/{tenant}/legal-entities/{legalEntityId}"): "GET-customer-mgmt-retrieve-legal-entity",
    ("put", "/customer-management/{tenant}/legal-entities/{legalEntityId}"): "PUT-customer-mgmt-update-legal-entity",
    (
        "delete",
        "/customer-management/{tenant}/legal-entities/{legalEntityId}",
    ): "DELETE-customer-mgmt-remove-legal-entity",
    ("post", "/customer-management/{tenant}/contact-assignments"): "POST-customer-mgmt-create-contact-assignment",
    ("get", "/customer-management/{tenant}/contact-assignments"): "GET-customer-mgmt-list-contact-assignments",
    (
        "get",
        "/customer-management/{tenant}/contact-assignments/{contactAssignmentId}",
    ): "GET-customer-mgmt-retrieve-contact-assignment",
    (
        "put",
        "/customer-management/{tenant}/contact-assignments/{contactAssignmentId}",
    ): "PUT-customer-mgmt-update-contact-assignment",
    (
        "delete",
        "/customer-management/{tenant}/contact-assignments/{contactAssignmentId}",
    ): "DELETE-customer-mgmt-remove-contact-assignment",
}


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Management:
    return Management(client, tokens, tenant)


def test_spec_examples_company_subsidiary_and_contact(api: Management) -> None:
    response = api.request("POST", "/legal-entities", json={"id": "627e06ecf0452c2d6c0b81391", **COMPANY_EXAMPLE})
    assert response.status_code == 201, response.text
    assert response.json() == {"id": "627e06ecf0452c2d6c0b81391"}
    response = api.request("POST", "/legal-entities", json=SUBSIDIARY_EXAMPLE)
    assert response.status_code == 201, response.text
    subsidiary_id = response.json()["id"]

    # `components.responses.GetLegalEntities`, as far as this service keeps it (no locations, no approval groups).
    stored = {k: v for k, v in SUBSIDIARY_EXAMPLE.items() if k not in ("entitiesAddresses", "approvalGroup")}
    found = api.request(
        "POST", "/legal-entities/search", json={"q": "type:SUBSIDIARY"}, headers={"X-Total-Count": "true"}
    )
    assert found.status_code == 200
    assert found.headers["X-Total-Count"] == "1"
    assert found.json() == [{"id": subsidiary_id, **stored, "metadata": META}]

    # "Create a customer assignment", with this tenant's own legal entity and customer ids.
    api.create_customer("612306ecf0452c2d6c0b81123")
    response = api.request(
        "POST",
        "/contact-assignments",
        json={
            "legalEntity": {"id": "627e06ecf0452c2d6c0b81391"},
            "customer": {"id": "612306ecf0452c2d6c0b81123"},
            "type": "BILLING",
            "primary": True,
        },
    )
    assert response.status_code == 201, response.text
    assignment_id = response.json()["id"]

    # "Update the customer assignment".
    response = api.request(
        "PUT",
        f"/contact-assignments/{assignment_id}",
        json={
            "legalEntity": {"id": subsidiary_id},
            "customer": {"id": "612306ecf0452c2d6c0b81123"},
            "type": "LOGISTICS",
            "primary": False,
            "metadata": {"version": 1},
        },
    )
    assert response.status_code == 204, response.text
    got = api.request("GET", f"/contact-assignments/{assignment_id}").json()
    assert got == {
        "id": assignment_id,
        "legalEntity": {"id": subsidiary_id, **stored, "metadata": META},
        "customer": {
            "id": "612306ecf0452c2d6c0b81123",
            "name": "John",
            "surname": "Doe",
            "email": "612306ecf0452c2d6c0b81123@example.com",
        },
        "type": "LOGISTICS",
        "primary": False,
        "metadata": {**META, "version": 2},
    }

    # "Update the legal entity" with the version it has.
    response = api.request(
        "PUT",
        f"/legal-entities/{subsidiary_id}",
        json={**SUBSIDIARY_EXAMPLE, "restrictions": ["US"], "metadata": {"version": 1}},
    )
    assert response.status_code == 204, response.text
    assert api.get_legal_entity(subsidiary_id)["restrictions"] == ["US"]


def test_every_operation_is_described(client: TestClient[Litestar]) -> None:
    document = client.get("/openapi.json").json()
    found = {
        (method, path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert found.items() >= OPERATIONS.items()
    paths = document["paths"]
    listing = paths["/customer-management/{tenant}/legal-entities"]["get"]
    assert listing["security"] == [
        {"OAuth2": ["customermanagement.legalentity_read", "customermanagement.legalentity_read_own"]}
    ]
    assert {p["name"] for p in listing["parameters"]} >= {
        "q",
        "pageSize",
        "pageNumber",
        "sort",
        "fields",
        "X-Total-Count",
        "id",
        "name",
        "type",
        "parentId",
        "legalInfo.legalName",
        "legalInfo.registrationDate",
        "legalInfo.taxRegistrationNumber",
        "legalInfo.registrationAgency",
        "legalInfo.countryOfRegistration",
        "legalInfo.registrationId",
    }
    retrieve = paths["/customer-management/{tenant}/legal-entities/{legalEntityId}"]["get"]
    assert retrieve["security"] == [{"OAuth2": ["customermanagement.legalentity_read"]}]
    upsert = paths["/customer-management/{tenant}/contact-assignments/{contactAssignmentId}"]["put"]
    assert upsert["security"] == [{"OAuth2": ["customermanagement.contactassignment_manage"]}]
    assert set(upsert["responses"]) == {"201", "204", "400", "401", "403", "404", "409"}
    assert set(document["components"]["schemas"]["CategoryError"]["properties"]) == {
        "code",
        "status",
        "message",
        "resourceId",
        "details",
    }
