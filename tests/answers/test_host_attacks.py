"""Adversarial, SEGMENT_SERVICE_ANSWER_VERSIONS=host in one process (docs/answers.md#versions-kept-on-the-host): every
kind of write that changes a storefront answer, made while the answers are warm (proven to ask the database
nothing), then every answer compared with the cache-off app's on the same database; writes that wait inside their
transaction while reads go on, and writers that fail or are cut off; validity windows that open and close while warm;
tenants whose scopes share a slot; a memo past its bound; readers hammering while writes commit."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane
from segment_service.core.host_versions import VersionMemo, member_scope, slot
from segment_service.settings import Settings
from segment_service.transfer import importer
from tests.answers.attack_support import snapshot
from tests.answers.support import WHOLE_SET_SORT, Shop, iso, served, sleep_past, whole_seconds_ahead
from tests.factories import Tokens, run_sql
from tests.rules.helpers import attr
from tests.rules.support import orders_leaf
from tests.transfer.helpers import write_ndjson

Served = tuple[FastLane, TestClient[FastLane]]
Snapshot = tuple[int, Any, str | None]
PRODUCTS = ["p1", "p2", "p3", "ph", "ps", "pg"]
SEGMENT = "/customer-segment/{tenant}/segments/"


@pytest.fixture
def shop(host_app: Served, host_tokens: Tokens, tenant: str) -> Shop:
    return Shop(host_app[1], host_tokens, tenant)


@pytest.fixture
def oracle(shop: Shop, oracle_app: Served) -> Shop:
    return shop.on(oracle_app[1])


def memo_of(app: FastLane) -> VersionMemo:
    memo: VersionMemo | None = app.state.db.memo
    assert memo is not None
    return memo


class _RefusingPool:
    """The app's pool, but every borrow fails: a read that borrows no connection does not notice it (the metrics'
    sampling of the pool's size goes on)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    async def acquire(self) -> None:
        raise AssertionError("the database was asked")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def without_database(app: FastLane, reads: Callable[[], dict[str, Snapshot]]) -> dict[str, Snapshot]:
    """`reads()` with every borrow of `app` refused (the reads must be warm)."""
    db = app.state.db
    pool = db.pool
    db.pool = _RefusingPool(pool)
    try:
        return reads()
    finally:
        db.pool = pool


def no_marks_held(app: FastLane, timeout: float = 5.0) -> None:
    """This process holds no mark (every write's connection went back to its pool)."""
    host = memo_of(app).host
    deadline = time.monotonic() + timeout
    while host.holding:
        assert time.monotonic() < deadline, f"{host.holding} slot(s) still held"
        time.sleep(0.01)


# --- the world and its reads -----------------------------------------------------------------------------------------


def build_world(shop: Shop) -> None:
    """tools > hammers (ph) > sledges (ps); garden (pg); products p1 p2 p3 too. c1 is a contact of L; c2 is not.
    Segment s (p1, the category hammers): c1 B2C. Segment t (p2, the category garden): c1 in the context of L.
    Segment u (p3): c2."""
    for category, parent in [("tools", None), ("hammers", "tools"), ("sledges", "hammers"), ("garden", None)]:
        shop.category(category, parent)
    for product in PRODUCTS:
        shop.product(product)
    shop.assign("hammers", "ph")
    shop.assign("sledges", "ps")
    shop.assign("garden", "pg")
    shop.create_customer("c1")
    shop.create_customer("c2")
    shop.create_legal_entity("L")
    shop.create_contact("L", "c1")
    shop.segment("s")
    shop.segment("t")
    shop.segment("u")
    for segment, item, kind in [
        ("s", "p1", "PRODUCT"),
        ("s", "hammers", "CATEGORY"),
        ("t", "p2", "PRODUCT"),
        ("t", "garden", "CATEGORY"),
        ("u", "p3", "PRODUCT"),
    ]:
        shop.put_item(segment, item, kind)
    shop.member("s", "c1")
    shop.member("t", "c1", "L")
    shop.member("u", "c2")


