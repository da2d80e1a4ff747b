"""The tenant's order status transitions over HTTP: GET/POST /salesorders/{orderId}/transitions and
GET /salesorders/{orderId}/historical-transitions, with their unhappy paths and concurrent moves."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import product
from typing import Any

import pytest
from tests.factories import AUTH_FAILURES, ISO_MILLIS, assert_refused
from tests.orders.helpers import UPDATE, OrderApi, order_body, order_error

STATUSES = ("IN_CHECKOUT", "CREATED", "CONFIRMED", "DECLINED", "SHIPPED", "COMPLETED")
#: What the tenant may move an order to next, by status (order.yml).
NEXT: dict[str, list[str]] = {
    "IN_CHECKOUT": ["CREATED"],
    "CREATED": ["CONFIRMED", "DECLINED"],
    "CONFIRMED": ["SHIPPED", "DECLINED"],
    "SHIPPED": ["COMPLETED"],
    "DECLINED": [],
    "COMPLETED": [],
}
PAST = "2024-05-14T12:00:00Z"
PAST_MILLIS = "2024-05-14T12:00:00.000Z"


@pytest.fixture
def api(orders: OrderApi) -> OrderApi:
    """Customers c1 and c2; c1 is a contact of legal entity L1."""
    orders.create_customer("c1")
    orders.create_customer("c2")
    orders.create_contact("L1", "c1")
    return orders


def order_in(api: OrderApi, status: str, **overrides: Any) -> str:
    """A new order of c1 in `status`, created in the past."""
    return api.create_order(order_body("c1", status=status, created=PAST, **overrides))


def history(api: OrderApi, order_id: str) -> dict[str, Any]:
    response = api.request("GET", f"/salesorders/{order_id}/historical-transitions")
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


class TestAllowedTransitions:
    @pytest.mark.parametrize("status", STATUSES)
    def test_lists_the_next_statuses(self, api: OrderApi, status: str) -> None:
        order_id = order_in(api, status)
        response = api.request("GET", f"/salesorders/{order_id}/transitions")
        assert response.status_code == 200, response.text
        assert response.json() == [{"status": s} for s in NEXT[status]]

    @pytest.mark.parametrize(("source", "target"), list(product(STATUSES, STATUSES)))
    def test_every_pair_is_allowed_or_refused(self, api: OrderApi, source: str, target: str) -> None:
        order_id = order_in(api, source)
        before = api.get_order(order_id)
        response = api.transition(order_id, target)
        after = api.get_order(order_id)
        if target in NEXT[source]:
            assert response.status_code == 204, response.text
            assert response.content == b""
            assert after["status"] == target
            assert after["lastStatusChange"] == ISO_MILLIS
            assert after["lastStatusChange"] != before["lastStatusChange"]
            assert after["metadata"]["version"] == before["metadata"]["version"] + 1
            assert after["created"] == PAST_MILLIS
            if target == "COMPLETED":
                assert after["completed"] == after["lastStatusChange"]
            else:
                assert "completed" not in after
        else:
            allowed = ", ".join(NEXT[source]) or "none"
            assert response.status_code == 400, response.text
            assert response.json() == order_error(
                400,
                f"The tenant cannot move order '{order_id}' from {source} to {target}; "
                f"allowed next statuses: {allowed}.",
                field="status",
                type="invalid_transition",
            )
            assert after == before

    def test_a_whole_lifecycle(self, api: OrderApi) -> None:
        order_id = order_in(api, "IN_CHECKOUT")
        for status in ("CREATED", "CONFIRMED", "SHIPPED", "COMPLETED"):
            response = api.transition(order_id, status)
            assert response.status_code == 204, response.text
        doc = api.get_order(order_id)
        assert (doc["status"], doc["metadata"]["version"]) == ("COMPLETED", 5)
        assert doc["completed"] == ISO_MILLIS
        response = api.request("GET", f"/salesorders/{order_id}/transitions")
        assert response.json() == []


class TestHistory:
    def test_the_creation_status_comes_first(self, api: OrderApi) -> None:
        order_id = order_in(api, "CREATED")
        assert history(api, order_id) == {
            "transitions": [{"status": "CREATED", "timestamp": PAST_MILLIS}],
            "metadata": {"version": 1, "createdAt": PAST_MILLIS, "modifiedAt": ISO_MILLIS},
        }

    def test_transitions_oldest_first(self, api: OrderApi) -> None:
        order_id = order_in(api, "CREATED")
        assert api.transition(order_id, "CONFIRMED").status_code == 204
        assert api.transition(order_id, "SHIPPED").status_code == 204
        assert api.transition(order_id, "COMPLETED").status_code == 204
        assert api.transition(order_id, "DECLINED").status_code == 400  # refused: not recorded
        doc = history(api, order_id)
        order = api.get_order(order_id)
        assert [t["status"] for t in doc["transitions"]] == ["CREATED", "CONFIRMED", "SHIPPED", "COMPLETED"]
        assert doc["transitions"][0] == {"status": "CREATED", "timestamp": PAST_MILLIS}
        stamps = [t["timestamp"] for t in doc["transitions"]]
        assert all(stamp == ISO_MILLIS for stamp in stamps)
        assert stamps == sorted(stamps)
        assert stamps[-1] == order["lastStatusChange"] == order["completed"]
        assert doc["metadata"] == {
            "version": 4,
            "createdAt": PAST_MILLIS,
            "modifiedAt": order["metadata"]["modifiedAt"],
        }

    def test_an_order_created_now(self, api: OrderApi) -> None:
        order_id = api.create_order(order_body("c1"))
        doc = history(api, order_id)
        order = api.get_order(order_id)
        assert doc["transitions"] == [{"status": "CREATED", "timestamp": order["created"]}]
        assert doc["metadata"]["createdAt"] == order["created"]


class TestUnhappyPaths:
    def test_unknown_order(self, api: OrderApi) -> None:
        expected = order_error(404, "Order with id 'nope' not found.")
        for method, path, body in (
            ("GET", "/salesorders/nope/transitions", None),
            ("POST", "/salesorders/nope/transitions", {"status": "CONFIRMED"}),
            ("GET", "/salesorders/nope/historical-transitions", None),
        ):
            response = api.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json() == expected

    def test_other_tenants_order(self, api: OrderApi) -> None:
        order_id = order_in(api, "CREATED")
        other = OrderApi(api.client, api.tokens, "o" + api.tenant[1:])
        expected = order_error(404, f"Order with id '{order_id}' not found.")
        for method, path, body in (
            ("GET", f"/salesorders/{order_id}/transitions", None),
            ("POST", f"/salesorders/{order_id}/transitions", {"status": "CONFIRMED"}),
            ("GET", f"/salesorders/{order_id}/historical-transitions", None),
        ):
            response = other.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json() == expected
        assert api.get_order(order_id)["status"] == "CREATED"

    @pytest.mark.parametrize(
        "body", [{"status": "LOST"}, {}, {"status": None}, {"status": 3}, [], {"status": "created"}]
    )
    def test_malformed_bodies(self, api: OrderApi, body: Any) -> None:
        order_id = order_in(api, "CREATED")
        response = api.request("POST", f"/salesorders/{order_id}/transitions", json=body)
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["status"] == 400
        assert error["message"]
        assert api.get_order(order_id)["metadata"]["version"] == 1

    def test_not_json(self, api: OrderApi) -> None:
        order_id = order_in(api, "CREATED")
        response = api.request(
            "POST",
            f"/salesorders/{order_id}/transitions",
            content=b'{"status": "CONFIRMED"',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400, response.text
        assert response.json()["status"] == 400
        assert api.get_order(order_id)["status"] == "CREATED"

    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: OrderApi, case: str) -> None:
        order_id = order_in(api, "CREATED")
        assert_refused(
            api,
            case,
            "GET",
            f"/salesorders/{order_id}/transitions",
            required=("order.order_read", "order.order_update", "order.order_update_completed"),
        )
        assert_refused(
            api, case, "POST", f"/salesorders/{order_id}/transitions", required=UPDATE, json={"status": "CONFIRMED"}
        )
        assert_refused(
            api,
            case,
            "GET",
            f"/salesorders/{order_id}/historical-transitions",
            required=("order.order_read", "order.order_update"),
        )
        doc = api.get_order(order_id)
        assert (doc["status"], doc["metadata"]["version"]) == ("CREATED", 1)
        assert len(history(api, order_id)["transitions"]) == 1

    @pytest.mark.parametrize("scope", ["order.order_read", "order.order_update", "order.order_update_completed"])
    def test_each_accepted_scope_reads_the_transitions(self, api: OrderApi, scope: str) -> None:
        order_id = order_in(api, "CREATED")
        token = api.tokens.service(api.tenant, (scope,))
        response = api.request("GET", f"/salesorders/{order_id}/transitions", token=token)
        assert response.status_code == 200, response.text
        assert response.json() == [{"status": "CONFIRMED"}, {"status": "DECLINED"}]

    def test_customer_and_anonymous_tokens_are_refused(self, api: OrderApi) -> None:
        order_id = order_in(api, "CREATED")
        for token in (api.tokens.customer(api.tenant, "c1"), api.tokens.anonymous(api.tenant)):
            response = api.transition(order_id, "DECLINED", token=token)
            assert response.status_code == 403, response.text
            assert response.json()["status"] == 403
        assert api.get_order(order_id)["status"] == "CREATED"


class TestConcurrency:
    def test_one_of_many_concurrent_moves_wins(self, api: OrderApi) -> None:
        order_id = order_in(api, "CREATED")
        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(lambda _: api.transition(order_id, "CONFIRMED"), range(8)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [204] + [400] * 7, [r.text for r in responses]
        refusal = order_error(
            400,
            f"The tenant cannot move order '{order_id}' from CONFIRMED to CONFIRMED; "
            "allowed next statuses: SHIPPED, DECLINED.",
            field="status",
            type="invalid_transition",
        )
        assert all(r.json() == refusal for r in responses if r.status_code == 400)
        doc = history(api, order_id)
        assert [t["status"] for t in doc["transitions"]] == ["CREATED", "CONFIRMED"]
        assert doc["metadata"]["version"] == 2
        assert api.get_order(order_id)["status"] == "CONFIRMED"
