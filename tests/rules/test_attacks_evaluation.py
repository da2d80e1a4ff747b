"""Attacks on full evaluations (docs/rules.md#evaluation, #freshness, #time): tenants of tens of thousands of
customers inserted by SQL make a rule's full evaluation last seconds, and writes, deletions and catalogue changes
arrive while it runs; the rule clock moves backwards and far forward. Afterwards the rule must be READY with the
members a fresh evaluation gives, and no write may fail for having met the evaluation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from segment_service.core import clock
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.factories import run_sql
from tests.rules.helpers import RuleApi, attr
from tests.rules.support import (
    HeldTransaction,
    assign,
    call,
    eventually,
    in_segment,
    ok,
    orders_leaf,
    rule_api,
    served,
)
from tests.segments.item_assignment_helpers import add_category, add_product
from tests.webhooks.helpers import configure, subscribe

ANN = attr("customer.firstName", "eq", "Ann")
BULK = """
INSERT INTO customers (tenant, id, contact_email, first_name, mixins, created_at, modified_at)
SELECT $1, $2 || lpad(n::text, 6, '0'), $2 || n || '@example.com', 'Ann', jsonb_build_object('k', n % 10), now(), now()
FROM generate_series(1, $3) AS n
"""
#: A full evaluation's statement (incremental ones name their customers).
FULL = (
    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active'"
    " AND query LIKE 'WITH r0_%' AND query NOT LIKE '%IN (SELECT unnest(%'"
)
WAITING_FOR_RULE_LOCK = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
    " AND query LIKE '%pg_advisory_xact_lock_shared%'"
)


def bulk_customers(database_url: str, tenant: str, count: int, prefix: str = "b") -> None:
    """`count` customers named Ann, inserted by SQL (no evaluation)."""
    run_sql(database_url, BULK, tenant, prefix, count)


def slow(leaves: int) -> dict[str, Any]:
    """Ann, in a condition of `leaves` more leaves that every bulk customer passes (and every customer with the mixin
    k below 100): each costs every row time."""
    return {"all": [ANN, *(attr("customer.mixins.k", "ne", 100 + i) for i in range(leaves))]}


def wait_for(database_url: str, query: str, timeout: float = 10.0) -> None:
    eventually(lambda: run_sql(database_url, query)[0][0], lambda n: n > 0, timeout, 0.01)


def test_a_customer_deleted_during_a_full_evaluation_keeps_no_membership(rules: RuleApi, database_url: str) -> None:
    bulk_customers(database_url, rules.tenant, 40_000)
    rules.create_customer("gone", firstName="Ann", mixins={"k": 1})
    segment = rules.create_segment()
    ok(rules.put_rule(segment, slow(60)), 201)
    wait_for(database_url, FULL)
    ok(call(rules, "DELETE", "/customer/{tenant}/customers/gone"), 202)
    assert rules.wait_ready(segment)["state"] == "READY"
    orphans = run_sql(
        database_url,
        "SELECT count(*) FROM segment_customer_assignments WHERE tenant = $1 AND customer_id = 'gone'",
        rules.tenant,
    )
    assert orphans[0][0] == 0, "a deleted customer is a member"
    # memberCount is counted when the evaluation ended: the deletion waited for it, and came after.
    assert rules.get_rule(segment)["memberCount"] in (40_000, 40_001)


def test_a_category_change_during_a_full_evaluation_is_not_lost(rules: RuleApi, database_url: str) -> None:
    bulk_customers(database_url, rules.tenant, 40_000)
    rules.create_customer("buyer", firstName="Ann", mixins={"k": 1})
    add_product(rules, "p1")
    add_category(database_url, rules, "tools")
    rules.create_order("buyer", product="p1")
    segment = rules.create_segment()
    condition = {"all": [orders_leaf("count", "gte", 1, category="tools"), *slow(60)["all"]]}
    ok(rules.put_rule(segment, condition), 201)
    wait_for(database_url, FULL)
    body = {"ref": {"id": "p1", "type": "PRODUCT"}}
    ok(call(rules, "POST", "/category/{tenant}/categories/tools/assignments", json=body), 201)
    assert rules.wait_ready(segment)["state"] == "READY"
    # The rule matches the buyer now; a full evaluation queued by the change would make it a member.
    assert rules.explain(segment, "buyer")["because"] == "RULE"
    eventually(lambda: rules.explain(segment, "buyer")["member"], bool, 5.0)


def test_a_manual_assignment_during_a_full_evaluation_is_not_refused(rules: RuleApi, database_url: str) -> None:
    """`staff` has a rule and `readers` reads it. While staff's full evaluation runs, c2 (whom it matches) is assigned
    to staff by hand: the write inserts c2's row, then waits for the rule lock to re-evaluate readers; the evaluation
    reaches c2 and waits for that row. A row c1 another transaction holds keeps the evaluation just before c2 until
    the write waits, as a slow evaluation would."""
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Ann")
    staff, readers = rules.create_segment(), rules.create_segment()
    rules.save_rule(readers, in_segment(staff))
    held = HeldTransaction(database_url)
    try:
        held.fetch(
            "INSERT INTO segment_customer_assignments (tenant, segment_id, customer_id, assignment_type, created_at,"
            " modified_at) VALUES ($1, $2, 'c1', 'MANUAL', now(), now())",
            rules.tenant,
            staff,
        )
        ok(rules.put_rule(staff, ANN), 201)
        wait_for(database_url, FULL)
        with ThreadPoolExecutor(1) as pool:
            assigned = pool.submit(assign, rules, staff, "c2")
            wait_for(database_url, WAITING_FOR_RULE_LOCK)
            held.close()
            response = assigned.result()
    finally:
        held.close()
    # The write waited for the evaluation, which had made c2 a member: the manual assignment turned it MANUAL.
    assert response.status_code == 204, response.text
    assert rules.wait_ready(staff)["state"] == "READY"
    assert rules.members(staff) == {("c1", None): "AUTOMATIC", ("c2", None): "MANUAL"}
    assert rules.member_ids(readers) == {"c1", "c2"}


@pytest.fixture(scope="module")
def strict(settings: Settings) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    """An app whose statements may last two seconds (SEGMENT_SERVICE_STATEMENT_TIMEOUT_MS=2000): shorter than the
    full evaluation below, long enough for the write's own statements on a machine busy with that evaluation."""
    with served(settings, statement_timeout_ms=2000, rule_poll_ms=20) as running:
        yield running


