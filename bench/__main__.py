"""`python -m bench`: load the datasets, start the service and the floor, run the scenarios, print the report.

Everything runs on this machine: a private embedded PostgreSQL in a temporary folder (Unix socket only), and the
servers on 127.0.0.1. Whatever the run started is stopped and removed on the way out, on success, failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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

from bench import (
    assignments,
    categories,
    churn,
    coupon_scenarios,
    coupons,
    cpu,
    dataset,
    load,
    plans,
    report,
    servers,
    storefront,
    storefront_plans,
    storefront_scenarios,
)
from bench.load import BenchError
from segment_service.core.auth import Scope, TokenKind, TokenService
from segment_service.core.db import migrate
from segment_service.embedded import start_embedded
from segment_service.oauth import service as oauth_service

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "bench" / "results" / "latest.md"
#: Writes per second to memberships and items beside the churn scenario's reads (bench/churn.py).
CHURN_RATE = 50.0
SEARCH_BODY = '{"q":"' + plans.SEARCH_Q + '"}'
CATEGORY_PREFIX = f"/category/{dataset.TENANT}/categories/"
SUBTREE_SUFFIX = "/assignments?withSubcategories=true"
LEAF_SUFFIX = "/assignments"

#: The scenarios --scenarios can pick, by key, with their report names; the floor always runs, since every ratio is
#: to it.
SCENARIOS = {
    "get": "get segment",
    "search": "search",
    "subtree-root": "category subtree (root)",
    "subtree-level2": "category subtree (level 2)",
    "leaf": "category leaf",
    **storefront_scenarios.SCENARIOS,
    "customer-segments": plans.CUSTOMER_SEGMENTS,
    "segment-items": plans.SEGMENT_ITEMS,
    "bulk-items": "bulk upsert 200 item assignments",
    **coupon_scenarios.SCENARIOS,
}
SEGMENT_SCENARIOS = ("get", "search")
CATEGORY_SCENARIOS = ("subtree-root", "subtree-level2", "leaf")
#: They read the category dataset too, and load their own on top of it.
STOREFRONT_SCENARIOS = tuple(storefront_scenarios.SCENARIOS)
#: Last in SCENARIOS: the bulk upsert writes, and the reads should see the dataset as loaded.
ASSIGNMENT_SCENARIOS = ("customer-segments", "segment-items", "bulk-items")
#: After everything else: they read only their own dataset, and the redemptions write.
COUPON_SCENARIOS = tuple(coupon_scenarios.SCENARIOS)
_GROUPS = {
    "segments": SEGMENT_SCENARIOS,
    "categories": CATEGORY_SCENARIOS,
    "segment-assignments": ASSIGNMENT_SCENARIOS,
    "storefront": STOREFRONT_SCENARIOS,
    "coupons": COUPON_SCENARIOS,
    "all": tuple(SCENARIOS),
}
BULK_SIZE = 200


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
    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    """Keys of SCENARIOS, in run order (after the floor)."""
    category_volumes: categories.Volumes = categories.DEFAULT_VOLUMES
    assignment_volumes: assignments.Volumes = assignments.DEFAULT_VOLUMES
    storefront_volumes: storefront.Volumes = storefront.DEFAULT_VOLUMES
    coupon_volumes: coupons.Volumes = coupons.DEFAULT_VOLUMES
    bulk_workers: int = 2
    """Worker processes of the service the bulk upsert runs against (a second service when not `workers`)."""
    cache_off: bool = True
    """Measure the storefront reads again on a second service with the answer cache off."""
    answer_versions: str = "host"
    """SEGMENT_SERVICE_ANSWER_VERSIONS of the measured service (one host runs every process here)."""

    @property
    def with_categories(self) -> bool:
        return any(k in CATEGORY_SCENARIOS or k in STOREFRONT_SCENARIOS for k in self.scenarios)

    @property
    def with_storefront(self) -> bool:
        return any(k in STOREFRONT_SCENARIOS for k in self.scenarios)

    @property
    def with_assignments(self) -> bool:
        return any(k in ASSIGNMENT_SCENARIOS for k in self.scenarios)

    @property
    def with_coupons(self) -> bool:
        return any(k in COUPON_SCENARIOS for k in self.scenarios)


def _scenario_keys(value: str) -> tuple[str, ...]:
    """`get,leaf` or `segments` or `categories`: the scenario keys, in SCENARIOS order."""
    wanted: set[str] = set()
    for part in (p.strip() for p in value.split(",") if p.strip()):
        if part in _GROUPS:
            wanted.update(_GROUPS[part])
        elif part in SCENARIOS:
            wanted.add(part)
        elif part != "floor":  # the floor always runs; naming it is harmless
            choices = ", ".join([*SCENARIOS, *_GROUPS])
            raise argparse.ArgumentTypeError(f"unknown scenario {part!r} (choose from floor, {choices})")
    return tuple(k for k in SCENARIOS if k in wanted)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=int, help="seconds each scenario is measured [10; --quick: 3]")
    parser.add_argument("--warmup", type=int, help="seconds of unmeasured load before each scenario [3; --quick: 1]")
    # 64: the connection count the storefront targets are set at; earlier runs (before 2026-11-26 20:30) used 32.
    parser.add_argument("--connections", type=int, default=64, help="open connections [64]")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads [2]")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes of the service and of the floor [1, what `serve` defaults to]",
    )
    parser.add_argument("--rows", type=int, help="segments of the measured tenant [100000; --quick: 20000]")
    parser.add_argument("--other-rows", type=int, help="segments of the other tenants [5000; --quick: 1000]")
    parser.add_argument(
        "--scenarios",
        type=_scenario_keys,
        default=tuple(SCENARIOS),
        help="comma-separated scenarios to run besides the floor: get, search, subtree-root, "
        "subtree-level2, leaf, my-items, my-category-tree, match, category-segments, "
        "category-segments-subtree, customer-segments, segment-items, bulk-items, "
        "coupon-validate, coupon-redeem, or the groups segments, categories, storefront, "
        "segment-assignments, coupons, all [all]",
    )
    parser.add_argument(
        "--skip-categories",
        action="store_true",
        help="leave out the category and storefront scenarios and the category dataset",
    )
    parser.add_argument("--categories", type=int, help="categories of the measured tenant [10000; --quick: 2000]")
    parser.add_argument("--products", type=int, help="products of the measured tenant [100000; --quick: 10000]")
    parser.add_argument(
        "--assignments",
        type=int,
        help="product-to-category assignments of the measured tenant [1000000; --quick: 100000]",
    )
    parser.add_argument(
        "--skip-assignments", action="store_true", help="leave out the segment assignment scenarios and their dataset"
    )
    parser.add_argument("--customers", type=int, help="customers of the measured tenant [200000; --quick: 20000]")
    parser.add_argument(
        "--customer-assignments", type=int, help="customer-to-segment assignments [1000000; --quick: 100000]"
    )
    parser.add_argument(
        "--item-assignments", type=int, help="product-to-segment assignments [1000000; --quick: 100000]"
    )
    parser.add_argument(
        "--storefront-segments", type=int, help="segments of the storefront dataset [10000; --quick: 2000]"
    )
    parser.add_argument(
        "--storefront-customers",
        type=int,
        help="customers of the storefront dataset, 1 to 5 memberships each [1000000; --quick: 50000]",
    )
    parser.add_argument(
        "--storefront-items", type=int, help="item assignments of the storefront dataset [1000000; --quick: 100000]"
    )
    parser.add_argument("--coupons", type=int, help="coupons of the coupon dataset [10000; --quick: 2000]")
    parser.add_argument(
        "--coupon-customers",
        type=int,
        help="customers of the coupon dataset, 2.7 memberships each [20000; --quick: 5000]",
    )
    parser.add_argument(
        "--bulk-workers", type=int, default=2, help="worker processes of the service the bulk upsert runs against [2]"
    )
    parser.add_argument(
        "--no-cache-off",
        dest="cache_off",
        action="store_false",
        help="skip the storefront scenarios' second run on a service with the answer cache off",
    )
    parser.add_argument(
        "--answer-versions",
        choices=("host", "database"),
        default="host",
        help="SEGMENT_SERVICE_ANSWER_VERSIONS of the measured service [host: every process runs on this machine]",
    )
    parser.add_argument("--quick", action="store_true", help="a very short run, to check that everything works")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"Markdown report [{DEFAULT_OUTPUT}]")
    args = parser.parse_args(argv)
    quick = args.quick

    def pick(value: int | None, normal: int, short: int) -> int:
        return value if value is not None else (short if quick else normal)

    scenarios: tuple[str, ...] = args.scenarios
    if args.skip_categories:  # the storefront scenarios read the category dataset too
        scenarios = tuple(k for k in scenarios if k not in CATEGORY_SCENARIOS and k not in STOREFRONT_SCENARIOS)
    if args.skip_assignments:
        scenarios = tuple(k for k in scenarios if k not in ASSIGNMENT_SCENARIOS)
    big, small = assignments.DEFAULT_VOLUMES, assignments.QUICK_VOLUMES
    assignment_volumes = assignments.Volumes(
        customers=pick(args.customers, big.customers, small.customers),
        customer_assignments=pick(args.customer_assignments, big.customer_assignments, small.customer_assignments),
        item_assignments=pick(args.item_assignments, big.item_assignments, small.item_assignments),
    )
    shop, shop_quick = storefront.DEFAULT_VOLUMES, storefront.QUICK_VOLUMES
    storefront_volumes = storefront.Volumes(
        segments=pick(args.storefront_segments, shop.segments, shop_quick.segments),
        customers=pick(args.storefront_customers, shop.customers, shop_quick.customers),
        item_assignments=pick(args.storefront_items, shop.item_assignments, shop_quick.item_assignments),
    )
    deal, deal_quick = coupons.DEFAULT_VOLUMES, coupons.QUICK_VOLUMES
    coupon_volumes = coupons.Volumes(
        coupons=pick(args.coupons, deal.coupons, deal_quick.coupons),
        segments=deal_quick.segments if quick else deal.segments,
        customers=pick(args.coupon_customers, deal.customers, deal_quick.customers),
        redemptions=deal_quick.redemptions if quick else deal.redemptions,
    )
    full = categories.DEFAULT_VOLUMES
    volumes = categories.Volumes(
        categories=pick(args.categories, full.categories, 2_000),
        products=pick(args.products, full.products, 10_000),
        assignments=pick(args.assignments, full.assignments, 100_000),
    )
    # wrk takes whole seconds.
    options = Options(
        duration=pick(args.duration, 10, 3),
        warmup=pick(args.warmup, 3, 1),
        threads=args.threads,
        connections=args.connections,
        workers=args.workers,
        rows=pick(args.rows, 100_000, 20_000),
        other_rows=pick(args.other_rows, 5_000, 1_000),
        output=args.output,
        scenarios=scenarios,
        category_volumes=volumes,
        assignment_volumes=assignment_volumes,
        storefront_volumes=storefront_volumes,
        coupon_volumes=coupon_volumes,
        bulk_workers=args.bulk_workers,
        cache_off=args.cache_off,
        answer_versions=args.answer_versions,
    )
    if options.duration < 1 or options.warmup < 0 or options.threads < 1 or options.connections < options.threads:
        parser.error("need --duration >= 1, --warmup >= 0, --threads >= 1 and --connections >= --threads")
    if options.rows < 1 or options.other_rows < 0 or options.workers < 1:
        parser.error("need --rows >= 1, --other-rows >= 0 and --workers >= 1")
    if (
        options.bulk_workers < 1
        or min(
            assignment_volumes.customers, assignment_volumes.customer_assignments, assignment_volumes.item_assignments
        )
        < 1
    ):
        parser.error("need --bulk-workers, --customers, --customer-assignments and --item-assignments >= 1")
    if min(storefront_volumes.segments, storefront_volumes.customers, storefront_volumes.item_assignments) < 100:
        parser.error("need --storefront-segments, --storefront-customers and --storefront-items >= 100")
    if coupon_volumes.coupons < 1_000 or coupon_volumes.customers < 1_000:
        parser.error("need --coupons and --coupon-customers >= 1000")
    if volumes.categories < 111 or volumes.products < 1 or volumes.assignments < 1:
        parser.error(
            "need --categories >= 111 (three levels: roots, level 2 and leaves), --products >= 1 and --assignments >= 1"
        )
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


async def _autovacuum_runs(dsn: str) -> dict[str, int]:
    """Autovacuum and autoanalyze runs so far, by table: one during a scenario takes CPU from it and adds to its
    PostgreSQL CPU column."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT relname, autovacuum_count + autoanalyze_count AS runs FROM pg_stat_user_tables")
        return {r["relname"]: int(r["runs"]) for r in rows}
    finally:
        await conn.close()


