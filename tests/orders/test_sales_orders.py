"""The tenant's orders over HTTP: POST/GET /salesorders, POST /salesorders/search, GET/PUT/PATCH/DELETE
/salesorders/{orderId}, with their unhappy paths."""

from __future__ import annotations

from typing import Any

import pytest
from tests.factories import AUTH_FAILURES, ISO_MILLIS, assert_refused
from tests.orders.helpers import CREATE, DELETE, READ, UPDATE, OrderApi, entry, order_body, order_error


@pytest.fixture
def api(orders: OrderApi) -> OrderApi:
    """Customers c1 and c2; c1 is a contact of legal entity L1."""
    orders.create_customer("c1")
    orders.create_customer("c2")
    orders.create_contact("L1", "c1")
    return orders


class TestCreate:
    def test_an_order_comes_back_as_written(self, api: OrderApi) -> None:
        body = order_body(
            "c1",
            entry("p1", 2, 20.0),
            entry("p2", 1, 5.5),
            billingAddress={"city": "Berlin"},
            mixins={"generalAttributes": {"orderNumber": "EON1"}},
            metadata={"mixins": {"generalAttributes": "https://example.com/schema.json"}},
        )
        response = api.request("POST", "/salesorders", json=body)
        assert response.status_code == 201, response.text
        order_id = response.json()["id"]
        assert response.json() == {"id": order_id, "yrn": f"urn:yaas:saasag:order:salesorder:{api.tenant};{order_id}"}
        doc = api.get_order(order_id)
        expected: dict[str, Any] = {k: v for k, v in body.items() if k != "metadata"}
        expected |= {
            "id": order_id,
            "status": "CREATED",
            "created": ISO_MILLIS,
            "lastStatusChange": ISO_MILLIS,
            "metadata": {
                "mixins": {"generalAttributes": "https://example.com/schema.json"},
                "version": 1,
                "createdAt": ISO_MILLIS,
                "modifiedAt": ISO_MILLIS,
            },
        }
        assert doc == expected

    def test_named_id_status_and_past_creation_for_imported_history(self, api: OrderApi) -> None:
        body = order_body("c1", id="EON1007", status="COMPLETED", created="2024-05-14T12:00:00Z")
        assert api.create_order(body) == "EON1007"
        doc = api.get_order("EON1007")
        assert (doc["status"], doc["created"], doc["completed"]) == (
            "COMPLETED",
            "2024-05-14T12:00:00.000Z",
            "2024-05-14T12:00:00.000Z",
        )
        again = api.request("POST", "/salesorders", json=body)
        assert again.status_code == 409
        assert again.json() == order_error(
            409, "An order with id 'EON1007' already exists.", field="id", type="duplicate_value"
        )

    def test_created_is_kept_to_the_millisecond_it_is_shown_with(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", created="2024-05-14T12:00:00.123456Z"))
        assert api.get_order(order_id)["created"] == "2024-05-14T12:00:00.123Z"
        response = api.request("GET", "/salesorders", params={"q": "created:2024-05-14T12:00:00.123Z"})
        assert [o["id"] for o in response.json()] == [order_id]
        now = api.get_order(api.create_order(order_body("c1")))
        response = api.request("GET", "/salesorders", params={"q": f"created:{now['created']}"})
        assert [o["id"] for o in response.json()] == [now["id"]]

    def test_no_customer_can_take_the_guest_id(self, api: OrderApi) -> None:
        auth = {"Authorization": f"Bearer {api.token}"}
        for method, path, body in (
            ("POST", f"/customer/{api.tenant}/customers", {"id": "ANONYMOUS", "contactEmail": "a@example.com"}),
            ("PUT", f"/customer/{api.tenant}/customers/ANONYMOUS", {"contactEmail": "a@example.com"}),
        ):
            response = api.client.request(method, path, json=body, headers=auth)
            assert response.status_code == 400, response.text
            assert "orders name guests with it" in response.json()["message"]

    def test_guest_and_legal_entity_orders(self, api: OrderApi) -> None:
        guest = api.get_order(api.create_order(order_body()))
        assert guest["customer"]["id"] == "ANONYMOUS"
        b2b = api.get_order(api.create_order(order_body("c1", legalEntityId="L1")))
        assert b2b["legalEntityId"] == "L1"

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            (
                order_body("nobody"),
                "customer.id",
                "Customer 'nobody' does not exist; send the id of a customer of the tenant, or ANONYMOUS for a guest "
                "order.",
            ),
            (
                order_body("c2", legalEntityId="L1"),
                "legalEntityId",
                "Customer 'c2' is not a contact of legal entity 'L1' (or it does not exist).",
            ),
            (
                order_body("c1", legalEntityId="L9"),
                "legalEntityId",
                "Customer 'c1' is not a contact of legal entity 'L9' (or it does not exist).",
            ),
            (
                order_body(legalEntityId="L1"),
                "legalEntityId",
                "A guest order cannot belong to a legal entity: send the customer's id, or leave legalEntityId out.",
            ),
        ],
    )
    def test_references_are_checked(self, api: OrderApi, body: dict[str, Any], field: str, message: str) -> None:
        response = api.request("POST", "/salesorders", json=body)
        assert response.status_code == 400
        assert response.json() == order_error(400, message, field=field, type="invalid_reference")
        assert api.request("GET", "/salesorders").json() == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (order_body(entries=[]), "entries"),
            (
                order_body(entries=[{"amount": 1, "calculatedPrice": {"finalPrice": {"grossValue": 1}}}]),
                "entries[0].product.id",
            ),
            (order_body(entries=[{"id": "p1", "amount": 1}]), "entries[0].calculatedPrice"),
            (order_body(entries=[{"id": "p1", "amount": -1, "unitPrice": 1}]), "entries[0].amount"),
            (order_body(status="LOST"), "status"),
            (order_body(currency="euro"), "currency"),
            ({k: v for k, v in order_body().items() if k != "customer"}, None),
            (order_body(created="2999-01-01T00:00:00Z"), "created"),
            (order_body(created="yesterday"), "created"),
            (order_body(id="a b"), "id"),
        ],
    )
    def test_malformed_bodies(self, api: OrderApi, body: dict[str, Any], field: str | None) -> None:
        response = api.request("POST", "/salesorders", json=body)
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["status"] == 400
        assert error["message"]
        if field is not None:
            assert error["details"][0]["field"] == field, error

    def test_not_json(self, api: OrderApi) -> None:
        response = api.request("POST", "/salesorders", content=b"[1, 2", headers={"Content-Type": "application/json"})
        assert response.status_code == 400

    def test_currency_from_the_entries(self, api: OrderApi) -> None:
        body = order_body("c1", entry("p1", price={"currency": "CHF"}))
        del body["currency"]
        assert api.get_order(api.create_order(body))["currency"] == "CHF"
        del body["entries"][0]["price"]
        response = api.request("POST", "/salesorders", json=body)
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "currency"

    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: OrderApi, case: str) -> None:
        assert_refused(api, case, "POST", "/salesorders", required=CREATE, json=order_body())


