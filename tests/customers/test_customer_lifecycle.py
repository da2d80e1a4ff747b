"""What a password change or a deletion does to a customer's tokens and legal-entity contacts."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import PASSWORD, CustomerApi
from tests.factories import Tokens


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    return CustomerApi(client, tokens, tenant)


def me_status(api: CustomerApi, token: str) -> int:
    return api.request("GET", "/me", token=token).status_code


class TestPasswordChange:
    def test_logs_out_every_other_session(self, api: CustomerApi) -> None:
        api.signup("jo@example.com")
        elsewhere = api.customer_token("jo@example.com")
        here = api.customer_token("jo@example.com")
        response = api.request(
            "POST", "/password/change", token=here, json={"currentPassword": PASSWORD, "newPassword": "another-secret"}
        )
        assert response.status_code == 204, response.text
        assert me_status(api, here) == 200
        assert me_status(api, elsewhere) == 401


class TestDeleteCustomer:
    def test_ends_the_customers_sessions(self, api: CustomerApi) -> None:
        customer_id = api.signup("jo@example.com")
        token = api.customer_token("jo@example.com")
        assert me_status(api, token) == 200
        assert api.request("DELETE", f"/customers/{customer_id}").status_code == 202
        assert me_status(api, token) == 401
        segments = api.client.get(
            f"/customer-segment/{api.tenant}/segments", headers={"Authorization": f"Bearer {token}"}
        )
        assert segments.status_code == 401

    def test_removes_the_customers_legal_entity_contacts(self, api: CustomerApi) -> None:
        customer_id = api.create_customer(id="c1", contactEmail="c1@example.com", firstName="C", lastName="One")
        management = f"/customer-management/{api.tenant}"
        headers = {"Authorization": f"Bearer {api.token}"}
        created = api.client.post(
            f"{management}/legal-entities", headers=headers, json={"id": "le1", "name": "Acme", "type": "COMPANY"}
        )
        assert created.status_code == 201, created.text
        contact = api.client.post(
            f"{management}/contact-assignments",
            headers=headers,
            json={"legalEntity": {"id": "le1"}, "customer": {"id": customer_id}, "type": "CONTACT"},
        )
        assert contact.status_code == 201, contact.text
        assert api.request("DELETE", f"/customers/{customer_id}").status_code == 202
        listed = api.client.get(f"{management}/contact-assignments", headers=headers)
        assert listed.status_code == 200
        assert listed.json() == []
