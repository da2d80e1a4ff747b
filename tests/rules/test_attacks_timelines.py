"""Attacks on the purchase timelines (migration 0016) and the preview's merge join: windowed purchase conditions
compiled on their own (preview, explain) against a brute-force recomputation from the orders table, with ties at
and around the window's start, orders in a legal entity's context, status changes, updates, deletes, anonymised
customers, unlinked legal entities and a change of the counted statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from segment_service.core import clock
from tests.factories import run_sql
from tests.orders.helpers import entry, order_body
from tests.rules.helpers import RuleApi
from tests.rules.support import assign, call, exclude, ok, orders_leaf

WINDOWS: list[str | None] = [None, "P0D", "PT1H", "P1D", "P2D", "P5D", "P500Y"]
MEASURES = ["count", "total", "firstOrderAt", "lastOrderAt"]


def _duration(text: str) -> timedelta:
    return {
        "P0D": timedelta(0),
        "PT1H": timedelta(hours=1),
        "P1D": timedelta(days=1),
        "P2D": timedelta(days=2),
        "P5D": timedelta(days=5),
        "P500Y": timedelta(days=365 * 500),
    }[text]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch, rule_clock: None) -> datetime:
    """The rule clock stopped at a millisecond a little in the past (orders may not be created in the future)."""
    moment = datetime.now(UTC) - timedelta(seconds=2)
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    monkeypatch.setattr(clock, "now", lambda: moment)
    return moment


def order(rules: RuleApi, customer: str, at: datetime, gross: float, **extra: Any) -> str:
    body = order_body(customer, entry("p1", gross=gross), created=iso(at), **extra)
    response = rules.client.post(f"/order-v2/{rules.tenant}/salesorders", json=body, headers=rules.auth())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# ------------------------------------------------------------------------------------------- the oracle


def brute(database_url: str, tenant: str) -> dict[tuple[str, str], list[tuple[datetime, Decimal]]]:
    """Each (customer, '' or legal entity) -> its counted orders (time, total), read from the orders table."""
    counted = run_sql(database_url, "SELECT counted_statuses FROM purchase_settings WHERE tenant = $1", tenant)
    statuses = set(counted[0][0]) if counted else {"IN_CHECKOUT", "CREATED", "CONFIRMED", "SHIPPED", "COMPLETED"}
    rows = run_sql(
        database_url,
        "SELECT customer_id, legal_entity_id, status, total, created_at FROM orders"
        " WHERE tenant = $1 AND customer_id IS NOT NULL",
        tenant,
    )
    found: dict[tuple[str, str], list[tuple[datetime, Decimal]]] = {}
    for customer, entity, status, total, created in rows:
        if status not in statuses:
            continue
        found.setdefault((customer, ""), []).append((created, total))
        if entity is not None:
            found.setdefault((customer, entity), []).append((created, total))
    return found


def measure(orders: list[tuple[datetime, Decimal]], window: str | None, now: datetime, what: str) -> Any:
    since = None if window is None else now - _duration(window)
    inside = [(t, v) for t, v in orders if since is None or t >= since]
    if what == "count":
        return len(inside)
    if what == "total":
        return sum((v for _, v in inside), Decimal(0))
    if not inside:
        return None
    return min(t for t, _ in inside) if what == "firstOrderAt" else max(t for t, _ in inside)


def holds(value: Any, op: str, operand: Any, now: datetime) -> bool:
    if op == "exists":
        return value is not None
    if op == "missing":
        return value is None
    if value is None:
        return False
    if op == "withinLast":
        return bool(value >= now - _duration(operand))
    if op == "olderThan":
        return bool(value < now - _duration(operand))
    if isinstance(operand, datetime | str) and isinstance(value, datetime):
        operand = datetime.fromisoformat(operand.replace("Z", "+00:00")) if isinstance(operand, str) else operand
    elif not isinstance(value, datetime):
        operand = Decimal(str(operand))
    return bool(
        {
            "eq": value == operand,
            "ne": value != operand,
            "gt": value > operand,
            "gte": value >= operand,
            "lt": value < operand,
            "lte": value <= operand,
        }[op]
    )


def _actual(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _expected_actual(value: Any) -> Any:
    return Decimal(value) if isinstance(value, int | Decimal) else value


def leaves(now: datetime) -> list[tuple[dict[str, Any], str | None, str, str, Any]]:
    """Candidate leaves: (condition, window, measure, op, operand)."""
    out = []
    for window in WINDOWS:
        spec = {} if window is None else {"within": window}
        for measure_, op, operand in [
            ("count", "gte", 1),
            ("count", "eq", 2),
            ("count", "eq", 3),
            ("count", "lt", 2),
            ("total", "gt", 5),
            ("total", "eq", 6),
            ("total", "lte", 11),
            ("firstOrderAt", "exists", None),
            ("firstOrderAt", "withinLast", "P1D"),
            ("firstOrderAt", "olderThan", "P2D"),
            ("lastOrderAt", "missing", None),
            ("lastOrderAt", "gte", iso(now - timedelta(days=1))),
            ("lastOrderAt", "lt", iso(now - timedelta(days=1))),
        ]:
            out.append((orders_leaf(measure_, op, operand, **spec), window, measure_, op, operand))
    return out


# ------------------------------------------------------------------------------------------- the world


def build(rules: RuleApi, now: datetime) -> dict[str, str]:
    day = timedelta(days=1)
    ms = timedelta(milliseconds=1)
    start = now - day
    for c in [f"c{n:02d}" for n in range(16)]:
        rules.create_customer(c)
    for le in ("L1", "L2"):
        rules.create_legal_entity(le)
    for le, c in [("L1", "c05"), ("L1", "c06"), ("L2", "c06"), ("L1", "c01"), ("L2", "c08"), ("L1", "c14")]:
        rules.create_contact(le, c)
    ids: dict[str, str] = {}
    # c01: one order exactly at the start of P1D.
    order(rules, "c01", start, 10)
    # c02: a millisecond outside and a millisecond inside.
    order(rules, "c02", start - ms, 7)
    order(rules, "c02", start + ms, 11)
    # c03: three orders tied at the start, one long before, a DECLINED one inside.
    for gross in (1, 2, 3):
        order(rules, "c03", start, gross)
    order(rules, "c03", now - 5 * day, 100)
    order(rules, "c03", now - timedelta(hours=1), 1000, status="DECLINED")
    # c04: ties at 2 days and a millisecond before the start.
    order(rules, "c04", now - 2 * day, 2)
    order(rules, "c04", now - 2 * day, 4)
    order(rules, "c04", start - ms, 3)
    order(rules, "c04", start - ms, 3)
    # c05: orders only in L1's context.
    order(rules, "c05", start, 5, legalEntityId="L1")
    order(rules, "c05", now - 3 * day, 6, legalEntityId="L1")
    # c06: L1, L2 and none, tied across contexts at the start.
    order(rules, "c06", start, 1, legalEntityId="L1")
    order(rules, "c06", start, 2, legalEntityId="L2")
    order(rules, "c06", start, 3)
    order(rules, "c06", now - timedelta(minutes=30), 4, legalEntityId="L2")
    # c07: an order exactly now, one in 2000, one exactly an hour ago.
    order(rules, "c07", now, 9)
    order(rules, "c07", datetime(2000, 1, 1, tzinfo=UTC), 1)
    order(rules, "c07", now - timedelta(hours=1), 2)
    # c08: orders in L2, will be deleted and made again.
    order(rules, "c08", start, 50, legalEntityId="L2")
    order(rules, "c08", now - timedelta(hours=2), 1)
    # c09: DECLINED only.
    order(rules, "c09", start + ms, 8, status="DECLINED")
    # c10: a CREATED order declined afterwards, and one confirmed then shipped then completed.
    ids["c10 declined"] = order(rules, "c10", start + ms, 3)
    ids["c10 completed"] = order(rules, "c10", start - ms, 4)
    # c11: an order that moves to c12 (and into the window) by a PUT.
    ids["c11 moved"] = order(rules, "c11", now - 3 * day, 5)
    order(rules, "c11", start, 6)
    # c13: an order that is deleted, one that stays.
    ids["c13 deleted"] = order(rules, "c13", start, 1)
    order(rules, "c13", start, 2)
    # c14: zero totals, IN_CHECKOUT, in L1 at the start.
    order(rules, "c14", start, 0, legalEntityId="L1", status="IN_CHECKOUT")
    order(rules, "c14", start, 0.1)
    order(rules, "c14", start, 0.2)
    # c15: an order a microsecond-free instant after the start, and one of the far past in L-less context.
    order(rules, "c15", start + timedelta(milliseconds=999), 2.5)
    return ids


def change(rules: RuleApi, ids: dict[str, str], now: datetime) -> None:
    def transition(order_id: str, status: str) -> None:
        ok(
            call(rules, "POST", f"/order-v2/{{tenant}}/salesorders/{order_id}/transitions", json={"status": status}),
            200,
            201,
            204,
        )

    transition(ids["c10 declined"], "DECLINED")
    for status in ("CONFIRMED", "SHIPPED", "COMPLETED"):
        transition(ids["c10 completed"], status)
    body = order_body("c12", entry("p1", gross=5), created=iso(now - timedelta(days=1)))
    ok(call(rules, "PUT", f"/order-v2/{{tenant}}/salesorders/{ids['c11 moved']}", json=body), 200, 204)
    ok(call(rules, "DELETE", f"/order-v2/{{tenant}}/salesorders/{ids['c13 deleted']}"), 200, 204)


def subjects(database_url: str, tenant: str, contact: bool) -> list[tuple[str, str]]:
    if contact:
        rows = run_sql(
            database_url,
            "SELECT customer_id, legal_entity_id FROM contact_assignments WHERE tenant = $1 ORDER BY 1, 2",
            tenant,
        )
        return sorted({(r[0], r[1]) for r in rows})
    rows = run_sql(database_url, "SELECT id FROM customers WHERE tenant = $1 ORDER BY 1", tenant)
    return [(r[0], "") for r in rows]


def check(rules: RuleApi, database_url: str, now: datetime, label: str) -> None:
    facts = brute(database_url, rules.tenant)
    segment = rules.create_segment()
    problems: list[Any] = []
    for contact in (False, True):
        subject = "CONTACT" if contact else "CUSTOMER"
        who = subjects(database_url, rules.tenant, contact)
        # Explain: every measure of every window as a leaf of one rule, each subject's actual values.
        tree = [orders_leaf(m, "exists", **({} if w is None else {"within": w})) for w in WINDOWS for m in MEASURES]
        ruled = rules.create_segment()
        rules.save_rule(ruled, {"any": tree}, subject)
        for customer, entity in who:
            doc = rules.explain(ruled, customer, entity or None)
            got = [_actual(leaf["actual"]) for leaf in doc["condition"]["any"]]
            wanted = [
                _expected_actual(measure(facts.get((customer, entity), []), w, now, m))
                for w in WINDOWS
                for m in MEASURES
            ]
            for (w, m), g, e in zip([(w, m) for w in WINDOWS for m in MEASURES], got, wanted, strict=True):
                if g != e:
                    problems.append(("explain", label, subject, customer, entity, w, m, g, e))
        # Preview: each candidate leaf's matches on an empty segment.
        for condition, window, measure_, op, operand in leaves(now):
            expected = {
                (c, le)
                for c, le in who
                if holds(measure(facts.get((c, le), []), window, now, measure_), op, operand, now)
            }
            doc = rules.preview(segment, condition, subject)
            sample = [{"customerId": c, **({"legalEntityId": le} if le else {})} for c, le in sorted(expected)[:20]]
            if doc["matchCount"] != len(expected) or doc["added"]["sample"] != sample:
                problems.append(("preview", label, subject, condition, doc, sorted(expected)))
    assert not problems, problems[:10]


def test_windowed_measures_in_preview_and_explain_equal_the_orders(
    rules: RuleApi, database_url: str, now: datetime
) -> None:
    ids = build(rules, now)
    check(rules, database_url, now, "built")
    change(rules, ids, now)
    check(rules, database_url, now, "changed")
    # The legal entity L2 is deleted (its orders no longer name it) and made again with c06 and c08 as contacts;
    # c08 is deleted (its orders anonymised) and made again.
    ok(call(rules, "DELETE", "/customer-management/{tenant}/legal-entities/L2"), 204)
    ok(call(rules, "DELETE", "/customer/{tenant}/customers/c08"), 202)
    rules.create_customer("c08")
    rules.create_legal_entity("L2")
    rules.create_contact("L2", "c06")
    rules.create_contact("L2", "c08")
    check(rules, database_url, now, "deleted")
    ok(
        call(rules, "PUT", "/order-v2/{tenant}/purchase-settings", json={"countedStatuses": ["COMPLETED", "DECLINED"]}),
        200,
        204,
    )
    check(rules, database_url, now, "counted")
    ok(call(rules, "PUT", "/order-v2/{tenant}/purchase-settings", json={"countedStatuses": []}), 200, 204)
    check(rules, database_url, now, "none counted")


# ------------------------------------------------------------------------------------------- preview vs the rows


def expected_preview(database_url: str, tenant: str, segment: str, matched: set[tuple[str, str]]) -> dict[str, Any]:
    rows = run_sql(
        database_url,
        "SELECT customer_id, legal_entity_id, assignment_type FROM segment_customer_assignments"
        " WHERE tenant = $1 AND segment_id = $2",
        tenant,
        segment,
    )
    present = {(r[0], r[1]): r[2] for r in rows}
    exclusions = {
        (r[0], r[1])
        for r in run_sql(
            database_url,
            "SELECT customer_id, legal_entity_id FROM segment_exclusions WHERE tenant = $1 AND segment_id = $2",
            tenant,
            segment,
        )
    }
    wanted = {(c, le) for c, le in matched if (c, "") not in exclusions and (c, le) not in exclusions}
    manual = {k for k, kind in present.items() if kind == "MANUAL"}
    members = wanted | manual
    added = wanted - set(present)
    removed = {k for k, kind in present.items() if kind == "AUTOMATIC" and k not in wanted}

    def sample(keys: set[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"customerId": c, **({"legalEntityId": le} if le else {})} for c, le in sorted(keys)[:20]]

    return {
        "matchCount": len(matched),
        "memberCount": len(members),
        "added": {"count": len(added), "sample": sample(added)},
        "removed": {"count": len(removed), "sample": sample(removed)},
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_preview_with_members_exclusions_and_contexts_equals_the_rows(
    rules: RuleApi, database_url: str, now: datetime, seed: int
) -> None:
    import random

    rng = random.Random(seed)
    day = timedelta(days=1)
    offsets = [day, day - timedelta(milliseconds=1), day + timedelta(milliseconds=1), 2 * day, timedelta(hours=3)]
    customers = [f"k{n:02d}" for n in range(30)]
    for c in customers:
        rules.create_customer(c)
    for le in ("A", "B", "C"):
        rules.create_legal_entity(le)
    contacts: set[tuple[str, str]] = set()
    for c in customers:
        for le in rng.sample(["A", "B", "C"], rng.randint(0, 2)):
            rules.create_contact(le, c)
            contacts.add((c, le))
    for c in customers:
        mine = sorted(le for cc, le in contacts if cc == c)
        for _ in range(rng.randint(0, 4)):
            context = rng.choice([None, *mine]) if mine else None
            extra: dict[str, Any] = {"legalEntityId": context} if context else {}
            if rng.random() < 0.2:
                extra["status"] = "DECLINED"
            order(rules, c, now - rng.choice(offsets), rng.choice([1, 2.5, 4]), **extra)
    problems: list[Any] = []
    for subject, before in (("CUSTOMER", "CONTACT"), ("CONTACT", "CUSTOMER")):
        segment = rules.create_segment()
        # Members of the other subject first (the wrong context for the candidate), then manual ones of both kinds.
        rules.save_rule(segment, orders_leaf("count", "gte", 1, within="P2D"), before)
        for c in rng.sample(customers, 6):
            ok(assign(rules, segment, c), 201, 204, 409, 400)
        for c, le in rng.sample(sorted(contacts), 6):
            ok(assign(rules, segment, c, le), 201, 204, 409, 400)
        for c in rng.sample(customers, 4):
            ok(exclude(rules, segment, c), 201, 204)
        for c, le in rng.sample(sorted(contacts), 4):
            ok(exclude(rules, segment, c, le), 201, 204)
        facts = brute(database_url, rules.tenant)
        who = subjects(database_url, rules.tenant, subject == "CONTACT")
        for condition, window, measure_, op, operand in leaves(now)[::3]:
            matched = {k for k in who if holds(measure(facts.get(k, []), window, now, measure_), op, operand, now)}
            got = rules.preview(segment, condition, subject)
            wanted = expected_preview(database_url, rules.tenant, segment, matched)
            if got != wanted:
                problems.append((subject, condition, got, wanted))
        # The rule saved: a preview of it changes nothing (the evaluator reads the orders, the preview the timelines).
        for condition, *_ in leaves(now)[1::4]:
            rules.save_rule(segment, condition, subject)
            got = rules.preview(segment, condition, subject)
            if got["added"]["count"] or got["removed"]["count"]:
                problems.append(("saved", subject, condition, got))
    assert not problems, problems[:5]


def test_preview_and_explain_of_another_tenants_segment_are_404(
    rules: RuleApi, database_url: str, now: datetime
) -> None:
    segment = rules.create_segment()
    rules.create_customer("x1")
    order(rules, "x1", now - timedelta(hours=1), 3)
    rules.save_rule(segment, orders_leaf("count", "gte", 1, within="P1D"))
    other = RuleApi(rules.client, rules.tokens, rules.tenant + "-other")
    other.create_customer("x1")
    response = other.request(
        "POST",
        f"/segments/{segment}/rule/preview",
        json={"subject": "CUSTOMER", "condition": orders_leaf("count", "gte", 1, within="P1D")},
    )
    assert response.status_code == 404, response.text
    response = other.request("GET", f"/segments/{segment}/explain", params={"customerId": "x1"})
    assert response.status_code == 404, response.text
