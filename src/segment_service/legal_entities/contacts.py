"""Contact-assignment rules and transactions (Customer Management, legal-entity.yml: which customers are contacts of
which legal entity); no HTTP here. Other services ask `service.is_contact` and friends."""

from __future__ import annotations

from typing import Any

from segment_service.core import events
from segment_service.core.auth import Caller
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, VersionConflict
from segment_service.core.ids import check_custom_id, new_id
from segment_service.core.listing import parse_search
from segment_service.core.models import UNSET, UnsetType
from segment_service.core.paging import Page
from segment_service.customers import service as customers_service
from segment_service.legal_entities import contact_store, service, store
from segment_service.legal_entities.models import (
    ContactAssignmentCreate,
    ContactAssignmentFields,
    ContactAssignmentFilters,
    ContactAssignmentUpdate,
    MetadataCreate,
    MetadataUpdate,
)

__all__ = [
    "contact_assignment_document",
    "create_contact_assignment",
    "delete_contact_assignment",
    "get_contact_assignment",
    "list_contact_assignments",
    "upsert_contact_assignment",
]


def _customer(customer_id: str, customer: customers_service.CustomerRow | None) -> dict[str, Any]:
    """The spec's `customer` of an assignment: id, name, surname and email as the customer service holds them."""
    doc: dict[str, Any] = {"id": customer_id}
    if customer is not None:
        for key, value in (
            ("name", customer.first_name),
            ("surname", customer.last_name),
            ("email", customer.contact_email),
        ):
            if value is not None:
                doc[key] = value
    return doc


def contact_assignment_document(
    row: store.ContactAssignmentRow, customer: customers_service.CustomerRow | None
) -> dict[str, Any]:
    """The `contactAssignment` of a stored row, its legal entity and customer expanded as the spec's examples show."""
    doc: dict[str, Any] = {
        "id": row.id,
        "legalEntity": service.legal_entity_document(row.legal_entity),
        "customer": _customer(row.customer_id, customer),
        "type": row.type,
        "primary": row.is_primary,
    }
    if row.mixins is not None:
        doc["mixins"] = row.mixins
    doc["metadata"] = service.metadata_document(row.version, row.created_at, row.modified_at, row.metadata_mixins)
    return doc


def _contact_content(
    assignment_id: str,
    body: ContactAssignmentFields,
    contact_type: str,
    metadata: MetadataCreate | MetadataUpdate | UnsetType | None,
) -> store.ContactAssignmentContent:
    return store.ContactAssignmentContent(
        id=assignment_id,
        legal_entity_id=body.legal_entity.id,
        customer_id=body.customer.id,
        type=contact_type,
        is_primary=body.primary,
        mixins=None if body.mixins is UNSET else body.mixins,
        metadata_mixins=service.metadata_mixins(metadata),
    )


async def _check_references(conn: Connection, tenant: str, row: store.ContactAssignmentContent) -> None:
    """The legal entity and the customer must exist in the tenant (400 naming the missing one)."""
    if not await store.legal_entity_exists(conn, tenant, row.legal_entity_id):
        raise BadRequest(
            f"The legal entity '{row.legal_entity_id}' does not exist.",
            field="legalEntity.id",
            type="invalid_reference",
        )
    if not await customers_service.customer_exists(conn, tenant, row.customer_id, for_write=True):
        raise BadRequest(
            f"The customer '{row.customer_id}' does not exist.", field="customer.id", type="invalid_reference"
        )


async def create_contact_assignment(db: Database, caller: Caller, body: ContactAssignmentCreate) -> str:
    """Make a customer a contact of a legal entity; the assignment's id (generated unless the body names one)."""
    assignment_id = new_id() if body.id is UNSET else check_custom_id(body.id)
    content = _contact_content(assignment_id, body, body.type.value, body.metadata)
    async with db.transaction() as conn:
        await _check_references(conn, caller.tenant, content)
        await contact_store.insert_contact_assignment(conn, caller.tenant, content)
        await _emit_assigned(conn, caller.tenant, content)
    return assignment_id


