"""`python -m bench`: load the dataset, start the service and the floor, run the scenarios, print the report.

Everything runs on this machine: a private embedded PostgreSQL in a temporary folder (Unix socket only), and the
servers on 127.0.0.1. Whatever the run started is stopped and removed on the way out, on success, failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import asyncpg

from bench import cpu, dataset, load, plans, report, servers
from bench.load import BenchError
from segment_service.core.auth import Scope, TokenKind, TokenService
from segment_service.core.db import migrate
from segment_service.embedded import start_embedded

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "bench" / "results" / "latest.md"
SEARCH_BODY = '{"q":"' + plans.SEARCH_Q + '"}'


@dataclass(frozen=True, slots=True)
class Options:
    """The run's knobs, after --quick has filled in what was not given."""

    duration: int
    warmup: int
    threads: int
    connections: int
    workers: int
    rows: int
    other_rows: int
    output: Path


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=int, help="seconds each scenario is measured [10; --quick: 3]")
    parser.add_argument("--warmup", type=int, help="seconds of unmeasured load before each scenario [3; --quick: 1]")
    parser.add_argument("--connections", type=int, default=32, help="open connections [32]")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads [2]")
    parser.add_argument("--workers", type=int, default=1,
                        help="granian workers of the service and of the floor [1, what `serve` defaults to]")
    parser.add_argument("--rows", type=int, help="segments of the measured tenant [100000; --quick: 20000]")
    parser.add_argument("--other-rows", type=int, help="segments of the other tenants [5000; --quick: 1000]")
    parser.add_argument("--quick", action="store_true", help="a very short run, to check that everything works")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"Markdown report [{DEFAULT_OUTPUT}]")
    args = parser.parse_args(argv)
    quick = args.quick

    def pick(value: int | None, normal: int, short: int) -> int:
        return value if value is not None else (short if quick else normal)

    # wrk takes whole seconds.
    options = Options(duration=pick(args.duration, 10, 3), warmup=pick(args.warmup, 3, 1),
                      threads=args.threads, connections=args.connections, workers=args.workers,
                      rows=pick(args.rows, 100_000, 20_000), other_rows=pick(args.other_rows, 5_000, 1_000),
                      output=args.output)
    if options.duration < 1 or options.warmup < 0 or options.threads < 1 or options.connections < options.threads:
        parser.error("need --duration >= 1, --warmup >= 0, --threads >= 1 and --connections >= --threads")
    if options.rows < 1 or options.other_rows < 0 or options.workers < 1:
        parser.error("need --rows >= 1, --other-rows >= 0 and --workers >= 1")
    return options


def _say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the cleanup below still runs.
    raise KeyboardInterrupt


def _children_cpu() -> float:
    """CPU seconds of this process's finished children so far (wrk, once each run has returned)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _service_command() -> list[str]:
    """The `segment-service` console script of this environment (next to this Python), else the one on PATH."""
    beside = Path(sys.executable).parent / "segment-service"
    found = str(beside) if beside.exists() else shutil.which("segment-service")
    if not found:
        raise BenchError("The segment-service command is not installed; run `make install` first.")
    return [found]


async def _postgres_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return "PostgreSQL " + str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _sanity_check(service_url: str, floor_url: str, token: str, segment_id: str) -> None:
    """Each scenario's request answers what it should before anything is timed (a 401 would be fast, not good)."""
    tenant = dataset.TENANT
    status, body = servers.request(f"{service_url}/customer-segment/{tenant}/segments/{segment_id}", token=token)
    if status != 200 or body.get("id") != segment_id:
        raise BenchError(f"GET segment answered {status}: {body}")
    status, body = servers.request(f"{service_url}/customer-segment/{tenant}/segments/search", method="POST",
                                   body={"q": plans.SEARCH_Q}, token=token)
    if status != 200 or not isinstance(body, list) or not body:
        raise BenchError(f"search answered {status}: {str(body)[:500]}")
    if len(body) < plans.DEFAULT_PAGE_SIZE:
        _say(f"note: the search returned {len(body)} segments (fewer than a page: a small dataset)")
    if any(s.get("siteCode") != "main" or s.get("status") != "ACTIVE" for s in body):
        raise BenchError("search returned segments that do not match its q")
    status, body = servers.request(floor_url)
    if status != 200 or body.get("id") != segment_id:
        raise BenchError(f"the floor answered {status}: {body}")


