"""Read replicas against real streaming replicas (docs/operations.md#read-replicas): a primary of its own and two hot
standbys made with `pg_basebackup -R` (tests/ops/replicas.py). A paused standby is the marker of where a read went:
what was written after the pause is on the primary only."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from segment_service.app import create_served_app
from segment_service.core.auth import SERVICE_SCOPES, TokenKind
from segment_service.core.db import migrate
from segment_service.core.dbreplicas import REFRESH_SECONDS
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.factories import _ENSURE_TEST_CLIENT, Tokens, assign_customer, run_sql, segment_body
from tests.ops.replicas import Standby
from tests.ops.servers import SIGNING_KEY, ServeProcess, StoppablePostgres, serve_env


@dataclass
class Cluster:
    primary: StoppablePostgres
    standbys: list[Standby]

    @property
    def read_urls(self) -> str:
        return ",".join(s.url for s in self.standbys)

    def wait_caught_up(self) -> None:
        for standby in self.standbys:
            standby.wait_caught_up()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    import asyncio

    folder = Path(tempfile.mkdtemp(prefix="rr-"))
    primary = StoppablePostgres(folder / "p")
    standbys: list[Standby] = []
    try:
        assert run_sql(primary.url, "SHOW wal_level")[0][0] == "replica"
        asyncio.run(migrate(primary.url))
        standbys = [Standby.of(primary, folder / f"s{n}") for n in (1, 2)]
        yield Cluster(primary, standbys)
    finally:
        for standby in standbys:
            standby.close()
        primary.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def replica_app(cluster: Cluster) -> Iterator[tuple[TestClient[FastLane], Tokens]]:
    settings = Settings(
        database_url=cluster.primary.url,
        database_read_urls=tuple(s.url for s in cluster.standbys),
        # A paused standby must stay eligible for the length of a test: the lag limit is not what these tests check.
        read_max_lag_seconds=600,
        signing_key=SIGNING_KEY,
        password_hash_memory_kib=8,
        webhook_deliver=False,
        rule_evaluate=False,
    )
    app = create_served_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_replicas(lambda: client.get("/health/ready"), ["up", "up"])
        yield client, Tokens(app.state.tokens, cluster.primary.url)


def wait_replicas(ready: Any, states: list[str], timeout: float = 30) -> dict[str, Any]:
    """The readiness answer once it reports the replicas in `states`."""
    deadline = time.monotonic() + timeout
    while True:
        response = ready()
        body: dict[str, Any] = response.json()
        if response.status_code == 200 and [r["state"] for r in body.get("replicas", [])] == states:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


@pytest.fixture
def resumed(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster, every standby replaying and caught up again after the test."""
    yield cluster
    for standby in cluster.standbys:
        if not standby.running():
            standby.start()
        standby.resume()
    cluster.wait_caught_up()


