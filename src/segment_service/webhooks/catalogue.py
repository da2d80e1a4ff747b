"""The catalogue of the events this service publishes (catalogue.json: the Emporix event catalogue's entries for
what this service stores, with their payload schemas), as GET /webhook/{tenant}/event-subscriptions lists it.

Event types are the catalogue's lower-case names (`customer-segment.segment-created`); configuration entries may
name them in any case (`PRODUCT.CREATED`), `normalize` makes them one.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import msgspec


class CatalogueEvent(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One published event type: its localized name, group and description, and its payload schema."""

    type: str
    name: dict[str, str]
    group: dict[str, str]
    description: dict[str, str]
    event_schema: dict[str, Any]


@cache
def catalogue() -> tuple[CatalogueEvent, ...]:
    """Every event type this service publishes, in catalogue order."""
    raw = resources.files("segment_service.webhooks").joinpath("catalogue.json").read_text(encoding="utf-8")
    return tuple(msgspec.convert(item, CatalogueEvent) for item in json.loads(raw))


@cache
def event_types() -> frozenset[str]:
    """The names of the published event types."""
    return frozenset(event.type for event in catalogue())


def normalize(event_type: str) -> str:
    """An event type as the catalogue names it: trimmed and lower-case (`PRODUCT.CREATED` is `product.created`)."""
    return event_type.strip().lower()


def find(event_type: str) -> CatalogueEvent | None:
    """The catalogue entry of `event_type` (any case), or None when this service does not publish it."""
    wanted = normalize(event_type)
    return next((event for event in catalogue() if event.type == wanted), None)


@cache
def fields_of(event_type: str) -> frozenset[str]:
    """The top-level fields of `event_type`'s payload schema (none for an unknown type)."""
    event = find(event_type)
    return frozenset(event.event_schema) if event is not None else frozenset()
