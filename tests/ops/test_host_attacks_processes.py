"""Adversarial, SEGMENT_SERVICE_ANSWER_VERSIONS=host across real processes (docs/answers.md#versions-kept-on-the-host):
writes through one `serve` process, or a `segment-service` command, or a process killed with SIGKILL in the middle of
its write, and reads through another `serve` process whose answers are warm. The promise under attack: no process
sends an answer older than a write whose response has returned (or, for a killed writer, than what its transaction
committed), and nothing answers 500."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from segment_service.core import host_versions
from segment_service.core.auth import TokenService
from segment_service.core.db import migrate
from segment_service.core.host_versions import HostVersions, slot
from segment_service.settings import Settings
from tests.answers.support import Shop
from tests.answers.test_host_attacks import (
    Background,
    HeldRow,
    answers,
    build_hammer_world,
    build_world,
    commit_trigger,
    hammer,
    sleeping_commits,
    wait_until,
    waiting_writers,
)
from tests.factories import Tokens, run_sql
from tests.ops.servers import SIGNING_KEY, ServeProcess, StoppablePostgres, serve_env
from tests.ops.serving import FAST_HASHES, Served, command_env, run_command, served_pair
from tests.transfer.helpers import write_ndjson

ITEMS = "/customer-segment/{tenant}/segments/{segment}/items"


@pytest.fixture(scope="module")
def host_env(database_url: str, settings: Settings) -> dict[str, str]:
    return command_env(
        DATABASE_URL=database_url,
        SEGMENT_SERVICE_SIGNING_KEY=str(settings.signing_key),
        SEGMENT_SERVICE_ANSWER_VERSIONS="host",
        **FAST_HASHES,
    )


@pytest.fixture(scope="module")
def pair(host_env: dict[str, str]) -> Iterator[tuple[Served, Served]]:
    """Two `serve` processes of the host, each with its own memo and answer cache, on the session's database."""
    with served_pair(host_env) as processes:
        yield processes