class Callers:
    """Two service clients of one tenant: `writer` writes, `other` only reads."""

    def __init__(self, tokens: Tokens, database_url: str) -> None:
        self.tenant = "t" + secrets.token_hex(6)
        self.writer = tokens.service(self.tenant)
        other = f"other-client-{self.tenant}"
        run_sql(database_url, _ENSURE_TEST_CLIENT, other, self.tenant, list(SERVICE_SCOPES))
        # A second client of the tenant, minted as Tokens mints the first.
        self.other = tokens._service.issue(
            tenant=self.tenant, kind=TokenKind.SERVICE, subject=other, scopes=SERVICE_SCOPES, ttl_seconds=3600
        )

    def create_segment(self, post: Any) -> str:
        response = post(
            f"/customer-segment/{self.tenant}/segments",
            json=segment_body(),
            headers={"Authorization": f"Bearer {self.writer}"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def listed(self, get: Any, token: str) -> set[str]:
        response = get(f"/customer-segment/{self.tenant}/segments", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()}


def metric(client: TestClient[FastLane], name: str, label: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f"{name}_total{{{label}}}"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class TestReadReplicas:
    def test_readiness_reports_each_replica(self, replica_app, cluster):
        client, _ = replica_app
        body = wait_replicas(lambda: client.get("/health/ready"), ["up", "up"])
        assert body["status"] == "UP"
        assert [r["replica"] for r in body["replicas"]] == [1, 2]
        assert all(r["lagSeconds"] is not None for r in body["replicas"])

    def test_a_callers_write_is_read_back_while_another_caller_reads_a_paused_replica(self, replica_app, resumed):
        client, tokens = replica_app
        callers = Callers(tokens, resumed.primary.url)
        before = callers.create_segment(client.post)
        # A first read writes the floor of the marks (core/dbreplicas.py) if this is the first since they were reset.
        assert callers.listed(client.get, callers.other) == {before}
        resumed.wait_caught_up()
        for standby in resumed.standbys:
            standby.pause()
        own_write = metric(client, "segment_service_db_replica_fallbacks", 'reason="own_write"')
        on_replica = metric(client, "segment_service_db_replica_eligible_reads", 'target="replica"')

        after = callers.create_segment(client.post)
        # The writer reads its write at once, every time: the replicas have not replayed it, the primary answers.
        for _ in range(3):
            assert callers.listed(client.get, callers.writer) == {before, after}
        # Another caller's read goes to a paused replica, which has the first segment but not the second.
        for _ in range(4):
            assert callers.listed(client.get, callers.other) == {before}

        assert metric(client, "segment_service_db_replica_fallbacks", 'reason="own_write"') >= own_write + 3
        assert metric(client, "segment_service_db_replica_eligible_reads", 'target="replica"') >= on_replica + 4

    def test_reads_are_spread_over_the_replicas(self, replica_app, resumed):
        client, tokens = replica_app
        callers = Callers(tokens, resumed.primary.url)
        callers.listed(client.get, callers.other)
        resumed.wait_caught_up()
        # A read prefers a replica the process knows to have replayed the floor of the marks; it learns that from its
        # once-a-second sample, which must see the first standby caught up before it is paused.
        time.sleep(2 * REFRESH_SECONDS)
        resumed.standbys[0].pause()
        written = callers.create_segment(client.post)
        resumed.standbys[1].wait_caught_up()
        # Each process samples the replicas once a second: on a busy machine the caught-up one may take a sample or
        # two to be back in the rotation.
        deadline = time.monotonic() + 10
        while written not in callers.listed(client.get, callers.other):
            assert time.monotonic() < deadline, "the caught-up replica never answered"
            time.sleep(0.1)
        # Round robin: the paused standby answers without the segment, the other one with it.
        seen = [written in callers.listed(client.get, callers.other) for _ in range(6)]
        assert set(seen) == {True, False}, seen

    def test_a_rolled_back_write_records_no_mark(self, replica_app, resumed):
        client, tokens = replica_app
        callers = Callers(tokens, resumed.primary.url)
        segment = callers.create_segment(client.post)
        mark_sql = "SELECT lsn::text FROM replica_read_marks WHERE tenant = $1 AND caller = $2"
        key = f"service:test-client-{callers.tenant}"
        mark = run_sql(resumed.primary.url, mark_sql, callers.tenant, key)[0][0]
        run_sql(resumed.primary.url, "SELECT pg_switch_wal()")  # the primary's position moves on
        response = client.post(
            f"/customer-segment/{callers.tenant}/segments",
            json=segment_body(id=segment),
            headers={"Authorization": f"Bearer {callers.writer}"},
        )
        assert response.status_code == 409, response.text
        assert run_sql(resumed.primary.url, mark_sql, callers.tenant, key)[0][0] == mark
        # Reads record nothing either.
        callers.listed(client.get, callers.other)
        assert not run_sql(resumed.primary.url, mark_sql, callers.tenant, f"service:other-client-{callers.tenant}")

    def test_marks_lost_with_the_primary_send_reads_to_the_primary_until_a_new_floor(self, replica_app, resumed):
        client, tokens = replica_app
        callers = Callers(tokens, resumed.primary.url)
        written = callers.create_segment(client.post)
        reset = metric(client, "segment_service_db_replica_fallbacks", 'reason="marks_reset"')
        # What a crash of the primary does to the UNLOGGED table.
        run_sql(resumed.primary.url, "TRUNCATE replica_read_marks")
        assert callers.listed(client.get, callers.writer) == {written}
        assert metric(client, "segment_service_db_replica_fallbacks", 'reason="marks_reset"') == reset + 1
        floor = "SELECT count(*) FROM replica_read_marks WHERE tenant = '' AND caller = ''"
        assert run_sql(resumed.primary.url, floor)[0][0] == 1
        resumed.wait_caught_up()
        assert callers.listed(client.get, callers.writer) == {written}

    def test_a_stopped_replica_leaves_reads_to_the_others_and_the_primary(self, replica_app, resumed):
        client, tokens = replica_app
        callers = Callers(tokens, resumed.primary.url)
        written = callers.create_segment(client.post)
        resumed.wait_caught_up()
        resumed.standbys[1].stop()
        for _ in range(6):
            assert callers.listed(client.get, callers.other) == {written}
        body = wait_replicas(lambda: client.get("/health/ready"), ["up", "down"])
        assert "problem" in body["replicas"][1]
        resumed.standbys[0].stop()
        wait_replicas(lambda: client.get("/health/ready"), ["down", "down"])
        for _ in range(3):
            assert callers.listed(client.get, callers.other) == {written}
        assert metric(client, "segment_service_db_replica_fallbacks", 'reason="unavailable"') >= 3
        for standby in resumed.standbys:
            standby.start()
        wait_replicas(lambda: client.get("/health/ready"), ["up", "up"])


def test_served_workers_keep_read_your_writes(cluster, replica_app, tmp_path):
    """Two worker processes: every read of the writer, on any worker, sees its write while both replicas are
    paused; another caller's reads are answered by the replicas."""
    _, tokens = replica_app
    env = serve_env(
        cluster.primary.url,
        DATABASE_READ_URL=cluster.read_urls,
        SEGMENT_SERVICE_READ_MAX_LAG_SECONDS="600",
        SEGMENT_SERVICE_RULE_EVALUATE="false",
    )
    callers = Callers(tokens, cluster.primary.url)
    with ServeProcess.start(tmp_path, workers=2, env=env) as serve:
        wait_replicas(lambda: serve.get("/health/ready"), ["up", "up"])
        before = callers.create_segment(serve.post)
        assert callers.listed(serve.get, callers.other) == {before}
        cluster.wait_caught_up()
        try:
            for standby in cluster.standbys:
                standby.pause()
            for _ in range(3):
                written = callers.create_segment(serve.post)
                # Each request on a new connection, so that the reads land on either worker.
                for _ in range(4):
                    assert written in callers.listed(serve.get, callers.writer)
            assert callers.listed(serve.get, callers.other) == {before}
        finally:
            for standby in cluster.standbys:
                standby.resume()
        assert len(serve.worker_pids()) == 2
        # Both workers answered reads (each process counts its own; the scrape adds them up).
        assert "segment_service_db_replica_eligible_reads_total" in httpx.get(serve.base_url + "/metrics").text


class TestStorefrontOnReplicas:
    """The storefront reads go to a replica too; a cached answer is keyed by the versions of the server that made it,
    so it is exact for that server, and a write shows up once the replica has replayed it."""

    def test_a_customers_items_follow_the_replica_and_the_writer_reads_its_own_write(self, replica_app, resumed):
        client, tokens = replica_app
        callers = Callers(tokens, resumed.primary.url)
        tenant, writer = callers.tenant, {"Authorization": f"Bearer {callers.writer}"}
        segments = f"/customer-segment/{tenant}/segments"
        created = client.post(segments, json=segment_body(id="gold", validity=None), headers=writer)
        assert created.status_code == 201, created.text
        for product in ("p1", "p2"):
            body = {"id": product, "code": product, "name": {"en": product}, "published": True}
            made = client.post(f"/product/{tenant}/products", json=body, headers=writer)
            assert made.status_code == 201, made.text
        put = client.put(f"{segments}/gold/items/PRODUCT/p1", json={}, headers=writer)
        assert put.status_code == 201, put.text
        assign_customer(resumed.primary.url, tenant, "gold", "c1")
        customer = {"Authorization": f"Bearer {tokens.customer(tenant, 'c1')}"}

        def items(headers: dict[str, str]) -> list[str]:
            response = client.get(f"{segments}/items", headers=headers)
            assert response.status_code == 200, response.text
            return sorted(d["item"]["id"] for d in response.json())

        client.get(f"{segments}/items", headers=customer)  # a first read may write the floor of the marks
        resumed.wait_caught_up()
        assert items(customer) == ["p1"]
        for standby in resumed.standbys:
            standby.pause()
        on_replica = metric(client, "segment_service_db_replica_eligible_reads", 'target="replica"')

        assert client.put(f"{segments}/gold/items/PRODUCT/p2", json={}, headers=writer).status_code == 201
        # The customer wrote nothing: its reads go to a paused replica, which has not replayed p2.
        for _ in range(3):
            assert items(customer) == ["p1"]
        assert metric(client, "segment_service_db_replica_eligible_reads", 'target="replica"') >= on_replica + 3
        # The writer reads every segment's items (segment_read) and sees its write at once: the primary answers.
        assert items(writer) == ["p1", "p2"]

        for standby in resumed.standbys:
            standby.resume()
        resumed.wait_caught_up()
        # Replayed: the replica's versions are the new ones, so no answer kept under the old ones is sent.
        assert items(customer) == ["p1", "p2"]