async def _api_client(dsn: str, tenant: str, scopes: list[str]) -> str:
    """A service API client of `tenant` for the benchmark's service token: the service checks that a token's client
    exists."""
    conn = await asyncpg.connect(dsn)
    try:
        client, _ = await oauth_service.create_client(conn, tenant=tenant, scopes=scopes, name="bench")
        return client.client_id
    finally:
        await conn.close()


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
    status, body = servers.request(
        f"{service_url}/customer-segment/{tenant}/segments/search",
        method="POST",
        body={"q": plans.SEARCH_Q},
        token=token,
    )
    if status != 200 or not isinstance(body, list) or not body:
        raise BenchError(f"search answered {status}: {str(body)[:500]}")
    if len(body) < plans.DEFAULT_PAGE_SIZE:
        _say(f"note: the search returned {len(body)} segments (fewer than a page: a small dataset)")
    if any(s.get("siteCode") != "main" or s.get("status") != "ACTIVE" for s in body):
        raise BenchError("search returned segments that do not match its q")
    status, body = servers.request(floor_url)
    if status != 200 or body.get("id") != segment_id:
        raise BenchError(f"the floor answered {status}: {body}")


def _check_assignments(url: str, token: str, *, expected: int, allowed: frozenset[str], what: str) -> None:
    status, body = servers.request(url, token=token)
    if status != 200 or not isinstance(body, list):
        raise BenchError(f"{what} answered {status}: {str(body)[:500]}")
    if len(body) != min(plans.DEFAULT_PAGE_SIZE, expected):
        raise BenchError(
            f"{what} returned {len(body)} assignments, expected a page of "
            f"{min(plans.DEFAULT_PAGE_SIZE, expected)} (of {expected:,} in the dataset)"
        )
    outside = [a.get("categoryId") for a in body if a.get("categoryId") not in allowed]
    if outside:
        raise BenchError(f"{what} returned assignments of categories outside it: {outside[:3]}")
    if any(not a.get("ref", {}).get("id") or not a.get("ref", {}).get("localizedName") for a in body):
        raise BenchError(f"{what} returned assignments without ref.id or ref.localizedName: {str(body[0])[:300]}")


