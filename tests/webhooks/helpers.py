"""Requests to the webhook API for the webhook tests."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx

from segment_service.core.db import Database
from segment_service.core.events import registry
from segment_service.settings import Settings
from segment_service.webhooks.relay import dispatch_once
from tests.factories import Api, run_sql

#: A Standard Webhooks secret (`whsec_` + base64), as its libraries take it.
SECRET = "whsec_" + base64.b64encode(b"a shared secret of the receiver!").decode()


def call(api: Api, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """A request to any service of the test's tenant (`{tenant}` in `path`), with its token."""
    headers = {"Authorization": f"Bearer {api.token}", **(headers or {})}
    return api.client.request(method, path.replace("{tenant}", api.tenant), headers=headers, **kwargs)


def configure(api: Api, url: str, *, secret: str | None = SECRET, entries: list[dict[str, Any]] | None = None) -> None:
    configuration: dict[str, Any] = {"destinationUrl": url}
    if secret is not None:
        configuration["secretKey"] = secret
    if entries is not None:
        configuration["eventsConfiguration"] = entries
    body = {"code": "http", "active": True, "provider": "HTTP", "configuration": configuration}
    response = call(api, "POST", "/webhook/{tenant}/config", json=body)
    assert response.status_code == 201, response.text


def subscribe(api: Api, *event_types: str, action: str = "SUBSCRIBE", **extra: Any) -> None:
    items = [{"eventType": t, "action": action, **extra} for t in event_types]
    current = {
        item["event"]["type"]: item["metadata"].get("version")
        for item in call(api, "GET", "/webhook/{tenant}/event-subscriptions").json()
    }
    for item in items:
        if current.get(item["eventType"]) is not None:
            item["metadata"] = {"version": current[item["eventType"]]}
    response = call(api, "PATCH", "/webhook/{tenant}/event-subscriptions", json=items)
    assert response.status_code == 207, response.text
    assert all(result["code"] == 200 for result in response.json()), response.text


def dispatch(settings: Settings, tenant: str) -> None:
    """Dispatch until the tenant has nothing left in the outbox (the session app runs no relay; the relay of another
    test's app may be dispatching too): payloads are rendered and kept in webhook_events."""

    async def run() -> None:
        db = await Database.connect(settings, settings.database_url or "")
        try:
            deadline = time.monotonic() + 30
            while True:
                async with db.connection() as conn:
                    left = await conn.fetchval("SELECT count(*) FROM webhook_outbox WHERE tenant = $1", tenant)
                if not left:
                    return
                assert time.monotonic() < deadline, f"{left} outbox rows of {tenant} were never dispatched"
                if not (await dispatch_once(db, registry))[0]:
                    await asyncio.sleep(0.01)  # another relay holds the dispatch lock: it is dispatching them
        finally:
            await db.close()

    asyncio.run(run())


def published_events(database_url: str, tenant: str, settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """Every event the tenant's writes published so far, dispatched, as (event type, payload) in publication order."""
    dispatch(settings, tenant)
    rows = run_sql(
        database_url, "SELECT event_type, payload FROM webhook_events WHERE tenant = $1 ORDER BY seq", tenant
    )
    return [
        (r["event_type"], json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]) for r in rows
    ]
