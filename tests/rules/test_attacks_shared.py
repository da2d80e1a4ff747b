"""Attacks on a full evaluation's one-statement apply (rules/evaluation_store.py `apply_shared`, through
rules/evaluation.py `apply_rules` with no customers): many rules of both subjects (more than one statement's 64),
segment ids of odd characters and great length, rules whose result is NULL, memberships whose legal entity does not
fit the rule's subject, manual rows wanted and not, exclusions of every context, empty tenants. Each segment must end
as its own rule alone says (rules/compiler.py `compile_rule`), and each change must be announced exactly once, with
its segment."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from segment_service.core import events
from segment_service.core.listing import Criteria
from segment_service.rules import evaluation, evaluation_store, evaluator
from segment_service.rules.compiler import compile_rule
from segment_service.rules.conditions import parse_rule
from segment_service.rules.store import RuleRow
from tests.factories import run_sql
from tests.rules.helpers import RuleApi, attr
from tests.rules.support import assign, eventually, exclude, ok
from tests.rules.test_events import CREATED as CREATED_EVENT
from tests.rules.test_events import DELETED as DELETED_EVENT
from tests.rules.test_events import Published, delivering, hooked, receiver  # noqa: F401 (fixtures)
from tests.rules.test_matcher_equivalence import NOW, Tenant

Pair = tuple[str, str]
PAIRS = [(f"k{n:02d}", le) for n in range(40) for le in ("", "L0", "L1", "L3")] + [("gone", ""), ("gone", "L0")]
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
_CREATED = itertools.count()

CUSTOMER_CONDITIONS: list[Any] = [
    {"attribute": "customer.firstName", "op": "in", "value": ["Ann", "ann", "B", "Bea"]},
    {"attribute": "customer.active", "op": "eq", "value": True},
    {"attribute": "customer.mixins.loyalty.tier", "op": "exists"},
    {"attribute": "customer.mixins.loyalty.tier", "op": "missing"},
    {"not": {"attribute": "customer.company", "op": "eq", "value": "ACME"}},
    {"not": {"attribute": "customer.mixins.loyalty.points", "op": "gt", "value": 5}},
    {"orders": {}, "measure": "count", "op": "gte", "value": 1},
    {"orders": {"within": "P365D"}, "measure": "total", "op": "gte", "value": 50},
    {"inSegment": "s1"},
    {"not": {"inSegment": "s2"}},
    {"attribute": "customer.title", "op": "ne", "value": "MR"},
]
CONTACT_CONDITIONS: list[Any] = [
    {"attribute": "contact.type", "op": "eq", "value": "PRIMARY"},
    {"attribute": "legalEntity.name", "op": "in", "value": ["Acme", "acme"]},
    {"not": {"attribute": "contact.type", "op": "eq", "value": "BILLING"}},
    {"attribute": "legalEntity.parentId", "op": "exists"},
    {"not": {"attribute": "legalEntity.parentId", "op": "eq", "value": "L0"}},
    {"attribute": "customer.active", "op": "eq", "value": True},
    {"orders": {}, "measure": "count", "op": "gte", "value": 1},
    {"inSegment": "s1"},
    {"not": {"inSegment": "s1"}},
]
ODD_IDS = [
    "a'b",
    'q"uote',
    "{a,b}",
    "NULL",
    "back\\slash",
    "Zoë",
    "ß",
    "ss",
    "SS",
    "emoji-\U0001f600",
    " lead",
    "lead",
    "com,ma",
    "x" * 1500,
    "y" * 1499 + "é",
    "$1",
    "%_",
    "tab\tand\nnewline",
]


@pytest.fixture(scope="module")
def world(database_url: str) -> Iterator[Tenant]:
    seeded = Tenant(database_url)
    yield seeded
    seeded.close()


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[events.ChangeEvent]:
    """Every event the evaluation emits (nothing reacts to them)."""
    got: list[events.ChangeEvent] = []

    async def record(conn: Any, batch: Sequence[events.ChangeEvent]) -> None:
        got.extend(batch)

    monkeypatch.setattr(events, "emit_many", record)
    return got


def row(segment_id: str, subject: str, condition: Any, depends_on: list[str] | None = None) -> RuleRow:
    """A queued rule; a created_at of its own, since rules/evaluation.py caches parsed rules by (tenant, segment,
    version, created) and these tests reuse segment ids within one tenant."""
    created = CREATED + timedelta(microseconds=next(_CREATED))
    return RuleRow(
        segment_id, subject, condition, depends_on or [], False, False, False, "EVALUATING", None, None, None, None,
        1, created, created,
    )  # fmt: skip


async def _run(
    conn: asyncpg.Connection,
    name: str,
    rows: list[RuleRow],
    before: dict[str, dict[Pair, str]],
    excluded: dict[str, set[Pair]],
    announced: list[events.ChangeEvent],
    *,
    extra_segments: Sequence[str] = (),
    twice: bool = False,
) -> None:
    segments = [r.segment_id for r in rows]
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.executemany(
            "INSERT INTO segments (tenant, id, name, status, site_code, created_at, modified_at)"
            " VALUES ($1, $2, '{}', 'ACTIVE', 'main', now(), now()) ON CONFLICT DO NOTHING",
            [(name, s) for s in [*segments, *extra_segments]],
        )
        await conn.executemany(
            "INSERT INTO segment_customer_assignments (tenant, segment_id, customer_id, legal_entity_id,"
            " assignment_type, created_at, modified_at) VALUES ($1, $2, $3, $4, $5, now(), now())",
            [(name, s, c, le, kind) for s, rows_ in before.items() for (c, le), kind in rows_.items()],
        )
        await conn.executemany(
            "INSERT INTO segment_exclusions (tenant, segment_id, customer_id, legal_entity_id, created_at)"
            " VALUES ($1, $2, $3, $4, now())",
            [(name, s, c, le) for s, pairs in excluded.items() for c, le in pairs],
        )
        matched = {}
        for r in rows:
            alone = Criteria(name)
            compiled = compile_rule(parse_rule(r.subject, r.condition, r.segment_id), alone, NOW)
            head = ("WITH " + ", ".join(compiled.ctes) + " ") if compiled.ctes else ""
            matched[r.segment_id] = {(x[0], x[1]) for x in await conn.fetch(head + compiled.select, *alone.values)}
        # The evaluator's settings are those of its transaction; whole_tenant_settings are set inside _apply.
        changes = await evaluation.apply_rules(conn, name, rows, None, NOW)
        first: list[Any] = list(announced)
        again = None
        if twice:
            again = await evaluation.apply_rules(conn, name, rows, None, NOW)
        after: dict[str, dict[Pair, str]] = {s: {} for s in segments}
        others: list[Any] = []
        for record in await conn.fetch(
            "SELECT segment_id, customer_id, legal_entity_id, assignment_type FROM segment_customer_assignments"
            " WHERE tenant = $1",
            name,
        ):
            if record[0] in after:
                after[record[0]][(record[1], record[2])] = record[3]
            else:
                others.append(tuple(record))
    finally:
        await transaction.rollback()
    # Segments outside the batch keep their rows.
    outside = sorted(
        (s, c, le, kind) for s, rows_ in before.items() if s not in after for (c, le), kind in rows_.items()
    )
    assert sorted(o for o in others if o[0] in before) == outside
    expected_events: list[tuple[str, str, str, str | None]] = []
    for r in rows:
        s = r.segment_id
        ex = excluded.get(s, set())
        was = before.get(s, {})
        wanted = {(c, le) for c, le in matched[s] if (c, "") not in ex and (c, le) not in ex}
        manual = {p for p, kind in was.items() if kind == "MANUAL"}
        expected = {p: was.get(p, "AUTOMATIC") for p in wanted} | {p: "MANUAL" for p in manual}
        assert after[s] == expected, (s[:40], r.condition)
        expected_events += [("created", s, c, le or None) for c, le in wanted - was.keys()]
        expected_events += [
            ("deleted", s, c, le or None)
            for (c, le), kind in was.items()
            if kind == "AUTOMATIC" and (c, le) not in wanted
        ]
    got = [
        (
            "created" if isinstance(e, events.CustomerAssignmentCreated) else "deleted",
            e.segment_id,
            e.customer_id,
            e.legal_entity_id,
        )
        for e in first
    ]
    assert all(getattr(e, "assignment_type", "AUTOMATIC") == "AUTOMATIC" for e in first)
    key = repr
    assert sorted(got, key=key) == sorted(expected_events, key=key)  # each once, with its segment
    assert len(changes) == len(expected_events)
    if twice:
        assert again == []
        assert len(announced) == len(first)


def _random_state(
    rng: random.Random, segments: Sequence[str], size: int = 25
) -> tuple[dict[str, dict[Pair, str]], dict[str, set[Pair]]]:
    before = {
        s: {p: rng.choice(["AUTOMATIC", "AUTOMATIC", "MANUAL"]) for p in rng.sample(PAIRS, size)} for s in segments
    }
    excluded = {s: set(rng.sample(PAIRS, 6)) for s in segments}
    return before, excluded


def test_more_rules_than_one_statement_of_both_subjects_and_odd_ids(world: Tenant, announced: list[Any]) -> None:
    """150 customer rules and 70 contact rules (4 statements, the 64th of each the sign bit), interleaved, with
    segment ids that need quoting, differ only in case or accents, or are 1,500 characters long."""
    rng = random.Random(7)
    rows = []
    for n in range(150):
        sid = ODD_IDS[n] if n < len(ODD_IDS) else f"cu{n:03d}"
        rows.append(row(sid, "CUSTOMER", CUSTOMER_CONDITIONS[n % len(CUSTOMER_CONDITIONS)], []))
    for n in range(70):
        rows.append(row(f"co{n:03d}'\"", "CONTACT", CONTACT_CONDITIONS[n % len(CONTACT_CONDITIONS)], []))
    rng.shuffle(rows)
    before, excluded = _random_state(rng, [r.segment_id for r in rows])
    world.loop.run_until_complete(_run(world.conn, world.tenant, rows, before, excluded, announced, twice=True))


@pytest.mark.parametrize("subject", ["CUSTOMER", "CONTACT"])
def test_exactly_sixty_four_and_sixty_five(world: Tenant, announced: list[Any], subject: str) -> None:
    rng = random.Random(65)
    conditions = CUSTOMER_CONDITIONS if subject == "CUSTOMER" else CONTACT_CONDITIONS
    for count in (64, 65, 128, 129):
        del announced[:]
        rows = [row(f"n{count}-{k:03d}", subject, conditions[k % len(conditions)]) for k in range(count)]
        before, excluded = _random_state(rng, [r.segment_id for r in rows], 40)
        world.loop.run_until_complete(_run(world.conn, world.tenant, rows, before, excluded, announced))


def test_wrong_context_rows_manual_and_automatic(world: Tenant, announced: list[Any]) -> None:
    """A customer rule's segment holding rows with legal entities; a contact rule's holding B2C rows and rows of
    legal entities its customer is no contact of; manual rows wanted and not; exclusions '' and specific."""
    every = [(f"k{n:02d}", le) for n in range(40) for le in ("", "L0", "L1", "L2", "L3", "L4", "L5", "L9")]
    rows = [
        row("cust-all", "CUSTOMER", {"attribute": "customer.active", "op": "exists"}),
        row("cust-none", "CUSTOMER", {"attribute": "customer.id", "op": "eq", "value": "nobody"}),
        row("cont-all", "CONTACT", {"attribute": "contact.type", "op": "exists"}),
        row("cont-none", "CONTACT", {"attribute": "customer.id", "op": "eq", "value": "nobody"}),
    ]
    rng = random.Random(3)
    before = {r.segment_id: {p: rng.choice(["AUTOMATIC", "MANUAL"]) for p in every} for r in rows}
    excluded = {r.segment_id: set(rng.sample(every, 60)) for r in rows}
    world.loop.run_until_complete(_run(world.conn, world.tenant, rows, before, excluded, announced, twice=True))


def test_rules_whose_result_is_null(world: Tenant, announced: list[Any]) -> None:
    """Leaves over absent values, `not` of them, and every member automatic before: none may stay or be added for
    a NULL."""
    conditions = [
        {"attribute": "customer.mixins.loyalty.tier", "op": "eq", "value": "gold"},
        {"not": {"attribute": "customer.mixins.loyalty.tier", "op": "eq", "value": "gold"}},
        {"attribute": "customer.company", "op": "ne", "value": "ACME"},
        {"not": {"attribute": "customer.company", "op": "ne", "value": "ACME"}},
        {"attribute": "customer.metadata.mixins.x", "op": "gt", "value": 1},
        {"not": {"attribute": "customer.metadata.mixins.x", "op": "gt", "value": 1}},
        {"attribute": "customer.title", "op": "nin", "value": ["MR"]},
        {"not": {"attribute": "customer.title", "op": "in", "value": ["MR"]}},
    ]
    rows = [row(f"null{k}", "CUSTOMER", c) for k, c in enumerate(conditions)]
    rows += [row(f"nullc{k}", "CONTACT", c) for k, c in enumerate(conditions)]
    every = [(f"k{n:02d}", le) for n in range(40) for le in ("", "L0", "L1", "L3")]
    before = {r.segment_id: {p: "AUTOMATIC" for p in every} for r in rows}
    world.loop.run_until_complete(_run(world.conn, world.tenant, rows, before, {}, announced, twice=True))


def _empty_tenant(database_url: str, with_rows: bool, announced: list[Any]) -> None:
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(database_url))
    try:
        name = f"empty{uuid4().hex[:8]}"
        rows = [
            row("e1", "CUSTOMER", {"attribute": "customer.active", "op": "exists"}),
            row("e2", "CONTACT", {"attribute": "contact.type", "op": "exists"}),
        ]
        before = (
            {"e1": {("ghost", ""): "AUTOMATIC", ("ghost2", ""): "MANUAL"}, "e2": {("ghost", "L0"): "AUTOMATIC"}}
            if with_rows
            else {}
        )
        loop.run_until_complete(_run(conn, name, rows, before, {}, announced, twice=True))
    finally:
        loop.run_until_complete(conn.close())
        loop.close()


@pytest.mark.parametrize("with_rows", [False, True])
def test_tenant_without_customers(database_url: str, announced: list[Any], with_rows: bool) -> None:
    _empty_tenant(database_url, with_rows, announced)


def test_customers_but_no_memberships(world: Tenant, announced: list[Any]) -> None:
    rows = [row(f"fresh{k}", "CUSTOMER", c) for k, c in enumerate(CUSTOMER_CONDITIONS)]
    rows += [row(f"freshc{k}", "CONTACT", c) for k, c in enumerate(CONTACT_CONDITIONS)]
    world.loop.run_until_complete(_run(world.conn, world.tenant, rows, {}, {}, announced, twice=True))


def test_rows_of_other_segments_with_the_same_subjects_stay(world: Tenant, announced: list[Any]) -> None:
    """The segments outside the batch (other rules', manual ones) share subjects with it: their rows stay put, even
    automatic ones a batch rule would not want."""
    rows = [row("in-batch", "CUSTOMER", {"attribute": "customer.id", "op": "eq", "value": "nobody"})]
    before = {
        "in-batch": {(f"k{n:02d}", ""): "AUTOMATIC" for n in range(40)},
        "outside": {(f"k{n:02d}", ""): "AUTOMATIC" for n in range(40)},
        "outside2": {(f"k{n:02d}", "L0"): "MANUAL" for n in range(40)},
    }
    world.loop.run_until_complete(
        _run(world.conn, world.tenant, rows, before, {}, announced, extra_segments=["outside", "outside2"])
    )


def test_shared_rules_bound(world: Tenant) -> None:
    """`_statements` never gives apply_shared more than SHARED_RULES rules, whatever their size."""
    rows = [row(f"b{k:03d}", "CUSTOMER", CUSTOMER_CONDITIONS[k % len(CUSTOMER_CONDITIONS)]) for k in range(300)]
    groups = evaluation._statements(rows, world.tenant, evaluation.SHARED_PURCHASE_LEAVES)
    assert [r for g in groups for r in g] == rows
    assert all(0 < len(g) <= evaluation_store.SHARED_RULES for g in groups)


# Through the real evaluator (rules/evaluator.py `evaluate_one`, batches of EVALUATION_BATCH queued rules of both
# subjects) and the webhook outbox: 90 rules queued at once, after their members were made stale by SQL.


def _state(database_url: str, tenant: str) -> dict[tuple[str, str, str], str]:
    return {
        (r[0], r[1], r[2]): r[3]
        for r in run_sql(
            database_url,
            "SELECT segment_id, customer_id, legal_entity_id, assignment_type FROM segment_customer_assignments"
            " WHERE tenant = $1",
            tenant,
        )
    }


async def _matches(database_url: str, tenant: str, rules_: list[tuple[str, str, Any]]) -> set[tuple[str, str, str]]:
    conn = await asyncpg.connect(database_url)
    try:
        out = set()
        for segment, subject, condition in rules_:
            criteria = Criteria(tenant)
            compiled = compile_rule(parse_rule(subject, condition, segment), criteria, NOW)
            head = ("WITH " + ", ".join(compiled.ctes) + " ") if compiled.ctes else ""
            out |= {(segment, r[0], r[1]) for r in await conn.fetch(head + compiled.select, *criteria.values)}
        return out
    finally:
        await conn.close()


def test_ninety_rules_requeued_at_once_through_the_evaluator(
    hooked: tuple[RuleApi, Published],  # noqa: F811
    database_url: str,
) -> None:
    api, published = hooked
    tenant = api.tenant
    for le in ("L1", "L2", "L3"):
        api.create_legal_entity(le, name="Acme" if le != "L3" else "Other")
    for n in range(10):
        api.create_customer(f"c{n}", firstName="Ann" if n % 2 else "Bob", company="ACME" if n % 3 else None)
    for customer, le, kind in [("c1", "L1", "PRIMARY"), ("c1", "L2", "BILLING"), ("c2", "L1", "CONTACT"),
                               ("c3", "L3", "PRIMARY"), ("c4", "L2", "PRIMARY"), ("c4", "L2", "BILLING")]:  # fmt: skip
        api.create_contact(le, customer, kind)
    staff = api.create_segment()
    ok(assign(api, staff, "c1"), 201)
    ok(assign(api, staff, "c2", "L1"), 201)
    customer_conditions = [
        attr("customer.firstName", "eq", "Ann"),
        {"not": attr("customer.company", "eq", "ACME")},
        attr("customer.company", "exists"),
        {"inSegment": staff},
        {"not": {"inSegment": staff}},
    ]
    contact_conditions = [
        attr("contact.type", "eq", "PRIMARY"),
        attr("legalEntity.name", "eq", "Acme"),
        {"not": attr("contact.type", "eq", "BILLING")},
        {"inSegment": staff},
        attr("customer.firstName", "eq", "Ann"),
    ]
    rules_: list[tuple[str, str, Any]] = []
    for n in range(90):
        subject = "CUSTOMER" if n % 3 else "CONTACT"
        conditions = customer_conditions if subject == "CUSTOMER" else contact_conditions
        segment = api.create_segment()
        rules_.append((segment, subject, conditions[n % len(conditions)]))
    for n, (segment, subject, condition) in enumerate(rules_):
        # Manual rows that fit and do not fit the subject, and exclusions of both kinds, before the rule.
        if n % 4 == 0:
            ok(assign(api, segment, "c1"), 201)
        if n % 5 == 0:
            ok(assign(api, segment, "c1", "L1"), 201)
        if n % 6 == 0:
            ok(exclude(api, segment, "c2"), 201)
        if n % 7 == 0:
            ok(exclude(api, segment, "c1", "L2"), 201)
        ok(api.put_rule(segment, condition, subject), 201)
    for segment, _, _ in rules_:
        assert api.wait_ready(segment, timeout=60)["state"] == "READY"
    # Stale members, as if the data had changed behind the rules' back: automatic rows nobody wants (of customers
    # that exist, do not, in contexts that do not fit), and wanted automatic rows missing.
    for n, (segment, _, _) in enumerate(rules_):
        for customer, le in [("c0", ""), ("c9", "L3"), ("ghost", ""), ("c3", "L1"), ("c5", "")][: 1 + n % 5]:
            run_sql(
                database_url,
                "INSERT INTO segment_customer_assignments (tenant, segment_id, customer_id, legal_entity_id,"
                " assignment_type, created_at, modified_at) VALUES ($1, $2, $3, $4, 'AUTOMATIC', now(), now())"
                " ON CONFLICT DO NOTHING",
                tenant,
                segment,
                customer,
                le,
            )
        if n % 2:
            run_sql(
                database_url,
                "DELETE FROM segment_customer_assignments WHERE tenant = $1 AND segment_id = $2"
                " AND assignment_type = 'AUTOMATIC' AND customer_id IN ('c1', 'c3', 'c7')",
                tenant,
                segment,
            )
    published.new()
    before = _state(database_url, tenant)
    run_sql(
        database_url,
        "UPDATE segment_rules SET state = 'EVALUATING', queued_at = clock_timestamp(), modified_at = clock_timestamp()"
        " WHERE tenant = $1",
        tenant,
    )
    evaluator.wake()
    eventually(
        lambda: run_sql(
            database_url, "SELECT count(*) FROM segment_rules WHERE tenant = $1 AND state <> 'READY'", tenant
        )[0][0],
        lambda left: left == 0,
        60.0,
    )
    after = _state(database_url, tenant)
    matched = asyncio.run(_matches(database_url, tenant, rules_))
    exclusions = {
        (r[0], r[1], r[2])
        for r in run_sql(
            database_url,
            "SELECT segment_id, customer_id, legal_entity_id FROM segment_exclusions WHERE tenant = $1",
            tenant,
        )
    }
    ruled = {segment for segment, _, _ in rules_}
    wanted = {(s, c, le) for s, c, le in matched if (s, c, "") not in exclusions and (s, c, le) not in exclusions}
    manual = {k for k, kind in before.items() if kind == "MANUAL"}
    expected = {k: before.get(k, "AUTOMATIC") for k in wanted} | {k: "MANUAL" for k in manual}
    expected |= {k: kind for k, kind in before.items() if k[0] not in ruled}
    assert after == expected
    got = [(t, p["segmentId"], p.get("customerId") or p["customer"]["id"],
            p.get("legalEntityId") or (p.get("legalEntity") or {}).get("id")) for t, p in published.new()]  # fmt: skip
    created = [(CREATED_EVENT, s, c, le or None) for (s, c, le) in after.keys() - before.keys()]
    deleted = [(DELETED_EVENT, s, c, le or None) for (s, c, le) in before.keys() - after.keys()]
    assert sorted(got, key=repr) == sorted(created + deleted, key=repr)
    assert created
    assert deleted
