"""The ASGI entry point for server workers: `segment_service.asgi:build` (a factory reading the environment)."""

from __future__ import annotations

from litestar import Litestar

from segment_service.app import create_app
from segment_service.settings import Settings


def build() -> Litestar:
    """The app configured from the environment (the CLI sets DATABASE_URL for its workers)."""
    return create_app(Settings.from_env())
