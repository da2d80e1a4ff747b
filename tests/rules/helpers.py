"""What the rule tests share: a client of the segment's rule operations that also makes customers, contacts and
orders through the API, waits for a saved rule's evaluation, and reads members as GET …/customers lists them."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.factories import Api
from tests.orders.helpers import entry, order_body

MANAGE = ("customersegment.segment_manage",)
READ = ("customersegment.segment_read",)


class RuleApi(Api):
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def create_customer(self, customer_id: str, **profile: Any) -> str:
        body = {"id": customer_id, "contactEmail": f"{customer_id}@example.com", **profile}
        response = self.client.post(f"/customer/{self.tenant}/customers", json=body, headers=self.auth())
        assert response.status_code == 201, response.text
        return customer_id

    def update_customer(self, customer_id: str, **changes: Any) -> None:
        response = self.client.patch(
            f"/customer/{self.tenant}/customers/{customer_id}", json=changes, headers=self.auth()
        )
        assert response.status_code in (200, 204), response.text

    def create_legal_entity(self, legal_entity_id: str, **body: Any) -> None:
        doc = {"name": legal_entity_id, "type": "COMPANY", **body}
        response = self.client.put(
            f"/customer-management/{self.tenant}/legal-entities/{legal_entity_id}", json=doc, headers=self.auth()
        )
        assert response.status_code in (201, 204), response.text

    def create_contact(self, legal_entity_id: str, customer_id: str, contact_type: str = "CONTACT") -> str:
        response = self.client.post(
            f"/customer-management/{self.tenant}/contact-assignments",
            json={"legalEntity": {"id": legal_entity_id}, "customer": {"id": customer_id}, "type": contact_type},
            headers=self.auth(),
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def create_order(self, customer_id: str, gross: float = 10.0, product: str = "p1", **overrides: Any) -> str:
        body = order_body(customer_id, entry(product, gross=gross), **overrides)
        response = self.client.post(f"/order-v2/{self.tenant}/salesorders", json=body, headers=self.auth())
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def put_rule(
        self, segment_id: str, condition: dict[str, Any], subject: str = "CUSTOMER", **extra: Any
    ) -> httpx.Response:
        return self.request(
            "PUT", f"/segments/{segment_id}/rule", json={"subject": subject, "condition": condition, **extra}
        )

    def get_rule(self, segment_id: str) -> dict[str, Any]:
        response = self.request("GET", f"/segments/{segment_id}/rule")
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc

    def wait_ready(self, segment_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The rule once its evaluation ended (READY or FAILED)."""
        deadline = time.monotonic() + timeout
        while True:
            doc = self.get_rule(segment_id)
            if doc["state"] != "EVALUATING":
                return doc
            assert time.monotonic() < deadline, doc
            time.sleep(0.02)

    def save_rule(self, segment_id: str, condition: dict[str, Any], subject: str = "CUSTOMER") -> dict[str, Any]:
        response = self.put_rule(segment_id, condition, subject)
        assert response.status_code in (201, 204), response.text
        doc = self.wait_ready(segment_id)
        assert doc["state"] == "READY", doc
        return doc

    def members(self, segment_id: str) -> dict[tuple[str, str | None], str]:
        """(customer id, legal entity id or None) -> assignment type, as GET …/customers lists them."""
        response = self.request("GET", f"/segments/{segment_id}/customers", params={"pageSize": 1000})
        assert response.status_code == 200, response.text
        return {
            (doc["customer"]["id"], (doc.get("legalEntity") or {}).get("id")): doc["assignmentType"]
            for doc in response.json()
        }

    def member_ids(self, segment_id: str) -> set[str]:
        return {customer for customer, _ in self.members(segment_id)}

    def preview(self, segment_id: str, condition: dict[str, Any], subject: str = "CUSTOMER") -> dict[str, Any]:
        response = self.request(
            "POST", f"/segments/{segment_id}/rule/preview", json={"subject": subject, "condition": condition}
        )
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc

    def explain(self, segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> dict[str, Any]:
        params = {"customerId": customer_id}
        if legal_entity_id:
            params["legalEntityId"] = legal_entity_id
        response = self.request("GET", f"/segments/{segment_id}/explain", params=params)
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc


def attr(path: str, op: str, value: Any = None) -> dict[str, Any]:
    leaf: dict[str, Any] = {"attribute": path, "op": op}
    if value is not None:
        leaf["value"] = value
    return leaf
