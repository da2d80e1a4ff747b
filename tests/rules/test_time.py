"""Time-relative rules move with the rule clock (docs/rules.md#time): an app whose sweep runs every 0.2 s, the clock
moved forward by days, and memberships polled until they move (a few seconds at most). The sweep re-evaluates only
the customers whose value a `now - D` boundary passed over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from segment_service.core import clock
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.factories import run_sql
from tests.rules.helpers import RuleApi, attr
from tests.rules.support import eventually, in_segment, orders_leaf, rule_api, served

DEADLINE = 5.0


@pytest.fixture(scope="module")
def sweeping(settings: Settings) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    with served(settings, rule_sweep_seconds=0.2, rule_poll_ms=20) as running:
        yield running


@pytest.fixture
def timed(sweeping: tuple[FastLane, TestClient[FastLane]], database_url: str, tenant: str, rule_clock: None) -> RuleApi:
    """The test's tenant on the sweeping app; the rule clock goes back to the wall clock after the test."""
    return rule_api(*sweeping, database_url, tenant)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ruled(api: RuleApi, condition: dict[str, Any]) -> str:
    segment = api.create_segment()
    api.save_rule(segment, condition)
    return segment


def wait_members(api: RuleApi, segment: str, expected: set[str]) -> None:
    eventually(lambda: api.member_ids(segment), lambda ids: ids == expected, DEADLINE)


def test_a_new_customer_leaves_within_last_and_joins_older_than(timed: RuleApi) -> None:
    timed.create_customer("c1")
    recent = ruled(timed, attr("customer.metadata.createdAt", "withinLast", "P30D"))
    old = ruled(timed, attr("customer.metadata.createdAt", "olderThan", "P30D"))
    assert (timed.member_ids(recent), timed.member_ids(old)) == ({"c1"}, set())
    clock.advance(timedelta(days=29))
    timed.create_customer("c2")  # created now by the wall clock: 29 days old by the rule clock
    assert (timed.member_ids(recent), timed.member_ids(old)) == ({"c1", "c2"}, set())
    clock.advance(timedelta(days=2))
    wait_members(timed, recent, set())
    wait_members(timed, old, {"c1", "c2"})
    assert timed.members(old) == {("c1", None): "AUTOMATIC", ("c2", None): "AUTOMATIC"}
    explained = timed.explain(recent, "c1")
    assert (explained["because"], explained["condition"]["result"]) == ("NO_MATCH", False)


def test_an_order_leaves_its_window(timed: RuleApi) -> None:
    timed.create_customer("c1")
    timed.create_customer("c2")
    timed.create_order("c1")
    timed.create_order("c2", created=iso(clock.now() - timedelta(days=3)))
    week = ruled(timed, orders_leaf("count", "gte", 1, within="P7D"))
    lapsed = ruled(timed, {"all": [orders_leaf("count", "gte", 1), orders_leaf("count", "eq", 0, within="P7D")]})
    assert (timed.member_ids(week), timed.member_ids(lapsed)) == ({"c1", "c2"}, set())
    clock.advance(timedelta(days=5))
    wait_members(timed, week, {"c1"})
    wait_members(timed, lapsed, {"c2"})
    clock.advance(timedelta(days=3))
    wait_members(timed, week, set())
    wait_members(timed, lapsed, {"c1", "c2"})


def test_last_order_within_last(timed: RuleApi) -> None:
    timed.create_customer("c1")
    timed.create_customer("c2")
    timed.create_order("c1", created=iso(clock.now() - timedelta(days=100)))
    timed.create_order("c1")
    timed.create_order("c2", created=iso(clock.now() - timedelta(days=6)))
    active = ruled(timed, orders_leaf("lastOrderAt", "withinLast", "P10D"))
    veterans = ruled(timed, orders_leaf("firstOrderAt", "olderThan", "P90D"))
    assert (timed.member_ids(active), timed.member_ids(veterans)) == ({"c1", "c2"}, {"c1"})
    clock.advance(timedelta(days=5))
    wait_members(timed, active, {"c1"})
    clock.advance(timedelta(days=6))
    wait_members(timed, active, set())
    wait_members(timed, veterans, {"c1"})
    clock.advance(timedelta(days=80))
    wait_members(timed, veterans, {"c1", "c2"})


def test_a_mixin_date_moves_like_a_stored_one(timed: RuleApi) -> None:
    now = clock.now()
    timed.create_customer("c1", mixins={"profile": {"joined": iso(now - timedelta(days=20))}})
    timed.create_customer("c2", mixins={"profile": {"joined": "not a date"}})
    timed.create_customer("c3", mixins={"profile": {"joined": iso(now - timedelta(days=40))}})
    fresh = ruled(timed, attr("customer.mixins.profile.joined", "withinLast", "P30D"))
    assert timed.member_ids(fresh) == {"c1"}
    clock.advance(timedelta(days=11))
    wait_members(timed, fresh, set())


def _rows(api: RuleApi, database_url: str, segment: str) -> dict[str, tuple[Any, ...]]:
    rows = run_sql(
        database_url,
        "SELECT customer_id, assignment_type, version, created_at, modified_at FROM segment_customer_assignments"
        " WHERE tenant = $1 AND segment_id = $2",
        api.tenant,
        segment,
    )
    return {r["customer_id"]: tuple(r) for r in rows}


