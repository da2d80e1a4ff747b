"""What rule memberships publish (docs/rules.md#what-a-membership-change-publishes): every membership a rule adds or
removes is a customer-assignment event (`assignmentType: AUTOMATIC` when created), written to the webhook outbox in
the write's transaction and delivered to a real receiver by an app whose relay runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from segment_service.core import clock
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.factories import run_sql
from tests.rules.helpers import RuleApi, attr
from tests.rules.support import assign, eventually, exclude, in_segment, ok, rule_api, served, unassign, unexclude
from tests.webhooks.helpers import configure, subscribe
from tests.webhooks.receiver import Receiver

CREATED = "customer-segment.customer-assignment-created"
UPDATED = "customer-segment.customer-assignment-updated"
DELETED = "customer-segment.customer-assignment-deleted"
ANN = attr("customer.firstName", "eq", "Ann")

Event = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


@pytest.fixture(scope="module")
def delivering(settings: Settings) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    changes = {"webhook_deliver": True, "webhook_retry_schedule": (0.3, 0.3, 0.3), "webhook_poll_ms": 20}
    with served(settings, rule_sweep_seconds=0.2, rule_poll_ms=20, **changes) as running:
        yield running


class Published:
    """The tenant's events: read from webhook_events once the relay emptied its outbox, and as the receiver got
    them."""

    def __init__(self, api: RuleApi, database_url: str, receiver: Receiver) -> None:
        self.api = api
        self.database_url = database_url
        self.receiver = receiver
        self.path = f"/rules-{api.tenant}"
        self.seq = 0
        self.count = 0
        configure(api, receiver.url(self.path))
        subscribe(api, CREATED, UPDATED, DELETED)

    def new(self) -> list[Event]:
        """The events published since the last call, in publication order."""
        tenant = self.api.tenant
        outbox = "SELECT count(*) FROM webhook_outbox WHERE tenant = $1"
        eventually(lambda: run_sql(self.database_url, outbox, tenant)[0][0], lambda left: left == 0, 10.0)
        rows = run_sql(
            self.database_url,
            "SELECT seq, event_type, payload FROM webhook_events WHERE tenant = $1 AND seq > $2 ORDER BY seq",
            tenant,
            self.seq,
        )
        if rows:
            self.seq = rows[-1]["seq"]
        self.count += len(rows)
        return [(r["event_type"], _json(r["payload"])) for r in rows]

    def delivered(self) -> list[Event]:
        """What the receiver got, once it got every event published so far."""
        got = self.receiver.wait_for(self.count, self.path, timeout=10.0)
        assert len(got) == self.count
        return [(r.headers["emporix-event-type"], r.json()) for r in got]


def _json(value: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return doc


@pytest.fixture
def hooked(
    delivering: tuple[FastLane, TestClient[FastLane]], database_url: str, tenant: str, receiver: Receiver
) -> tuple[RuleApi, Published]:
    api = rule_api(*delivering, database_url, tenant)
    return api, Published(api, database_url, receiver)


def short(events: list[Event]) -> list[tuple[str, str, str | None, str | None]]:
    """(type, customer, legal entity, assignmentType) of each event."""
    out = []
    for event_type, payload in events:
        customer = payload["customerId"] if event_type == DELETED else payload["customer"]["id"]
        legal_entity = payload.get("legalEntityId") or (payload.get("legalEntity") or {}).get("id")
        out.append((event_type, customer, legal_entity, payload.get("assignmentType")))
    return out


def test_a_saved_rule_publishes_one_automatic_creation_per_member(hooked: tuple[RuleApi, Published]) -> None:
    api, published = hooked
    api.create_customer("c1", firstName="Ann", lastName="Doe")
    api.create_customer("c2", firstName="Ann")
    api.create_customer("c3", firstName="Bob")
    segment = api.create_segment()
    assert published.new() == []
    api.save_rule(segment, ANN)
    events = published.new()
    assert sorted(short(events)) == [(CREATED, "c1", None, "AUTOMATIC"), (CREATED, "c2", None, "AUTOMATIC")]
    by_customer = {p["customer"]["id"]: p for _, p in events}
    first = by_customer["c1"]
    assert first["customer"] == {"id": "c1", "firstName": "Ann", "lastName": "Doe", "email": "c1@example.com"}
    assert (first["segmentId"], first["tenant"], first["assignmentType"]) == (segment, api.tenant, "AUTOMATIC")
    assert "legalEntity" not in first
    assert sorted(published.delivered(), key=lambda e: e[1]["customer"]["id"]) == sorted(
        events, key=lambda e: e[1]["customer"]["id"]
    )


def test_writes_that_move_customers_publish_creations_and_deletions(hooked: tuple[RuleApi, Published]) -> None:
    api, published = hooked
    api.create_customer("c1", firstName="Ann")
    api.create_customer("c2", firstName="Bob")
    segment = api.create_segment()
    api.save_rule(segment, ANN)
    published.new()
    api.update_customer("c1", firstName="Bob")
    assert published.new() == [(DELETED, {"customerId": "c1", "segmentId": segment, "tenant": api.tenant})]
    api.update_customer("c2", firstName="Ann")
    assert short(published.new()) == [(CREATED, "c2", None, "AUTOMATIC")]
    api.update_customer("c2", lastName="Roe")  # still a member: nothing to publish
    assert published.new() == []
    assert sorted(short(published.delivered())) == sorted(
        [(CREATED, "c1", None, "AUTOMATIC"), (DELETED, "c1", None, None), (CREATED, "c2", None, "AUTOMATIC")]
    )


def test_manual_overrides_and_exclusions_publish_what_they_change(hooked: tuple[RuleApi, Published]) -> None:
    api, published = hooked
    api.create_customer("c1", firstName="Ann")
    api.create_customer("c2", firstName="Ann")
    segment = api.create_segment()
    api.save_rule(segment, ANN)
    published.new()
    ok(assign(api, segment, "c1"), 204)
    assert short(published.new()) == [(UPDATED, "c1", None, "MANUAL")]
    ok(unassign(api, segment, "c1"), 204)  # handed back to the rule, which still matches it
    assert api.members(segment) == {("c1", None): "AUTOMATIC", ("c2", None): "AUTOMATIC"}
    # One segment, one ordering key: the events come in the order of the changes, so that a receiver that applies
    # them ends with c1 a member, as it is.
    handed_back = short(published.new())
    assert handed_back == [(DELETED, "c1", None, None), (CREATED, "c1", None, "AUTOMATIC")]
    ok(exclude(api, segment, "c2"), 201)
    assert short(published.new()) == [(DELETED, "c2", None, None)]
    ok(exclude(api, segment, "c2"), 204)
    assert published.new() == []
    ok(unexclude(api, segment, "c2"), 204)
    assert short(published.new()) == [(CREATED, "c2", None, "AUTOMATIC")]
    assert len(published.delivered()) == published.count


def test_deleting_the_rule_publishes_the_deletion_of_its_members_only(hooked: tuple[RuleApi, Published]) -> None:
    api, published = hooked
    for customer in ("c1", "c2", "c3"):
        api.create_customer(customer, firstName="Ann")
    segment = api.create_segment()
    api.save_rule(segment, ANN)
    ok(assign(api, segment, "c2"), 204)
    published.new()
    ok(api.request("DELETE", f"/segments/{segment}/rule"), 204)
    assert sorted(short(published.new())) == [(DELETED, "c1", None, None), (DELETED, "c3", None, None)]
    assert api.members(segment) == {("c2", None): "MANUAL"}


def test_contact_memberships_name_their_legal_entity(hooked: tuple[RuleApi, Published]) -> None:
    api, published = hooked
    api.create_customer("c1")
    api.create_legal_entity("L1", name="Acme")
    api.create_contact("L1", "c1")
    segment = api.create_segment()
    api.save_rule(segment, attr("legalEntity.name", "eq", "Acme"), "CONTACT")
    ((event_type, payload),) = published.new()
    assert (event_type, payload["assignmentType"]) == (CREATED, "AUTOMATIC")
    assert payload["legalEntity"] == {"id": "L1", "name": "Acme"}
    api.create_legal_entity("L1", name="Globex")
    assert published.new() == [
        (DELETED, {"customerId": "c1", "legalEntityId": "L1", "segmentId": segment, "tenant": api.tenant})
    ]
    assert len(published.delivered()) == 2


def test_a_manual_assignment_publishes_for_the_rules_that_read_its_segment(
    hooked: tuple[RuleApi, Published],
) -> None:
    api, published = hooked
    api.create_customer("c1")
    staff = api.create_segment()
    readers = api.create_segment()
    api.save_rule(readers, in_segment(staff))
    ok(assign(api, staff, "c1"), 201)
    # Two segments, two ordering keys: no order between them (docs/webhooks.md#ordering).
    assert sorted((t, p["segmentId"] == readers, p["assignmentType"]) for t, p in published.new()) == [
        (CREATED, False, "MANUAL"),
        (CREATED, True, "AUTOMATIC"),
    ]
    ok(unassign(api, staff, "c1"), 204)
    assert sorted((t, p["segmentId"] == readers) for t, p in published.new()) == [(DELETED, False), (DELETED, True)]


def test_a_sweep_publishes_the_memberships_it_moves(hooked: tuple[RuleApi, Published], rule_clock: None) -> None:
    api, published = hooked
    api.create_customer("c1")
    segment = api.create_segment()
    api.save_rule(segment, attr("customer.metadata.createdAt", "withinLast", "P1D"))
    assert short(published.new()) == [(CREATED, "c1", None, "AUTOMATIC")]
    clock.advance(timedelta(days=2))
    eventually(lambda: api.member_ids(segment), lambda ids: not ids)
    assert published.new() == [(DELETED, {"customerId": "c1", "segmentId": segment, "tenant": api.tenant})]
    assert len(published.delivered()) == 2
