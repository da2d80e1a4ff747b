"""The Order service's catalogue events, caused through the API and read from the outbox: order.created, -updated,
-status-changed, -cancelled and -deleted, with the catalogue's fields and the order's values, in commit order; an
import publishes one order.created per order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from segment_service.settings import Settings
from segment_service.webhooks.catalogue import catalogue
from tests.factories import Api
from tests.orders.helpers import entry, order_body
from tests.webhooks.helpers import call, configure, subscribe
from tests.webhooks.helpers import published_events as read_published

ORDER_TYPES = [event.type for event in catalogue() if event.type.startswith("order.")]


@pytest.fixture
def published(api: Api) -> Api:
    configure(api, "http://127.0.0.1:9/")
    subscribe(api, *ORDER_TYPES)
    response = call(api, "POST", "/customer/{tenant}/customers", json={"id": "c1", "contactEmail": "c1@example.com"})
    assert response.status_code == 201, response.text
    return api


def _schema(event_type: str) -> dict[str, Any]:
    return next(e.event_schema for e in catalogue() if e.type == event_type)


def test_every_order_event_with_its_fields_in_commit_order(
    published: Api, database_url: str, settings: Settings
) -> None:
    api = published
    body = order_body("c1", entry("p1", 2, 20.0), id="EON1", billingAddress={"city": "Berlin"}, countryCode="DE")
    assert call(api, "POST", "/order-v2/{tenant}/salesorders", json=body).status_code == 201
    patched = call(api, "PATCH", "/order-v2/{tenant}/salesorders/EON1", json={"siteCode": "outlet"})
    assert patched.status_code == 204, patched.text
    moved = call(api, "POST", "/order-v2/{tenant}/salesorders/EON1/transitions", json={"status": "DECLINED"})
    assert moved.status_code == 204, moved.text
    assert call(api, "DELETE", "/order-v2/{tenant}/salesorders/EON1").status_code == 204

    published_events = read_published(database_url, api.tenant, settings)
    assert [t for t, _ in published_events] == [
        "order.created",
        "order.updated",
        "order.status-changed",
        "order.cancelled",
        "order.deleted",
    ]
    for event_type, payload in published_events:
        assert set(payload) <= set(_schema(event_type)), event_type
    created = published_events[0][1]
    assert created["id"] == "EON1"
    assert created["status"] == "CREATED"
    assert created["entries"] == body["entries"]
    assert created["customer"] == body["customer"]
    assert created["billingAddress"] == {"city": "Berlin"}
    assert created["countryCode"] == "DE"
    assert created["currency"] == "EUR"
    assert created["siteCode"] == "main"
    assert {"created", "lastStatusChange", "metadata"} <= set(created)
    # Each payload is rendered in the write's transaction: the state right after that write.
    assert published_events[1][1]["siteCode"] == "outlet"
    assert published_events[2][1]["status"] == "DECLINED"
    assert set(published_events[2][1]) == {"id", "status", "metadata"}
    assert published_events[3][1]["status"] == "DECLINED"
    assert published_events[4][1] == {"id": "EON1", "siteCode": "outlet", "status": "DECLINED"}


def test_a_rolled_back_order_publishes_nothing(published: Api, database_url: str, settings: Settings) -> None:
    response = call(published, "POST", "/order-v2/{tenant}/salesorders", json=order_body("nobody"))
    assert response.status_code == 400
    assert read_published(database_url, published.tenant, settings) == []


def test_deleting_a_customer_announces_its_anonymised_orders(
    published: Api, database_url: str, settings: Settings
) -> None:
    api = published
    for order_id in ("A", "B"):
        body = order_body("c1", id=order_id)
        assert call(api, "POST", "/order-v2/{tenant}/salesorders", json=body).status_code == 201
    assert call(api, "DELETE", "/customer/{tenant}/customers/c1").status_code == 202
    updated = [p for t, p in read_published(database_url, api.tenant, settings) if t == "order.updated"]
    assert sorted(p["id"] for p in updated) == ["A", "B"]
    assert all(p["customer"] == {"id": "ANONYMOUS"} for p in updated)


def test_an_import_publishes_one_event_per_order(
    published: Api, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    import asyncio

    from segment_service.transfer import importer

    file = tmp_path / "orders.ndjson"
    file.write_text("".join(json.dumps(order_body("c1", id=f"I{n}")) + "\n" for n in range(30)), encoding="utf-8")
    summary = asyncio.run(importer.import_file(settings, str(settings.database_url), "orders", file, published.tenant))
    assert (summary.created, summary.failed) == (30, 0)
    created = [p["id"] for t, p in read_published(database_url, published.tenant, settings) if t == "order.created"]
    assert sorted(created) == sorted(f"I{n}" for n in range(30))