def test_writes_during_a_long_full_evaluation_wait_for_it(
    strict: tuple[FastLane, TestClient[FastLane]], database_url: str, tenant: str
) -> None:
    """docs/rules.md#evaluation: a write during a full evaluation waits for it to commit; a wait longer than the
    statement timeout is a 503 with Retry-After (nothing written), and the same request succeeds once it is done."""
    api = rule_api(*strict, database_url, tenant)
    bulk_customers(database_url, tenant, 40_000)
    api.create_customer("c1", firstName="Bob", mixins={"k": 1})
    segment = api.create_segment()
    ok(api.put_rule(segment, slow(150)), 201)
    wait_for(database_url, FULL)
    patched = call(api, "PATCH", "/customer/{tenant}/customers/c1", json={"firstName": "Ann"})
    if patched.status_code == 503:
        assert int(patched.headers["Retry-After"]) >= 1
        assert "being evaluated" in patched.json()["message"]
    if patched.status_code != 200:
        # Known gap (docs/rules.md#evaluation): on a machine saturated by the evaluation, one of the write's own
        # statements can outlast the timeout and answer the statement-timeout 400 instead; nothing was written
        # either way, and the same request succeeds once the evaluation is done.
        assert patched.status_code in (503, 400), patched.text
        assert api.wait_ready(segment, timeout=120)["state"] == "READY"
        deadline = time.monotonic() + 60
        while patched.status_code != 200 and time.monotonic() < deadline:
            patched = call(api, "PATCH", "/customer/{tenant}/customers/c1", json={"firstName": "Ann"})
            assert patched.status_code in (200, 503, 400), patched.text
    assert patched.status_code == 200, patched.text
    assert api.wait_ready(segment)["state"] == "READY"
    assert api.explain(segment, "c1")["member"]


def test_deleting_a_segment_while_its_rule_is_evaluated(rules: RuleApi, database_url: str) -> None:
    bulk_customers(database_url, rules.tenant, 40_000)
    evaluated = rules.create_segment()
    ok(rules.put_rule(evaluated, slow(60)), 201)
    wait_for(database_url, FULL)
    ok(rules.request("DELETE", f"/segments/{evaluated}", params={"forceDelete": "true"}), 204)
    for table in ("segment_customer_assignments", "segment_rules"):
        assert run_sql(database_url, f"SELECT count(*) FROM {table} WHERE tenant = $1", rules.tenant)[0][0] == 0
    after = rules.create_segment()
    rules.save_rule(after, attr("customer.id", "eq", "b000001"))
    assert rules.member_ids(after) == {"b000001"}


def test_deleting_a_segment_a_rule_reads_while_the_rule_is_evaluated(rules: RuleApi, database_url: str) -> None:
    bulk_customers(database_url, rules.tenant, 40_000)
    staff, reader = rules.create_segment(), rules.create_segment()
    ok(assign(rules, staff, "b000001"), 201)
    # Inside `any`, PostgreSQL cannot turn the membership into a join: every customer is read.
    reading = {"any": [in_segment(staff), attr("customer.id", "eq", "nobody")]}
    ok(rules.put_rule(reader, {"all": [reading, *slow(300)["all"]]}), 201)
    wait_for(database_url, FULL)
    ok(rules.request("DELETE", f"/segments/{staff}", params={"forceDelete": "true"}), 204)
    assert rules.wait_ready(reader, 30)["state"] == "READY"
    assert rules.members(reader) == {}
    explained = rules.explain(reader, "b000001")
    assert (explained["because"], explained["condition"]["all"][0]["any"][0]["result"]) == ("NO_MATCH", False)


