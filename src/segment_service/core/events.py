"""Change events: what a write tells the rest of the service, inside its own transaction (docs/events.md).

A write emits a typed event once its change is made, on the connection of its transaction:

    await events.emit(conn, CustomerDeleted(tenant=tenant, customer_id=customer_id, email=email))

and every subscriber registered for that event type runs then and there, on the same connection, in registration
order. A subscriber that raises fails the write: the transaction rolls back and nothing of it, nor of the other
subscribers, is kept. A subscriber may write and may emit events of its own (they run before `emit` returns).

Subscribers register once at start-up, each reacting service from its own `reactions.py`, all wired by
`segment_service.reactions.register_reactions` (app.py and the import path call it). Until then `emit` refuses to
run, so a write can never skip its reactions silently.

The registry itself (`emit`, `emit_many`, `wanted`, `registry`, the `ChangeEvent` base) lives in
core/event_registry.py and is re-exported here. Event classes carry the tenant and the ids of what changed, plus
the few fields a catalogue payload needs where they are at hand. Those the Emporix webhook catalogue defines carry
its event type as `catalogue_name`; the others (`None`) exist because a reaction needs them.
"""

from __future__ import annotations

from typing import ClassVar

from segment_service.core.event_registry import (
    BatchSubscriber,
    ChangeEvent,
    EventRegistry,
    PayloadBuilder,
    PublishedSubscriber,
    ReactionsNotRegistered,
    Subscriber,
    emit,
    emit_many,
    registry,
    wanted,
)

__all__ = [
    "BatchSubscriber",
    "ChangeEvent",
    "EventRegistry",
    "PayloadBuilder",
    "PublishedSubscriber",
    "ReactionsNotRegistered",
    "Subscriber",
    "emit",
    "emit_many",
    "registry",
    "wanted",
]


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
    #: What the removed assignment was: a rule's (AUTOMATIC) or a manual one.
    assignment_type: str = "MANUAL"


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
    """A customer was made a contact of a legal entity, or its contact assignments of that legal entity changed (one
    changed, or one of several types was removed)."""

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
    """Orders were created, changed or deleted in this transaction (one event for a whole import batch): `order_ids`
    changed, and the purchase facts of every customer in `customer_ids` (before or after the change) are stale."""

    order_ids: tuple[str, ...]
    customer_ids: tuple[str, ...]


class PurchaseSettingsChanged(ChangeEvent, frozen=True, kw_only=True):
    """The tenant's counted order statuses changed: every purchase fact may have changed."""


# --- Coupon service (no catalogue events) --------------------------------------------------------------------------


class CouponChanged(ChangeEvent, frozen=True, kw_only=True):
    """The coupon `code` (as stored) or its redemptions changed: created, replaced, patched, deleted, redeemed, or a
    redemption deleted. What a validation remembers of the coupon is stale (answers/reactions.py marks it)."""

    code: str
