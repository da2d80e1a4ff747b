"""The floor: the least any HTTP service over this database can do per request, served like the real service.

A bare ASGI callable (no framework, no routing, no auth) whose every request borrows a pooled asyncpg connection,
reads one segment by primary key and answers it as msgspec-encoded JSON. It is served by the very code that serves
the service (`segment_service.serving`: uvicorn with httptools and uvloop, under the same supervisor), and its pool
is configured like the service's (size, jsonb codec, no JIT), so the gap between a scenario and the floor is what the
framework, auth and the service's own code cost.

Run as `python -m bench.floor --port P` with DATABASE_URL, BENCH_FLOOR_TENANT and BENCH_FLOOR_ID set; the worker
processes import `bench.floor:build`, which reads the same variables.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# The same columns the service reads for GET /segments/{id}, so both transfer the same row.
SQL = """
SELECT id, name, description, status, site_code, valid_from, valid_to, mixins, metadata_mixins,
       version, created_at, modified_at
FROM segments
WHERE tenant = $1 AND id = $2
"""

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_HEADERS = [(b"content-type", b"application/json")]


async def _init(conn: asyncpg.Connection) -> None:
    # Decode jsonb to Python objects as the service does, so the floor does not skip that work.
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: _encode(v).decode(), decoder=_decode, schema="pg_catalog", format="text"
    )


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Nothing to reset: the floor never opens a transaction or changes session state (skips asyncpg's RESET ALL)."""


def build() -> App:
    """The floor ASGI app, configured from the environment (each worker process calls this)."""
    dsn = os.environ["DATABASE_URL"]
    tenant = os.environ["BENCH_FLOOR_TENANT"]
    segment_id = os.environ["BENCH_FLOOR_ID"]
    pool_size = int(os.environ.get("BENCH_FLOOR_POOL_MAX", "10"))
    state: dict[str, asyncpg.Pool] = {}

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                state["pool"] = await asyncpg.create_pool(
                    dsn,
                    min_size=2,
                    max_size=pool_size,
                    init=_init,
                    reset=_no_reset,
                    server_settings={"statement_timeout": "5000", "jit": "off"},
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if "pool" in state:
                    await state["pool"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        record = await state["pool"].fetchrow(SQL, tenant, segment_id)
        if record is None:
            await send({"type": "http.response.start", "status": 404, "headers": _HEADERS})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": _encode(dict(record))})

    return app


def main() -> None:
    """Serve the floor app exactly as `segment-service serve` serves the service."""
    from segment_service import serving

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    try:
        sock = serving.listen(args.host, args.port)
    except serving.CannotListen as exc:
        raise SystemExit(f"error: {exc}") from None
    if not serving.run(sock, workers=args.workers, app="bench.floor:build"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
