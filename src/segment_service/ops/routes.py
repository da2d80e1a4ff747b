"""`/health/live`, `/health/ready` and `/metrics`: no token of the API (the metrics may ask for one of their own),
no tenant, cheap enough to be called every few seconds (docs/operations.md#health-checks,
docs/operations.md#metrics)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State

from segment_service.core.db import Database, migration_files
from segment_service.core.errors import ServiceError, Unauthorized
from segment_service.core.http import json_response
from segment_service.core.metrics import CONTENT_TYPE, Metrics
from segment_service.core.outage import is_connection_failure
from segment_service.ops.store import applied_migrations
from segment_service.settings import Settings

#: A readiness probe that waits longer than this for the database reports it unreachable.
READY_TIMEOUT_SECONDS = 2.0


class NotReady(ServiceError):
    status = 503
    type = "service_unavailable"


@get("/health/live", include_in_schema=False)
async def live() -> Response[Any]:
    """200 while the process answers; never touches the database (a database outage must not get the process
    restarted, only taken out of the load balancer by readiness)."""
    return json_response({"status": "UP"})


@get("/health/ready", include_in_schema=False)
async def ready(state: State) -> Response[Any]:
    """200 when requests can be served: the database answers and has every migration this version ships; 503 with
    the reason otherwise. With read replicas, each one's state as this process sees it; a replica that is down or
    lagging leaves the service ready, since the primary answers its reads (docs/operations.md#read-replicas)."""
    db: Database = state.db
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            applied = await _applied_migrations(db)
    except TimeoutError as exc:
        raise NotReady(f"Not ready: the database did not answer within {READY_TIMEOUT_SECONDS:g} s.") from exc
    except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as exc:
        raise NotReady(f"Not ready: the database is not reachable ({type(exc).__name__}: {exc}).") from exc
    missing = [version for version, _ in migration_files() if version not in applied]
    if missing:
        raise NotReady(
            f"Not ready: the database lacks migration(s) {', '.join(missing)}; run `segment-service migrate`."
        )
    if db.replicas is None:
        return json_response({"status": "UP"})
    return json_response({"status": "UP", "replicas": db.replicas.report()})


async def _applied_migrations(db: Database) -> set[str]:
    """The applied migrations, asked twice when the first connection turns out dead: a pooled connection whose server
    process was terminated fails with an error about itself, and the second try (on a new connection) reports what
    the server says now, which is the reason an operator needs."""
    try:
        async with db.connection() as conn:
            return await applied_migrations(conn)
    except Exception as exc:
        if not is_connection_failure(exc):
            raise
    async with db.connection() as conn:
        return await applied_migrations(conn)


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    """The Prometheus exposition of every server process of the run."""
    settings: Settings = state.settings
    if settings.metrics_token is not None:
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            raise Unauthorized(
                "The metrics need the token set in SEGMENT_SERVICE_METRICS_TOKEN: send 'Authorization: Bearer <token>'."
            )
    collected: Metrics = state.metrics
    return Response(content=collected.render(), media_type=CONTENT_TYPE)


@asynccontextmanager
async def watch_pool(app: Litestar) -> AsyncIterator[None]:
    """Lifespan, after the database's: report the pool in the metrics while the app runs."""
    collected: Metrics = app.state.metrics
    collected.watch_pool(app.state.db)
    async with collected.sampling():
        yield


ROUTES = [live, ready, metrics]
