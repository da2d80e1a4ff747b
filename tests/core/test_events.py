"""The change-event registry (core/events.py): subscribers run in registration order, on the emitting write's
connection and transaction, and one that fails rolls the write back; writes over HTTP emit their events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import Api, make_contact, run_sql

from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.events import (
    ChangeEvent,
    CustomerAssignmentCreated,
    CustomerAssignmentDeleted,
    CustomerDeleted,
    EventRegistry,
    ReactionsNotRegistered,
    SegmentCreated,
)


def _ready() -> EventRegistry:
    registry = EventRegistry()
    registry.ready = True
    return registry


class Broken(Exception):
    pass


class TestRegistry:
    def test_subscribers_run_in_registration_order(self) -> None:
        registry = _ready()
        ran: list[str] = []

        async def first(conn: Connection, event: CustomerDeleted) -> None:
            ran.append(f"first {event.customer_id}")

        async def second(conn: Connection, event: CustomerDeleted) -> None:
            ran.append(f"second {event.customer_id}")

        async def other(conn: Connection, event: SegmentCreated) -> None:
            ran.append("other")

        registry.subscribe(CustomerDeleted, first)
        registry.subscribe(SegmentCreated, other)
        registry.subscribe(CustomerDeleted, second)
        registry.subscribe(CustomerDeleted, first)  # again: no second run
        asyncio.run(registry.emit(None, CustomerDeleted(tenant="t", customer_id="c1")))  # type: ignore[arg-type]
        assert ran == ["first c1", "second c1"]
        assert registry.subscribers(CustomerDeleted) == (first, second)

    def test_a_failing_subscriber_stops_the_rest(self) -> None:
        registry = _ready()
        ran: list[str] = []

        async def failing(conn: Connection, event: CustomerDeleted) -> None:
            raise Broken

        async def later(conn: Connection, event: CustomerDeleted) -> None:
            ran.append("later")

        registry.subscribe(CustomerDeleted, failing)
        registry.subscribe(CustomerDeleted, later)
        with pytest.raises(Broken):
            asyncio.run(registry.emit(None, CustomerDeleted(tenant="t", customer_id="c1")))  # type: ignore[arg-type]
        assert ran == []

    def test_emitting_before_registration_is_refused(self) -> None:
        registry = EventRegistry()
        with pytest.raises(ReactionsNotRegistered):
            asyncio.run(registry.emit(None, CustomerDeleted(tenant="t", customer_id="c1")))  # type: ignore[arg-type]
        with pytest.raises(ReactionsNotRegistered):
            registry.wanted(CustomerDeleted)

    def test_unsubscribe(self) -> None:
        registry = _ready()

        async def subscriber(conn: Connection, event: CustomerDeleted) -> None:
            raise Broken

        registry.subscribe(CustomerDeleted, subscriber)
        assert registry.wanted(CustomerDeleted, SegmentCreated)
        registry.unsubscribe(CustomerDeleted, subscriber)
        assert not registry.wanted(CustomerDeleted, SegmentCreated)
        asyncio.run(registry.emit(None, CustomerDeleted(tenant="t", customer_id="c1")))  # type: ignore[arg-type]

    def test_catalogue_names(self) -> None:
        named = {c.__name__: c.catalogue_name for c in _event_classes() if c.catalogue_name is not None}
        assert named["CustomerDeleted"] == "customer.deleted"
        assert named["CustomerAssignmentCreated"] == "customer-segment.customer-assignment-created"
        assert named["CustomerAssignmentDeleted"] == "customer-segment.customer-assignment-deleted"
        assert named["ItemAssignmentCreated"] == "customer-segment.item-assignment-created"
        assert named["CategoryDeleted"] == "category.deleted"
        assert named["ProductDeleted"] == "product.deleted"
        assert len(set(named.values())) == len(named)
        assert {"ContactRemoved", "CustomerDeactivated", "LegalEntityDeleted"} <= {c.__name__ for c in _event_classes()}

    def test_events_are_frozen(self) -> None:
        event = CustomerDeleted(tenant="t", customer_id="c1")
        with pytest.raises(AttributeError):
            event.customer_id = "c2"  # type: ignore[misc]


def _event_classes() -> list[type[ChangeEvent]]:
    return [
        v for v in vars(events).values() if isinstance(v, type) and issubclass(v, ChangeEvent) and v is not ChangeEvent
    ]


class TestSameTransaction:
    """Subscribers write on the emitting transaction's connection: they commit with it or not at all."""

    @staticmethod
    def _run(database_url: str, fail: bool) -> tuple[list[int], list[int]]:
        async def run() -> tuple[list[int], list[int]]:
            registry = _ready()

            async def write(conn: Connection, event: CustomerDeleted) -> None:
                await conn.execute("INSERT INTO event_probe VALUES (2)")

            async def maybe_fail(conn: Connection, event: CustomerDeleted) -> None:
                if fail:
                    raise Broken

            registry.subscribe(CustomerDeleted, write)
            registry.subscribe(CustomerDeleted, maybe_fail)
            conn = await asyncpg.connect(database_url)
            try:
                await conn.execute("CREATE TEMP TABLE event_probe (n integer)")
                seen: list[int] = []
                try:
                    async with conn.transaction():
                        await conn.execute("INSERT INTO event_probe VALUES (1)")
                        await registry.emit(conn, CustomerDeleted(tenant="t", customer_id="c1"))
                        seen = [r["n"] for r in await conn.fetch("SELECT n FROM event_probe ORDER BY n")]
                except Broken:
                    pass
                kept = [r["n"] for r in await conn.fetch("SELECT n FROM event_probe ORDER BY n")]
                return seen, kept
            finally:
                await conn.close()

        return asyncio.run(run())

    def test_subscribers_commit_with_the_write(self, database_url: str) -> None:
        assert self._run(database_url, fail=False) == ([1, 2], [1, 2])

    def test_a_failing_subscriber_rolls_the_write_back(self, database_url: str) -> None:
        assert self._run(database_url, fail=True) == ([], [])