def _sanity_check_categories(
    service_url: str, token: str, loaded: categories.CategoryLoadResult, probe: plans.CategoryProbe
) -> None:
    """Each category scenario's request answers a full page of its own subtree (or leaf), with product names."""
    for name, (category_id, with_subcategories) in probe.requests.items():
        if with_subcategories:
            _check_assignments(
                f"{service_url}{CATEGORY_PREFIX}{category_id}{SUBTREE_SUFFIX}",
                token,
                expected=loaded.subtree_total[category_id],
                allowed=loaded.descendants[category_id],
                what=name,
            )
        else:
            _check_assignments(
                f"{service_url}{CATEGORY_PREFIX}{category_id}{LEAF_SUFFIX}",
                token,
                expected=loaded.direct_total[category_id],
                allowed=frozenset({category_id}),
                what=name,
            )


def _median(ids: list[str], size: dict[str, int]) -> str:
    # The explained request reads a typical category of its kind, not the biggest or the smallest.
    return sorted(ids, key=lambda i: (size[i], i))[len(ids) // 2]


def _category_probe(options: Options, loaded: categories.CategoryLoadResult) -> plans.CategoryProbe:
    """The category each selected category scenario's plan is explained for."""
    requests: dict[str, tuple[str, bool]] = {}
    if "subtree-root" in options.scenarios:
        requests[SCENARIOS["subtree-root"]] = (_median(loaded.roots, loaded.subtree_total), True)
    if "subtree-level2" in options.scenarios and loaded.level2:
        requests[SCENARIOS["subtree-level2"]] = (_median(loaded.level2, loaded.subtree_total), True)
    if "leaf" in options.scenarios and loaded.leaf_sample:
        requests[SCENARIOS["leaf"]] = (_median(loaded.leaf_sample, loaded.direct_total), False)
    return plans.CategoryProbe(requests)


def _category_scenarios(
    service_url: str, token: str, options: Options, loaded: categories.CategoryLoadResult, workdir: Path
) -> list[tuple[str, str, str, Path | None]]:
    """(name, description, url, Lua script) of the selected category scenarios."""
    picks = {
        "subtree-root": (
            loaded.roots,
            SUBTREE_SUFFIX,
            f"the {len(loaded.roots):,} roots (about {loaded.mean_subtree(loaded.roots):,.0f} assignments under each)",
        ),
        "subtree-level2": (
            loaded.level2,
            SUBTREE_SUFFIX,
            f"the {len(loaded.level2):,} level-2 categories (about "
            f"{loaded.mean_subtree(loaded.level2):,.0f} assignments under each)",
        ),
        "leaf": (
            loaded.leaf_sample,
            LEAF_SUFFIX,
            f"{len(loaded.leaf_sample):,} leaves that have assignments (about "
            f"{sum(loaded.direct_total.values()) / max(1, len(loaded.direct_total)):,.0f} each)",
        ),
    }
    result: list[tuple[str, str, str, Path | None]] = []
    for key in (k for k in options.scenarios if k in CATEGORY_SCENARIOS):
        ids, suffix, drawn_from = picks[key]
        if not ids:
            continue  # a tree too small for this level (--categories below 111 is refused; this is belt and braces)
        script = workdir / f"{key}.lua"
        script.write_text(load.get_script(CATEGORY_PREFIX, ids, token, suffix), encoding="utf-8")
        result.append(
            (
                SCENARIOS[key],
                f"GET {CATEGORY_PREFIX}{{id}}{suffix}, the id drawn at random from "
                f"{drawn_from}; default pageSize 60, no Accept-Language",
                f"{service_url}{CATEGORY_PREFIX}x",
                script,
            )
        )
    return result


def _typical(sample: list[tuple[str, int]]) -> str:
    """The median of a (id, count) sample by count: the explained request reads a typical row set."""
    return sorted(sample, key=lambda p: (p[1], p[0]))[len(sample) // 2][0]


def _assignment_problem(
    key: str, service_url: str, token: str, data: assignments.AssignmentLoadResult, bodies: list[tuple[str, str]]
) -> str | None:
    """None when the scenario's request answers what it should, else why not (the scenario is then skipped, so that
    a route still being written does not cost the rest of the run)."""
    prefix = f"{service_url}/customer-segment/{dataset.TENANT}/segments"
    try:
        if key == "customer-segments":
            customer, n = data.customer_sample[0]
            status, body = servers.request(f"{prefix}?customerId={customer}", token=token)
            expected = min(plans.DEFAULT_PAGE_SIZE, n)
            if status != 200 or not isinstance(body, list):
                return f"GET {prefix}?customerId=… answered {status}: {str(body)[:300]}"
            if len(body) != expected:
                return f"GET {prefix}?customerId=… returned {len(body)} segments, expected {expected}"
        elif key == "segment-items":
            segment, n = data.item_segment_sample[0]
            status, body = servers.request(f"{prefix}/{segment}/items", token=token)
            expected = min(plans.DEFAULT_PAGE_SIZE, n)
            if status != 200 or not isinstance(body, list):
                return f"GET {prefix}/{{id}}/items answered {status}: {str(body)[:300]}"
            if len(body) != expected:
                return f"GET {prefix}/{{id}}/items returned {len(body)} assignments, expected {expected}"
        else:
            segment, raw = bodies[0]
            status, body = servers.request(
                f"{prefix}/{segment}/items/PRODUCT/bulk", method="PUT", body=json.loads(raw), token=token, timeout=30.0
            )
            if status != 207 or not isinstance(body, list) or len(body) != BULK_SIZE:
                return f"PUT {prefix}/{{id}}/items/PRODUCT/bulk answered {status}: {str(body)[:300]}"
            failed = [r for r in body if r.get("code") not in (200, 201, 204)]
            if failed:
                return f"PUT …/items/PRODUCT/bulk: {len(failed)} of {BULK_SIZE} items failed, e.g. {failed[0]}"
    except (OSError, ValueError) as exc:
        return f"{SCENARIOS[key]}: the request failed: {exc}"
    return None


async def _count(dsn: str, table: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


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
        category_data: categories.CategoryLoadResult | None = None
        category_probe: plans.CategoryProbe | None = None
        if options.with_categories:
            v = options.category_volumes
            _say(
                f"loading {v.categories:,} categories, {v.products:,} products and {v.assignments:,} assignments "
                f"(plus {categories.OTHER_SHARE:.0%} of each for {categories.OTHER_TENANT}) with COPY"
            )
            category_data = asyncio.run(categories.load(dsn, v))
            for copy in category_data.copies:
                _say(
                    f"COPY {copy.table}: {copy.rows_per_second:,.0f} rows/s ({copy.rows:,} rows in "
                    f"{copy.seconds:.2f} s)"
                )
            category_probe = _category_probe(options, category_data)
        assignment_data: assignments.AssignmentLoadResult | None = None
        assignment_probe: plans.AssignmentProbe | None = None
        if options.with_assignments:
            av = options.assignment_volumes
            _say(
                f"loading {av.customers:,} customers, {av.customer_assignments:,} customer and "
                f"{av.item_assignments:,} item assignments with COPY"
            )
            assignment_data = asyncio.run(assignments.load(dsn, av, products=options.category_volumes.products))
            for copy in assignment_data.copies:
                _say(
                    f"COPY {copy.table}: {copy.rows_per_second:,.0f} rows/s ({copy.rows:,} rows in "
                    f"{copy.seconds:.2f} s)"
                )
            assignment_probe = plans.AssignmentProbe(
                customer_id=_typical(assignment_data.customer_sample),
                segment_id=_typical(assignment_data.item_segment_sample),
                product_id=_typical(assignment_data.product_sample),
            )
        storefront_data: storefront.StorefrontLoadResult | None = None
        if options.with_storefront:  # after the assignment dataset, which assigns customers to every segment there is
            sv = options.storefront_volumes
            _say(
                f"loading the storefront dataset: {sv.segments:,} segments, {sv.customers:,} customers with 1-5 "
                f"memberships each and {sv.item_assignments:,} item assignments with COPY"
            )
            storefront_data = asyncio.run(storefront.load(dsn, sv))
            for copy in storefront_data.copies:
                _say(
                    f"COPY {copy.table}: {copy.rows_per_second:,.0f} rows/s ({copy.rows:,} rows in "
                    f"{copy.seconds:.2f} s)"
                )
            _say(f"storefront dataset loaded in {storefront_data.load_seconds:.0f} s")
        coupon_data: coupons.CouponLoadResult | None = None
        if options.with_coupons:  # last: no other dataset assigns customers to its segments
            cv = options.coupon_volumes
            _say(
                f"loading the coupon dataset: {cv.coupons:,} coupons, {cv.redemptions:,} redemptions, "
                f"{cv.segments:,} segments and {cv.customers:,} customers with memberships with COPY"
            )
            coupon_data = asyncio.run(coupons.load(dsn, cv))
            for copy in coupon_data.copies:
                _say(
                    f"COPY {copy.table}: {copy.rows_per_second:,.0f} rows/s ({copy.rows:,} rows in "
                    f"{copy.seconds:.2f} s)"
                )
            _say(f"coupon dataset loaded in {coupon_data.load_seconds:.0f} s")

        # Plans and statement timings while the machine is still quiet.
        _say("explaining the hot-path queries")
        plan_notes: list[str] = []
        recorded_sql: dict[str, list[plans.Statement]] = {}
        if storefront_data is not None:
            recorded_sql = asyncio.run(
                storefront_plans.statements(
                    tuple(k for k in options.scenarios if k in STOREFRONT_SCENARIOS), storefront_data, plan_notes
                )
            )
        if coupon_data is not None and "coupon-validate" in options.scenarios:
            recorded_sql.update(asyncio.run(coupon_scenarios.validation_statements(dsn, coupon_data, plan_notes)))
        statement_plans = asyncio.run(
            plans.explain_hot_paths(
                dsn,
                dataset.TENANT,
                probe_id,
                segments=[SCENARIOS[k] for k in options.scenarios if k in SEGMENT_SCENARIOS],
                categories=category_probe,
                assignments=assignment_probe,
                notes=plan_notes,
                recorded=recorded_sql,
            )
        )

        signing_key = secrets.token_urlsafe(32)
        service_port, floor_port = servers.free_port(), servers.free_port()
        base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SEGMENT_SERVICE_DATA_DIR")}
        service_env = {
            **base_env,
            "DATABASE_URL": dsn,
            "SEGMENT_SERVICE_SIGNING_KEY": signing_key,
            "SEGMENT_SERVICE_DATA_DIR": str(workdir / "unused"),
            "SEGMENT_SERVICE_ANSWER_VERSIONS": options.answer_versions,
        }
        floor_env = {
            **base_env,
            "DATABASE_URL": dsn,
            "BENCH_FLOOR_TENANT": dataset.TENANT,
            "BENCH_FLOOR_ID": probe_id,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }

        _say(f"starting segment-service on {servers.HOST}:{service_port} and the floor on {servers.HOST}:{floor_port}")
        service = servers.Server(
            "segment-service",
            [
                *_service_command(),
                "serve",
                "--host",
                servers.HOST,
                "--port",
                str(service_port),
                "--workers",
                str(options.workers),
            ],
            env=service_env,
            cwd=workdir,
            log=workdir / "service.log",
        )
        stack.callback(service.stop)
        floor = servers.Server(
            "floor",
            [
                sys.executable,
                "-m",
                "bench.floor",
                "--host",
                servers.HOST,
                "--port",
                str(floor_port),
                "--workers",
                str(options.workers),
            ],
            env=floor_env,
            cwd=workdir,
            log=workdir / "floor.log",
        )
        stack.callback(floor.stop)
        service_url, floor_url = f"http://{servers.HOST}:{service_port}", f"http://{servers.HOST}:{floor_port}"
        servers.wait_ready(service, f"{service_url}/health")
        servers.wait_ready(floor, f"{floor_url}/")

        bench_scopes = [Scope.SEGMENT_READ.value, Scope.SEGMENT_MANAGE.value]
        token = TokenService(signing_key).issue(
            tenant=dataset.TENANT,
            kind=TokenKind.SERVICE,
            subject=asyncio.run(_api_client(dsn, dataset.TENANT, bench_scopes)),
            scopes=bench_scopes,
            ttl_seconds=4 * 3600,
        )
        _sanity_check(service_url, floor_url, token, probe_id)
        if category_data is not None and category_probe is not None:
            _sanity_check_categories(service_url, token, category_data, category_probe)

        get_lua, search_lua = workdir / "get.lua", workdir / "search.lua"
        prefix = f"/customer-segment/{dataset.TENANT}/segments/"
        get_lua.write_text(load.get_script(prefix, loaded.sample_ids, token), encoding="utf-8")
        search_lua.write_text(load.post_script(SEARCH_BODY, token), encoding="utf-8")
        segment_scenarios: dict[str, tuple[str, str, str, Path | None]] = {
            "get": (
                "get segment",
                f"GET {prefix}{{id}}, the id drawn at random from {len(loaded.sample_ids):,} of the tenant's segments",
                f"{service_url}{prefix}x",
                get_lua,
            ),
            "search": (
                "search",
                f"POST {prefix}search with `{SEARCH_BODY}` (default pageSize 60)",
                f"{service_url}{prefix}search",
                search_lua,
            ),
        }
        scenarios: list[tuple[str, str, str, Path | None]] = [
            (
                report.FLOOR,
                "GET / on the floor server: one primary-key read of a fixed segment, as JSON",
                f"{floor_url}/",
                None,
            ),
            *(segment_scenarios[k] for k in options.scenarios if k in segment_scenarios),
        ]
        if category_data is not None:
            scenarios += _category_scenarios(service_url, token, options, category_data, workdir)
        if storefront_data is not None:
            _say("checking every storefront request's answer")
            scenarios += storefront_scenarios.scenarios(
                tuple(k for k in options.scenarios if k in STOREFRONT_SCENARIOS),
                service_url,
                token,
                signing_key,
                storefront_data,
                workdir,
            )
        targets: dict[str, servers.Server] = {}
        if storefront_data is not None and options.cache_off:
            # The storefront reads again on a second service with the answer cache off: every request asks the
            # database, as the first request of each answer does (docs/answers.md).
            cold_port = servers.free_port()
            _say(f"starting segment-service without the answer cache on {servers.HOST}:{cold_port}")
            cold_service = servers.Server(
                "segment-service-cache-off",
                [
                    *_service_command(),
                    *("serve", "--host", servers.HOST, "--port", str(cold_port), "--workers", str(options.workers)),
                ],
                env={**service_env, "SEGMENT_SERVICE_ANSWER_CACHE_MB": "0"},
                cwd=workdir,
                log=workdir / "service-cache-off.log",
            )
            stack.callback(cold_service.stop)
            cold_url = f"http://{servers.HOST}:{cold_port}"
            servers.wait_ready(cold_service, f"{cold_url}/health")
            scenarios = storefront_scenarios.with_cache_off_twins(scenarios, service_url, cold_url)
            targets.update(dict.fromkeys(storefront_scenarios.COLD_TWINS.values(), cold_service))
        bulk_items: dict[str, int] = {}
        bulk_workers: dict[str, int] = {}
        skipped: list[str] = []
        if assignment_data is not None:
            bodies = assignments.bulk_bodies(assignment_data, size=BULK_SIZE)
            bulk_service, bulk_url = service, service_url
            if "bulk-items" in options.scenarios and options.bulk_workers != options.workers:
                bulk_port = servers.free_port()
                _say(
                    f"starting a second segment-service with {options.bulk_workers} workers on "
                    f"{servers.HOST}:{bulk_port} for the bulk upsert"
                )
                bulk_service = servers.Server(
                    "segment-service (bulk)",
                    [
                        *_service_command(),
                        "serve",
                        "--host",
                        servers.HOST,
                        "--port",
                        str(bulk_port),
                        "--workers",
                        str(options.bulk_workers),
                    ],
                    env=service_env,
                    cwd=workdir,
                    log=workdir / "service-bulk.log",
                )
                stack.callback(bulk_service.stop)
                bulk_url = f"http://{servers.HOST}:{bulk_port}"
                servers.wait_ready(bulk_service, f"{bulk_url}/health")
            segments_path = f"/customer-segment/{dataset.TENANT}/segments"
            for key in (k for k in options.scenarios if k in ASSIGNMENT_SCENARIOS):
                url = bulk_url if key == "bulk-items" else service_url
                problem = _assignment_problem(key, url, token, assignment_data, bodies)
                if problem is not None:
                    skipped.append(f"{SCENARIOS[key]}: not measured, its sanity check failed: {problem}")
                    _say(skipped[-1])
                    continue
                lua = workdir / f"{key}.lua"
                if key == "customer-segments":
                    ids = [c for c, _ in assignment_data.customer_sample]
                    lua.write_text(load.get_script(f"{segments_path}?customerId=", ids, token), encoding="utf-8")
                    description = (
                        f"GET {segments_path}?customerId={{id}}, the customer drawn at random from "
                        f"{len(ids):,} customers that have assignments (about "
                        f"{assignment_data.mean(assignment_data.customer_sample):,.1f} segments each); "
                        "default pageSize 60"
                    )
                elif key == "segment-items":
                    ids = [c for c, _ in assignment_data.item_segment_sample]
                    lua.write_text(load.get_script(f"{segments_path}/", ids, token, "/items"), encoding="utf-8")
                    description = (
                        f"GET {segments_path}/{{id}}/items, the segment drawn at random from {len(ids):,} "
                        f"segments with item assignments (about "
                        f"{assignment_data.mean(assignment_data.item_segment_sample):,.0f} each); "
                        "default pageSize 60"
                    )
                else:
                    lua.write_text(
                        load.bulk_put_script(f"{segments_path}/", "/items/PRODUCT/bulk", bodies, token),
                        encoding="utf-8",
                    )
                    description = (
                        f"PUT {segments_path}/{{id}}/items/PRODUCT/bulk with {BULK_SIZE} existing product "
                        f'ids per request (`[{{"id": …}}, …]`), rotating over {len(bodies)} pre-built '
                        f"(segment, body) pairs on {len({s for s, _ in bodies}):,} segments: creates "
                        f"first, updates once a pair comes round again; against a service with "
                        f"{options.bulk_workers} worker processes"
                    )
                    targets[SCENARIOS[key]] = bulk_service
                    bulk_items[SCENARIOS[key]] = BULK_SIZE
                    bulk_workers[SCENARIOS[key]] = (
                        options.bulk_workers if options.bulk_workers != options.workers else 0
                    )
                scenarios.append((SCENARIOS[key], description, f"{url}{segments_path}/x", lua))
        if coupon_data is not None:  # last, as in SCENARIOS: the redemptions write
            _say("checking every coupon request's answer")
            scenarios += coupon_scenarios.scenarios(
                tuple(k for k in options.scenarios if k in COUPON_SCENARIOS),
                service_url,
                signing_key,
                coupon_data,
                workdir,
            )

        loadavg = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        result = report.Report(
            machine=report.machine(postgres_version, load.wrk_version(wrk), started_at),
            settings={
                "duration": f"{options.duration:g}s",
                "warmup": f"{options.warmup:g}s",
                "threads": str(options.threads),
                "connections": str(options.connections),
                "workers": str(options.workers),
                "load average at start": f"{loadavg:.2f}",
            },
            dataset=loaded,
            categories=category_data,
            assignments=assignment_data,
            storefront=storefront_data,
            coupons=coupon_data,
            plans=statement_plans,
            notes=[*plan_notes, *skipped],
        )
        if assignment_data is not None:
            result.settings["bulk workers"] = str(options.bulk_workers)
        postmaster_pid = pg_server.get_pid()
        autovacuum_before = asyncio.run(_autovacuum_runs(dsn))
        raw_outputs = []
        # A fast 4xx is worthless to measure: these stop the run when their warm-up sees one.
        strict = {
            *storefront_scenarios.TARGETS,
            *storefront_scenarios.COLD_TWINS.values(),
            *coupon_scenarios.SCENARIOS.values(),
        }
        redeem_name = coupon_scenarios.SCENARIOS["coupon-redeem"]
        for name, description, url, script in scenarios:
            target = floor if name == report.FLOOR else targets.get(name, service)
            if options.warmup > 0:
                _say(f"{name}: warming up for {options.warmup:g} s")
                warm = load.run_wrk(
                    wrk,
                    url,
                    script=script,
                    duration=options.warmup,
                    threads=options.threads,
                    connections=options.connections,
                )
                if name in strict and (warm.non_2xx or warm.socket_errors):
                    raise BenchError(
                        f"{name}: the warm-up got {warm.non_2xx} non-2xx responses and "
                        f"{warm.socket_errors} socket errors; nothing worth measuring"
                    )
            _say(f"{name}: measuring for {options.duration:g} s")
            rows_before = asyncio.run(_count(dsn, "segment_item_assignments")) if name in bulk_items else 0
            if name == redeem_name:
                rows_before = asyncio.run(coupon_scenarios.redemption_rows(dsn))
            before = cpu.CpuSample.take(target.process.pid, postmaster_pid)
            client_before = _children_cpu()
            if name == churn.NAME and script is not None and storefront_data is not None:
                churned = asyncio.run(
                    churn.run(
                        wrk,
                        service_url,
                        script,
                        token,
                        storefront_scenarios.customer_tokens(signing_key, [p.shopper for p in storefront_data.items]),
                        storefront_data,
                        dsn,
                        rate=CHURN_RATE,
                        duration=options.duration,
                        threads=options.threads,
                        connections=options.connections,
                    )
                )
                measured = churned.wrk
                result.notes.append(churn.note(churned, options.duration))
            else:
                measured = load.run_wrk(
                    wrk,
                    url,
                    script=script,
                    duration=options.duration,
                    threads=options.threads,
                    connections=options.connections,
                )
            server_us, postgres_us = cpu.per_request_us(
                before, cpu.CpuSample.take(target.process.pid, postmaster_pid), measured.requests
            )
            client_us = (_children_cpu() - client_before) * 1e6 / max(1, measured.requests)
            result.scenarios.append(
                report.Scenario(
                    name,
                    description,
                    measured,
                    server_cpu_us=server_us,
                    postgres_cpu_us=postgres_us,
                    client_cpu_us=client_us,
                    items_per_request=bulk_items.get(name, 0),
                    workers=bulk_workers.get(name, 0),
                )
            )
            if name in bulk_items:
                created = asyncio.run(_count(dsn, "segment_item_assignments")) - rows_before
                result.notes.append(
                    f"{name}: {measured.requests:,} requests x {bulk_items[name]} = "
                    f"{measured.requests * bulk_items[name]:,} assignments written in the measured "
                    f"{options.duration} s, {created:,} of them new rows (the rest updates)"
                )
            if name == redeem_name and coupon_data is not None:
                result.notes.append(
                    asyncio.run(
                        coupon_scenarios.redemption_note(
                            dsn,
                            name,
                            coupon_data,
                            before=rows_before,
                            requests=measured.requests,
                            connections=options.connections,
                            seconds=options.duration,
                        )
                    )
                )
            raw_outputs.append(f"## {name}\n{measured.raw}")
            service.check_running()
            floor.check_running()
            target.check_running()
            if measured.non_2xx or measured.socket_errors:
                result.notes.append(
                    f"{name}: {measured.non_2xx} non-2xx responses and {measured.socket_errors} "
                    "socket errors; its numbers are not comparable"
                )
        result.notes += storefront_scenarios.target_notes(result)
        autovacuum_after = asyncio.run(_autovacuum_runs(dsn))
        vacuumed = sorted(t for t, n in autovacuum_after.items() if n > autovacuum_before.get(t, 0))
        if vacuumed:
            result.notes.append(
                "autovacuum or autoanalyze ran on " + ", ".join(vacuumed) + " during the scenarios; "
                "the PostgreSQL CPU of the scenarios it overlapped includes it"
            )
        if hasattr(os, "getloadavg"):  # the neighbours' share of the run, as far as one number can tell it
            result.settings["load average at end"] = f"{os.getloadavg()[0]:.2f}"
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
