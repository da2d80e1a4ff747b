"""A full evaluation compares all the rules of a batch with all their segments' members in one pass
(rules/evaluation_store.py `apply_shared`: each subject's wanted segments and present ones as bits of a bigint).
Whatever the rules and the members before, each segment must end as its own rule alone says: its matches, less its
exclusions, plus its manual members; the changes reported are exactly the rows inserted and deleted."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from segment_service.core.errors import BadRequest
from segment_service.core.listing import Criteria
from segment_service.rules import evaluation_store
from segment_service.rules.compiler import compile_rule, compile_shared
from segment_service.rules.conditions import parse_rule
from tests.rules.test_matcher_equivalence import NOW, Tenant, rule_sets

Pair = tuple[str, str]
#: (customer, legal entity or '') rows a segment may hold before: B2C, and contexts the seeded contacts use.
PAIRS = [(f"k{n:02d}", le) for n in range(40) for le in ("", "L0", "L1")]


@pytest.fixture(scope="module")
def tenant(database_url: str) -> Iterator[Tenant]:
    seeded = Tenant(database_url)
    yield seeded
    seeded.close()


def _outcome(
    tenant: Tenant,
    subject: str,
    conditions: list[Any],
    before: list[dict[Pair, str]],
    excluded: list[set[Pair]],
) -> None:
    tenant.loop.run_until_complete(_check(tenant, subject, conditions, before, excluded))


async def _check(
    tenant: Tenant, subject: str, conditions: list[Any], before: list[dict[Pair, str]], excluded: list[set[Pair]]
) -> None:
    conn, name = tenant.conn, tenant.tenant
    rules = [parse_rule(subject, condition, f"t{k}") for k, condition in enumerate(conditions)]
    segments = [f"t{k}" for k in range(len(rules))]
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.executemany(
            "INSERT INTO segments (tenant, id, name, status, site_code, created_at, modified_at)"
            " VALUES ($1, $2, '{}', 'ACTIVE', 'main', now(), now())",
            [(name, s) for s in segments],
        )
        await conn.executemany(
            "INSERT INTO segment_customer_assignments (tenant, segment_id, customer_id, legal_entity_id,"
            " assignment_type, created_at, modified_at) VALUES ($1, $2, $3, $4, $5, now(), now())",
            [
                (name, s, c, le, kind)
                for s, rows in zip(segments, before, strict=True)
                for (c, le), kind in rows.items()
            ],
        )
        await conn.executemany(
            "INSERT INTO segment_exclusions (tenant, segment_id, customer_id, legal_entity_id, created_at)"
            " VALUES ($1, $2, $3, $4, now())",
            [(name, s, c, le) for s, rows in zip(segments, excluded, strict=True) for c, le in rows],
        )
        matched = []
        for rule in rules:
            alone = Criteria(name)
            compiled = compile_rule(rule, alone, NOW)
            head = ("WITH " + ", ".join(compiled.ctes) + " ") if compiled.ctes else ""
            matched.append({(r[0], r[1]) for r in await conn.fetch(head + compiled.select, *alone.values)})
        criteria = Criteria(name)
        ctes, _ = compile_shared(rules, criteria, NOW, "r0_")
        changes = await evaluation_store.apply_shared(conn, criteria, ctes, "r0_m", segments)
        after: dict[str, dict[Pair, str]] = {s: {} for s in segments}
        for record in await conn.fetch(
            "SELECT segment_id, customer_id, legal_entity_id, assignment_type FROM segment_customer_assignments"
            " WHERE tenant = $1 AND segment_id = ANY($2::text[])",
            name,
            segments,
        ):
            after[record[0]][(record[1], record[2])] = record[3]
    finally:
        await transaction.rollback()
    for k, segment in enumerate(segments):
        wanted = {(c, le) for c, le in matched[k] if (c, "") not in excluded[k] and (c, le) not in excluded[k]}
        manual = {pair for pair, kind in before[k].items() if kind == "MANUAL"}
        expected = {pair: before[k].get(pair, "AUTOMATIC") for pair in wanted} | {p: "MANUAL" for p in manual}
        assert after[segment] == expected, (k, json.dumps(conditions[k]))
        added = {(c, le) for is_added, c, le in changes[k] if is_added}
        removed = {(c, le) for is_added, c, le in changes[k] if not is_added}
        assert added == wanted - before[k].keys(), k
        assert removed == {p for p, kind in before[k].items() if kind == "AUTOMATIC"} - wanted, k
        assert len(changes[k]) == len(added) + len(removed), k


@st.composite
def memberships(draw: st.DrawFn) -> dict[Pair, str]:
    pairs = draw(st.lists(st.sampled_from(PAIRS), max_size=30, unique=True))
    return {pair: draw(st.sampled_from(["AUTOMATIC", "AUTOMATIC", "MANUAL"])) for pair in pairs}


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(rule_set=rule_sets(), data=st.data())
def test_each_segment_ends_as_its_rule_alone_says(tenant: Tenant, rule_set: tuple[str, list[Any]], data: Any) -> None:
    subject, conditions = rule_set
    try:
        for condition in conditions:
            parse_rule(subject, condition, "target")
    except BadRequest:
        assume(False)
    before = [data.draw(memberships()) for _ in conditions]
    excluded = [set(data.draw(st.lists(st.sampled_from(PAIRS), max_size=8))) for _ in conditions]
    _outcome(tenant, subject, conditions, before, excluded)


SIMPLE = [
    {"attribute": "customer.firstName", "op": "in", "value": ["Ann", "ann", "B", "Bea"]},
    {"attribute": "customer.active", "op": "eq", "value": True},
    {"attribute": "customer.mixins.loyalty.tier", "op": "exists"},
    {"orders": {}, "measure": "count", "op": "gte", "value": 1},
    {"orders": {"within": "P365D"}, "measure": "total", "op": "gte", "value": 50},
    {"not": {"attribute": "customer.company", "op": "eq", "value": "ACME"}},
    {"inSegment": "s1"},
]


@pytest.mark.parametrize("subject", ["CUSTOMER", "CONTACT"])
def test_sixty_four_rules_each_keep_their_own_bit(tenant: Tenant, subject: str) -> None:
    """The most rules one statement compares (evaluation_store.SHARED_RULES): the 64th is the sign bit."""
    rng = random.Random(64)
    conditions = [SIMPLE[k % len(SIMPLE)] for k in range(evaluation_store.SHARED_RULES)]
    before = [{pair: rng.choice(["AUTOMATIC", "MANUAL"]) for pair in rng.sample(PAIRS, 12)} for _ in conditions]
    excluded = [set(rng.sample(PAIRS, 3)) for _ in conditions]
    _outcome(tenant, subject, conditions, before, excluded)


WINDOWED = [
    {"orders": {"within": "P30D"}, "measure": "lastOrderAt", "op": "exists"},
    {"orders": {"within": "P30D"}, "measure": "lastOrderAt", "op": "olderThan", "value": "P1D"},
    {"orders": {"within": "P365D"}, "measure": "firstOrderAt", "op": "missing"},
    {"orders": {"within": "P365D"}, "measure": "firstOrderAt", "op": "withinLast", "value": "P200D"},
    {"orders": {"within": "P365D"}, "measure": "total", "op": "lte", "value": 0},
    {"orders": {"within": "P30D"}, "measure": "count", "op": "eq", "value": 0},
    {"orders": {"within": "P2Y"}, "measure": "total", "op": "gte", "value": 100},
    {"orders": {}, "measure": "lastOrderAt", "op": "withinLast", "value": "P365D"},
    {"orders": {}, "measure": "count", "op": "gte", "value": 2},
]


@pytest.mark.parametrize("subject", ["CUSTOMER", "CONTACT"])
def test_windowed_purchase_conditions_read_from_the_timelines_together(tenant: Tenant, subject: str) -> None:
    """Conditions of a window alone are columns of one pass over the purchase timelines (orders/timeline_store.py
    `shared_sql`): a window with no order in it has count and total 0 and no first or last time, as each rule's own
    statement says."""
    before: list[dict[Pair, str]] = [{} for _ in WINDOWED]
    _outcome(tenant, subject, WINDOWED, before, [set() for _ in WINDOWED])
