"""Change events: what a write tells the rest of the service, inside its own transaction (docs/events.md).

A write emits a typed event once its change is made, on the connection of its transaction:

    await events.emit(conn, CustomerDeleted(tenant=tenant, customer_id=customer_id, email=email))

and every subscriber registered for that event type runs then and there, on the same connection, in registration
order. A subscriber that raises fails the write: the transaction rolls back and nothing of it, nor of the other
subscribers, is kept. A subscriber may write and may emit events of its own (they run before `emit` returns).

Subscribers register once at start-up, each reacting service from its own `reactions.py`, all wired by
`segment_service.reactions.register_reactions` (app.py and the import path call it). Until then `emit` refuses to
run, so a write can never skip its reactions silently.

Event classes carry the tenant and the ids of what changed, plus the few fields a catalogue payload needs where
they are at hand. Those the Emporix webhook catalogue defines carry its event type as `catalogue_name`; the others
(`None`) exist because a reaction needs them.
"""

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


# --- Customer Segment service (events-customer-segment) ----------------------------------------------------------


class SegmentCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.segment-created"
    ordering_field: ClassVar[str] = "segment_id"
    segment_id: str


class SegmentUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.segment-updated"
    ordering_field: ClassVar[str] = "segment_id"
    segment_id: str
    #: The status before the write, when the write read it (the catalogue payload's `previousStatus`).
    previous_status: str | None = None


class SegmentDeleted(ChangeEvent, frozen=True, kw_only=True):
    """The segment and, through its foreign keys, all of its customer and item assignments are gone."""

    catalogue_name: ClassVar[str | None] = "customer-segment.segment-deleted"
    ordering_field: ClassVar[str] = "segment_id"
    segment_id: str


class CustomerAssignmentCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.customer-assignment-created"
    ordering_field: ClassVar[str] = "segment_id"
    segment_id: str
    customer_id: str
    #: None for a B2C membership.
    legal_entity_id: str | None = None
    assignment_type: str = "MANUAL"


class CustomerAssignmentUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.customer-assignment-updated"
    ordering_field: ClassVar[str] = "segment_id"
    segment_id: str
    customer_id: str
    legal_entity_id: str | None = None
    assignment_type: str = "MANUAL"


