"""The change-event registry: the base class of every change event, and the subscribers, published-event
subscribers and payload builders that start-up registers (docs/events.md). The event classes are in core/events.py,
which re-exports everything here, so writes and reactions import one module."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, TypeVar

import msgspec

from segment_service.core.db import Connection


class ChangeEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A committed-with-the-write fact about one thing of one tenant."""

    #: The Emporix webhook event type this event is published as; None for events of this service's own.
    catalogue_name: ClassVar[str | None] = None
    #: The field whose value orders publication: events with the same key reach a destination in commit order.
    ordering_field: ClassVar[str] = ""
    tenant: str

    def ordering_key(self) -> str:
        """What this event's deliveries are ordered by: `<ordering_field>:<its value>` (a segment's events, a
        customer's events), or the event type alone when the class names no field."""
        if not self.ordering_field:
            return type(self).__name__
        return f"{self.ordering_field}:{getattr(self, self.ordering_field)}"


E = TypeVar("E", bound=ChangeEvent)
Subscriber = Callable[[Connection, E], Awaitable[None]]
#: Runs once per emitted batch with the batch's events of the types it subscribed to, in emit order.
BatchSubscriber = Callable[[Connection, Sequence[ChangeEvent]], Awaitable[None]]
#: Runs once per emitted batch with the batch's catalogue events (those with a `catalogue_name`), in emit order.
PublishedSubscriber = Callable[[Connection, Sequence[ChangeEvent]], Awaitable[None]]
#: Renders the catalogue payloads of events of one type, one per event and in their order, reading the committed-to-be
#: rows on the write's connection (the service that owns the rows registers it: docs/events.md#payloads).
PayloadBuilder = Callable[[Connection, Sequence[E]], Awaitable[list[dict[str, Any]]]]


class ReactionsNotRegistered(RuntimeError):
    """A write emitted an event before start-up registered the reactions."""


