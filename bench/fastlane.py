"""`python -m bench.fastlane`: what the fast lane saves over the framework on the three hottest storefront reads.

A customer's `GET /customer-segment/{tenant}/segments/items` (20 items), `GET .../segments/items/category-trees`
and `GET /category/{tenant}/categories/{categoryId}/assignments` (10 products), on a real embedded PostgreSQL, are
sent straight to the served app's ASGI callable (request ids and metrics on, the access log off, as in every
variant) in interleaved rounds of three variants:

- lane: the fast lane answers (core/fastlane.py);
- routed: the lane switched off, so the Litestar route answers (dependencies, parameter parsing, response object);
- lean: a Litestar route whose handler takes only the `Request` and reads the query itself (the lane's own parsing
  and handler body behind a routed handler: routing, guards and middleware kept, dependency injection and the
  signature's parameter parsing left out). Registered here, next to the real routes, under `/…/lean/…` paths.

No HTTP server and no network are involved, so the differences are the handling's own cost per request. Prints a
Markdown table (docs/performance.md#the-fast-lane-lane-routed-or-lean).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
from litestar import Request, Response, get

from bench.observability import call
from segment_service.app import create_served_app
from segment_service.categories.assignment_routes import parse_category_assignments
from segment_service.core.auth import CUSTOMER_SCOPES, TokenKind, current_caller
from segment_service.core.db import migrate
from segment_service.core.fastlane import FastParse, FastRequest
from segment_service.core.http import JSON
from segment_service.core.observe import ObservedLane
from segment_service.embedded import ensure_database, start_embedded
from segment_service.oauth import service as oauth_service
from segment_service.segments.scopes import READ_OWN_SEGMENTS, READ_SEGMENTS
from segment_service.segments.storefront_routes import parse_my_category_trees, parse_my_items
from segment_service.settings import Settings

TENANT = "benchshop"
ITEMS = f"/customer-segment/{TENANT}/segments/items"
TREES = f"/customer-segment/{TENANT}/segments/items/category-trees"
ASSIGNMENTS = f"/category/{TENANT}/categories/hammers/assignments"
#: Each read as the lane and the routed handler are asked, and as the lean handler is.
READS = {
    "items of my segments": (ITEMS, f"/customer-segment/{TENANT}/lean/items"),
    "category trees of my segments": (TREES, f"/customer-segment/{TENANT}/lean/items/category-trees"),
    "a category's assignments": (ASSIGNMENTS, f"/category/{TENANT}/lean/hammers/assignments"),
}
VARIANTS = ("lane", "routed", "lean")


def lean_route(path: str, scopes: tuple[str, ...], parse: FastParse) -> Any:
    """A routed handler that takes only the request: the guard authenticates (the route's `opt`), the query is read
    once with the lane's parsing (`parse`), and the shared answer function does the work."""

    @get(path, opt={"scopes": scopes}, include_in_schema=False)
    async def handler(request: Request[Any, Any, Any]) -> Response[Any]:
        query = dict(parse_qsl(request.scope.get("query_string", b"").decode("ascii"), keep_blank_values=True))
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in request.scope["headers"]}
        run = parse(FastRequest(request.path_params, query, headers, request.app.state))
        answer = await run(current_caller(request))
        return Response(answer.body, status_code=answer.status, media_type=JSON, headers=answer.headers)

    return handler


LEAN_ROUTES = [
    lean_route("/customer-segment/{tenant:str}/lean/items", READ_SEGMENTS, parse_my_items),
    lean_route("/customer-segment/{tenant:str}/lean/items/category-trees", READ_OWN_SEGMENTS, parse_my_category_trees),
    lean_route("/category/{tenant:str}/lean/{categoryId:str}/assignments", (), parse_category_assignments),
]


