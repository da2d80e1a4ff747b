"""Purchase facts (docs/orders.md#purchase-facts) against a recomputation from the orders as the API reads them back:
the orders' entry arrays, purchase_summaries and facts_store.measure / measure_all after any mix of order writes."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product
from typing import Any, TypeVar
from uuid import uuid4

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import Tokens, run_sql
from tests.orders.helpers import OrderApi, entry

from segment_service.core.listing import Criteria
from segment_service.orders import facts_store
from segment_service.orders.facts_store import Filter, Measures
from segment_service.orders.transitions import TENANT_TRANSITIONS

T = TypeVar("T")
STATUSES = ("IN_CHECKOUT", "CREATED", "CONFIRMED", "DECLINED", "SHIPPED", "COMPLETED")
CUSTOMERS = ("c1", "c2", "c3")
CONTACTS = ("c1", "c2")  # contacts of legal entity L1
PRODUCTS = ("p1", "p2", "p3", "p4")
BASE = datetime(2024, 1, 1, tzinfo=UTC)
Key = tuple[str, str | None]


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Order:
    id: str
    customer_id: str | None
    legal_entity_id: str | None
    created: datetime
    status: str
    site_code: str | None
    currency: str
    total: Decimal
    lines: tuple[Line, ...]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def order_payload(
    customer_id: str, lines: list[tuple[str, int, int]], *, shipping_cents: int = 0, **fields: Any
) -> dict[str, Any]:
    """An order body whose entries are (product, quantity, gross cents) and whose total adds shipping to them."""
    total = Decimal(sum(c for _, _, c in lines) + shipping_cents) / 100
    return {
        "entries": [entry(p, q, float(Decimal(c) / 100)) for p, q, c in lines],
        "customer": {"id": customer_id},
        "calculatedPrice": {"finalPrice": {"netValue": float(total), "grossValue": float(total), "taxValue": 0}},
        **fields,
    }


def read_orders(api: OrderApi) -> list[Order]:
    """Every order of the tenant as GET /salesorders returns it (numbers as exact decimals)."""
    response = api.request("GET", "/salesorders", params={"pageSize": 1000})
    assert response.status_code == 200, response.text
    orders = []
    for doc in json.loads(response.text, parse_float=Decimal):
        customer = None if doc["customer"]["id"] == "ANONYMOUS" else doc["customer"]["id"]
        where = (doc.get("legalEntityId"), parse_time(doc["created"]), doc["status"], doc.get("siteCode"))
        money = (doc["currency"], doc["calculatedPrice"]["finalPrice"]["grossValue"])
        lines = tuple(
            Line(e["product"]["id"], Decimal(e["amount"]), e["calculatedPrice"]["finalPrice"]["grossValue"])
            for e in doc["entries"]
        )
        orders.append(Order(doc["id"], customer, *where, *money, lines))
    return orders


# ------------------------------------------------------------------------------------------ the recomputation


def measures_of(matches: list[tuple[Order, Decimal]]) -> Measures:
    times = [o.created for o, _ in matches]
    total = sum((amount for _, amount in matches), Decimal(0))
    return Measures(len({o.id for o, _ in matches}), total, min(times, default=None), max(times, default=None))


def purchases(orders: list[Order], counted: set[str], f: Filter, products: set[str] | None = None) -> list[Any]:
    """(order, amount) of every matching purchase: the order's total, or one per matching line when a product
    (or the products of a category, `products`) is asked for."""
    if f.product_id is not None:
        products = {f.product_id}
    statuses = counted if f.statuses is None else set(f.statuses)
    found: list[tuple[Order, Decimal]] = []
    for o in orders:
        if o.customer_id is None or o.status not in statuses or (f.since is not None and o.created < f.since):
            continue
        if (f.site_code or o.site_code) != o.site_code or (f.currency or o.currency) != o.currency:
            continue
        if products is None:
            found.append((o, o.total))
        else:
            found.extend((o, line.amount) for line in o.lines if line.product_id in products)
    return found


def expected_measure(found: list[tuple[Order, Decimal]], customer_id: str, legal_entity_id: str | None) -> Measures:
    mine = [(o, a) for o, a in found if o.customer_id == customer_id]
    return measures_of([(o, a) for o, a in mine if legal_entity_id in (None, o.legal_entity_id or "")])


def expected_all(found: list[tuple[Order, Decimal]], *, per_legal_entity: bool) -> dict[Key, Measures]:
    groups: dict[Key, list[tuple[Order, Decimal]]] = defaultdict(list)
    for o, amount in found:
        assert o.customer_id is not None
        if not per_legal_entity:
            groups[(o.customer_id, None)].append((o, amount))
        elif o.legal_entity_id is not None:
            groups[(o.customer_id, o.legal_entity_id)].append((o, amount))
    return {key: measures_of(matches) for key, matches in groups.items()}


def expected_lines(orders: list[Order]) -> list[tuple[Any, ...]]:
    return sorted(
        (o.id, n, o.customer_id, o.legal_entity_id or "", o.created, o.status, o.site_code, o.currency, *astuple(line))
        for o in orders
        if o.customer_id is not None
        for n, line in enumerate(o.lines, 1)
    )


def expected_summaries(orders: list[Order], counted: set[str]) -> list[tuple[Any, ...]]:
    groups: dict[tuple[str, str, str], list[tuple[Order, Decimal]]] = defaultdict(list)
    for o, total in purchases(orders, counted, Filter()):
        assert o.customer_id is not None
        for legal_entity_id in {"", o.legal_entity_id or ""}:
            groups[(o.customer_id, legal_entity_id, o.currency)].append((o, total))
    rows = []
    for key, matches in groups.items():
        m = measures_of(matches)
        rows.append((*key, m.count, m.total, m.first_order_at, m.last_order_at))
    return sorted(rows)


# ------------------------------------------------------------------------------------------ the stored facts


# The line facts as the fact reads see them: each entry of each order of a known customer.
LINES = (
    "SELECT o.id, l.n::int, o.customer_id, coalesce(o.legal_entity_id, ''), o.created_at, o.status, o.site_code,"
    " o.currency, l.product_id, l.quantity, l.amount FROM orders o"
    " CROSS JOIN LATERAL unnest(o.product_ids, o.quantities, o.amounts) WITH ORDINALITY AS l(product_id, quantity,"
    " amount, n) WHERE o.tenant = $1 AND o.customer_id IS NOT NULL ORDER BY o.id, l.n"
)
SUMMARIES = (
    "SELECT customer_id, legal_entity_id, currency, order_count, total, first_order_at, last_order_at"
    " FROM purchase_summaries WHERE tenant = $1 ORDER BY customer_id, legal_entity_id, currency"
)


def stored(database_url: str, sql: str, tenant: str) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in run_sql(database_url, sql, tenant)]


def on_db(database_url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run the store's async reads on a connection of their own."""

    async def run() -> T:
        conn = await asyncpg.connect(database_url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def measure_all(database_url: str, tenant: str, f: Filter, *, per_legal_entity: bool) -> dict[Key, Measures]:
    async def work(conn: asyncpg.Connection) -> dict[Key, Measures]:
        rows = await facts_store.measure_all(conn, tenant, f, per_legal_entity=per_legal_entity)
        return {(c, le): m for c, le, m in rows}

    return on_db(database_url, work)


def measure(database_url: str, tenant: str, customer_id: str, legal_entity_id: str | None, f: Filter) -> Measures:
    return on_db(database_url, lambda conn: facts_store.measure(conn, tenant, customer_id, legal_entity_id, f))


def assert_facts(
    database_url: str, api: OrderApi, counted: set[str], filters: list[Filter], customers: list[str]
) -> None:
    """Lines, summaries, GET /purchase-facts of the `customers` that exist and measures (for every customer, in and
    out of L1's context) equal the recomputation."""
    orders = read_orders(api)
    assert stored(database_url, LINES, api.tenant) == expected_lines(orders)
    summaries = expected_summaries(orders, counted)
    assert stored(database_url, SUMMARIES, api.tenant) == summaries
    for c in customers:
        for entity in ("", "L1"):
            shown = [
                {"currency": cur, "orderCount": n, "total": float(t), "firstOrderAt": iso(a), "lastOrderAt": iso(b)}
                for sc, sle, cur, n, t, a, b in summaries
                if (sc, sle) == (c, entity)
            ]
            doc = api.facts(c, **({"legalEntityId": entity} if entity else {}))
            assert doc["currencies"] == shown, (c, entity)
            assert doc["countedStatuses"] == [s for s in STATUSES if s in counted]

    async def work(conn: asyncpg.Connection) -> dict[Any, Any]:
        got: dict[Any, Any] = {}
        for i, f in enumerate(filters):
            for c, le in product(CUSTOMERS, (None, "L1")):
                got[i, c, le] = await facts_store.measure(conn, api.tenant, c, le, f)
            for per in (False, True):
                rows = await facts_store.measure_all(conn, api.tenant, f, per_legal_entity=per)
                got[i, per] = {(c, le): m for c, le, m in rows}
                # What rule conditions join: for a window alone, the purchase timelines (orders/timeline_store.py).
                for g in (f, Filter(since=f.since)):
                    got[i, per, g] = await aggregate(conn, api.tenant, g, per_legal_entity=per)
                got[i, per, "shared"] = await shared_windows(conn, api.tenant, f.since, per_legal_entity=per)
        return got

    got = on_db(database_url, work)
    for i, f in enumerate(filters):
        found = purchases(orders, counted, f)
        for c, le in product(CUSTOMERS, (None, "L1")):
            assert got[i, c, le] == expected_measure(found, c, le), (f, c, le)
        for per in (False, True):
            assert got[i, per] == expected_all(found, per_legal_entity=per), (f, per)
            for g in (f, Filter(since=f.since)):
                wanted = expected_all(purchases(orders, counted, g), per_legal_entity=per)
                assert got[i, per, g] == wanted, (g, per)
            window = expected_all(purchases(orders, counted, Filter(since=f.since)), per_legal_entity=per)
            assert got[i, per, "shared"] == window, (f.since, per)


async def shared_windows(
    conn: asyncpg.Connection, tenant: str, since: datetime | None, *, per_legal_entity: bool
) -> dict[Key, Measures]:
    """A window alone as a full evaluation reads it with others (facts_store `shared_aggregate_sql`: the purchase
    timelines), two windows in one pass; a row whose window holds no order must say so (count and total 0, no first
    or last time) and counts as no row."""
    criteria = Criteria(tenant)
    every = frozenset({"count", "total", "firstOrderAt", "lastOrderAt"})
    windows = [(Filter(since=since), every), (Filter(since=BASE), every)]
    sql = facts_store.shared_aggregate_sql(windows, criteria, per_legal_entity=per_legal_entity)
    found: dict[Key, Measures] = {}
    for r in await conn.fetch(sql, *criteria.values):
        if r["n0"] == 0:
            assert (r["t0"], r["f0"], r["l0"]) == (0, None, None), dict(r)
            continue
        key = (r["customer_id"], r["legal_entity_id"] if per_legal_entity else None)
        found[key] = Measures(int(r["n0"]), Decimal(r["t0"]), r["f0"], r["l0"])
    return found


async def aggregate(conn: asyncpg.Connection, tenant: str, f: Filter, *, per_legal_entity: bool) -> dict[Key, Measures]:
    """orders/facts_store.py `per_customer_sql` (what rule conditions join), as measures by (customer, entity)."""
    criteria = Criteria(tenant)
    sql = facts_store.per_customer_sql(f, criteria, per_legal_entity=per_legal_entity, customers=None)
    rows = await conn.fetch(sql, *criteria.values)
    found: dict[Key, Measures] = {}
    for r in rows:
        key = (r["customer_id"], r["legal_entity_id"] if per_legal_entity else None)
        found[key] = Measures(int(r["count"]), Decimal(r["total"]), r["first_order_at"], r["last_order_at"])
    return found


# ------------------------------------------------------------------------------------------ random histories

times = st.integers(0, 40 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m, milliseconds=m % 997))
lines_st = st.lists(
    st.tuples(st.sampled_from(PRODUCTS), st.integers(1, 3), st.integers(1, 20_000)), min_size=1, max_size=3
)
filters_st = st.builds(
    Filter,
    since=st.none() | times,
    statuses=st.none() | st.sets(st.sampled_from(STATUSES), min_size=1).map(lambda s: tuple(sorted(s))),
    site_code=st.sampled_from([None, "s1", "s2"]),
    currency=st.sampled_from([None, "EUR", "CHF"]),
    product_id=st.sampled_from([None, *PRODUCTS]),
)
OPERATIONS = ("create", "create", "create", "put", "patch", "transition", "delete", "settings", "delete c3")


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_facts_equal_a_recomputation_after_any_writes(
    client: TestClient[Litestar], tokens: Tokens, database_url: str, data: st.DataObject
) -> None:
    api = OrderApi(client, tokens, f"pf{uuid4().hex[:12]}")
    for c in CUSTOMERS:
        api.create_customer(c)
    for c in CONTACTS:
        api.create_contact("L1", c)
    counted = set(facts_store.DEFAULT_COUNTED)
    live: dict[str, str] = {}  # order id -> status
    c3_deleted = False

    def who() -> tuple[str, str | None]:
        customer = data.draw(st.sampled_from([c for c in (*CUSTOMERS, "ANONYMOUS") if c != "c3" or not c3_deleted]))
        le = data.draw(st.sampled_from([None, "L1"])) if customer in CONTACTS else None
        return customer, le

    # Three orders first, then up to nine writes of any kind.
    for step in range(3 + data.draw(st.integers(0, 9))):
        op = data.draw(st.sampled_from(OPERATIONS if step >= 3 else OPERATIONS[:1]))
        order_id = data.draw(st.sampled_from(sorted(live))) if live else ""
        if op == "create":
            customer, le = who()
            status = data.draw(st.sampled_from(STATUSES))
            body = order_payload(
                customer,
                data.draw(lines_st),
                shipping_cents=data.draw(st.sampled_from([0, 495])),
                status=status,
                created=iso(data.draw(times)),
                siteCode=data.draw(st.sampled_from(["s1", "s2"])),
                currency=data.draw(st.sampled_from(["EUR", "CHF"])),
                id=f"o{step}",  # named, so that a replayed example picks the same orders
                **({"legalEntityId": le} if le else {}),
            )
            live[api.create_order(body)] = status
        elif op in ("put", "patch"):
            customer, le = who()
            changes: dict[str, Any] = {"customer": {"id": customer}, "legalEntityId": le}
            if data.draw(st.booleans()):
                changes |= order_payload(customer, data.draw(lines_st))
            if data.draw(st.booleans()):
                changes["created"] = iso(data.draw(times))
            if data.draw(st.booleans()):
                changes["currency"] = data.draw(st.sampled_from(["EUR", "CHF"]))
                changes["siteCode"] = data.draw(st.sampled_from(["s1", "s2"]))
            if op == "put":
                current = api.get_order(order_id)
                keep = ("entries", "calculatedPrice", "siteCode", "currency")
                body = {k: current[k] for k in keep} | {k: v for k, v in changes.items() if v is not None}
            else:
                body = changes
            response = api.request(op.upper(), f"/salesorders/{order_id}", json=body)
            assert response.status_code == 204, (op, body, response.text)
        elif op == "transition":
            options = TENANT_TRANSITIONS[live[order_id]]
            if options:
                status = data.draw(st.sampled_from(options))
                response = api.transition(order_id, status)
                assert response.status_code == 204, response.text
                live[order_id] = status
        elif op == "delete":
            assert api.request("DELETE", f"/salesorders/{order_id}").status_code == 204
            del live[order_id]
        elif op == "settings":
            counted = data.draw(st.sets(st.sampled_from(STATUSES)))
            response = api.request("PUT", "/purchase-settings", json={"countedStatuses": sorted(counted)})
            assert response.status_code == 204, response.text
        elif not c3_deleted:
            response = client.delete(
                f"/customer/{api.tenant}/customers/c3", headers={"Authorization": f"Bearer {api.token}"}
            )
            assert response.status_code == 202, response.text
            c3_deleted = True
    fixed = [Filter(), Filter(currency="EUR"), *(Filter(product_id=p) for p in PRODUCTS)]
    filters = [*fixed, *data.draw(st.lists(filters_st, min_size=3, max_size=3))]
    assert_facts(database_url, api, counted, filters, [c for c in CUSTOMERS if c != "c3" or not c3_deleted])


