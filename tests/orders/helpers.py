"""What the order tests share: a client of `/order-v2/{tenant}`, order bodies, customers and contacts made through
the API, and the Order Service's error bodies (`{status, type, message, details?}`)."""

from __future__ import annotations

from typing import Any

import httpx
from tests.factories import Api, ErrorFamily

READ = ("order.order_read",)
CREATE = ("order.order_create",)
UPDATE = ("order.order_update", "order.order_update_completed")
DELETE = ("order.order_delete",)


def entry(product_id: str = "p1", quantity: int = 1, gross: float = 10.0, **extra: Any) -> dict[str, Any]:
    """An order entry as a storefront writes it: the product snapshot, quantity, unit and line prices."""
    return {
        "id": product_id,
        "amount": quantity,
        "product": {"id": product_id, "name": f"Product {product_id}"},
        "calculatedUnitPrice": {"netValue": gross / quantity, "grossValue": gross / quantity, "taxValue": 0},
        "calculatedPrice": {
            "price": {"netValue": gross, "grossValue": gross, "taxValue": 0},
            "finalPrice": {"netValue": gross, "grossValue": gross, "taxValue": 0},
        },
        **extra,
    }


def order_body(customer_id: str = "ANONYMOUS", *entries: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A sales order body; its total is the sum of its entries unless overridden."""
    lines = list(entries) or [entry()]
    total = sum(e["calculatedPrice"]["finalPrice"]["grossValue"] for e in lines)
    body: dict[str, Any] = {
        "entries": lines,
        "customer": {"id": customer_id, "email": f"{customer_id.lower()}@example.com"},
        "siteCode": "main",
        "currency": "EUR",
        "calculatedPrice": {
            "price": {"netValue": total, "grossValue": total, "taxValue": 0},
            "finalPrice": {"netValue": total, "grossValue": total, "taxValue": 0},
        },
    }
    body.update(overrides)
    return body


class OrderApi(Api):
    prefix = "/order-v2"
    error_family = ErrorFamily.TYPED
    unrelated_scopes = ("customer.customer_read", "customersegment.segment_manage")

    def create_customer(self, customer_id: str, **profile: Any) -> str:
        response = self.client.post(
            f"/customer/{self.tenant}/customers",
            json={"id": customer_id, "contactEmail": f"{customer_id}@example.com", **profile},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 201, response.text
        return customer_id

    def create_contact(self, legal_entity_id: str, customer_id: str) -> None:
        """A legal entity (made if need be) with the customer as its contact, through the Customer Management API."""
        auth = {"Authorization": f"Bearer {self.token}"}
        base = f"/customer-management/{self.tenant}"
        if self.client.get(f"{base}/legal-entities/{legal_entity_id}", headers=auth).status_code == 404:
            response = self.client.put(
                f"{base}/legal-entities/{legal_entity_id}",
                json={"name": legal_entity_id, "type": "COMPANY"},
                headers=auth,
            )
            assert response.status_code in (201, 204), response.text
        response = self.client.post(
            f"{base}/contact-assignments",
            json={"legalEntity": {"id": legal_entity_id}, "customer": {"id": customer_id}, "type": "CONTACT"},
            headers=auth,
        )
        assert response.status_code == 201, response.text

    def create_order(self, body: dict[str, Any], **kwargs: Any) -> str:
        response = self.request("POST", "/salesorders", json=body, **kwargs)
        assert response.status_code == 201, response.text
        order_id: str = response.json()["id"]
        return order_id

    def get_order(self, order_id: str) -> dict[str, Any]:
        response = self.request("GET", f"/salesorders/{order_id}")
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc

    def transition(self, order_id: str, status: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", f"/salesorders/{order_id}/transitions", json={"status": status}, **kwargs)

    def facts(self, customer_id: str, **params: str) -> dict[str, Any]:
        response = self.request("GET", f"/purchase-facts/{customer_id}", params=params)
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc


def order_error(status: int, message: str, *, field: str | None = None, type: str | None = None) -> dict[str, Any]:
    """The whole error body of the Order Service."""
    kinds = {
        400: "validation_violation",
        403: "insufficient_permissions",
        404: "element_resource_non_existing",
        409: "conflict_resource",
    }
    body: dict[str, Any] = {"status": status, "type": kinds[status], "message": message}
    if field is not None:
        body["details"] = [{"field": field, "type": type or kinds[status], "message": message}]
    return body
