"""What the legal-entity and contact-assignment tests share: a client of `/customer-management/{tenant}`, customers
(made through `POST /customer/{tenant}/customers`), customer tokens and the Customer Management error bodies
(`{code, status, message, resourceId?, details: [text]}`)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar import Litestar
from tests.factories import Api, ErrorFamily

from segment_service.core.auth import Scope, TokenKind, TokenService

LE_READ = ("customermanagement.legalentity_read",)
LE_READ_BOTH = ("customermanagement.legalentity_read", "customermanagement.legalentity_read_own")
LE_READ_OWN = ("customermanagement.legalentity_read_own",)
LE_MANAGE = ("customermanagement.legalentity_manage",)
CA_READ = ("customermanagement.contactassignment_read",)
CA_MANAGE = ("customermanagement.contactassignment_manage",)

#: The spec's "Create a company" example (legalEntityCreate), verbatim.
COMPANY_EXAMPLE: dict[str, Any] = {
    "name": "ABC Company",
    "type": "COMPANY",
    "legalInfo": {
        "legalName": "ABC Company",
        "registrationDate": "2022-03-31T13:18:02.379Z",
        "registrationAgency": "Comp reg agency",
        "registrationId": "627e06ecf0452c2d6c0b81391",
        "countryOfRegistration": "DE",
        "taxRegistrationNumber": "1234",
    },
    "accountLimit": {"currency": "EUR", "value": 1000.99},
    "customerGroups": [
        {"id": "123e06ecf0452c2d6c0b81390", "name": {"en": "En customer group name", "de": "De customer group name"}},
    ],
    "entitiesAddresses": [{"id": "123e123455452c2d6c0b81390"}, {"id": "123e06ecf0acd223140b12345"}],
    "approvalGroup": [{"id": "123e121111452c12330b81390"}, {"id": "123e061110acd223133333345"}],
    "restrictions": ["US"],
}


def error(status: int, message: str, *, field: str | None = None, resource_id: str | None = None) -> dict[str, Any]:
    """A whole Customer Management error body: `details` repeats the message, prefixed by the field it names."""
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if resource_id is not None:
        body["resourceId"] = resource_id
    body["details"] = [message if field is None else f"{field}: {message}"]
    return body


def bad_body(message: str, field: str | None = None) -> dict[str, Any]:
    """The 400 of a body that does not decode."""
    where = f" (at '{field}')" if field else ""
    return error(400, f"Validation problem with request body: {message}{where}.", field=field)


def missing_field(field: str) -> dict[str, Any]:
    return error(400, f"Validation problem with request body: Object missing required field `{field}`.", field=field)


def customer_token(
    app: Litestar, tenant: str, customer_id: str | None, scopes: tuple[str, ...] = (Scope.LEGAL_ENTITY_READ_OWN.value,)
) -> str:
    """A customer token (`customer_id` None: one without a customer behind it)."""
    tokens: TokenService = app.state.tokens
    return tokens.issue(
        tenant=tenant,
        kind=TokenKind.CUSTOMER,
        subject=customer_id or "nobody",
        scopes=scopes,
        ttl_seconds=3600,
        customer_id=customer_id,
    )


class Management(Api):
    """A client of one tenant's Customer Management service, with a service token holding every scope."""

    prefix = "/customer-management"
    error_family = ErrorFamily.CODE_DETAILS

    def create_legal_entity(self, **body: Any) -> str:
        """POST a legal entity (`name` defaults to its id or "ABC Company")."""
        body.setdefault("name", body.get("id", "ABC Company"))
        response = self.request("POST", "/legal-entities", json=body)
        assert response.status_code == 201, response.text
        legal_entity_id: str = response.json()["id"]
        return legal_entity_id

    def get_legal_entity(self, legal_entity_id: str, **kwargs: Any) -> dict[str, Any]:
        response = self.request("GET", f"/legal-entities/{legal_entity_id}", **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def create_customer(
        self, customer_id: str, *, first_name: str = "John", last_name: str = "Doe", email: str | None = None
    ) -> str:
        """A customer of the tenant, created through the customer service's API."""
        response = self.client.post(
            f"/customer/{self.tenant}/customers",
            headers={"Authorization": f"Bearer {self.token}"},
            json={
                "id": customer_id,
                "contactEmail": email or f"{customer_id}@example.com",
                "firstName": first_name,
                "lastName": last_name,
            },
        )
        assert response.status_code == 201, response.text
        return customer_id

    def create_contact(self, legal_entity_id: str, customer_id: str, **body: Any) -> str:
        """POST a contact assignment of the customer to the legal entity."""
        body = {"legalEntity": {"id": legal_entity_id}, "customer": {"id": customer_id}, **body}
        response = self.request("POST", "/contact-assignments", json=body)
        assert response.status_code == 201, response.text
        assignment_id: str = response.json()["id"]
        return assignment_id

    def ids(self, path: str, **kwargs: Any) -> list[str]:
        """The ids a GET list answers with."""
        response = self.request("GET", path, **kwargs)
        assert response.status_code == 200, response.text
        return [doc["id"] for doc in response.json()]