@pytest.fixture
def recorded() -> Iterator[list[ChangeEvent]]:
    """Every CustomerDeleted, SegmentCreated and customer assignment event the service emits while the test runs."""
    seen: list[ChangeEvent] = []

    async def record(conn: Connection, event: ChangeEvent) -> None:
        seen.append(event)

    types: list[type[ChangeEvent]] = [
        CustomerDeleted,
        SegmentCreated,
        CustomerAssignmentCreated,
        CustomerAssignmentDeleted,
    ]
    for t in types:
        events.registry.subscribe(t, record)
    try:
        yield seen
    finally:
        for t in types:
            events.registry.unsubscribe(t, record)


def _create_customer(client: TestClient[Litestar], api: Api, customer_id: str) -> None:
    response = client.post(
        f"/customer/{api.tenant}/customers",
        json={"id": customer_id, "contactEmail": f"{customer_id}@example.com"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 201, response.text


def _delete_customer(client: TestClient[Litestar], api: Api, customer_id: str) -> int:
    return client.delete(
        f"/customer/{api.tenant}/customers/{customer_id}", headers={"Authorization": f"Bearer {api.token}"}
    ).status_code


class TestOverHttp:
    def test_writes_emit_their_events_and_cascades_announce_what_they_removed(
        self, api: Api, client: TestClient[Litestar], database_url: str, recorded: list[ChangeEvent]
    ) -> None:
        api.create_segment(id="seg")
        _create_customer(client, api, "c1")
        make_contact(database_url, api.tenant, "L1", "c1")
        assert api.request("PUT", "/segments/seg/customers/c1").status_code == 201
        assert api.request("PUT", "/segments/seg/customers/c1/L1").status_code == 201
        assert _delete_customer(client, api, "c1") == 202
        tenant = api.tenant
        mine = [e for e in recorded if e.tenant == tenant]
        assert mine[:3] == [
            SegmentCreated(tenant=tenant, segment_id="seg"),
            CustomerAssignmentCreated(tenant=tenant, segment_id="seg", customer_id="c1"),
            CustomerAssignmentCreated(tenant=tenant, segment_id="seg", customer_id="c1", legal_entity_id="L1"),
        ]
        # The memberships' deletions come first: the segment service's subscriber runs before the recorder.
        assert set(mine[3:5]) == {
            CustomerAssignmentDeleted(tenant=tenant, segment_id="seg", customer_id="c1"),
            CustomerAssignmentDeleted(tenant=tenant, segment_id="seg", customer_id="c1", legal_entity_id="L1"),
        }
        assert mine[5:] == [CustomerDeleted(tenant=tenant, customer_id="c1", email="c1@example.com")]
        assert api.request("GET", "/segments/seg/customers").json() == []
        contacts = run_sql(database_url, "SELECT count(*) AS n FROM contact_assignments WHERE tenant = $1", api.tenant)
        assert contacts[0]["n"] == 0

    def test_a_failing_subscriber_fails_the_delete_and_keeps_everything(
        self, api: Api, client: TestClient[Litestar]
    ) -> None:
        async def failing(conn: Connection, event: CustomerDeleted) -> None:
            raise Broken

        api.create_segment(id="seg")
        _create_customer(client, api, "c1")
        assert api.request("PUT", "/segments/seg/customers/c1").status_code == 201
        events.registry.subscribe(CustomerDeleted, failing)
        try:
            assert _delete_customer(client, api, "c1") == 500
        finally:
            events.registry.unsubscribe(CustomerDeleted, failing)
        response = client.get(f"/customer/{api.tenant}/customers/c1", headers={"Authorization": f"Bearer {api.token}"})
        assert response.status_code == 200
        assert [a["customer"]["id"] for a in api.request("GET", "/segments/seg/customers").json()] == ["c1"]
        assert _delete_customer(client, api, "c1") == 202
        assert api.request("GET", "/segments/seg/customers").json() == []
