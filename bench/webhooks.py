"""`python -m bench.webhooks` (`make bench-webhooks`): what webhooks cost and how fast they go out.

A private embedded PostgreSQL, `segment-service serve` and a receiver process (bench/webhook_receiver.py) on
127.0.0.1. Three measurements (docs/performance.md#webhooks):

1. **Outbox cost**: the bulk upsert of 200 item assignments for a tenant that receives item-assignment events against
   one that receives none (both have an active HTTP configuration), alternating request by request so that the
   machine's noise hits both alike; the ratio of the medians. The server runs `--no-deliver`, so the events of the
   receiving tenant pile up in the outbox for the next step.
2. **Throughput**: `segment-service deliver` started on that outbox, topped up to --events with bulk upserts
   spread over --segments segments (one segment's events go out one after the other, in order; `--segments 1` shows
   that rate); events delivered per second, from the first attempt to the last.
3. **Latency**: the server restarted with its relay on; one segment created at a time, each published to the
   receiver; from the creating request's answer (the commit came before it) and from its start (an upper bound)
   to the receiver's arrival: median, p95, max.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench import servers
from bench.load import BenchError
from segment_service.core.auth import TokenKind, TokenService
from segment_service.core.db import migrate
from segment_service.embedded import start_embedded
from segment_service.oauth import service as oauth_service

OFF, ON = "benchhooksoff", "benchhookson"
SCOPES = [
    "customersegment.segment_read",
    "customersegment.segment_manage",
    "webhook.subscription_manage",
    "webhook.subscription_read",
]
ITEM_EVENTS = ["customer-segment.item-assignment-created", "customer-segment.item-assignment-updated"]
BULK_SIZE = 200
SEGMENT = {"name": {"en": "Bench"}, "status": "ACTIVE", "siteCode": "main"}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _prepare(dsn: str, signing_key: str) -> dict[str, str]:
    """Products and a segment for each tenant, and a token of each."""
    await migrate(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        tokens = {}
        for tenant in (OFF, ON):
            await conn.execute(
                "INSERT INTO products (tenant, id, code, name, created_at, modified_at)"
                " SELECT $1, 'p' || i, 'code-' || i, jsonb_build_object('en', 'Product ' || i), now(), now()"
                " FROM generate_series(1, $2) AS i ON CONFLICT DO NOTHING",
                tenant,
                BULK_SIZE,
            )
            client, _ = await oauth_service.create_client(conn, tenant=tenant, scopes=SCOPES, name="bench")
            tokens[tenant] = TokenService(signing_key).issue(
                tenant=tenant, kind=TokenKind.SERVICE, subject=client.client_id, scopes=SCOPES, ttl_seconds=4 * 3600
            )
        return tokens
    finally:
        await conn.close()


async def _scalar(dsn: str, query: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def _call(url: str, token: str, method: str = "GET", body: Any = None, expect: int = 200) -> Any:
    status, answer = servers.request(url, method=method, body=body, token=token, timeout=60.0)
    if status != expect:
        raise BenchError(f"{method} {url} answered {status}, not {expect}: {str(answer)[:300]}")
    return answer


def _configure(base: str, tenant: str, token: str, receiver: str, events: list[str]) -> None:
    config = {"code": "http", "active": True, "provider": "HTTP", "configuration": {"destinationUrl": receiver}}
    _call(f"{base}/webhook/{tenant}/config", token, "POST", config, 201)
    if events:
        items = [{"eventType": e, "action": "SUBSCRIBE"} for e in events]
        _call(f"{base}/webhook/{tenant}/event-subscriptions", token, "PATCH", items, 207)


def _serve(command: list[str], env: dict[str, str], workdir: Path, port: int, *extra: str) -> servers.Server:
    server = servers.Server(
        "segment-service",
        [*command, "serve", "--host", servers.HOST, "--port", str(port), *extra],
        env=env,
        cwd=workdir,
        log=workdir / f"serve-{time.monotonic_ns()}.log",
    )
    servers.wait_ready(server, f"http://{servers.HOST}:{port}/health")
    return server


def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    command = [str(Path(sys.executable).parent / "segment-service")]
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        postgres, dsn = start_embedded(workdir / "data")
        stack.callback(postgres.cleanup)
        signing_key = secrets.token_urlsafe(32)
        tokens = asyncio.run(_prepare(dsn, signing_key))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SEGMENT_SERVICE_") and k != "DATABASE_URL"},
            "DATABASE_URL": dsn,
            "SEGMENT_SERVICE_SIGNING_KEY": signing_key,
            "SEGMENT_SERVICE_ACCESS_LOG": "false",
        }
        receiver_port, port = servers.free_port(), servers.free_port()
        receiver = servers.Server(
            "receiver",
            [sys.executable, "-m", "bench.webhook_receiver", "--port", str(receiver_port)],
            env={**env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
            cwd=workdir,
            log=workdir / "receiver.log",
        )
        stack.callback(receiver.stop)
        receiver_url = f"http://{servers.HOST}:{receiver_port}"
        servers.wait_ready(receiver, f"{receiver_url}/stats")
        base = f"http://{servers.HOST}:{port}"

        # 1. The outbox's cost on the bulk upsert.
        serve = _serve(command, env, workdir, port, "--no-deliver", "--workers", str(args.workers))
        stack.callback(serve.stop)
        _configure(base, OFF, tokens[OFF], f"{receiver_url}/off", [])
        _configure(base, ON, tokens[ON], f"{receiver_url}/on", ITEM_EVENTS)
        segments = {
            tenant: _call(
                f"{base}/customer-segment/{tenant}/segments",
                tokens[tenant],
                "POST",
                SEGMENT,
                201,
            )["id"]
            for tenant in (OFF, ON)
        }
        bodies = [[{"id": f"p{i}"} for i in range(1, BULK_SIZE + 1)]]
        times: dict[str, list[float]] = {OFF: [], ON: []}
        for round_ in range(args.rounds + 2):
            for tenant in (OFF, ON) if round_ % 2 else (ON, OFF):
                url = f"{base}/customer-segment/{tenant}/segments/{segments[tenant]}/items/PRODUCT/bulk"
                start = time.perf_counter()
                answer = _call(url, tokens[tenant], "PUT", bodies[0], 207)
                elapsed = time.perf_counter() - start
                if any(item.get("code", 500) >= 400 for item in answer):
                    raise BenchError(f"bulk upsert failed: {str(answer)[:300]}")
                if round_ >= 2:  # the first rounds create the rows and warm the caches
                    times[tenant].append(elapsed)
        off_ms, on_ms = (statistics.median(times[t]) * 1000 for t in (OFF, ON))
        # Each round's two requests ran back to back: their ratio cancels most of the machine's drift.
        pair_ratio = statistics.median(on / off for on, off in zip(times[ON], times[OFF], strict=True))
        print(f"bulk upsert of {BULK_SIZE} item assignments, median of {args.rounds}:")
        print(f"  no events received: {off_ms:7.1f} ms")
        print(
            f"  {BULK_SIZE} events to the outbox: {on_ms:7.1f} ms   ratio of medians {on_ms / off_ms:.3f}, "
            f"median ratio per round {pair_ratio:.3f}"
        )

        # 2. Throughput of one `deliver` process: the events of --segments segments (each segment's in order).
        spread = [segments[ON]] + [
            _call(f"{base}/customer-segment/{ON}/segments", tokens[ON], "POST", SEGMENT, 201)["id"]
            for _ in range(args.segments - 1)
        ]
        waiting = "SELECT coalesce(sum(json_array_length(events::json)), 0) FROM webhook_outbox"
        asyncio.run(_scalar(dsn, "DELETE FROM webhook_outbox"))  # step 1's events all belong to one segment
        turn = 0
        while asyncio.run(_scalar(dsn, waiting)) < args.events:
            url = f"{base}/customer-segment/{ON}/segments/{spread[turn % len(spread)]}/items/PRODUCT/bulk"
            _call(url, tokens[ON], "PUT", bodies[0], 207)
            turn += 1
        total = asyncio.run(_scalar(dsn, waiting))
        deliverer = servers.Server("deliver", [*command, "deliver"], env=env, cwd=workdir, log=workdir / "deliver.log")
        stack.callback(deliverer.stop)
        deadline = time.monotonic() + 600
        while True:
            deliverer.check_running()
            done = asyncio.run(_scalar(dsn, "SELECT count(*) FROM webhook_deliveries WHERE status = 'DELIVERED'"))
            if done >= total:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"only {done} of {total} events delivered in 600 s:\n{deliverer.log_tail()}")
            time.sleep(0.5)
        span = asyncio.run(
            _scalar(
                dsn,
                "SELECT extract(epoch FROM max(started_at + duration_ms * interval '1 millisecond') - min(started_at))"
                " FROM webhook_attempts",
            )
        )
        received = servers.request(f"{receiver_url}/stats")[1]["count"]
        print(
            f"delivery: {total} events in {float(span):.2f} s = {total / float(span):,.0f} events/s "
            f"(receiver got {received} requests)"
        )
        deliverer.stop()

        # 3. Commit -> first attempt, with the relay inside `serve`.
        serve.stop()
        serve = _serve(command, env, workdir, port, "--workers", str(args.workers))
        stack.callback(serve.stop)
        segment_events = ["customer-segment.segment-created"]
        items = [{"eventType": e, "action": "SUBSCRIBE"} for e in segment_events]
        _call(f"{base}/webhook/{ON}/event-subscriptions", tokens[ON], "PATCH", items, 207)
        sent: dict[str, tuple[float, float]] = {}
        for _ in range(args.latency_events):
            start = time.time()
            created = _call(f"{base}/customer-segment/{ON}/segments", tokens[ON], "POST", SEGMENT, 201)
            sent[created["id"]] = (start, time.time())
            time.sleep(args.gap_ms / 1000)
        deadline = time.monotonic() + 30
        while True:
            arrivals = {
                payload_id: at for at, payload_id in servers.request(f"{receiver_url}/stats")[1]["arrivals"].values()
            }
            if all(segment in arrivals for segment in sent) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        missing = [s for s in sent if s not in arrivals]
        if missing:
            raise BenchError(f"{len(missing)} created segments never arrived at the receiver")
        from_answer = [(arrivals[s] - answered) * 1000 for s, (_, answered) in sent.items()]
        from_start = [(arrivals[s] - started) * 1000 for s, (started, _) in sent.items()]
        print(f"commit -> first attempt over {len(sent)} events, {args.gap_ms} ms apart (ms):")
        for name, values in (("from the answer", from_answer), ("from the request", from_start)):
            print(
                f"  {name}: median {statistics.median(values):6.1f}  p95 {_percentile(values, 0.95):6.1f}"
                f"  max {max(values):6.1f}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=41, help="bulk upserts per tenant in step 1 [41]")
    parser.add_argument("--events", type=int, default=10_000, help="outbox rows step 2 delivers [10000]")
    parser.add_argument("--segments", type=int, default=50, help="segments step 2's events belong to [50]")
    parser.add_argument("--latency-events", type=int, default=200, help="segments created in step 3 [200]")
    parser.add_argument("--gap-ms", type=int, default=50, help="pause between them [50]")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes [1]")
    args = parser.parse_args(argv)
    try:
        run(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