class TestReads:
    def test_list_search_q_sort_paging_and_fields(self, api: OrderApi) -> None:
        first = api.create_order(order_body("c1", entry("p1"), created="2024-01-01T00:00:00Z", siteCode="DE"))
        second = api.create_order(order_body("c2", entry("p2", 1, 99.0), created="2024-02-01T00:00:00Z"))
        third = api.create_order(order_body("ANONYMOUS", entry("p1"), entry("p3"), created="2024-03-01T00:00:00Z"))
        ids = [d["id"] for d in api.request("GET", "/salesorders").json()]
        assert ids == [third, second, first]  # newest first

        def q(text: str, **params: Any) -> list[str]:
            response = api.request("GET", "/salesorders", params={"q": text, **params})
            assert response.status_code == 200, response.text
            return [d["id"] for d in response.json()]

        assert q("customer.id:c1") == [first]
        assert q("entries.product.id:p1") == [third, first]
        assert q("entries.id:(p2,p3)") == [third, second]
        assert q("siteCode:DE") == [first]
        assert q("totalPrice:>50") == [second]
        assert q("created:(>=2024-01-15 AND <2024-03-01)") == [second]
        assert q("customer.email:c1@example.com") == [first]
        assert q("status:CREATED", sort="created:ASC") == [first, second, third]
        response = api.request(
            "GET", "/salesorders", params={"pageSize": 1, "pageNumber": 2}, headers={"X-Total-Count": "true"}
        )
        assert [d["id"] for d in response.json()] == [second]
        assert response.headers["X-Total-Count"] == "3"
        response = api.request("GET", "/salesorders", params={"fields": "id,status", "q": f"id:{first}"})
        assert response.json() == [{"id": first, "status": "CREATED"}]
        search = api.request("POST", "/salesorders/search", json={"q": "customer.id:c2"})
        assert [d["id"] for d in search.json()] == [second]

    @pytest.mark.parametrize("q", ["nofield:1", "totalPrice:abc", "entries.id:>3", "created:(>=x)"])
    def test_bad_q(self, api: OrderApi, q: str) -> None:
        response = api.request("GET", "/salesorders", params={"q": q})
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "q"

    def test_unknown_and_other_tenant(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body())
        assert api.request("GET", "/salesorders/nope").json() == order_error(404, "Order with id 'nope' not found.")
        other = OrderApi(api.client, api.tokens, "o" + api.tenant[1:])
        response = other.request("GET", f"/salesorders/{order_id}")
        assert response.status_code == 404
        assert other.request("GET", "/salesorders").json() == []

    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: OrderApi, case: str) -> None:
        order_id = api.create_order(order_body())
        assert_refused(api, case, "GET", "/salesorders", required=READ)
        assert_refused(api, case, "GET", f"/salesorders/{order_id}", required=READ)
        assert_refused(api, case, "POST", "/salesorders/search", required=READ, json={})


