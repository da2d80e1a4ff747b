"""More of what the rule tests share: polling with a deadline, manual assignments and exclusions through the API, and
apps of their own (a rule sweep that runs often, a webhook relay that delivers)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import asyncpg
import httpx
from litestar.testing import TestClient

from segment_service.app import create_served_app
from segment_service.core.fastlane import FastLane
from segment_service.orders import facts_store
from segment_service.settings import Settings
from tests.factories import Tokens
from tests.rules.helpers import RuleApi

T = TypeVar("T")


def eventually(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 5.0, interval: float = 0.02) -> T:
    """`probe()` once `done` holds for it; fails with the last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s"
        time.sleep(interval)


def member_path(segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> str:
    return f"/segments/{segment_id}/customers/{customer_id}" + (f"/{legal_entity_id}" if legal_entity_id else "")


def exclusion_path(segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> str:
    return f"/segments/{segment_id}/exclusions/{customer_id}" + (f"/{legal_entity_id}" if legal_entity_id else "")


def assign(api: RuleApi, segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> httpx.Response:
    """PUT of a manual assignment (B2C unless a legal entity is given)."""
    return api.request("PUT", member_path(segment_id, customer_id, legal_entity_id), json={})


def unassign(api: RuleApi, segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> httpx.Response:
    return api.request("DELETE", member_path(segment_id, customer_id, legal_entity_id))


def exclude(api: RuleApi, segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> httpx.Response:
    return api.request("PUT", exclusion_path(segment_id, customer_id, legal_entity_id))


def unexclude(api: RuleApi, segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> httpx.Response:
    return api.request("DELETE", exclusion_path(segment_id, customer_id, legal_entity_id))


def ok(response: httpx.Response, *statuses: int) -> httpx.Response:
    assert response.status_code in statuses, (response.status_code, response.text)
    return response


def orders_leaf(measure: str, op: str, value: Any = None, **window: Any) -> dict[str, Any]:
    leaf: dict[str, Any] = {"orders": window, "measure": measure, "op": op}
    if value is not None:
        leaf["value"] = value
    return leaf


def in_segment(segment_id: str) -> dict[str, Any]:
    return {"inSegment": segment_id}


def call(api: RuleApi, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A request to any service of the test's tenant (`{tenant}` in `path`), with the client's token."""
    return api.client.request(method, path.replace("{tenant}", api.tenant), headers=api.auth(), **kwargs)


@contextmanager
def served(settings: Settings, **changes: Any) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    """An app of its own over the test database, with `changes` to the session's settings, started and stopped."""
    app = create_served_app(dataclasses.replace(settings, **changes))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client


def rule_api(app: FastLane, client: TestClient[FastLane], database_url: str, tenant: str) -> RuleApi:
    """A rule client of the tenant talking to `app`."""
    return RuleApi(client, Tokens(app.state.tokens, database_url), tenant)


class HeldTransaction:
    """A transaction of its own on the test database, kept open across calls from the test's thread (to hold row
    locks while requests run), rolled back by `close`."""

    def __init__(self, database_url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection = self._loop.run_until_complete(
            asyncpg.connect(database_url, statement_cache_size=0)
        )
        self.fetch("BEGIN")

    def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return list(self._loop.run_until_complete(self._conn.fetch(query, *args)))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self.fetch("ROLLBACK")
            self._loop.run_until_complete(self._conn.close())
        finally:
            self._loop.close()


async def rebuild_facts(conn: asyncpg.Connection, tenant: str) -> None:
    """The purchase summaries and timelines of the tenant's buyers, as an order write makes them (for orders seeded
    by SQL)."""
    buyers = await conn.fetch(
        "SELECT DISTINCT customer_id FROM orders WHERE tenant = $1 AND customer_id IS NOT NULL", tenant
    )
    await facts_store.rebuild(conn, tenant, [r[0] for r in buyers])
