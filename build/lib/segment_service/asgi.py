"""The ASGI entry point for server workers: `segment_service.asgi:build` (a factory reading the environment)."""

from __future__ import annotations

from segment_service.app import create_served_app
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings


def build() -> FastLane:
    """The app configured from the environment (the CLI sets DATABASE_URL for its workers)."""
    return create_served_app(Settings.from_env())