class TestUpdates:
    def test_put_replaces_and_keeps_the_status(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", entry("p1"), billingAddress={"city": "Berlin"}))
        body = order_body("c2", entry("p2", 3, 30.0), metadata={"version": 1})
        response = api.request("PUT", f"/salesorders/{order_id}", json=body)
        assert response.status_code == 204, response.text
        doc = api.get_order(order_id)
        assert doc["customer"]["id"] == "c2"
        assert "billingAddress" not in doc
        assert doc["entries"] == body["entries"]
        assert doc["metadata"]["version"] == 2
        stale = api.request("PUT", f"/salesorders/{order_id}", json=body)
        assert stale.status_code == 409
        assert stale.json() == order_error(409, "Order update cannot be done. Update version is not valid.")
        moved = api.request("PUT", f"/salesorders/{order_id}", json=order_body("c2", status="SHIPPED"))
        assert moved.status_code == 400
        assert moved.json()["details"][0]["field"] == "status"

    def test_patch_merges(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", mixins={"a": {"x": 1, "y": 2}}))
        response = api.request(
            "PATCH", f"/salesorders/{order_id}", json={"mixins": {"a": {"y": None, "z": 3}}, "siteCode": "CH"}
        )
        assert response.status_code == 204, response.text
        doc = api.get_order(order_id)
        assert doc["mixins"] == {"a": {"x": 1, "z": 3}}
        assert doc["siteCode"] == "CH"
        assert doc["customer"]["id"] == "c1"
        assert doc["metadata"]["version"] == 2
        bad = api.request("PATCH", f"/salesorders/{order_id}", json={"customer": {"id": "nobody"}})
        assert bad.status_code == 400
        assert bad.json()["details"][0]["field"] == "customer.id"
        stale = api.request("PATCH", f"/salesorders/{order_id}", json={"metadata": {"version": 1}})
        assert stale.status_code == 409

    def test_completed_orders_need_the_completed_scope(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body(status="COMPLETED"))
        token = api.tokens.service(api.tenant, ("order.order_update",))
        response = api.request("PATCH", f"/salesorders/{order_id}", json={"siteCode": "x"}, token=token)
        assert response.status_code == 403
        assert response.json() == order_error(
            403, f"Order '{order_id}' is COMPLETED: changing it needs order.order_update_completed."
        )
        token = api.tokens.service(api.tenant, ("order.order_update_completed",))
        response = api.request("PATCH", f"/salesorders/{order_id}", json={"siteCode": "x"}, token=token)
        assert response.status_code == 204

    def test_delete(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body())
        assert api.request("DELETE", f"/salesorders/{order_id}").status_code == 204
        assert api.request("GET", f"/salesorders/{order_id}").status_code == 404
        again = api.request("DELETE", f"/salesorders/{order_id}")
        assert again.json() == order_error(404, f"Order with id '{order_id}' not found.")

    def test_unknown_order(self, api: OrderApi) -> None:
        for method, body in (("PUT", order_body()), ("PATCH", {})):
            response = api.request(method, "/salesorders/nope", json=body)
            assert response.status_code == 404, response.text

    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: OrderApi, case: str) -> None:
        order_id = api.create_order(order_body())
        assert_refused(api, case, "PUT", f"/salesorders/{order_id}", required=UPDATE, json=order_body())
        assert_refused(api, case, "PATCH", f"/salesorders/{order_id}", required=UPDATE, json={})
        assert_refused(api, case, "DELETE", f"/salesorders/{order_id}", required=DELETE)
        assert api.get_order(order_id)["metadata"]["version"] == 1