async def seed(served: ObservedLane, dsn: str) -> str:
    """Segment gold holding products p0-p19 and category hammers (tools > hammers > sledges, p0-p9 assigned to
    hammers), customer c1 a member of gold; c1's token."""
    scopes = [
        "category.category_manage",
        "category.category_publish",
        "customersegment.segment_manage",
        "product.product_manage",
        "product.product_publish",
    ]
    conn = await asyncpg.connect(dsn)
    try:
        client, _ = await oauth_service.create_client(conn, tenant=TENANT, scopes=scopes, name="bench")
    finally:
        await conn.close()
    tokens = served.state.tokens
    service = tokens.issue(
        tenant=TENANT, kind=TokenKind.SERVICE, subject=client.client_id, scopes=tuple(scopes), ttl_seconds=3600
    )

    async def write(method: str, path: str, body: dict[str, Any]) -> None:
        status, text = await call(served, method, path, service, json.dumps(body).encode())
        assert status in (201, 204), text

    await write(
        "POST",
        f"/customer-segment/{TENANT}/segments",
        {"id": "gold", "name": {"en": "Gold"}, "status": "ACTIVE", "siteCode": "main"},
    )
    for n in range(20):
        product = {"id": f"p{n}", "code": f"p{n}", "name": {"en": f"Product {n}"}, "published": True}
        await write("POST", f"/product/{TENANT}/products", product)
        await write("PUT", f"/customer-segment/{TENANT}/segments/gold/items/PRODUCT/p{n}", {})
    for category, parent in (("tools", None), ("hammers", "tools"), ("sledges", "hammers")):
        body = {"id": category, "localizedName": {"en": category}, "published": True, "parentId": parent}
        await write("POST", f"/category/{TENANT}/categories", body)
    for n in range(10):
        await write("POST", ASSIGNMENTS, {"ref": {"id": f"p{n}", "type": "PRODUCT"}})
    await write("PUT", f"/customer-segment/{TENANT}/segments/gold/items/CATEGORY/hammers", {})
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO segment_customer_assignments (tenant, segment_id, customer_id, legal_entity_id, created_at,"
            " modified_at) VALUES ($1, 'gold', 'c1', '', now(), now())",
            TENANT,
        )
    finally:
        await conn.close()
    customer: str = tokens.issue(
        tenant=TENANT,
        kind=TokenKind.CUSTOMER,
        subject="c1",
        scopes=CUSTOMER_SCOPES,
        ttl_seconds=3600,
        customer_id="c1",
        legal_entity_id=None,
    )
    return customer


async def measure(
    settings: Settings, requests: int, rounds: int
) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], list[float]]]:
    """Per read and variant, the CPU and the wall-clock microseconds per request of each round."""
    served = create_served_app(settings)
    assert isinstance(served, ObservedLane)
    served.access_log_on = False
    for handler in LEAN_ROUTES:
        served.app.register(handler)
    cpu_timings: dict[tuple[str, str], list[float]] = {}
    wall_timings: dict[tuple[str, str], list[float]] = {}
    async with served.app.lifespan():
        token = await seed(served, str(settings.database_url))
        for read, (path, lean_path) in READS.items():
            answers = set()
            for variant in VARIANTS:
                served.enabled = variant == "lane"
                status, body = await call(served, "GET", lean_path if variant == "lean" else path, token)
                assert status == 200, (read, variant, body)
                assert json.loads(body), (read, variant, "an empty answer measures nothing")
                answers.add(body)
            assert len(answers) == 1, f"{read}: the three variants answer alike"
        answered = served.answered
        for _ in range(rounds):
            for read, (path, lean_path) in READS.items():
                for variant in VARIANTS:
                    served.enabled = variant == "lane"
                    target = lean_path if variant == "lean" else path
                    wall, cpu = time.perf_counter(), time.process_time()
                    for _ in range(requests):
                        await call(served, "GET", target, token)
                    cpu_timings.setdefault((read, variant), []).append((time.process_time() - cpu) / requests * 1e6)
                    wall_timings.setdefault((read, variant), []).append((time.perf_counter() - wall) / requests * 1e6)
        assert served.answered - answered == rounds * len(READS) * requests, "the lane answered every lane request"
    return cpu_timings, wall_timings


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per read, variant and round")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="segment-service-bench-fastlane-"))
    server, url = start_embedded(folder / "data")
    try:
        asyncio.run(ensure_database(url, "segment_service"))
        asyncio.run(migrate(url))
        settings = Settings(database_url=url, signing_key="bench-signing-key-" + "x" * 32)
        cpu_timings, wall_timings = asyncio.run(measure(settings, args.requests, args.rounds))
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{args.rounds} rounds x {args.requests} requests per read and variant, interleaved; medians of the rounds. "
        "CPU: this process's CPU time per request (PostgreSQL's is not in it); wall: elapsed time per request.\n"
    )
    print("| read | variant | CPU µs per request | over the lane | wall µs per request | over the lane |")
    print("|---|---|---:|---:|---:|---:|")
    for read in READS:
        cpu_base = statistics.median(cpu_timings[(read, "lane")])
        wall_base = statistics.median(wall_timings[(read, "lane")])
        for variant in VARIANTS:
            cpu = statistics.median(cpu_timings[(read, variant)])
            wall = statistics.median(wall_timings[(read, variant)])
            over = "" if variant == "lane" else f"{cpu - cpu_base:+.0f} µs ({(cpu - cpu_base) / cpu_base:+.1%})"
            wall_over = (
                "" if variant == "lane" else f"{wall - wall_base:+.0f} µs ({(wall - wall_base) / wall_base:+.1%})"
            )
            print(f"| {read} | {variant} | {cpu:.0f} | {over} | {wall:.0f} | {wall_over} |")


if __name__ == "__main__":
    main()
