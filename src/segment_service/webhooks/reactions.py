"""The Webhook service's subscriber: every published catalogue event goes through the outbox (webhooks/outbox.py)."""

from __future__ import annotations

from collections.abc import Sequence
from weakref import WeakKeyDictionary

from segment_service.core.db import Connection
from segment_service.core.events import ChangeEvent, EventRegistry, PublishedSubscriber
from segment_service.webhooks import outbox

#: The outbox subscriber of each registry, so that registering twice changes nothing.
_SUBSCRIBERS: WeakKeyDictionary[EventRegistry, PublishedSubscriber] = WeakKeyDictionary()


def register(target: EventRegistry) -> None:
    """Write an outbox row for the catalogue events of each write `target` publishes that its tenant receives
    (payloads rendered by `target`'s builders)."""
    subscriber = _SUBSCRIBERS.get(target)
    if subscriber is None:

        async def publish(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
            await outbox.publish(target, conn, batch)

        subscriber = _SUBSCRIBERS[target] = publish
    target.subscribe_published(subscriber)