# ------------------------------------------------------------------------------------------ deterministic cases


def at(day: int) -> str:
    return iso(BASE + timedelta(days=day))


def test_a_category_counts_the_products_of_its_whole_subtree(orders: OrderApi, database_url: str) -> None:
    def post(path: str, body: dict[str, Any]) -> None:
        response = orders.client.post(path, json=body, headers={"Authorization": f"Bearer {orders.token}"})
        assert response.status_code == 201, response.text

    for pid in ("p1", "p2"):
        post(f"/product/{orders.tenant}/products", {"id": pid, "code": pid, "name": {"en": pid}, "published": True})
    post(
        f"/category/{orders.tenant}/categories", {"id": "garden", "localizedName": {"en": "Garden"}, "published": True}
    )
    tools = {"id": "tools", "parentId": "garden", "localizedName": {"en": "Tools"}, "published": True}
    post(f"/category/{orders.tenant}/categories", tools)
    post(f"/category/{orders.tenant}/categories/tools/assignments", {"ref": {"id": "p1", "type": "PRODUCT"}})
    orders.create_customer("c1")
    mixed = order_payload("c1", [("p1", 2, 1250), ("p2", 1, 399)], created=at(1), currency="EUR", siteCode="s1")
    orders.create_order(mixed)
    orders.create_order(order_payload("c1", [("p2", 1, 700)], created=at(2), currency="EUR", siteCode="s1"))
    in_garden = Filter(category_id="garden")
    expected = Measures(1, Decimal("12.50"), BASE + timedelta(days=1), BASE + timedelta(days=1))
    assert measure(database_url, orders.tenant, "c1", None, in_garden) == expected
    assert measure_all(database_url, orders.tenant, in_garden, per_legal_entity=False) == {("c1", None): expected}
    everything = read_orders(orders)
    found = purchases(everything, set(facts_store.DEFAULT_COUNTED), in_garden, products={"p1"})
    assert expected_measure(found, "c1", None) == expected
    assert measure(database_url, orders.tenant, "c1", None, Filter(category_id="tools")) == expected