def _swept_at(database_url: str, tenant: str, segment: str) -> Any:
    rows = run_sql(
        database_url, "SELECT swept_at FROM segment_rules WHERE tenant = $1 AND segment_id = $2", tenant, segment
    )
    return rows[0][0]


def test_the_sweep_reevaluates_only_the_customers_a_boundary_passed(timed: RuleApi, database_url: str) -> None:
    now = clock.now()
    for customer, days in (("stays", 5), ("stale", 8), ("leaves", 25), ("old", 60)):
        joined = iso(now - timedelta(days=days))
        timed.create_customer(customer, firstName="Ann", mixins={"profile": {"joined": joined}})
    condition = {
        "all": [
            attr("customer.firstName", "eq", "Ann"),
            attr("customer.mixins.profile.joined", "withinLast", "P30D"),
        ]
    }
    segment = ruled(timed, condition)
    assert timed.member_ids(segment) == {"stays", "stale", "leaves"}
    before = _rows(timed, database_url, segment)
    # A change no write announced: only a re-evaluation of `stale` would notice that it no longer matches.
    run_sql(database_url, "UPDATE customers SET first_name = 'Bob' WHERE tenant = $1 AND id = 'stale'", timed.tenant)
    clock.advance(timedelta(days=10))
    wait_members(timed, segment, {"stays", "stale"})
    swept = _swept_at(database_url, timed.tenant, segment)
    eventually(lambda: _swept_at(database_url, timed.tenant, segment), lambda at: at != swept, DEADLINE)
    after = _rows(timed, database_url, segment)
    assert after == {k: v for k, v in before.items() if k != "leaves"}
    assert timed.explain(segment, "stale")["because"] == "NO_MATCH"  # explain reads the data as it is
    timed.update_customer("stale", lastName="Roe")  # a write re-evaluates it
    assert timed.member_ids(segment) == {"stays"}


def test_a_rule_without_time_is_never_swept(timed: RuleApi, database_url: str) -> None:
    timed.create_customer("c1", firstName="Ann")
    segment = ruled(timed, attr("customer.firstName", "eq", "Ann"))
    sweeping = ruled(timed, attr("customer.metadata.createdAt", "withinLast", "P1D"))
    run_sql(database_url, "UPDATE customers SET first_name = 'Bob' WHERE tenant = $1 AND id = 'c1'", timed.tenant)
    before = run_sql(
        database_url,
        "SELECT swept_at, evaluated_at FROM segment_rules WHERE tenant = $1 AND segment_id = $2",
        timed.tenant,
        segment,
    )
    clock.advance(timedelta(days=2))
    eventually(lambda: timed.member_ids(sweeping), lambda ids: ids == set(), DEADLINE)  # the sweep ran meanwhile
    assert timed.member_ids(segment) == {"c1"}
    after = run_sql(
        database_url,
        "SELECT swept_at, evaluated_at FROM segment_rules WHERE tenant = $1 AND segment_id = $2",
        timed.tenant,
        segment,
    )
    assert [tuple(r) for r in after] == [tuple(r) for r in before]


def test_a_swept_segment_moves_the_rules_that_read_it(timed: RuleApi) -> None:
    timed.create_customer("c1")
    timed.create_customer("c2")
    fresh = ruled(timed, attr("customer.metadata.createdAt", "withinLast", "P1D"))
    readers = ruled(timed, in_segment(fresh))
    others = ruled(timed, {"not": in_segment(fresh)})
    assert (timed.member_ids(readers), timed.member_ids(others)) == ({"c1", "c2"}, set())
    clock.advance(timedelta(days=2))
    wait_members(timed, fresh, set())
    assert (timed.member_ids(readers), timed.member_ids(others)) == (set(), {"c1", "c2"})


def test_contact_rules_move_too(timed: RuleApi) -> None:
    timed.create_customer("c1")
    for legal_entity in ("L1", "L2"):
        timed.create_legal_entity(legal_entity)
        timed.create_contact(legal_entity, "c1")
    timed.create_order("c1", legalEntityId="L1")
    timed.create_order("c1", legalEntityId="L2", created=iso(clock.now() - timedelta(days=5)))
    new_contacts = timed.create_segment()
    timed.save_rule(new_contacts, attr("contact.metadata.createdAt", "withinLast", "P1D"), "CONTACT")
    buyers = timed.create_segment()
    timed.save_rule(buyers, orders_leaf("count", "gte", 1, within="P7D"), "CONTACT")
    assert timed.members(new_contacts) == {("c1", "L1"): "AUTOMATIC", ("c1", "L2"): "AUTOMATIC"}
    assert timed.members(buyers) == {("c1", "L1"): "AUTOMATIC", ("c1", "L2"): "AUTOMATIC"}
    clock.advance(timedelta(days=3))
    eventually(lambda: timed.members(buyers), lambda m: m == {("c1", "L1"): "AUTOMATIC"}, DEADLINE)
    eventually(lambda: timed.members(new_contacts), lambda m: m == {}, DEADLINE)
