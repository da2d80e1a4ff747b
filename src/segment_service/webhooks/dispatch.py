"""Turning an outbox event into its deliveries: which endpoints receive it, and the exact body each one gets
(docs/webhooks.md#what-reaches-a-destination). Pure: the relay (webhooks/relay.py) reads and writes the rows."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import msgspec

from segment_service.webhooks.dispatch_store import NewDelivery, OutboxEvent, TenantSetup
from segment_service.webhooks.jsonpath import JsonPathError, JsonPathFilter, compile_filter
from segment_service.webhooks.models import EntrySpec

log = logging.getLogger("segment_service.webhooks")

_encoder = msgspec.json.Encoder()


@lru_cache(maxsize=1024)
def _compiled(expression: str) -> JsonPathFilter | None:
    """A stored filter, compiled once per process; None (and a log line) for one that no longer compiles."""
    try:
        return compile_filter(expression)
    except JsonPathError as exc:
        log.warning("webhook filter %r does not compile (%s); the entry receives nothing", expression, exc)
        return None


def header_values(headers: dict[str, Any] | None) -> dict[str, str]:
    """Configured headers (`{"name": {"value": "..."}}`, as the Webhook Service takes them) as name -> value."""
    values: dict[str, str] = {}
    for name, spec in (headers or {}).items():
        value = spec.get("value") if isinstance(spec, dict) else spec
        if isinstance(value, str):
            values[name] = value
    return values


def endpoints_for(setup: TenantSetup, event_type: str) -> list[EntrySpec]:
    """The endpoints an event of `event_type` goes to: the active entries of its type; the root destination when the
    configuration has no entry of that type at all."""
    entries = [entry for entry in setup.entries if entry.event_type == event_type]
    if entries:
        return [entry for entry in entries if entry.active]
    return [setup.root] if setup.root.destination_url else []


def body_for(payload: dict[str, Any], endpoint: EntrySpec, subscription_excluded: list[str]) -> str | None:
    """The exact JSON `endpoint` receives for `payload`, or None when its filter does not match."""
    if endpoint.filter and endpoint.filter.strip():
        compiled = _compiled(endpoint.filter)
        if compiled is None or not compiled.matches(payload):
            return None
    excluded = subscription_excluded if endpoint.excluded_fields is None else endpoint.excluded_fields
    if excluded:
        payload = {key: value for key, value in payload.items() if key not in excluded}
    return _encoder.encode(payload).decode()


def deliveries_for(event: OutboxEvent, setup: TenantSetup | None) -> list[NewDelivery]:
    """The deliveries of `event` under its tenant's current setup (none without an active configuration)."""
    if setup is None:
        return []
    deliveries = []
    for endpoint in endpoints_for(setup, event.event_type):
        url = endpoint.destination_url or setup.root.destination_url
        if not url:
            continue
        body = body_for(event.payload, endpoint, setup.excluded.get(event.event_type, []))
        if body is None:
            continue
        # An entry's headers take precedence over the root's of the same name; the others of the root still apply.
        headers = header_values(setup.root.headers)
        if endpoint is not setup.root:
            headers.update(header_values(endpoint.headers))
        secret = endpoint.secret_key or setup.root.secret_key
        assert endpoint.id is not None  # stored entries have ids; the root's is "root"
        deliveries.append(NewDelivery(event, endpoint.id, url, headers, secret, body))
    return deliveries