def reads(shop: Shop) -> dict[str, Callable[[], httpx.Response]]:
    """Every cached read of the world, as responses."""
    return {
        "items c1": lambda: shop.items_response("c1", pageSize=100),
        "items c1 whole": lambda: shop.items_response("c1", sort=WHOLE_SET_SORT, pageSize=100),
        "items c1 in L": lambda: shop.items_response("c1", "L", pageSize=100),
        "items c1 naming L": lambda: shop.items_response("c1", legalEntityId="L"),
        "items c2": lambda: shop.items_response("c2", pageSize=100),
        "trees c1": lambda: shop.trees_response("c1"),
        "trees c1 in L": lambda: shop.trees_response("c1", "L"),
        "match": lambda: shop.match_response(PRODUCTS, ["s", "t", "u"]),
        "match t": lambda: shop.match_response(PRODUCTS, ["t"]),
        "match n": lambda: shop.match_response(PRODUCTS, ["n"]),
        "items c1 q": lambda: shop.items_response("c1", q="item.id:p1"),
        "items c1 on other site": lambda: shop.items_response("c1", siteCode="other"),
        "trees c1 on main": lambda: shop.trees_response("c1", siteCode="main"),
        "assignments": lambda: shop.assignments_response("tools", segmentsIds="s,t", withSubcategories="true"),
        "assignments garden": lambda: shop.assignments_response("garden", segmentsIds="t"),
        "assignments hidden": lambda: shop.assignments_response(
            "tools", segmentsIds="s", withSubcategories="true", hideUnpublishedProducts="true"
        ),
        "segment s": lambda: shop.call("GET", SEGMENT + "s"),
        "segment t shaped": lambda: shop.call(
            "GET", SEGMENT + "t", params={"fields": "id,status,validity"}, headers={"Accept-Language": "de"}
        ),
    }


#: Reads that ask the database every time by design: a customer naming a legal entity (is it a contact of it?).
ASKS_EVERY_TIME = frozenset({"items c1 naming L"})


def answers(shop: Shop) -> dict[str, Snapshot]:
    return {name: snapshot(read()) for name, read in reads(shop).items()}


def kept_answers(shop: Shop) -> dict[str, Snapshot]:
    """The answers a warm app gives without asking the database."""
    return {name: snapshot(read()) for name, read in reads(shop).items() if name not in ASKS_EVERY_TIME}


def kept_part(every: dict[str, Snapshot]) -> dict[str, Snapshot]:
    return {name: answer for name, answer in every.items() if name not in ASKS_EVERY_TIME}


def warm(app: FastLane, shop: Shop) -> dict[str, Snapshot]:
    """Read everything three times (a customer's first read learns its segments, the next one their versions), then
    once more with the database refused: the same answers, none of them asking it."""
    for _ in range(2):
        answers(shop)
    first = answers(shop)
    assert all(status < 500 for status, _, _ in first.values()), first
    assert without_database(app, lambda: kept_answers(shop)) == kept_part(first)
    return first


def _ok_answers(shop: Shop, names: Iterable[str]) -> dict[str, Snapshot]:
    every = reads(shop)
    return {name: snapshot(every[name]()) for name in names}


def same_as_the_truth(shop: Shop, oracle: Shop) -> dict[str, Snapshot]:
    """Every answer equals the cache-off app's; read again three times (kept again), still equal."""
    truth = answers(oracle)
    for _ in range(3):
        got = answers(shop)
        wrong = {name: (got[name], truth[name]) for name in truth if got[name] != truth[name]}
        assert not wrong, f"answers that differ from the database's: {wrong}"
    return truth


# --- every kind of write ---------------------------------------------------------------------------------------------


def _contact_of(shop: Shop, legal_entity: str, customer: str) -> str:
    docs = shop.ok("GET", "/customer-management/{tenant}/contact-assignments", 200).json()
    (contact,) = [d["id"] for d in docs if d["legalEntity"]["id"] == legal_entity and d["customer"]["id"] == customer]
    return str(contact)


def _import(shop: Shop, settings: Settings, kind: str, rows: list[dict[str, Any]], folder: Path) -> None:
    path = write_ndjson(folder / f"{kind}.ndjson", rows)
    summary = asyncio.run(importer.import_file(settings, str(settings.database_url), kind, path, shop.tenant))
    assert summary.failed == 0, summary.errors


def _set_validity(shop: Shop, segment_id: str, validity: dict[str, str]) -> None:
    operations = [{"op": "add", "path": "/validity", "value": validity}]
    shop.ok("PATCH", SEGMENT + segment_id, 204, json=operations)


def _created_again(shop: Shop) -> None:
    """Segment t deleted, then created again with the same id, another item and c1 in L again."""
    shop.delete_segment("t")
    shop.segment("t")
    shop.put_item("t", "ps")
    shop.member("t", "c1", "L")


def _rule_admits_c2(shop: Shop) -> None:
    shop.segment("r")
    shop.put_item("r", "pg")
    shop.save_rule("r", attr("customer.firstName", "eq", "Ann"))


def _rule_has_admitted_c2(shop: Shop) -> None:
    _rule_admits_c2(shop)
    shop.update_customer("c2", firstName="Ann")
    assert shop.member_ids("r") == {"c2"}


def _inactive_segment(shop: Shop) -> None:
    """Segment iv (inactive) holds p3 and the category sledges; c1 is its member."""
    shop.segment("iv", status="INACTIVE")
    shop.put_item("iv", "p3")
    shop.put_item("iv", "sledges", "CATEGORY")
    shop.member("iv", "c1")


