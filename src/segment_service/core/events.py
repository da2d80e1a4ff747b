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

from collections.abc import Awaitable, Callable
from typing import ClassVar, TypeVar

import msgspec

from segment_service.core.db import Connection


class ChangeEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A committed-with-the-write fact about one thing of one tenant."""

    #: The Emporix webhook event type this event is published as; None for events of this service's own.
    catalogue_name: ClassVar[str | None] = None
    tenant: str


# --- Customer Segment service (events-customer-segment) ----------------------------------------------------------


class SegmentCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.segment-created"
    segment_id: str


class SegmentUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.segment-updated"
    segment_id: str
    #: The status before the write, when the write read it (the catalogue payload's `previousStatus`).
    previous_status: str | None = None


class SegmentDeleted(ChangeEvent, frozen=True, kw_only=True):
    """The segment and, through its foreign keys, all of its customer and item assignments are gone."""

    catalogue_name: ClassVar[str | None] = "customer-segment.segment-deleted"
    segment_id: str


class CustomerAssignmentCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.customer-assignment-created"
    segment_id: str
    customer_id: str
    #: None for a B2C membership.
    legal_entity_id: str | None = None
    assignment_type: str = "MANUAL"


class CustomerAssignmentUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.customer-assignment-updated"
    segment_id: str
    customer_id: str
    legal_entity_id: str | None = None
    assignment_type: str = "MANUAL"


class CustomerAssignmentDeleted(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.customer-assignment-deleted"
    segment_id: str
    customer_id: str
    legal_entity_id: str | None = None


class ItemAssignmentCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.item-assignment-created"
    segment_id: str
    #: PRODUCT or CATEGORY (the catalogue payload's `type`).
    item_type: str
    item_id: str


class ItemAssignmentUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.item-assignment-updated"
    segment_id: str
    item_type: str
    item_id: str


class ItemAssignmentDeleted(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer-segment.item-assignment-deleted"
    segment_id: str
    item_type: str
    item_id: str


# --- Customer service (events-customer) --------------------------------------------------------------------------


class CustomerCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer.created"
    customer_id: str


class CustomerUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "customer.updated"
    customer_id: str


class CustomerDeleted(ChangeEvent, frozen=True, kw_only=True):
    """The customer is gone. No foreign key points at customers: the subscribers remove its contact assignments, its
    segment customer assignments and its sessions."""

    catalogue_name: ClassVar[str | None] = "customer.deleted"
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
    category_id: str


class CategoryUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "category.updated"
    category_id: str


class CategoryDeleted(ChangeEvent, frozen=True, kw_only=True):
    """The category is gone (one event per category of a deleted subtree); its product assignments went with it
    (foreign key)."""

    catalogue_name: ClassVar[str | None] = "category.deleted"
    category_id: str


class CategoryAssignmentCreated(ChangeEvent, frozen=True, kw_only=True):
    """A product was assigned to a category (the catalogue's `assignment` with `ref.type` PRODUCT)."""

    catalogue_name: ClassVar[str | None] = "assignment.created"
    assignment_id: str
    category_id: str
    product_id: str


class CategoryAssignmentDeleted(ChangeEvent, frozen=True, kw_only=True):
    """One removed assignment (the catalogue's payload lists a category's removed assignments together)."""

    catalogue_name: ClassVar[str | None] = "assignment.deleted"
    assignment_id: str
    category_id: str
    product_id: str


class ProductCreated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "product.created"
    product_id: str


class ProductUpdated(ChangeEvent, frozen=True, kw_only=True):
    catalogue_name: ClassVar[str | None] = "product.updated"
    product_id: str


class ProductDeleted(ChangeEvent, frozen=True, kw_only=True):
    """The product is gone; its category assignments went with it (foreign key)."""

    catalogue_name: ClassVar[str | None] = "product.deleted"
    product_id: str


# --- the registry ---------------------------------------------------------------------------------------------------

E = TypeVar("E", bound=ChangeEvent)
Subscriber = Callable[[Connection, E], Awaitable[None]]


class ReactionsNotRegistered(RuntimeError):
    """A write emitted an event before start-up registered the reactions."""


class EventRegistry:
    """Subscribers by exact event type, in registration order."""

    def __init__(self) -> None:
        self._subscribers: dict[type[ChangeEvent], list[Subscriber[ChangeEvent]]] = {}
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

    def subscribers(self, event_type: type[ChangeEvent]) -> tuple[Subscriber[ChangeEvent], ...]:
        """The subscribers of `event_type`, in the order they run."""
        return tuple(self._subscribers.get(event_type, ()))

    def wanted(self, *event_types: type[ChangeEvent]) -> bool:
        """Whether any of `event_types` has a subscriber: lets a hot bulk path skip building events nobody reads
        (the registry must still be ready, as for `emit`)."""
        self._check_ready()
        return any(self._subscribers.get(t) for t in event_types)

    def _check_ready(self) -> None:
        if not self.ready:
            raise ReactionsNotRegistered(
                "A write ran before the reactions were registered (segment_service.reactions.register_reactions)."
            )

    async def emit(self, conn: Connection, event: ChangeEvent) -> None:
        """Run the subscribers of the event's type on `conn`, one after the other; the first to raise stops the rest
        and fails the caller's transaction."""
        self._check_ready()
        for subscriber in self._subscribers.get(type(event), ()):
            await subscriber(conn, event)


#: The service's registry: what start-up wires and every write emits to.
registry = EventRegistry()


async def emit(conn: Connection, event: ChangeEvent) -> None:
    """Emit `event` to the service's registry, inside the caller's transaction (see the module docstring)."""
    await registry.emit(conn, event)


def wanted(*event_types: type[ChangeEvent]) -> bool:
    """Whether the service's registry has a subscriber for any of `event_types` (see `EventRegistry.wanted`)."""
    return registry.wanted(*event_types)
