"""The customer's side of orders over HTTP (GET /orders, GET /orders/{orderId}, GET/POST .../transitions, GET
/legal-entity-orders/...), what deleting a customer does to its orders, and the purchase settings and facts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.factories import AUTH_FAILURES, ISO_MILLIS, assert_refused
from tests.orders.helpers import READ, UPDATE, OrderApi, entry, order_body, order_error

STATUSES = ("IN_CHECKOUT", "CREATED", "CONFIRMED", "DECLINED", "SHIPPED", "COMPLETED")
DEFAULT_COUNTED = ["IN_CHECKOUT", "CREATED", "CONFIRMED", "SHIPPED", "COMPLETED"]


@pytest.fixture
def api(orders: OrderApi) -> OrderApi:
    """Customers c1 and c2; c1 is a contact of legal entity L1."""
    orders.create_customer("c1")
    orders.create_customer("c2")
    orders.create_contact("L1", "c1")
    return orders


def as_customer(api: OrderApi, customer_id: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return api.request(method, path, token=api.tokens.customer(api.tenant, customer_id), **kwargs)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()]


def not_found(order_id: str) -> dict[str, Any]:
    return order_error(404, f"Order with id '{order_id}' not found.")


class TestOwnOrders:
    def test_only_the_callers_orders_newest_first(self, api: OrderApi) -> None:
        first = api.create_order(order_body("c1", created="2024-01-01T00:00:00Z"))
        b2b = api.create_order(order_body("c1", created="2024-02-01T00:00:00Z", legalEntityId="L1"))
        third = api.create_order(order_body("c1", entry("p9"), created="2024-03-01T00:00:00Z", status="COMPLETED"))
        theirs = api.create_order(order_body("c2", created="2024-02-15T00:00:00Z"))
        api.create_order(order_body(created="2024-02-20T00:00:00Z"))  # a guest's
        assert ids(as_customer(api, "c1", "GET", "/orders")) == [third, b2b, first]
        assert ids(as_customer(api, "c2", "GET", "/orders")) == [theirs]
        api.create_customer("c3")
        assert ids(as_customer(api, "c3", "GET", "/orders")) == []

        response = as_customer(
            api, "c1", "GET", "/orders", params={"pageSize": 1, "pageNumber": 2}, headers={"X-Total-Count": "true"}
        )
        assert ids(response) == [b2b]
        assert response.headers["X-Total-Count"] == "3"
        assert ids(as_customer(api, "c1", "GET", "/orders", params={"q": "legalEntityId:L1"})) == [b2b]
        assert ids(as_customer(api, "c1", "GET", "/orders", params={"q": "entries.id:p9"})) == [third]
        assert ids(as_customer(api, "c1", "GET", "/orders", params={"q": f"id:{theirs}"})) == []
        assert ids(as_customer(api, "c1", "GET", "/orders", params={"sort": "created:ASC"})) == [first, b2b, third]

    def test_the_customer_view_omits_sales_fields(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", quoteId="Q1", checkout=True, billingAddress={"city": "Bern"}))
        sales = api.get_order(order_id)
        assert (sales["quoteId"], sales["checkout"]) == ("Q1", True)
        response = as_customer(api, "c1", "GET", f"/orders/{order_id}")
        assert response.status_code == 200, response.text
        own = response.json()
        assert own == {k: v for k, v in sales.items() if k not in ("quoteId", "checkout")}
        listed = as_customer(api, "c1", "GET", "/orders").json()
        assert listed == [own]

    def test_other_orders_are_not_found(self, api: OrderApi) -> None:
        theirs = api.create_order(order_body("c2"))
        guest = api.create_order(order_body())
        for order_id in (theirs, guest, "nope"):
            response = as_customer(api, "c1", "GET", f"/orders/{order_id}")
            assert response.status_code == 404, response.text
            assert response.json() == not_found(order_id)

    def test_service_and_anonymous_tokens_are_refused(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", legalEntityId="L1"))
        paths = (
            ("GET", "/orders"),
            ("GET", f"/orders/{order_id}"),
            ("GET", f"/orders/{order_id}/transitions"),
            ("POST", f"/orders/{order_id}/transitions"),
            ("GET", "/legal-entity-orders/L1"),
            ("GET", f"/legal-entity-orders/L1/{order_id}"),
        )
        for token in (api.token, api.tokens.anonymous(api.tenant)):
            for method, path in paths:
                json = {"status": "DECLINED"} if method == "POST" else None
                response = api.request(method, path, token=token, json=json)
                assert response.status_code == 403, (method, path, response.text)
                assert response.json()["status"] == 403
        assert api.get_order(order_id)["status"] == "CREATED"


class TestCustomerTransitions:
    @pytest.mark.parametrize("status", STATUSES)
    def test_only_a_created_order_may_be_declined(self, api: OrderApi, status: str) -> None:
        order_id = api.create_order(order_body("c1", status=status))
        response = as_customer(api, "c1", "GET", f"/orders/{order_id}/transitions")
        assert response.status_code == 200, response.text
        assert response.json() == ([{"status": "DECLINED"}] if status == "CREATED" else [])

    def test_transitions_of_other_orders_are_not_found(self, api: OrderApi) -> None:
        for order_id in (api.create_order(order_body("c2")), api.create_order(order_body()), "nope"):
            response = as_customer(api, "c1", "GET", f"/orders/{order_id}/transitions")
            assert response.status_code == 404, response.text
            assert response.json() == not_found(order_id)

    def test_decline(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1"))
        response = as_customer(api, "c1", "POST", f"/orders/{order_id}/transitions", json={"status": "DECLINED"})
        assert response.status_code == 204, response.text
        doc = api.get_order(order_id)
        assert (doc["status"], doc["metadata"]["version"]) == ("DECLINED", 2)

    @pytest.mark.parametrize(
        ("source", "target", "allowed"),
        [("CONFIRMED", "DECLINED", "none"), ("CREATED", "CONFIRMED", "DECLINED"), ("DECLINED", "DECLINED", "none")],
    )
    def test_refused_moves(self, api: OrderApi, source: str, target: str, allowed: str) -> None:
        order_id = api.create_order(order_body("c1", status=source))
        response = as_customer(api, "c1", "POST", f"/orders/{order_id}/transitions", json={"status": target})
        assert response.status_code == 400, response.text
        assert response.json() == order_error(
            400,
            f"A customer cannot move order '{order_id}' from {source} to {target}; allowed next statuses: {allowed}.",
            field="status",
            type="invalid_transition",
        )
        doc = api.get_order(order_id)
        assert (doc["status"], doc["metadata"]["version"]) == (source, 1)

    def test_another_customers_order_is_not_found_and_unchanged(self, api: OrderApi) -> None:
        for order_id in (api.create_order(order_body("c2")), api.create_order(order_body())):
            response = as_customer(api, "c1", "POST", f"/orders/{order_id}/transitions", json={"status": "DECLINED"})
            assert response.status_code == 404, response.text
            assert response.json() == not_found(order_id)
            doc = api.get_order(order_id)
            assert (doc["status"], doc["metadata"]["version"]) == ("CREATED", 1)


class TestLegalEntityOrders:
    def test_every_contacts_orders_of_the_legal_entity(self, api: OrderApi) -> None:
        api.create_customer("c3")
        api.create_contact("L1", "c3")
        api.create_contact("L2", "c1")
        mine = api.create_order(order_body("c1", legalEntityId="L1", created="2024-01-01T00:00:00Z"))
        colleague = api.create_order(order_body("c3", legalEntityId="L1", created="2024-02-01T00:00:00Z"))
        b2c = api.create_order(order_body("c1", created="2024-03-01T00:00:00Z"))
        other_entity = api.create_order(order_body("c1", legalEntityId="L2", created="2024-04-01T00:00:00Z"))
        api.create_order(order_body("c2"))
        assert ids(as_customer(api, "c1", "GET", "/legal-entity-orders/L1")) == [colleague, mine]
        assert ids(as_customer(api, "c3", "GET", "/legal-entity-orders/L1")) == [colleague, mine]
        assert ids(as_customer(api, "c1", "GET", "/legal-entity-orders/L2")) == [other_entity]
        response = as_customer(
            api, "c1", "GET", "/legal-entity-orders/L1", params={"pageSize": 1}, headers={"X-Total-Count": "true"}
        )
        assert ids(response) == [colleague]
        assert response.headers["X-Total-Count"] == "2"
        assert ids(as_customer(api, "c1", "GET", "/legal-entity-orders/L1", params={"q": "customer.id:c3"})) == [
            colleague
        ]
        # c3's own list holds its order, not c1's of the same legal entity
        assert ids(as_customer(api, "c3", "GET", "/orders")) == [colleague]

        response = as_customer(api, "c1", "GET", f"/legal-entity-orders/L1/{colleague}")
        assert response.status_code == 200, response.text
        assert response.json() == api.get_order(colleague)
        for order_id in (b2c, other_entity, "nope"):
            response = as_customer(api, "c1", "GET", f"/legal-entity-orders/L1/{order_id}")
            assert response.status_code == 404, response.text
            assert response.json() == not_found(order_id)

    def test_the_salesorder_view(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", legalEntityId="L1", quoteId="Q1", checkout=True))
        listed = as_customer(api, "c1", "GET", "/legal-entity-orders/L1").json()
        assert listed[0]["quoteId"] == "Q1"
        one = as_customer(api, "c1", "GET", f"/legal-entity-orders/L1/{order_id}").json()
        assert (one["quoteId"], one["checkout"]) == ("Q1", True)

    def test_not_a_contact_or_no_such_legal_entity(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", legalEntityId="L1"))
        for path in ("/legal-entity-orders/L1", f"/legal-entity-orders/L1/{order_id}"):
            response = as_customer(api, "c2", "GET", path)
            assert response.status_code == 403, response.text
            assert response.json()["status"] == 403
        for path in ("/legal-entity-orders/L9", f"/legal-entity-orders/L9/{order_id}"):
            response = as_customer(api, "c1", "GET", path)
            assert response.status_code == 404, response.text
            assert response.json()["status"] == 404


class TestDeletedCustomer:
    def test_orders_stay_anonymised(self, api: OrderApi) -> None:
        personal = {
            "billingAddress": {"city": "Berlin", "street": "Main 1"},
            "shippingAddress": {"city": "Bern"},
            "payments": [{"paymentMethod": "card", "amount": 10}],
        }
        gone = api.create_order(order_body("c1", siteCode="DE", **personal))
        kept = api.create_order(order_body("c2", **personal))
        before = api.get_order(gone)
        kept_before = api.get_order(kept)
        response = api.client.delete(
            f"/customer/{api.tenant}/customers/c1", headers={"Authorization": f"Bearer {api.token}"}
        )
        assert response.status_code == 202, response.text
        after = api.get_order(gone)
        assert after["customer"] == {"id": "ANONYMOUS"}
        for field in personal:
            assert field not in after
        assert after["metadata"]["version"] == before["metadata"]["version"] + 1
        untouched = {k: v for k, v in before.items() if k not in (*personal, "customer", "metadata")}
        assert {k: v for k, v in after.items() if k not in ("customer", "metadata")} == untouched
        assert api.get_order(kept) == kept_before
        response = api.request("GET", "/purchase-facts/c1")
        assert response.status_code == 404, response.text
        assert ids(api.request("GET", "/salesorders", params={"q": "customer.id:c1"})) == []
        assert api.facts("c2")["currencies"][0]["orderCount"] == 1

    def test_an_anonymised_legal_entity_order_can_still_be_changed(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", legalEntityId="L1"))
        response = api.client.delete(
            f"/customer/{api.tenant}/customers/c1", headers={"Authorization": f"Bearer {api.token}"}
        )
        assert response.status_code == 202, response.text
        response = api.request("PATCH", f"/salesorders/{order_id}", json={"siteCode": "s2"})
        assert response.status_code == 204, response.text
        after = api.get_order(order_id)
        assert (after["customer"], after["legalEntityId"], after["siteCode"]) == ({"id": "ANONYMOUS"}, "L1", "s2")
        # Moving it to another legal entity is a new reference, checked as on create.
        response = api.request("PATCH", f"/salesorders/{order_id}", json={"legalEntityId": "L2"})
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "legalEntityId"

    def test_an_order_of_a_former_contact_can_still_be_changed(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", legalEntityId="L1"))
        auth = {"Authorization": f"Bearer {api.token}"}
        base = f"/customer-management/{api.tenant}/contact-assignments"
        (assignment,) = [a for a in api.client.get(base, headers=auth).json() if a["customer"]["id"] == "c1"]
        assert api.client.delete(f"{base}/{assignment['id']}", headers=auth).status_code == 204
        response = api.request("PATCH", f"/salesorders/{order_id}", json={"siteCode": "s2"})
        assert response.status_code == 204, response.text


class TestDeletedLegalEntity:
    def test_a_new_legal_entity_with_the_same_id_sees_none_of_the_old_orders(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1", legalEntityId="L1", billingAddress={"city": "Berlin"}))
        auth = {"Authorization": f"Bearer {api.token}"}
        base = f"/customer-management/{api.tenant}/legal-entities"
        assert api.client.delete(f"{base}/L1", headers=auth).status_code == 204
        after = api.get_order(order_id)
        assert "legalEntityId" not in after
        assert after["customer"]["id"] == "c1"
        assert after["billingAddress"] == {"city": "Berlin"}
        assert api.facts("c1", legalEntityId="L1")["currencies"] == []
        assert api.facts("c1")["currencies"][0]["orderCount"] == 1
        api.create_contact("L1", "c2")
        response = as_customer(api, "c2", "GET", "/legal-entity-orders/L1")
        assert response.status_code == 200, response.text
        assert response.json() == []
        assert as_customer(api, "c2", "GET", f"/legal-entity-orders/L1/{order_id}").status_code == 404


class TestPurchaseSettings:
    def test_default_put_and_version(self, api: OrderApi) -> None:
        response = api.request("GET", "/purchase-settings")
        assert response.status_code == 200, response.text
        assert response.json() == {"countedStatuses": DEFAULT_COUNTED, "metadata": {"version": 0}}
        response = api.request("PUT", "/purchase-settings", json={"countedStatuses": ["COMPLETED"]})
        assert response.status_code == 204, response.text
        assert api.request("GET", "/purchase-settings").json() == {
            "countedStatuses": ["COMPLETED"],
            "metadata": {"version": 1, "modifiedAt": ISO_MILLIS},
        }
        stale = api.request(
            "PUT", "/purchase-settings", json={"countedStatuses": ["SHIPPED"], "metadata": {"version": 0}}
        )
        assert stale.status_code == 409, stale.text
        assert stale.json() == order_error(409, "The purchase settings are at version 1, not 0.")
        current = {"countedStatuses": ["COMPLETED", "SHIPPED"], "metadata": {"version": 1}}
        assert api.request("PUT", "/purchase-settings", json=current).status_code == 204
        doc = api.request("GET", "/purchase-settings").json()
        assert (doc["countedStatuses"], doc["metadata"]["version"]) == (["SHIPPED", "COMPLETED"], 2)

    @pytest.mark.parametrize(
        "body", [{"countedStatuses": ["LOST"]}, {}, {"countedStatuses": "COMPLETED"}, {"countedStatuses": [1]}]
    )
    def test_bad_bodies(self, api: OrderApi, body: dict[str, Any]) -> None:
        response = api.request("PUT", "/purchase-settings", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["status"] == 400
        assert api.request("GET", "/purchase-settings").json()["metadata"] == {"version": 0}

    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: OrderApi, case: str) -> None:
        assert_refused(api, case, "GET", "/purchase-settings", required=READ)
        assert_refused(api, case, "PUT", "/purchase-settings", required=UPDATE, json={"countedStatuses": []})
        assert_refused(api, case, "GET", "/purchase-facts/c1", required=READ)
        assert api.request("GET", "/purchase-settings").json()["metadata"] == {"version": 0}


def money(currency: str, count: int, total: float, first: str, last: str) -> dict[str, Any]:
    return {"currency": currency, "orderCount": count, "total": total, "firstOrderAt": first, "lastOrderAt": last}


class TestPurchaseFacts:
    def test_counts_totals_and_counted_statuses(self, api: OrderApi) -> None:
        def order(day: str, gross: float, **overrides: Any) -> str:
            created = f"2024-{day}T10:00:00Z"
            return api.create_order(order_body("c1", entry("p1", 1, gross), created=created, **overrides))

        jan, feb, mar, apr, may = (f"2024-0{m}-01T10:00:00.000Z" for m in range(1, 6))
        order("01-01", 10.0)
        order("02-01", 25.5, legalEntityId="L1", status="COMPLETED")
        order("03-01", 40.0, currency="CHF")
        declined = order("04-01", 100.0, status="DECLINED")
        shipped = order("05-01", 4.5, legalEntityId="L1", status="SHIPPED")
        api.create_order(order_body("c2", entry("p1", 1, 999.0)))
        api.create_order(order_body("ANONYMOUS", entry("p1", 1, 999.0)))
        assert api.facts("c1") == {
            "customerId": "c1",
            "countedStatuses": DEFAULT_COUNTED,
            "currencies": [money("CHF", 1, 40.0, mar, mar), money("EUR", 3, 40.0, jan, may)],
        }
        assert api.facts("c1", legalEntityId="L1") == {
            "customerId": "c1",
            "legalEntityId": "L1",
            "countedStatuses": DEFAULT_COUNTED,
            "currencies": [money("EUR", 2, 30.0, feb, may)],
        }
        assert api.facts("c2")["currencies"] == [money("EUR", 1, 999.0, ISO_MILLIS, ISO_MILLIS)]
        api.create_customer("c3")
        assert api.facts("c3") == {"customerId": "c3", "countedStatuses": DEFAULT_COUNTED, "currencies": []}
        assert api.facts("c1", legalEntityId="L9")["currencies"] == []

        # a transition moves an order in or out of the counted ones
        assert api.transition(shipped, "COMPLETED").status_code == 204
        assert api.transition(declined, "CREATED").status_code == 400
        assert api.facts("c1")["currencies"][1] == money("EUR", 3, 40.0, jan, may)

        assert api.request("PUT", "/purchase-settings", json={"countedStatuses": ["COMPLETED"]}).status_code == 204
        assert api.facts("c1") == {
            "customerId": "c1",
            "countedStatuses": ["COMPLETED"],
            "currencies": [money("EUR", 2, 30.0, feb, may)],
        }
        assert api.facts("c1", legalEntityId="L1")["currencies"] == [money("EUR", 2, 30.0, feb, may)]
        assert api.facts("c2")["currencies"] == []

        # the new setting holds for orders written after it too
        later = order("06-01", 1.25, status="SHIPPED")
        assert api.facts("c1")["currencies"] == [money("EUR", 2, 30.0, feb, may)]
        assert api.transition(later, "COMPLETED").status_code == 204
        assert api.facts("c1")["currencies"] == [money("EUR", 3, 31.25, feb, "2024-06-01T10:00:00.000Z")]

        assert api.request("PUT", "/purchase-settings", json={"countedStatuses": ["DECLINED"]}).status_code == 204
        assert api.facts("c1")["currencies"] == [money("EUR", 1, 100.0, apr, apr)]

    def test_unknown_customer(self, api: OrderApi) -> None:
        response = api.request("GET", "/purchase-facts/nobody")
        assert response.status_code == 404, response.text
        error = response.json()
        assert (error["status"], error["message"]) == (404, "Couldn't find a customer with customerNumber 'nobody'.")