def run(options: Options) -> report.Report:
    """One whole benchmark run; everything it starts is stopped before it returns or raises."""
    started_at = datetime.now(UTC)
    wrk = load.ensure_wrk()  # before anything is started: a missing tool should fail in a second
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="segment-bench-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)

        _say(f"starting a private PostgreSQL in {workdir}")
        pg_server, dsn = start_embedded(workdir / "data")
        stack.callback(pg_server.cleanup)
        asyncio.run(migrate(dsn))
        postgres_version = asyncio.run(_postgres_version(dsn))

        _say(f"loading {options.rows:,} + {options.other_rows:,} segments with COPY")
        loaded = asyncio.run(dataset.load(dsn, rows=options.rows, other_rows=options.other_rows))
        _say(f"COPY: {loaded.rows_per_second:,.0f} rows/s ({loaded.rows:,} rows in {loaded.seconds:.2f} s)")
        probe_id = loaded.sample_ids[0]

        # Plans and statement timings while the machine is still quiet.
        _say("explaining the hot-path queries")
        statement_plans = asyncio.run(plans.explain_hot_paths(dsn, dataset.TENANT, probe_id))

        signing_key = secrets.token_urlsafe(32)
        service_port, floor_port = servers.free_port(), servers.free_port()
        base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SEGMENT_SERVICE_DATA_DIR")}
        service_env = {**base_env, "DATABASE_URL": dsn, "SEGMENT_SERVICE_SIGNING_KEY": signing_key,
                       "SEGMENT_SERVICE_DATA_DIR": str(workdir / "unused")}
        floor_env = {**base_env, "DATABASE_URL": dsn, "BENCH_FLOOR_TENANT": dataset.TENANT,
                     "BENCH_FLOOR_ID": probe_id,
                     "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}

        _say(f"starting segment-service on {servers.HOST}:{service_port} and the floor on {servers.HOST}:{floor_port}")
        service = servers.Server(
            "segment-service",
            [*_service_command(), "serve", "--host", servers.HOST, "--port", str(service_port),
             "--workers", str(options.workers)],
            env=service_env, cwd=workdir, log=workdir / "service.log")
        stack.callback(service.stop)
        floor = servers.Server(
            "floor", [sys.executable, "-m", "bench.floor", "--host", servers.HOST, "--port", str(floor_port),
                      "--workers", str(options.workers)],
            env=floor_env, cwd=workdir, log=workdir / "floor.log")
        stack.callback(floor.stop)
        service_url, floor_url = f"http://{servers.HOST}:{service_port}", f"http://{servers.HOST}:{floor_port}"
        servers.wait_ready(service, f"{service_url}/health")
        servers.wait_ready(floor, f"{floor_url}/")

        token = TokenService(signing_key).issue(
            tenant=dataset.TENANT, kind=TokenKind.SERVICE, subject="bench",
            scopes=[Scope.SEGMENT_READ.value, Scope.SEGMENT_MANAGE.value], ttl_seconds=4 * 3600)
        _sanity_check(service_url, floor_url, token, probe_id)

        get_lua, search_lua = workdir / "get.lua", workdir / "search.lua"
        prefix = f"/customer-segment/{dataset.TENANT}/segments/"
        get_lua.write_text(load.get_script(prefix, loaded.sample_ids, token), encoding="utf-8")
        search_lua.write_text(load.post_script(SEARCH_BODY, token), encoding="utf-8")
        scenarios: list[tuple[str, str, str, Path | None]] = [
            (report.FLOOR, "GET / on the floor server: one primary-key read of a fixed segment, as JSON",
             f"{floor_url}/", None),
            ("get segment", f"GET {prefix}{{id}}, the id drawn at random from {len(loaded.sample_ids):,} of the "
             "tenant's segments", f"{service_url}{prefix}x", get_lua),
            ("search", f"POST {prefix}search with `{SEARCH_BODY}` (default pageSize 60)",
             f"{service_url}{prefix}search", search_lua),
        ]

        loadavg = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        result = report.Report(
            machine=report.machine(postgres_version, load.wrk_version(wrk), started_at),
            settings={"duration": f"{options.duration:g}s", "warmup": f"{options.warmup:g}s",
                      "threads": str(options.threads), "connections": str(options.connections),
                      "workers": str(options.workers), "load average at start": f"{loadavg:.2f}"},
            dataset=loaded, plans=statement_plans)
        postmaster_pid = pg_server.get_pid()
        raw_outputs = []
        for name, description, url, script in scenarios:
            target = floor if name == report.FLOOR else service
            if options.warmup > 0:
                _say(f"{name}: warming up for {options.warmup:g} s")
                load.run_wrk(wrk, url, script=script, duration=options.warmup, threads=options.threads,
                              connections=options.connections)
            _say(f"{name}: measuring for {options.duration:g} s")
            before = cpu.CpuSample.take(target.process.pid, postmaster_pid)
            client_before = _children_cpu()
            measured = load.run_wrk(wrk, url, script=script, duration=options.duration, threads=options.threads,
                                    connections=options.connections)
            server_us, postgres_us = cpu.per_request_us(
                before, cpu.CpuSample.take(target.process.pid, postmaster_pid), measured.requests)
            client_us = (_children_cpu() - client_before) * 1e6 / max(1, measured.requests)
            result.scenarios.append(report.Scenario(name, description, measured, server_cpu_us=server_us,
                                                    postgres_cpu_us=postgres_us, client_cpu_us=client_us))
            raw_outputs.append(f"## {name}\n{measured.raw}")
            service.check_running()
            floor.check_running()
            if measured.non_2xx or measured.socket_errors:
                result.notes.append(f"{name}: {measured.non_2xx} non-2xx responses and {measured.socket_errors} "
                                    "socket errors; its numbers are not comparable")
        options.output.parent.mkdir(parents=True, exist_ok=True)
        (options.output.parent / "latest-wrk.txt").write_text("\n".join(raw_outputs), encoding="utf-8")
        _say("stopping the servers and PostgreSQL")
    return result


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    began = time.monotonic()
    try:
        result = run(options)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; everything it started has been stopped", file=sys.stderr)
        return 130
    print(report.text(result), end="")
    report.write_markdown(result, options.output)
    print(f"Markdown report: {options.output} (whole run {time.monotonic() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