def test_saving_a_rule_again_over_a_large_segment_costs_no_more_than_the_first_time(
    rules: RuleApi, database_url: str
) -> None:
    """The second evaluation finds 9,000 AUTOMATIC members; its removal is an anti-join against the wanted rows,
    which PostgreSQL runs as a nested loop over the CTE when it expects the rule to match about one customer (a
    condition of 20 leaves: their selectivities multiply) and its statistics predate the segment's rows (autovacuum
    analyzes a large table only after a tenth of it changed): 9,000 x 9,000 comparisons."""
    bulk_customers(database_url, rules.tenant, 9_000)
    segment = rules.create_segment()
    run_sql(database_url, "ANALYZE segment_customer_assignments")
    started = time.monotonic()
    rules.save_rule(segment, slow(20))
    first = time.monotonic() - started
    started = time.monotonic()
    rules.save_rule(segment, slow(21))
    second = time.monotonic() - started
    assert rules.get_rule(segment)["memberCount"] == 9_000
    assert second < max(2.0, 4 * first), f"first evaluation {first:.1f} s, the same members again {second:.1f} s"


def test_a_customer_deleted_while_in_rule_segments_leaves_them_all_announced(rules: RuleApi, database_url: str) -> None:
    configure(rules, "http://127.0.0.1:9/never")
    subscribe(rules, "customer-segment.customer-assignment-deleted", "customer-segment.customer-assignment-created")
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Ann")
    anns, readers, manual = rules.create_segment(), rules.create_segment(), rules.create_segment()
    rules.save_rule(anns, ANN)
    rules.save_rule(readers, {"all": [in_segment(anns), in_segment(manual)]})
    ok(assign(rules, manual, "c1"), 201)
    assert rules.member_ids(readers) == {"c1"}
    seq = run_sql(database_url, "SELECT coalesce(max(seq), 0) FROM webhook_outbox WHERE tenant = $1", rules.tenant)
    ok(call(rules, "DELETE", "/customer/{tenant}/customers/c1"), 202)
    assert (rules.member_ids(anns), rules.member_ids(readers), rules.member_ids(manual)) == ({"c2"}, set(), set())
    rows = run_sql(
        database_url, "SELECT events FROM webhook_outbox WHERE tenant = $1 AND seq > $2", rules.tenant, seq[0][0]
    )
    announced = sorted(
        (item["event"], item["segment_id"])
        for row in rows
        for item in json.loads(row["events"])
        if item.get("customer_id") == "c1"
    )
    deleted = "CustomerAssignmentDeleted"
    assert announced == sorted([(deleted, anns), (deleted, readers), (deleted, manual)])
    assert rules.request("GET", f"/segments/{anns}/explain", params={"customerId": "c1"}).status_code == 404


# --------------------------------------------------------------------------------------------------------- time


@pytest.fixture(scope="module")
def sweeping(settings: Settings) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    with served(settings, rule_sweep_seconds=0.2, rule_poll_ms=20) as running:
        yield running


@pytest.fixture
def timed(sweeping: tuple[FastLane, TestClient[FastLane]], database_url: str, tenant: str, rule_clock: None) -> RuleApi:
    return rule_api(*sweeping, database_url, tenant)


def test_the_rule_clock_moved_back_moves_memberships_back(timed: RuleApi) -> None:
    """A sweep moves only rules last moved before now - interval, and only customers between the last move and now:
    a clock that went back (an NTP step, a test) stops both until it has caught up again."""
    timed.create_customer("c1")
    recent = timed.create_segment()
    timed.save_rule(recent, attr("customer.metadata.createdAt", "withinLast", "P30D"))
    clock.advance(timedelta(days=31))
    eventually(lambda: timed.member_ids(recent), lambda ids: ids == set())
    clock.advance(timedelta(days=-31))
    assert timed.explain(recent, "c1")["because"] == "RULE"
    eventually(lambda: timed.member_ids(recent), lambda ids: ids == {"c1"}, 3.0)


def test_the_rule_clock_far_forward_moves_everyone_once(timed: RuleApi) -> None:
    timed.create_customer("c1")
    timed.create_order("c1")
    recent = timed.create_segment()
    lapsed = timed.create_segment()
    timed.save_rule(recent, attr("customer.metadata.createdAt", "withinLast", "P30D"))
    timed.save_rule(lapsed, {"all": [orders_leaf("count", "gte", 1), orders_leaf("count", "eq", 0, within="P365D")]})
    clock.advance(timedelta(days=365 * 200))
    eventually(lambda: (timed.member_ids(recent), timed.member_ids(lapsed)), lambda ids: ids == (set(), {"c1"}))
    assert timed.get_rule(recent)["state"] == timed.get_rule(lapsed)["state"] == "READY"
    created = call(timed, "POST", "/customer/{tenant}/customers", json={"id": "c2", "contactEmail": "c2@example.com"})
    assert created.status_code == 201, created.text
    assert (timed.member_ids(recent), timed.member_ids(lapsed)) == (set(), {"c1"})