def _future_segment(shop: Shop) -> None:
    """Segment fu (valid from 2999) holds pg; c1 is its member in the context of L."""
    shop.segment("fu", validity={"from": "2999-01-01T00:00:00.000Z"})
    shop.put_item("fu", "pg")
    shop.member("fu", "c1", "L")


def _order_rule(shop: Shop) -> None:
    shop.segment("r")
    shop.put_item("r", "pg")
    shop.save_rule("r", orders_leaf("count", "gte", 1))


@dataclass(frozen=True)
class Write:
    """One write under attack: `before` runs before the answers are warmed, `write` while they are."""

    write: Callable[[Shop, Settings, Path], object]
    before: Callable[[Shop], None] = field(default=lambda shop: None)


WRITES: dict[str, Write] = {
    # memberships
    "membership added by hand": Write(lambda s, _, __: s.member("u", "c1")),
    "membership removed by hand": Write(lambda s, _, __: s.unmember("s", "c1")),
    "membership added in a context": Write(lambda s, _, __: s.member("u", "c1", "L")),
    "membership of a context removed": Write(lambda s, _, __: s.unmember("t", "c1", "L")),
    "memberships in bulk": Write(
        lambda s, _, __: s.ok(
            "PUT",
            SEGMENT + "u/customers/bulk",
            207,
            json=[{"customerId": "c1"}, {"customerId": "c1", "legalEntityId": "L"}],
        )
    ),
    "memberships imported": Write(
        lambda s, settings, folder: _import(
            s, settings, "customer-assignments", [{"segmentId": "s", "customerId": "c2"}], folder
        )
    ),
    "excluded from a segment": Write(lambda s, _, __: s.ok("PUT", SEGMENT + "s/exclusions/c1", 201, 204)),
    "a rule admits the customer": Write(lambda s, _, __: s.update_customer("c2", firstName="Ann"), _rule_admits_c2),
    "a rule deleted": Write(lambda s, _, __: s.ok("DELETE", SEGMENT + "r/rule", 204), _rule_has_admitted_c2),
    "an order admits the customer": Write(lambda s, _, __: s.create_order("c2", product="p1"), _order_rule),
    "customer deleted": Write(lambda s, _, __: s.ok("DELETE", "/customer/{tenant}/customers/c1", 202)),
    "contact removed": Write(
        lambda s, _, __: s.ok(
            "DELETE", f"/customer-management/{{tenant}}/contact-assignments/{_contact_of(s, 'L', 'c1')}", 204
        )
    ),
    "legal entity deleted": Write(
        lambda s, _, __: s.ok("DELETE", "/customer-management/{tenant}/legal-entities/L", 204)
    ),
    # segment definitions
    "an inactive segment of the customer activated": Write(
        lambda s, _, __: s.patch_segment("iv", "/status", "ACTIVE"), _inactive_segment
    ),
    "a future segment of the customer starts now": Write(
        lambda s, _, __: _set_validity(s, "fu", {"from": "2020-01-01T00:00:00.000Z"}), _future_segment
    ),
    "segment inactive": Write(lambda s, _, __: s.patch_segment("s", "/status", "INACTIVE")),
    "segment of a context inactive": Write(lambda s, _, __: s.patch_segment("t", "/status", "INACTIVE")),
    "segment moved to another site": Write(lambda s, _, __: s.patch_segment("s", "/siteCode", "other")),
    "segment validity ended": Write(
        lambda s, _, __: _set_validity(s, "t", {"from": "2020-01-01T00:00:00.000Z", "to": "2021-01-01T00:00:00.000Z"})
    ),
    "segment validity starts later": Write(
        lambda s, _, __: _set_validity(s, "s", {"from": "2999-01-01T00:00:00.000Z"})
    ),
    "segment replaced by PUT": Write(
        lambda s, _, __: s.ok(
            "PUT",
            SEGMENT + "t",
            204,
            json={"name": {"en": "Renamed"}, "status": "INACTIVE", "siteCode": "main"},
        )
    ),
    "a named segment created": Write(lambda s, _, __: (s.segment("n"), s.put_item("n", "p1"))),
    "segments upserted in bulk": Write(
        lambda s, _, __: s.ok(
            "PUT",
            SEGMENT + "bulk",
            207,
            json=[{"id": "s", "name": {"en": "S"}, "status": "INACTIVE", "siteCode": "main"}],
        )
    ),
    "segments deleted in bulk": Write(
        lambda s, _, __: s.ok("DELETE", SEGMENT + "bulk?forceDelete=true", 207, json=["t"])
    ),
    "segment renamed": Write(lambda s, _, __: s.patch_segment("s", "/name", {"en": "Renamed"})),
    "segment deleted": Write(lambda s, _, __: s.delete_segment("s")),
    "segment deleted and created again": Write(lambda s, _, __: _created_again(s)),
    # items
    "item added": Write(lambda s, _, __: s.put_item("s", "p2")),
    "item updated": Write(lambda s, _, __: s.put_item("s", "p1", body={"mixins": {"a": {"b": 1}}})),
    "item deleted": Write(lambda s, _, __: s.delete_item("s", "p1")),
    "category item deleted": Write(lambda s, _, __: s.delete_item("s", "hammers", "CATEGORY")),
    "items in bulk": Write(
        lambda s, _, __: s.ok("PUT", SEGMENT + "t/items/PRODUCT/bulk", 207, json=[{"id": "p3"}, {"id": "ph"}])
    ),
    "items deleted in bulk": Write(lambda s, _, __: s.ok("DELETE", SEGMENT + "s/items/PRODUCT/bulk", 207, json=["p1"])),
    "items imported": Write(
        lambda s, settings, folder: _import(
            s, settings, "item-assignments", [{"segmentId": "u", "type": "CATEGORY", "id": "sledges"}], folder
        )
    ),
    # catalogue
    "product unpublished": Write(lambda s, _, __: s.patch_product("ph", published=False)),
    "product renamed": Write(lambda s, _, __: s.patch_product("p1", name={"en": "Other"})),
    "product deleted": Write(lambda s, _, __: s.delete_product("p1")),
    "product in a category deleted": Write(lambda s, _, __: s.delete_product("ps")),
    "category moved": Write(lambda s, _, __: s.patch_category("sledges", parentId="garden")),
    "category unpublished": Write(lambda s, _, __: s.patch_category("hammers", published=False)),
    "category deleted": Write(lambda s, _, __: s.ok("DELETE", "/category/{tenant}/categories/sledges", 204)),
    "category assignment added": Write(lambda s, _, __: s.assign("hammers", "p3")),
    "category assignment by reference": Write(
        lambda s, _, __: s.ok("PUT", "/category/{tenant}/categories/garden/assignments/references/p3", 200, 201, 204)
    ),
    "category assignments in bulk": Write(
        lambda s, _, __: s.ok(
            "POST",
            "/category/{tenant}/categories/garden/assignments/bulk",
            200,
            201,
            207,
            json=[{"ref": {"id": "p1", "type": "PRODUCT"}}, {"ref": {"id": "ph", "type": "PRODUCT"}}],
        )
    ),
    "a product taken out of every category": Write(
        lambda s, _, __: s.ok("DELETE", "/category/{tenant}/assignments/references/ps", 200, 204)
    ),
    "category assignment removed": Write(lambda s, _, __: s.unassign("garden", "pg")),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_every_write_reaches_the_next_warm_read(
    name: str, shop: Shop, oracle: Shop, host_app: Served, settings: Settings, tmp_path: Path
) -> None:
    attack = WRITES[name]
    build_world(shop)
    attack.before(shop)
    before = warm(host_app[0], shop)
    assert before == answers(oracle)
    attack.write(shop, settings, tmp_path)
    no_marks_held(host_app[0])
    after = same_as_the_truth(shop, oracle)
    assert after != before, f"{name}: the write changed no answer (the attack proves nothing)"
    kept = {name: answer for name, answer in kept_part(after).items() if answer[0] == 200}
    assert without_database(host_app[0], lambda: _ok_answers(shop, kept)) == kept, "not kept again after the write"


# --- writes that wait inside their transaction, fail, or are cut off -------------------------------------------------


class HeldRow:
    """A row of `answer_versions` held FOR UPDATE by a transaction of the test's own (on a loop of its own): a write
    that raises that scope's version waits for it, inside its transaction and holding its host marks."""

    def __init__(self, database_url: str, tenant: str, scope: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection | None = self._loop.run_until_complete(self._begin(database_url, tenant, scope))

    @staticmethod
    async def _begin(database_url: str, tenant: str, scope: str) -> asyncpg.Connection:
        conn = await asyncpg.connect(database_url)
        await conn.execute("BEGIN")
        await conn.execute(
            "INSERT INTO answer_versions (tenant, scope, version) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING",
            tenant,
            scope,
        )
        await conn.execute("SELECT 1 FROM answer_versions WHERE tenant = $1 AND scope = $2 FOR UPDATE", tenant, scope)
        return conn

    def end(self) -> None:
        """Roll the holding transaction back (or, when its server is gone, just let go)."""
        try:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                try:
                    self._loop.run_until_complete(conn.execute("ROLLBACK"))
                    self._loop.run_until_complete(conn.close())
                finally:
                    conn.terminate()
        finally:
            if not self._loop.is_closed():
                self._loop.close()


def waiting_writers(database_url: str) -> list[int]:
    """The backends that wait for a row lock of `answer_versions` (a write raising a version held by HeldRow)."""
    rows = run_sql(
        database_url,
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%answer_versions%'",
    )
    return [int(row[0]) for row in rows]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class Background:
    """One request in a thread of its own; its response (or error) afterwards."""

    def __init__(self, send: Callable[[], httpx.Response]) -> None:
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.response = send()
            except BaseException as error:  # reported by `result`
                self.error = error

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self, timeout: float = 30.0) -> httpx.Response:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the request did not end"
        assert self.error is None, self.error
        assert self.response is not None
        return self.response


@pytest.fixture
def held(database_url: str) -> Iterator[Callable[[str, str], HeldRow]]:
    rows: list[HeldRow] = []

    def hold(tenant: str, scope: str) -> HeldRow:
        row = HeldRow(database_url, tenant, scope)
        rows.append(row)
        return row

    yield hold
    for row in rows:
        row.end()


def test_reads_while_a_write_waits_inside_its_transaction_learn_nothing_old(
    shop: Shop,
    oracle: Shop,
    host_app: Served,
    other_host_app: Served,
    database_url: str,
    held: Callable[[str, str], HeldRow],
) -> None:
    """A write (through another app of the host) has raised its generations and waits for a row lock before its
    COMMIT. Reads meanwhile answer the old truth, asking the database (what the write marked is not trusted); they
    must not keep that old truth in a way that outlives the COMMIT. Scopes the write did not mark stay warm."""
    build_world(shop)
    before = warm(host_app[0], shop)
    row = held(shop.tenant, "s")
    writer = shop.on(other_host_app[1])
    put = Background(lambda: writer.call("PUT", SEGMENT + "s/items/PRODUCT/p2", json={}))
    wait_until(lambda: bool(waiting_writers(database_url)), "the write to wait for the row lock")
    assert memo_of(host_app[0]).host.holding > 0
    for _ in range(3):
        assert answers(shop) == before
    unmarked = ["items c2", "match t", "assignments garden", "segment t shaped"]
    assert without_database(host_app[0], lambda: _ok_answers(shop, unmarked)) == {n: before[n] for n in unmarked}
    row.end()
    assert put.result().status_code == 201, put.result().text
    no_marks_held(host_app[0])
    after = same_as_the_truth(shop, oracle)
    assert after["items c1"] != before["items c1"]


def test_a_write_cut_off_inside_its_transaction(
    shop: Shop,
    oracle: Shop,
    host_app: Served,
    other_host_app: Served,
    database_url: str,
    held: Callable[[str, str], HeldRow],
) -> None:
    """The waiting write's connection is terminated by the server: the write answers 503 (never 500), nothing of it
    is kept, its marks end with its connection, and the answers are the old ones, kept again without a statement."""
    build_world(shop)
    before = warm(host_app[0], shop)
    row = held(shop.tenant, "s")
    writer = shop.on(other_host_app[1])
    put = Background(lambda: writer.call("PUT", SEGMENT + "s/items/PRODUCT/p2", json={}))
    wait_until(lambda: bool(waiting_writers(database_url)), "the write to wait for the row lock")
    for pid in waiting_writers(database_url):
        run_sql(database_url, "SELECT pg_terminate_backend($1)", pid)
    response = put.result()
    assert response.status_code == 503, response.text
    row.end()
    no_marks_held(host_app[0])
    assert same_as_the_truth(shop, oracle) == before
    assert without_database(host_app[0], lambda: kept_answers(shop)) == kept_part(before)


@contextmanager
def commit_trigger(database_url: str, tenant: str, item: str, body: str) -> Iterator[None]:
    """A deferred constraint trigger that runs `body` (PL/pgSQL) at COMMIT time of a transaction that assigns the
    item `item` in `tenant`: after the write has marked its scopes, before its COMMIT returns."""
    name = f"attack_commit_{tenant}_{item.replace('-', '_')}"
    run_sql(database_url, f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} END $$")
    run_sql(
        database_url,
        f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT ON segment_item_assignments DEFERRABLE INITIALLY DEFERRED "
        f"FOR EACH ROW WHEN (NEW.tenant = '{tenant}' AND NEW.item_id = '{item}') EXECUTE FUNCTION {name}()",
    )
    try:
        yield
    finally:
        run_sql(database_url, f"DROP TRIGGER IF EXISTS {name} ON segment_item_assignments")
        run_sql(database_url, f"DROP FUNCTION IF EXISTS {name}()")


@pytest.fixture
def failing_commit(database_url: str, tenant: str) -> Iterator[None]:
    """A COMMIT that fails with a serialization failure (as PostgreSQL's may) for the item `p-fail`."""
    with commit_trigger(database_url, tenant, "p-fail", "RAISE EXCEPTION 'attack' USING ERRCODE = '40001';"):
        yield


@pytest.fixture
def slow_commit(database_url: str, tenant: str) -> Iterator[None]:
    """A COMMIT that takes a second for the item `p-slow`."""
    with commit_trigger(database_url, tenant, "p-slow", "PERFORM pg_sleep(1); RETURN NULL;"):
        yield


def sleeping_commits(database_url: str) -> int:
    rows = run_sql(database_url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")
    return int(rows[0][0])


def test_reads_during_a_slow_commit_learn_nothing_old(
    shop: Shop, oracle: Shop, host_app: Served, other_host_app: Served, database_url: str, slow_commit: None
) -> None:
    """The write's COMMIT takes a second: its marks must be held until the COMMIT has returned, so that the reads
    meanwhile (which see the old rows) keep nothing that a later read would trust."""
    build_world(shop)
    shop.product("p-slow")
    before = warm(host_app[0], shop)
    writer = shop.on(other_host_app[1])
    put = Background(lambda: writer.call("PUT", SEGMENT + "s/items/PRODUCT/p-slow", json={}))
    wait_until(lambda: sleeping_commits(database_url) > 0, "the write's COMMIT")
    meanwhile: list[dict[str, Snapshot]] = []
    while sleeping_commits(database_url):
        meanwhile.append(answers(shop))
    assert meanwhile
    assert put.result().status_code == 201
    after = same_as_the_truth(shop, oracle)
    assert after["items c1"] != before["items c1"]
    # Each answer during the COMMIT was the old one, or the new one once the COMMIT was in (the last round).
    assert all(got[name] in (before[name], after[name]) for got in meanwhile for name in got)


def test_failed_writes_hold_nothing_and_change_nothing(
    shop: Shop, oracle: Shop, host_app: Served, failing_commit: None
) -> None:
    """Writes refused before, while and after they mark (a 409 of a stale version, a 400, 404s, a bulk whose every
    item fails, a COMMIT that fails with a serialization failure): each holds nothing afterwards, changes no answer,
    and the answers are kept again without a statement."""
    build_world(shop)
    shop.product("p-fail")
    before = warm(host_app[0], shop)
    stale_version = [{"op": "replace", "path": "/metadata/version", "value": 99}]
    refused: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = [
        ("PATCH", SEGMENT + "s", {"json": stale_version}, (409,)),
        ("DELETE", SEGMENT + "s", {}, (400,)),
        ("PUT", SEGMENT + "nosuch/items/PRODUCT/p1", {"json": {}}, (404,)),
        ("PUT", SEGMENT + "u/customers/nobody", {}, (400, 404)),
        ("PUT", SEGMENT + "u/customers/c2/L", {}, (400, 403, 404, 409)),
        ("PUT", SEGMENT + "s/items/PRODUCT/bulk", {"json": [{"id": "nope"}, {"id": "gone"}]}, (207,)),
        ("PUT", SEGMENT + "s/items/PRODUCT/p-fail", {"json": {}}, (409,)),
        (
            "PATCH",
            "/category/{tenant}/categories/hammers",
            {"json": {"published": False, "metadata": {"version": 99}}},
            (409,),
        ),
    ]
    for method, path, options, statuses in refused:
        response = shop.call(method, path, **options)
        assert response.status_code in statuses, (method, path, response.status_code, response.text)
        no_marks_held(host_app[0])
        assert answers(shop) == before, (method, path)
        assert answers(oracle) == before, (method, path)
        assert without_database(host_app[0], lambda: kept_answers(shop)) == kept_part(before), (method, path)


# --- validity windows ------------------------------------------------------------------------------------------------


def test_validity_windows_open_and_close_while_warm(shop: Shop, oracle: Shop, host_app: Served) -> None:
    """Segment v opens at T (c1, B2C), w closes at T (c1 in the context of L), x opened at T+100 s until it is moved
    to T while warm: at T, with no write at all, every answer is the database's."""
    build_world(shop)
    moment = whole_seconds_ahead(3)
    shop.segment("v", validity={"from": iso(moment)})
    shop.segment("w", validity={"from": iso(moment - timedelta(days=1)), "to": iso(moment)})
    shop.segment("x", validity={"from": iso(moment + timedelta(seconds=100))})
    for segment, item, kind in [("v", "p3", "PRODUCT"), ("w", "ps", "PRODUCT"), ("x", "garden", "CATEGORY")]:
        shop.put_item(segment, item, kind)
    shop.member("v", "c1")
    shop.member("w", "c1", "L")
    shop.member("x", "c2")
    windows: dict[str, Callable[[], httpx.Response]] = {
        "match v w x": lambda: shop.match_response(PRODUCTS, ["v", "w", "x"]),
        "items c1 in L": lambda: shop.items_response("c1", "L", pageSize=100),
        "trees c2": lambda: shop.trees_response("c2"),
    }
    warm(host_app[0], shop)
    _set_validity(shop, "x", {"from": iso(moment)})
    before = warm(host_app[0], shop)
    window_answers = {name: snapshot(read()) for name, read in windows.items()}
    assert without_database(host_app[0], lambda: {name: snapshot(read()) for name, read in windows.items()}) == (
        window_answers
    )
    assert time.time() < moment.timestamp(), "too slow: the windows opened before the answers were warm"
    sleep_past(moment)
    after = same_as_the_truth(shop, oracle)
    assert after != before
    truth = {name: snapshot(read()) for name, read in windows.items()}
    assert {name: snapshot(read()) for name, read in windows.items()} == truth
    assert truth != window_answers
    assert truth["match v w x"][1] == [{"id": "p3"}, {"id": "pg"}]


# --- slots shared between tenants ------------------------------------------------------------------------------------


def _tenant_sharing_a_slot(tenant: str, scope: str, other_scope: str) -> str:
    """A tenant name whose `other_scope` has the slot of `tenant`'s `scope` (3-16 lowercase letters and digits)."""
    target = slot(tenant, scope)
    for n in range(10_000_000):
        candidate = f"y{n:05x}"
        if candidate != tenant and slot(candidate, other_scope) == target:
            return candidate
    raise AssertionError("no tenant found")


def test_tenants_whose_scopes_share_a_slot(
    shop: Shop,
    oracle: Shop,
    host_app: Served,
    other_host_app: Served,
    host_tokens: Tokens,
    database_url: str,
    held: Callable[[str, str], HeldRow],
) -> None:
    """Tenant B's segment s shares the slot of tenant A's c1 memberships: B's writes (and a write of B that waits
    holding its marks) only make A ask the database; every answer of both stays the database's."""
    other = _tenant_sharing_a_slot(shop.tenant, member_scope("c1"), "s")
    assert slot(other, "s") == slot(shop.tenant, member_scope("c1"))
    b = Shop(shop.client, host_tokens, other)
    build_world(shop)
    build_world(b)
    b_oracle = b.on(oracle.client)
    a_before, b_before = warm(host_app[0], shop), warm(host_app[0], b)
    b.put_item("s", "p2")
    assert same_as_the_truth(shop, oracle) == a_before
    b_after = same_as_the_truth(b, b_oracle)
    assert b_after != b_before
    row = held(other, "s")
    put = Background(lambda: b.on(other_host_app[1]).call("DELETE", SEGMENT + "s/items/PRODUCT/p2"))
    wait_until(lambda: bool(waiting_writers(database_url)), "B's write to wait")
    assert answers(shop) == a_before
    assert answers(b) == b_after
    row.end()
    assert put.result().status_code == 204
    assert same_as_the_truth(shop, oracle) == a_before
    assert same_as_the_truth(b, b_oracle) == b_before
    assert without_database(host_app[0], lambda: kept_answers(shop)) == kept_part(a_before)


# --- the memo's bound ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_app(settings: Settings) -> Iterator[Served]:
    """A host app whose memo holds its least bound (1,024 entries) and whose answer cache holds 1 MB."""
    with served(settings, answer_versions="host", answer_cache_mb=1) as pair:
        yield pair


def test_a_memo_past_its_bound_drops_only_what_it_can_learn_again(shop: Shop, oracle: Shop, small_app: Served) -> None:
    app, client = small_app
    memo = memo_of(app)
    small = shop.on(client)
    build_world(small)
    before = warm(app, small)
    for n in range(1200):
        assert small.match(["p1", "p2"], ["s", f"x{n}"]) == ["p1"]
        assert len(memo) <= memo.limit
    assert len(memo) == memo.limit
    assert answers(small) == before
    small.put_item("s", "p2")
    small.put_item("t", "p1")
    after = same_as_the_truth(small, oracle)
    assert after != before
    for n in (0, 1, 600, 1199):
        assert small.match(["p1", "p2"], ["s", f"x{n}"]) == ["p1", "p2"]
    assert without_database(app, lambda: kept_answers(small)) == kept_part(after)


# --- readers hammering while writes commit ---------------------------------------------------------------------------


class Progress:
    """How many writes of each kind have had their response: a read sent afterwards must show at least those."""

    KINDS = ("item", "membership", "assignment", "rename")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = dict.fromkeys(self.KINDS, 0)

    def add(self, kind: str) -> None:
        with self._lock:
            self._done[kind] += 1

    def now(self) -> dict[str, int]:
        with self._lock:
            return dict(self._done)


def build_hammer_world(shop: Shop, rounds: int) -> None:
    """Segment s holds the category tools and c1; products p<n> (items of s to come), q<n> (assignments to tools to
    come), r<n>; root categories k<n>; segments m<n> hold r<n> and the category k<n> (c1 joins them)."""
    shop.category("tools")
    shop.create_customer("c1")
    shop.segment("s")
    shop.put_item("s", "tools", "CATEGORY")
    shop.member("s", "c1")
    for n in range(rounds):
        for product in (f"p{n}", f"q{n}", f"r{n}"):
            shop.product(product)
        shop.category(f"k{n}")
        shop.segment(f"m{n}")
        shop.put_item(f"m{n}", f"r{n}")
        shop.put_item(f"m{n}", f"k{n}", "CATEGORY")


def hammer_write(shop: Shop, kind: str, n: int) -> None:
    """The `n`th write of `kind`: an item of s, a membership of c1, an assignment to tools, a rename of s."""
    if kind == "item":
        shop.put_item("s", f"p{n}")
    elif kind == "membership":
        shop.member(f"m{n}", "c1")
    elif kind == "assignment":
        shop.assign("tools", f"q{n}")
    else:
        shop.patch_segment("s", "/name", {"en": f"name {n}"})


def check_hammer_reads(shop: Shop, progress: Progress, rounds: int) -> list[str]:
    """Each read against the writes answered before it was sent: what is missing (or any status but 200)."""
    everything = [f"{letter}{n}" for letter in "pqr" for n in range(rounds)]
    problems: list[str] = []

    def fetch(name: str, send: Callable[[], httpx.Response]) -> tuple[dict[str, int], Any]:
        done = progress.now()
        response = send()
        if response.status_code != 200:
            problems.append(f"{name}: {response.status_code} {response.text[:200]}")
            return done, None
        return done, response.json()

    def missing(name: str, got: set[str], want: set[str]) -> None:
        if not want <= got:
            problems.append(f"{name}: missing {sorted(want - got)}")

    done, body = fetch("items", lambda: shop.items_response("c1", pageSize=1000))
    if body is not None:
        want = {f"p{n}" for n in range(done["item"])} | {f"r{n}" for n in range(done["membership"])}
        missing("items", {d["item"]["id"] for d in body}, want | {f"k{n}" for n in range(done["membership"])})
    done, body = fetch("trees", lambda: shop.trees_response("c1"))
    if body is not None:
        missing("trees", {node["id"] for node in body}, {"tools"} | {f"k{n}" for n in range(done["membership"])})
    done, body = fetch("match", lambda: shop.match_response(everything, ["s"]))
    if body is not None:
        want = {f"p{n}" for n in range(done["item"])} | {f"q{n}" for n in range(done["assignment"])}
        missing("match", {d["id"] for d in body}, want)
    done, body = fetch("assignments", lambda: shop.assignments_response("tools", segmentsIds="s", pageSize=1000))
    if body is not None:
        missing("assignments", {d["ref"]["id"] for d in body}, {f"q{n}" for n in range(done["assignment"])})
    done, body = fetch("segment", lambda: shop.call("GET", SEGMENT + "s"))
    if body is not None and body["metadata"]["version"] < 1 + done["rename"]:
        problems.append(f"segment: version {body['metadata']['version']} after {done['rename']} renames")
    return problems


def hammer(pairs: list[tuple[Shop, Shop]], readers: list[Shop], rounds: int) -> list[str]:
    """The writes, each through the writer of a (writer, checker) pair in turn and followed by a check through its
    checker, while every reader checks without pause in a thread of its own. Every problem seen."""
    progress, stop = Progress(), threading.Event()
    problems: list[str] = []

    def read_on(reader: Shop) -> None:
        try:
            while not stop.is_set():
                problems.extend(check_hammer_reads(reader, progress, rounds))
        except BaseException as error:  # reported below
            problems.append(f"reader failed: {error!r}")

    threads = [threading.Thread(target=read_on, args=(reader,), daemon=True) for reader in readers]
    for thread in threads:
        thread.start()
    try:
        for number in range(rounds * len(Progress.KINDS)):
            kind = Progress.KINDS[number % len(Progress.KINDS)]
            writer, checker = pairs[number % len(pairs)]
            hammer_write(writer, kind, number // len(Progress.KINDS))
            progress.add(kind)
            problems.extend(check_hammer_reads(checker, progress, rounds))
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    return problems


def test_no_read_sent_after_a_write_answered_misses_it_while_readers_hammer(
    shop: Shop, host_app: Served, other_host_app: Served
) -> None:
    """Writes through one app of the host, then the other, each followed by a check through the app that did not
    write; three threads read without pause, each read checked against the writes answered before it was sent."""
    rounds = 10
    build_hammer_world(shop, rounds)
    other = shop.on(other_host_app[1])
    problems = hammer([(shop, other), (other, shop)], [other, other, shop], rounds)
    assert not problems, problems[:10]