@pytest.fixture
def clients(pair: tuple[Served, Served]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with (
        httpx.Client(base_url=pair[0].base_url, timeout=30) as a,
        httpx.Client(base_url=pair[1].base_url, timeout=30) as b,
    ):
        yield a, b


def _shops(clients: tuple[httpx.Client, httpx.Client], tokens: Tokens, tenant: str) -> tuple[Shop, Shop]:
    a = Shop(clients[0], tokens, tenant)  # type: ignore[arg-type]  # an httpx client to a served process
    return a, a.on(clients[1])  # type: ignore[arg-type]


def _small_world(shop: Shop) -> None:
    """Segment s holds p1; c1 is its member; products p1, p2 and p-slow exist."""
    for product in ("p1", "p2", "p-slow"):
        shop.product(product)
    shop.create_customer("c1")
    shop.create_customer("c2")
    shop.segment("s")
    shop.segment("t")
    shop.put_item("s", "p1")
    shop.put_item("t", "p2")
    shop.member("s", "c1")


def _warm(read: Callable[[], Any]) -> Any:
    """Three reads: the first learns the customer's segments, the second their versions, the third is kept."""
    return [read() for _ in range(3)][-1]


def _stored_items(database_url: str, tenant: str, segment_id: str) -> list[str]:
    rows = run_sql(
        database_url,
        "SELECT item_id FROM segment_item_assignments WHERE tenant = $1 AND segment_id = $2 ORDER BY item_id",
        tenant,
        segment_id,
    )
    return [row[0] for row in rows]


# --- a write of one process that waits inside its transaction, or in its COMMIT, while another reads ----------------


@pytest.mark.parametrize("wait", ["for a row lock", "in its COMMIT"])
def test_reads_of_one_process_while_another_is_inside_its_write(
    wait: str, clients: tuple[httpx.Client, httpx.Client], tokens: Tokens, tenant: str, database_url: str
) -> None:
    """Process A's write has marked its scopes and waits (for a row lock before its COMMIT, or in a COMMIT that takes
    a second); process B reads meanwhile, asking the database (the marks are another process's record locks), and
    must keep nothing that outlives the write: once A has answered, B answers the write."""
    a, b = _shops(clients, tokens, tenant)
    build_world(a)
    a.product("p-slow")
    for _ in range(3):
        before = answers(b)
    held = HeldRow(database_url, tenant, "s") if wait == "for a row lock" else None
    meanwhile: list[dict[str, Any]] = []
    with commit_trigger(database_url, tenant, "p-slow", "PERFORM pg_sleep(1); RETURN NULL;"):
        try:
            path = ITEMS.format(tenant=tenant, segment="s") + "/PRODUCT/p-slow"
            auth = {"Authorization": f"Bearer {a.token}"}
            writer = Background(lambda: httpx.put(clients[0].base_url.join(path), json={}, headers=auth, timeout=30))
            if held is not None:
                wait_until(lambda: bool(waiting_writers(database_url)), "A's write to wait for the row lock")
                for _ in range(5):
                    meanwhile.append(answers(b))
            else:
                wait_until(lambda: sleeping_commits(database_url) > 0, "A's COMMIT")
                while sleeping_commits(database_url):
                    meanwhile.append(answers(b))
        finally:
            if held is not None:
                held.end()
        assert writer.result().status_code == 201
    after = answers(b)
    assert ("s", "p-slow") in [(d["segmentId"], d["item"]["id"]) for d in after["items c1"][1]]
    assert after == answers(a)
    assert [answers(b) for _ in range(2)] == [after, after]
    # While A was inside its write, B answered the old truth (or, in the last round, the committed one).
    assert all(got[name] in (before[name], after[name]) for got in meanwhile for name in got)
    if wait == "for a row lock":
        assert all(got == before for got in meanwhile)


# --- a `segment-service import` is a writer of the host too ---------------------------------------------------------


def test_an_import_by_the_command_reaches_the_next_warm_read(
    clients: tuple[httpx.Client, httpx.Client],
    tokens: Tokens,
    tenant: str,
    host_env: dict[str, str],
    database_url: str,
    tmp_path: Path,
) -> None:
    """`segment-service import` runs on the host and writes through the services (docs/operations.md#import): once
    it has returned, a warm `serve` process must answer what it wrote. It opens no host file, so it marks nothing."""
    a, b = _shops(clients, tokens, tenant)
    _small_world(a)
    assert _warm(lambda: b.item_ids("c1")) == [("s", "p1")]
    assert _warm(lambda: b.match(["p1", "p2"], ["s"])) == ["p1"]
    assert _warm(lambda: b.item_ids("c2")) == []

    items = write_ndjson(tmp_path / "items.ndjson", [{"segmentId": "s", "type": "PRODUCT", "id": "p2"}])
    done = run_command("import", "item-assignments", str(items), "--tenant", tenant, "--json", env=host_env)
    assert done.returncode == 0, done.stdout + done.stderr
    members = write_ndjson(tmp_path / "members.ndjson", [{"segmentId": "t", "customerId": "c2"}])
    done = run_command("import", "customer-assignments", str(members), "--tenant", tenant, "--json", env=host_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _stored_items(database_url, tenant, "s") == ["p1", "p2"]

    stale = {
        name: (got, want)
        for name, got, want in (
            ("items of c1 (item-assignments import)", b.item_ids("c1"), [("s", "p1"), ("s", "p2")]),
            ("match of s (item-assignments import)", b.match(["p1", "p2"], ["s"]), ["p1", "p2"]),
            ("items of c2 (customer-assignments import)", b.item_ids("c2"), [("t", "p2")]),
        )
        if got != want
    }
    assert not stale, f"answers older than a finished `segment-service import`: {stale}"


def test_a_write_through_a_host_mode_process_without_a_cache_reaches_the_next_warm_read(
    clients: tuple[httpx.Client, httpx.Client], tokens: Tokens, tenant: str, host_env: dict[str, str]
) -> None:
    """A `serve` process of the host with SEGMENT_SERVICE_ANSWER_VERSIONS=host and its answer cache off (a process
    that only writes, say): its writes must reach the warm processes too. It opens no host file (answers/service.py
    `memo_for` returns before `use`), so it marks nothing."""
    a, b = _shops(clients, tokens, tenant)
    _small_world(a)
    assert _warm(lambda: b.item_ids("c1")) == [("s", "p1")]
    assert _warm(lambda: b.match(["p1", "p2"], ["s"])) == ["p1"]
    writer = Served({**host_env, "SEGMENT_SERVICE_ANSWER_CACHE_MB": "0"}, "--no-migrate").wait_healthy()
    try:
        with httpx.Client(base_url=writer.base_url, timeout=30) as client:
            a.on(client).put_item("s", "p2")  # type: ignore[arg-type]  # an httpx client to a served process
    finally:
        writer.close()
    stale = {
        name: (got, want)
        for name, got, want in (
            ("items of c1", b.item_ids("c1"), [("s", "p1"), ("s", "p2")]),
            ("match of s", b.match(["p1", "p2"], ["s"]), ["p1", "p2"]),
        )
        if got != want
    }
    assert not stale, f"answers older than a write answered by a host-mode process without a cache: {stale}"


# --- a writer killed with SIGKILL ------------------------------------------------------------------------------------


def _host_of(database_url: str) -> HostVersions:
    """This host's file of the database's generations, as the served processes use it."""
    (row,) = run_sql(database_url, "SELECT id FROM service_installation")
    return HostVersions.shared(host_versions.path_for(row[0]))


def _put_in_background(base_url: str, path: str, token: str) -> threading.Thread:
    def put() -> None:
        with contextlib.suppress(httpx.HTTPError):  # its server may be killed under it
            httpx.put(base_url + path, json={}, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    thread = threading.Thread(target=put, daemon=True)
    thread.start()
    return thread


def test_a_writer_killed_during_its_commit_leaves_no_stale_answer(
    clients: tuple[httpx.Client, httpx.Client],
    tokens: Tokens,
    tenant: str,
    host_env: dict[str, str],
    database_url: str,
) -> None:
    """A `serve` process is killed with SIGKILL after it sent its COMMIT and before PostgreSQL finished it (here a
    deferred trigger makes the COMMIT take 3 s; a slow disk, a busy WAL or synchronous replication do the same). Its
    marks vanish with it at once, its generations were raised, and its transaction commits a moment later. A warm
    reader that asks the database in between learns the old versions under the new generations, and keeps them: once
    the COMMIT is in, every read still answers without the committed item, for as long as nothing else writes to the
    segment. docs/answers.md claims "nothing it committed hides behind an old counter"; here it hides behind a new
    one."""
    a, b = _shops(clients, tokens, tenant)
    _small_world(a)
    assert _warm(lambda: b.item_ids("c1")) == [("s", "p1")]
    host, segment_slot = _host_of(database_url), slot(tenant, "s")
    victim = Served(host_env, "--no-migrate").wait_healthy()
    try:
        with commit_trigger(database_url, tenant, "p-slow", "PERFORM pg_sleep(3); RETURN NULL;"):
            path = ITEMS.format(tenant=tenant, segment="s") + "/PRODUCT/p-slow"
            writer = _put_in_background(victim.base_url, path, a.token)
            wait_until(lambda: sleeping_commits(database_url) > 0, "the victim's COMMIT")
            assert not host.quiet([segment_slot]), "the victim holds its mark during its COMMIT"
            os.killpg(victim.process.pid, signal.SIGKILL)
            victim.process.wait(timeout=10)
            wait_until(lambda: host.quiet([segment_slot]), "the killed writer's record locks to go")
            writer.join(10)
            # The COMMIT is still running: the old answer is still the truth. These reads learn what they find.
            assert sleeping_commits(database_url) > 0
            for _ in range(3):
                assert b.item_ids("c1") == [("s", "p1")]
            wait_until(lambda: sleeping_commits(database_url) == 0, "the orphaned COMMIT to end")
    finally:
        victim.close()
    assert _stored_items(database_url, tenant, "s") == ["p-slow", "p1"], "the killed writer's COMMIT went through"
    uncached = a.ok("GET", ITEMS.format(tenant="{tenant}", segment="s"), 200).json()
    assert sorted(d["item"]["id"] for d in uncached) == ["p-slow", "p1"]
    seen = [b.item_ids("c1") for _ in range(3)]
    assert all(answer == [("s", "p-slow"), ("s", "p1")] for answer in seen), (
        f"a warm process keeps answering without the item a killed writer committed: {seen}"
    )


def test_a_writer_stopped_during_its_commit_finishes_it_and_is_seen(
    clients: tuple[httpx.Client, httpx.Client],
    tokens: Tokens,
    tenant: str,
    host_env: dict[str, str],
    database_url: str,
) -> None:
    """SIGTERM (a deploy, a scale-down) to a `serve` process whose write is in a slow COMMIT: the graceful stop lets
    the write finish and answer; the warm process then answers it."""
    a, b = _shops(clients, tokens, tenant)
    _small_world(a)
    assert _warm(lambda: b.item_ids("c1")) == [("s", "p1")]
    victim = Served(host_env, "--no-migrate").wait_healthy()
    try:
        with commit_trigger(database_url, tenant, "p-slow", "PERFORM pg_sleep(1); RETURN NULL;"):
            path = ITEMS.format(tenant=tenant, segment="s") + "/PRODUCT/p-slow"
            auth = {"Authorization": f"Bearer {a.token}"}
            writer = Background(lambda: httpx.put(victim.base_url + path, json={}, headers=auth, timeout=30))
            wait_until(lambda: sleeping_commits(database_url) > 0, "the victim's COMMIT")
            os.killpg(victim.process.pid, signal.SIGTERM)
            for _ in range(3):
                assert b.item_ids("c1") in ([("s", "p1")], [("s", "p-slow"), ("s", "p1")])
            assert writer.result().status_code == 201
    finally:
        victim.close()
    assert [b.item_ids("c1") for _ in range(3)] == [[("s", "p-slow"), ("s", "p1")]] * 3


def test_a_writer_killed_while_it_waits_inside_its_transaction(
    clients: tuple[httpx.Client, httpx.Client],
    tokens: Tokens,
    tenant: str,
    host_env: dict[str, str],
    database_url: str,
) -> None:
    """A `serve` process holding its marks (its write waits for a row lock inside its transaction) is killed: while
    it holds them the warm process answers the old truth; the write never commits; once the writer is gone the answers
    are learnt again, unchanged, and a later write is seen at once."""
    a, b = _shops(clients, tokens, tenant)
    _small_world(a)
    assert _warm(lambda: b.item_ids("c1")) == [("s", "p1")]
    assert _warm(lambda: b.match(["p1", "p2"], ["s"])) == ["p1"]
    row = HeldRow(database_url, tenant, "s")
    victim = Served(host_env, "--no-migrate").wait_healthy()
    try:
        writer = _put_in_background(victim.base_url, ITEMS.format(tenant=tenant, segment="s") + "/PRODUCT/p2", a.token)
        wait_until(lambda: bool(waiting_writers(database_url)), "the victim to wait for the row lock")
        orphans = waiting_writers(database_url)
        for _ in range(3):
            assert b.item_ids("c1") == [("s", "p1")]
            assert b.match(["p1", "p2"], ["s"]) == ["p1"]
        os.killpg(victim.process.pid, signal.SIGKILL)
        victim.process.wait(timeout=10)
        writer.join(10)
        for _ in range(3):
            assert b.item_ids("c1") == [("s", "p1")]
    finally:
        row.end()
        victim.close()

    def orphans_gone() -> bool:
        return not run_sql(database_url, "SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])", orphans)

    # The orphaned backend gets its row, finds its client gone at its next read and rolls back.
    wait_until(orphans_gone, "the killed writer's backend to end")
    assert _stored_items(database_url, tenant, "s") == ["p1"]
    assert _warm(lambda: b.item_ids("c1")) == [("s", "p1")]
    a.put_item("s", "p2")
    assert b.item_ids("c1") == [("s", "p1"), ("s", "p2")]
    assert b.match(["p1", "p2"], ["s"]) == ["p1", "p2"]


# --- readers hammering two processes while both write ----------------------------------------------------------------


def test_no_read_sent_after_a_write_answered_misses_it_across_processes(
    pair: tuple[Served, Served], tokens: Tokens, tenant: str
) -> None:
    """Writes through one `serve` process, then the other, each followed by a check through the process that did not
    write; four threads (two per process) read without pause, each read checked against the writes answered before
    it was sent."""
    rounds = 12
    clients = [httpx.Client(base_url=served.base_url, timeout=30) for served in (*pair, *pair, *pair)]
    try:
        a = Shop(clients[0], tokens, tenant)  # type: ignore[arg-type]  # an httpx client to a served process
        b = a.on(clients[1])  # type: ignore[arg-type]
        build_hammer_world(a, rounds)
        readers = [a.on(client) for client in clients[2:]]  # type: ignore[arg-type]
        problems = hammer([(a, b), (b, a)], readers, rounds)
    finally:
        for client in clients:
            client.close()
    assert not problems, problems[:10]


# --- the database stopped under warm answers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StoppablePostgres, ServeProcess]]:
    """A host-mode `serve` over a PostgreSQL of its own, which the test stops as a crash would and starts again."""
    folder = tmp_path_factory.mktemp("host-outage")
    postgres = StoppablePostgres(folder)
    try:
        asyncio.run(migrate(postgres.url))
        env = serve_env(postgres.url, SEGMENT_SERVICE_ANSWER_VERSIONS="host")
        serve = ServeProcess.start(folder, env=env)
        try:
            yield postgres, serve
        finally:
            serve.stop()
    finally:
        postgres.close()


def test_with_the_database_stopped_answers_are_503_or_the_kept_truth(
    outage: tuple[StoppablePostgres, ServeProcess],
) -> None:
    """Warm answers, then PostgreSQL stops (immediate) while a write waits inside its transaction: every read is the
    kept answer or a 503 (a cold read, a write), never a 500 or another answer; the cut-off write left nothing. Back,
    the answers are the same, and a write is seen at once."""
    postgres, serve = outage
    tenant = "t" + secrets.token_hex(6)
    tokens = Tokens(TokenService(SIGNING_KEY), postgres.url)
    with httpx.Client(base_url=serve.base_url, timeout=30) as client:
        shop = Shop(client, tokens, tenant)  # type: ignore[arg-type]  # an httpx client to a served process
        build_world(shop)
        shop.create_customer("c3")
        for _ in range(3):
            before = answers(shop)
        row = HeldRow(postgres.url, tenant, "s")
        writer = _put_in_background(
            serve.base_url, ITEMS.format(tenant=tenant, segment="s") + "/PRODUCT/p2", shop.token
        )
        wait_until(lambda: bool(waiting_writers(postgres.url)), "the write to wait for the row lock")
        postgres.stop()
        try:
            writer.join(30)
            kept = 0
            for _ in range(3):
                for name, answer in answers(shop).items():
                    assert answer == before[name] or answer[0] == 503, (name, answer)
                    kept += answer == before[name]
                assert shop.items_response("c3").status_code == 503
                refused = shop.call("PUT", ITEMS.format(tenant="{tenant}", segment="s") + "/PRODUCT/p3", json={})
                assert refused.status_code == 503, refused.text
        finally:
            with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                row.end()
            postgres.start()
        wait_until(lambda: serve.get("/health").status_code == 200, "the service to recover", timeout=30)
        assert kept > 0, "no answer was kept through the outage"
        assert answers(shop) == before
        shop.put_item("s", "p2")
        assert ("s", "p2") in shop.item_ids("c1")
        assert "p2" in shop.match(["p1", "p2"], ["s"])
    assert "Traceback" not in serve.log()