def test_a_legal_entity_context_counts_only_its_orders(orders: OrderApi, database_url: str) -> None:
    for c in ("c1", "c2"):
        orders.create_customer(c)
        orders.create_contact("L1", c)
    orders.create_order(order_payload("c1", [("p1", 1, 1000)], created=at(1), currency="EUR", legalEntityId="L1"))
    orders.create_order(order_payload("c1", [("p1", 1, 2000)], created=at(2), currency="EUR"))
    orders.create_order(order_payload("c2", [("p2", 1, 3000)], created=at(3), currency="EUR", legalEntityId="L1"))
    day = {n: BASE + timedelta(days=n) for n in (1, 2, 3)}
    for f in (Filter(), Filter(since=BASE), Filter(product_id="p1")):
        assert measure(database_url, orders.tenant, "c1", "L1", f) == Measures(1, Decimal(10), day[1], day[1]), f
        assert measure(database_url, orders.tenant, "c1", None, f) == Measures(2, Decimal(30), day[1], day[2]), f
    for f in (Filter(since=BASE), Filter(currency="EUR", statuses=("CREATED",))):
        assert measure_all(database_url, orders.tenant, f, per_legal_entity=True) == {
            ("c1", "L1"): Measures(1, Decimal(10), day[1], day[1]),
            ("c2", "L1"): Measures(1, Decimal(30), day[3], day[3]),
        }, f
    by_line = measure_all(database_url, orders.tenant, Filter(product_id="p1"), per_legal_entity=True)
    assert by_line == {("c1", "L1"): Measures(1, Decimal(10), day[1], day[1])}


def test_concurrent_orders_of_one_customer_all_count(orders: OrderApi, database_url: str) -> None:
    orders.create_customer("c1")
    statuses: list[int] = []
    start = threading.Barrier(10)

    def place(n: int) -> None:
        body = order_payload("c1", [("p1", 1, 100 + n)], created=at(n), currency="EUR", siteCode="s1")
        start.wait()
        response = orders.request("POST", "/salesorders", json=body)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=place, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 10
    summaries = stored(database_url, SUMMARIES, orders.tenant)
    assert [row[3] for row in summaries] == [10]
    assert summaries == expected_summaries(read_orders(orders), set(facts_store.DEFAULT_COUNTED))
    assert stored(database_url, LINES, orders.tenant) == expected_lines(read_orders(orders))