class EventRegistry:
    """Subscribers by exact event type, in registration order; subscribers of every published event; the payload
    builders of the catalogue events."""

    def __init__(self) -> None:
        self._subscribers: dict[type[ChangeEvent], list[Subscriber[ChangeEvent]]] = {}
        self._published: list[PublishedSubscriber] = []
        self._batch: list[tuple[tuple[type[ChangeEvent], ...], BatchSubscriber]] = []
        self._builders: dict[type[ChangeEvent], PayloadBuilder[ChangeEvent]] = {}
        self.ready = False

    def subscribe(self, event_type: type[E], subscriber: Subscriber[E]) -> None:
        """Run `subscriber` for every `event_type` emitted from now on; subscribing it again changes nothing."""
        subscribers = self._subscribers.setdefault(event_type, [])
        if subscriber not in subscribers:
            subscribers.append(subscriber)  # type: ignore[arg-type]

    def unsubscribe(self, event_type: type[E], subscriber: Subscriber[E]) -> None:
        """Stop running `subscriber` for `event_type` (tests that add one of their own take it away again)."""
        subscribers = self._subscribers.get(event_type, [])
        if subscriber in subscribers:
            subscribers.remove(subscriber)

    def subscribe_batch(self, event_types: tuple[type[ChangeEvent], ...], subscriber: BatchSubscriber) -> None:
        """Run `subscriber` once per emitted batch that has events of `event_types`, with those events, after their
        per-type subscribers and the published-event subscribers (so the events it causes are published after the
        change it reacts to): a reaction that is one statement for a whole import batch (rule memberships,
        rules/reactions.py) rather than one per event."""
        if all(existing is not subscriber for _, existing in self._batch):
            self._batch.append((event_types, subscriber))

    def subscribe_published(self, subscriber: PublishedSubscriber) -> None:
        """Run `subscriber` once per emitted batch with its catalogue events, after their per-type subscribers (the
        webhook outbox: webhooks/reactions.py)."""
        if subscriber not in self._published:
            self._published.append(subscriber)

    def publish_with(self, event_type: type[E], builder: PayloadBuilder[E]) -> None:
        """Render `event_type`'s catalogue payloads with `builder` (one builder per type; the last one registered)."""
        if event_type.catalogue_name is None:
            raise ValueError(f"{event_type.__name__} is not a catalogue event: it has no payload to render")
        self._builders[event_type] = builder  # type: ignore[assignment]

    def publishable(self) -> tuple[type[ChangeEvent], ...]:
        """The catalogue event types that have a payload builder, in registration order."""
        return tuple(self._builders)

    async def payloads(self, conn: Connection, batch: Sequence[ChangeEvent]) -> list[dict[str, Any]]:
        """The catalogue payload of each event of `batch`, in its order: one builder call per event type."""
        by_type: dict[type[ChangeEvent], list[int]] = {}
        for index, event in enumerate(batch):
            by_type.setdefault(type(event), []).append(index)
        rendered: list[dict[str, Any]] = [{} for _ in batch]
        for event_type, indexes in by_type.items():
            builder = self._builders.get(event_type)
            if builder is None:
                raise LookupError(f"no payload builder is registered for {event_type.__name__}")
            payloads = await builder(conn, [batch[i] for i in indexes])
            if len(payloads) != len(indexes):
                raise RuntimeError(
                    f"the payload builder of {event_type.__name__} rendered {len(payloads)} payloads "
                    f"for {len(indexes)} events"
                )
            for index, payload in zip(indexes, payloads, strict=True):
                rendered[index] = payload
        return rendered

    def subscribers(self, event_type: type[ChangeEvent]) -> tuple[Subscriber[ChangeEvent], ...]:
        """The subscribers of `event_type`, in the order they run."""
        return tuple(self._subscribers.get(event_type, ()))

    def wanted(self, *event_types: type[ChangeEvent]) -> bool:
        """Whether any of `event_types` has a subscriber: lets a hot bulk path skip building events nobody reads
        (the registry must still be ready, as for `emit`)."""
        self._check_ready()
        if self._published and any(t.catalogue_name is not None for t in event_types):
            return True
        if any(set(types) & set(event_types) for types, _ in self._batch):
            return True
        return any(self._subscribers.get(t) for t in event_types)

    def _check_ready(self) -> None:
        if not self.ready:
            raise ReactionsNotRegistered(
                "A write ran before the reactions were registered (segment_service.reactions.register_reactions)."
            )

    async def emit(self, conn: Connection, event: ChangeEvent) -> None:
        """Run the subscribers of the event's type on `conn`, one after the other, then the published-event
        subscribers; the first to raise stops the rest and fails the caller's transaction."""
        await self.emit_many(conn, (event,))

    async def emit_many(self, conn: Connection, batch: Sequence[ChangeEvent]) -> None:
        """Emit each event of `batch` in order (its per-type subscribers), then hand the batch's catalogue events to
        the published-event subscribers at once, so that a bulk write publishes with a few statements, not a few per
        item."""
        self._check_ready()
        for event in batch:
            for subscriber in self._subscribers.get(type(event), ()):
                await subscriber(conn, event)
        if self._published:
            published = [e for e in batch if e.catalogue_name is not None]
            if published:
                for publish in self._published:
                    await publish(conn, published)
        # Last: what a batch subscriber changes in reaction is published after the change it reacts to.
        for types, batch_subscriber in self._batch:
            chosen = [e for e in batch if isinstance(e, types)]
            if chosen:
                await batch_subscriber(conn, chosen)


#: The service's registry: what start-up wires and every write emits to.
registry = EventRegistry()


async def emit(conn: Connection, event: ChangeEvent) -> None:
    """Emit `event` to the service's registry, inside the caller's transaction (see the module docstring)."""
    await registry.emit(conn, event)


async def emit_many(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    """Emit the events of a bulk write to the service's registry at once (see `EventRegistry.emit_many`)."""
    await registry.emit_many(conn, batch)


def wanted(*event_types: type[ChangeEvent]) -> bool:
    """Whether the service's registry has a subscriber for any of `event_types` (see `EventRegistry.wanted`)."""
    return registry.wanted(*event_types)
