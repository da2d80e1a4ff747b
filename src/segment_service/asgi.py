"""The ASGI entry point for server workers: `segment_service.asgi:build` (a factory reading the environment)."""

from __future__ import annotations

from segment_service.app import create_served_app
from segment_service.core.fastlane import FastLane
from segment_service.core.logs import configure_logging
from segment_service.serving import follow_supervisor
from segment_service.settings import Settings


def build() -> FastLane:
    """The app configured from the environment (the CLI sets DATABASE_URL for its workers)."""
    follow_supervisor()
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    return create_served_app(settings)