class CustomerAssignmentDeleted(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.customer-assignment-deleted"
    ordering_field: ClassVar[str] = "segment_id"
    segment_id: str
    customer_id: str
    legal_entity_id: str | None = None


class ItemAssignmentCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.item-assignment-created"
    ordering_field: ClassVar[str] = "segment_id"
    segment_id: str
    #: PRODUCT or CATEGORY (the catalogue payload's `type`).
    item_type: str
    item_id: str


class ItemAssignmentUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.item-assignment-updated"
    ordering_field: ClassVar[str] = "segment_id"
    segment_id: str
    item_type: str
    item_id: str


class ItemAssignmentDeleted(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.item-assignment-deleted"
    ordering_field: ClassVar[str] = "segment_id"
    segment_id: str
    item_type: str
    item_id: str


# --- Customer service (events-customer) --------------------------------------------------------------------------


class CustomerCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer.created"
    ordering_field: ClassVar[str] = "customer_id"
    customer_id: str


class CustomerUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer.updated"
    ordering_field: ClassVar[str] = "customer_id"
    customer_id: str


class CustomerDeleted(ChangeEvent, frozen=True, kw_only=True):
    """The customer is gone. No foreign key points at customers: the subscribers remove its contact assignments, its
    segment customer assignments and its sessions."""

    catalogue_name: ClassVar[str | None] = "customer.deleted"
    ordering_field: ClassVar[str] = "customer_id"
    customer_id: str
    #: The deleted customer's contact email (the catalogue payload's `email`).
    email: str | None = None


class CustomerDeactivated(ChangeEvent, frozen=True, kw_only=True):
    """An update left the customer inactive (emitted after its CustomerUpdated, also when it was inactive before:
    no session of an inactive customer outlives a write of it)."""

    customer_id: str


# --- Legal entities and their contacts (no catalogue events) ------------------------------------------------------


class LegalEntityCreated(ChangeEvent, frozen=True, kw_only=True):
    legal_entity_id: str


class LegalEntityUpdated(ChangeEvent, frozen=True, kw_only=True):
    legal_entity_id: str


class LegalEntityDeleted(ChangeEvent, frozen=True, kw_only=True):
    """The legal entity is gone; a deletion emits one per entity of the removed subtree, the requested one first,
    after the ContactRemoved events of the contacts the subtree had."""

    legal_entity_id: str


class ContactAssigned(ChangeEvent, frozen=True, kw_only=True):
    """A customer was made a contact of a legal entity, or its contact assignment changed."""

    customer_id: str
    legal_entity_id: str


class ContactRemoved(ChangeEvent, frozen=True, kw_only=True):
    """The customer is no longer a contact (of any type) of the legal entity."""

    customer_id: str
    legal_entity_id: str


# --- Category and product services (events-category, events-product) ---------------------------------------------


class CategoryCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "category.created"
    ordering_field: ClassVar[str] = "category_id"
    category_id: str


class CategoryUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "category.updated"
    ordering_field: ClassVar[str] = "category_id"
    category_id: str


class CategoryDeleted(ChangeEvent, frozen=True, kw_only=True):
    """The category is gone (one event per category of a deleted subtree); its product assignments went with it
    (foreign key)."""

    catalogue_name: ClassVar[str | None] = "category.deleted"
    ordering_field: ClassVar[str] = "category_id"
    category_id: str
    #: Its parent before the deletion (the catalogue payload's `parentId`); None for a root.
    parent_id: str | None = None


class CategoryAssignmentCreated(ChangeEvent, frozen=True, kw_only=True):
    """A product was assigned to a category (the catalogue's `assignment` with `ref.type` PRODUCT)."""

    catalogue_name: ClassVar[str | None] = "assignment.created"
    ordering_field: ClassVar[str] = "category_id"
    assignment_id: str
    category_id: str
    product_id: str


class CategoryAssignmentDeleted(ChangeEvent, frozen=True, kw_only=True):
    """One removed assignment (the catalogue's payload lists a category's removed assignments together)."""

    catalogue_name: ClassVar[str | None] = "assignment.deleted"
    ordering_field: ClassVar[str] = "category_id"
    assignment_id: str
    category_id: str
    product_id: str


class ProductCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "product.created"
    ordering_field: ClassVar[str] = "product_id"
    product_id: str


class ProductUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "product.updated"
    ordering_field: ClassVar[str] = "product_id"
    product_id: str


class ProductDeleting(ChangeEvent, frozen=True, kw_only=True):
    """The product is about to be deleted in this transaction (emitted just before its row goes): rows that the
    foreign-key cascade would remove silently are removed by their services first, each announcing its deletion."""

    product_id: str


class ProductDeleted(ChangeEvent, frozen=True, kw_only=True):
    """The product is gone; its category assignments went with it (foreign key)."""

    catalogue_name: ClassVar[str | None] = "product.deleted"
    ordering_field: ClassVar[str] = "product_id"
    product_id: str


# --- Order service (events-order) --------------------------------------------------------------------------------


class OrderCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "order.created"
    ordering_field: ClassVar[str] = "order_id"
    order_id: str


class OrderUpdated(ChangeEvent, frozen=True, kw_only=True):
    """The order's content changed (PUT, PATCH, or its customer's deletion anonymised it)."""

    catalogue_name: ClassVar[str | None] = "order.updated"
    ordering_field: ClassVar[str] = "order_id"
    order_id: str


class OrderStatusChanged(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "order.status-changed"
    ordering_field: ClassVar[str] = "order_id"
    order_id: str
    previous_status: str


class OrderCancelled(ChangeEvent, frozen=True, kw_only=True):
    """The order went to DECLINED (emitted after its OrderStatusChanged)."""

    catalogue_name: ClassVar[str | None] = "order.cancelled"
    ordering_field: ClassVar[str] = "order_id"
    order_id: str


class OrderDeleted(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "order.deleted"
    ordering_field: ClassVar[str] = "order_id"
    order_id: str
    #: What the catalogue payload tells of the deleted order.
    site_code: str | None = None
    status: str | None = None


class OrdersChanged(ChangeEvent, frozen=True, kw_only=True):
    """Orders were created, changed or deleted in this transaction (one event for a whole import batch): the purchase
    facts of `order_ids` and of every customer in `customer_ids` (before or after the change) are stale."""

    order_ids: tuple[str, ...]
    customer_ids: tuple[str, ...]


# --- the registry ---------------------------------------------------------------------------------------------------

E = TypeVar("E", bound=ChangeEvent)
Subscriber = Callable[[Connection, E], Awaitable[None]]
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