async def upsert_contact_assignment(
    db: Database, caller: Caller, assignment_id: str, body: ContactAssignmentUpdate
) -> bool:
    """Replace or create the contact assignment `assignment_id`; whether it was created."""
    check_custom_id(assignment_id)
    content = _contact_content(assignment_id, body, body.type.value, body.metadata)
    async with db.transaction() as conn:
        await _check_references(conn, caller.tenant, content)
        written = await contact_store.upsert_contact_assignment(
            conn, caller.tenant, content, service.expected_version(body.metadata)
        )
        if written is None:
            raise VersionConflict(resource_id=assignment_id)
        created, previous = written
        await _emit_assigned(conn, caller.tenant, content)
        if previous is not None and previous != (content.customer_id, content.legal_entity_id):
            await _after_contact_left(conn, caller.tenant, *previous)
    return created


async def delete_contact_assignment(db: Database, caller: Caller, assignment_id: str) -> None:
    """Delete a contact assignment; 404 when it does not exist."""
    async with db.transaction() as conn:
        removed = await contact_store.delete_contact_assignment(conn, caller.tenant, assignment_id)
        if removed is None:
            raise service.not_found("contact assignment", assignment_id)
        await _after_contact_left(conn, caller.tenant, *removed)


async def _emit_assigned(conn: Connection, tenant: str, content: store.ContactAssignmentContent) -> None:
    await events.emit(
        conn,
        events.ContactAssigned(tenant=tenant, customer_id=content.customer_id, legal_entity_id=content.legal_entity_id),
    )


async def _after_contact_left(conn: Connection, tenant: str, customer_id: str, legal_entity_id: str) -> None:
    """A customer who is no longer a contact (of any type) of a legal entity: ContactRemoved, so that its memberships
    in that context go and its sessions in it end (docs/behaviour.md, docs/events.md). Still a contact through an
    assignment of another type: ContactAssigned, since what the pair's contact assignments say has changed (rules
    that read `contact.*` decide again)."""
    await contact_store.lock_contact_pair(conn, tenant, customer_id, legal_entity_id)
    if await contact_store.is_contact(conn, tenant, customer_id, legal_entity_id):
        await events.emit(
            conn, events.ContactAssigned(tenant=tenant, customer_id=customer_id, legal_entity_id=legal_entity_id)
        )
        return
    await events.emit(
        conn, events.ContactRemoved(tenant=tenant, customer_id=customer_id, legal_entity_id=legal_entity_id)
    )


async def get_contact_assignment(db: Database, caller: Caller, assignment_id: str) -> dict[str, Any]:
    """One contact assignment of the tenant; 404 otherwise."""
    async with db.connection() as conn:
        row = await contact_store.fetch_contact_assignment(conn, caller.tenant, assignment_id)
        if row is None:
            raise service.not_found("contact assignment", assignment_id)
        customers = await customers_service.fetch_customers(conn, caller.tenant, [row.customer_id])
    return contact_assignment_document(row, customers.get(row.customer_id))


async def list_contact_assignments(
    db: Database,
    caller: Caller,
    *,
    q: str | None,
    filters: ContactAssignmentFilters,
    page: Page,
    sort: str | None,
    with_total: bool,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the tenant's contact assignments that match `q` and the filters, and the total when asked."""
    search = parse_search(q, sort, store.CONTACT_ASSIGNMENT_FIELDS)
    contact_assignments = contact_store.ContactAssignmentFilter(search, filters)
    async with db.connection() as conn:
        rows, total = await contact_store.list_contact_assignments(
            conn, caller.tenant, contact_assignments, page=page, with_total=with_total
        )
        customers = await customers_service.fetch_customers(conn, caller.tenant, sorted({r.customer_id for r in rows}))
    return [contact_assignment_document(r, customers.get(r.customer_id)) for r in rows], total
