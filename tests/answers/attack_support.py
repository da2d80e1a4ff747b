"""What the adversarial answer-cache tests share: a served `segment-service serve` on the session's database that
accepts the session's tokens, and reads of one shop through any client compared with the cache-off app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from segment_service.settings import Settings
from tests.ops.servers import ServeProcess, serve_env


@contextmanager
def remote_serve(settings: Settings, folder: Path, workers: int = 2) -> Iterator[ServeProcess]:
    """`serve` with `workers` processes (each its own answer cache) on the session's database and signing key."""
    env = serve_env(settings.database_url, SEGMENT_SERVICE_SIGNING_KEY=str(settings.signing_key))
    serve = ServeProcess.start(folder, workers=workers, database_url=settings.database_url, env=env)
    try:
        yield serve
    finally:
        serve.stop()


def snapshot(response: httpx.Response) -> tuple[int, Any, str | None]:
    """Status, body and X-Total-Count: what must be equal between the cached and the cache-off app."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return response.status_code, body, response.headers.get("X-Total-Count")
