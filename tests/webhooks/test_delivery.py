"""Webhooks as their receiver meets them: a real HTTP receiver on 127.0.0.1, the app with its relay (short retry
delays), configured and subscribed through the API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import pytest
from litestar.testing import TestClient
from standardwebhooks.webhooks import Webhook

from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.errors import BadRequest
from segment_service.core.fastlane import FastLane
from tests.factories import Api, Tokens, run_sql, segment_body
from tests.webhooks.helpers import SECRET, call, configure, subscribe
from tests.webhooks.receiver import Receiver

SEGMENT_EVENTS = (
    "customer-segment.segment-created",
    "customer-segment.segment-updated",
    "customer-segment.segment-deleted",
)


def test_a_created_segment_arrives_signed_both_ways(hooks: Api, receiver: Receiver) -> None:
    path = f"/signed-{hooks.tenant}"
    configure(hooks, receiver.url(path))
    subscribe(hooks, *SEGMENT_EVENTS)
    segment_id = hooks.create_segment()

    (request,) = receiver.wait_for(1, path)
    body = request.body
    assert request.json()["id"] == segment_id
    assert request.json()["tenant"] == hooks.tenant
    assert request.headers["emporix-event-type"] == "customer-segment.segment-created"
    assert request.headers["webhook-id"] == request.headers["emporix-event-id"]
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert request.headers["emporix-event-signature"] == expected
    # The Standard Webhooks library verifies with the same secret string; it raises when the signature is wrong.
    Webhook(SECRET).verify(body, {k.lower(): v for k, v in request.headers.items()})
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook("whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()).verify(
            body, {k.lower(): v for k, v in request.headers.items()}
        )


def test_a_receiver_that_fails_twice_gets_the_event_three_times_with_one_id(
    hooks: Api, receiver: Receiver, database_url: str
) -> None:
    path = f"/flaky-{hooks.tenant}"
    receiver.behave(path, 500, 503)
    configure(hooks, receiver.url(path))
    subscribe(hooks, "customer-segment.segment-created")
    hooks.create_segment()

    try:
        requests = receiver.wait_for(3, path)
    except AssertionError as exc:  # what the relay recorded says which attempt went wrong, and who is connected
        log = call(hooks, "GET", "/webhook/{tenant}/deliveries").json()
        sessions = run_sql(
            database_url,
            "SELECT pid, application_name, client_port, backend_start FROM pg_stat_activity"
            " WHERE datname = current_database() ORDER BY backend_start",
        )
        raise AssertionError(f"{exc}\ndelivery log: {log}\nsessions: {[tuple(r) for r in sessions]}") from None
    time.sleep(0.8)  # no fourth attempt after the success
    requests = receiver.at(path)
    assert len(requests) == 3
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    log = _wait_delivered(hooks)
    assert [a["statusCode"] for a in log["attemptLog"]] == [500, 503, 200]


def _wait_delivered(api: Api, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        items = call(api, "GET", "/webhook/{tenant}/deliveries").json()
        if items and items[0]["status"] == "DELIVERED":
            return dict(items[0])
        assert time.monotonic() < deadline, items
        time.sleep(0.05)


def test_a_rolled_back_change_publishes_nothing(hooks: Api, receiver: Receiver, database_url: str) -> None:
    path = f"/rollback-{hooks.tenant}"
    configure(hooks, receiver.url(path))
    subscribe(hooks, "customer-segment.segment-created")

    async def refuse(conn: Connection, event: events.SegmentCreated) -> None:
        if event.tenant == hooks.tenant:
            raise BadRequest("refused by the test after the segment and its outbox row were written")

    events.registry.subscribe(events.SegmentCreated, refuse)
    try:
        response = call(hooks, "POST", "/customer-segment/{tenant}/segments", json=segment_body())
        assert response.status_code == 400
    finally:
        events.registry.unsubscribe(events.SegmentCreated, refuse)
    time.sleep(0.5)
    assert receiver.at(path) == []
    for table in ("webhook_outbox", "webhook_events"):
        assert run_sql(database_url, f"SELECT count(*) FROM {table} WHERE tenant = $1", hooks.tenant)[0][0] == 0

    hooks.create_segment()  # the next one, which commits, is delivered
    receiver.wait_for(1, path)


def test_gone_disables_the_entry(hooks: Api, receiver: Receiver) -> None:
    gone, root = f"/gone-{hooks.tenant}", f"/root-{hooks.tenant}"
    receiver.behave(gone, then=410)
    entry = {"eventType": "customer-segment.segment-created", "destinationUrl": receiver.url(gone)}
    configure(hooks, receiver.url(root), entries=[entry])
    subscribe(hooks, "customer-segment.segment-created", "customer-segment.segment-deleted")
    hooks.create_segment()
    receiver.wait_for(1, gone)

    deadline = time.monotonic() + 5
    while True:
        (config,) = [call(hooks, "GET", "/webhook/{tenant}/config/http").json()]
        if config["configuration"]["eventsConfiguration"][0]["active"] is False:
            break
        assert time.monotonic() < deadline, config
        time.sleep(0.05)
    assert config["active"] is True  # the configuration and its other destinations go on
    segment_id = hooks.create_segment()
    call(hooks, "DELETE", f"/customer-segment/{{tenant}}/segments/{segment_id}")
    receiver.wait_for(1, root)  # segment-deleted has no entry: the root destination gets it
    time.sleep(0.3)
    assert len(receiver.at(gone)) == 1


def test_filter_and_excluded_fields_shape_what_an_entry_gets(hooks: Api, receiver: Receiver) -> None:
    matching, everything = f"/active-{hooks.tenant}", f"/all-{hooks.tenant}"
    created = "customer-segment.segment-created"
    entries: list[dict[str, Any]] = [
        {
            "eventType": created.upper(),
            "destinationUrl": receiver.url(matching),
            "filter": "$[?(@.status == 'ACTIVE')]",
            "excludedFields": ["metadata", "description"],
        },
        {"eventType": created, "destinationUrl": receiver.url(everything)},
    ]
    configure(hooks, receiver.url("/unused"), entries=entries)
    subscribe(hooks, created, fieldsToUnsubscribe=["validity"])
    hooks.create_segment(status="INACTIVE")
    active_id = hooks.create_segment(status="ACTIVE")

    everything_got = receiver.wait_for(2, everything)
    (only,) = receiver.wait_for(1, matching)
    assert only.json()["id"] == active_id
    assert "metadata" not in only.json()
    assert "description" not in only.json()
    assert "validity" in only.json() or "validity" not in everything_got[0].json()  # the entry's list replaces
    for request in everything_got:
        assert "validity" not in request.json()  # the subscription's exclusion applies where the entry has none
        assert "metadata" in request.json()


def test_subscriptions_switch_events_on_and_off(hooks: Api, receiver: Receiver) -> None:
    path = f"/switch-{hooks.tenant}"
    configure(hooks, receiver.url(path))
    hooks.create_segment()  # not subscribed yet
    subscribe(hooks, "customer-segment.segment-created")
    second = hooks.create_segment()
    subscribe(hooks, "customer-segment.segment-created", action="UNSUBSCRIBE")
    hooks.create_segment()
    subscribe(hooks, "customer-segment.segment-created")
    fourth = hooks.create_segment()

    got = receiver.wait_for(2, path)
    time.sleep(0.5)
    assert [r.json()["id"] for r in receiver.at(path)] == [second, fourth]
    assert got


def test_another_tenants_events_never_reach_this_destination(
    hooks: Api, receiver: Receiver, delivering_client: TestClient[FastLane], delivering_app: FastLane, database_url: str
) -> None:
    other = Api(delivering_client, Tokens(delivering_app.state.tokens, database_url), "t" + secrets.token_hex(6))
    mine, theirs = f"/mine-{hooks.tenant}", f"/theirs-{other.tenant}"
    configure(hooks, receiver.url(mine))
    configure(other, receiver.url(theirs))
    subscribe(hooks, "customer-segment.segment-created")
    subscribe(other, "customer-segment.segment-created")
    my_segment = hooks.create_segment()
    their_segment = other.create_segment()

    (got,) = receiver.wait_for(1, mine)
    (their_got,) = receiver.wait_for(1, theirs)
    assert got.json()["id"] == my_segment
    assert got.json()["tenant"] == hooks.tenant
    assert their_got.json()["id"] == their_segment
    time.sleep(0.3)
    assert len(receiver.at(mine)) == 1


def test_events_of_one_segment_arrive_in_commit_order(hooks: Api, receiver: Receiver) -> None:
    path = f"/order-{hooks.tenant}"
    receiver.behave(path, 500)  # the first attempt fails: the later events wait for it
    configure(hooks, receiver.url(path))
    subscribe(hooks, *SEGMENT_EVENTS)
    segment_id = hooks.create_segment()
    for n in range(5):
        response = call(
            hooks,
            "PATCH",
            f"/customer-segment/{{tenant}}/segments/{segment_id}",
            json=[{"op": "replace", "path": "/name", "value": {"en": f"version {n}"}}],
        )
        assert response.status_code == 204, response.text
    call(hooks, "DELETE", f"/customer-segment/{{tenant}}/segments/{segment_id}")

    received = receiver.wait_for(8, path)
    types = [r.headers["emporix-event-type"].rsplit("-", 1)[1] for r in received]
    assert types == ["created", "created", *["updated"] * 5, "deleted"]
    names = [r.json()["name"] for r in received[2:7]]
    assert [n if isinstance(n, str) else next(iter(n.values())) for n in names] == [f"version {n}" for n in range(5)]
