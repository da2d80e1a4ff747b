"""Tenant-managed customer rules and transactions (customer.yml); no HTTP here.

Other services call `customer_exists` and `fetch_customers` inside their own transactions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from segment_service.core import events
from segment_service.core.auth import Caller
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, NotFound, VersionConflict
from segment_service.core.ids import check_custom_id, new_id
from segment_service.core.listing import parse_search
from segment_service.core.models import UNSET, UnsetType
from segment_service.core.paging import Page
from segment_service.core.patch import merge_patch
from segment_service.customers import store
from segment_service.customers.models import (
    CustomerPatchBySellerDto,
    CustomerPatchDto,
    CustomerSignupBySellerDto,
    CustomerUpdateBySellerDto,
)
from segment_service.customers.passwords import Passwords
from segment_service.customers.store import CustomerRow

__all__ = [
    "CustomerRow",
    "Expand",
    "create_customer",
    "customer_document",
    "customer_exists",
    "delete_customer",
    "fetch_customers",
    "get_customer",
    "list_customers",
    "parse_expand",
    "patch_customer",
    "upsert_customer",
]

#: Words that are paths under /customers (search, import) or reserved for bulk
#: (docs/decisions.md#ids-and-reserved-words), so not customer ids.
RESERVED_IDS = frozenset({"bulk", "import", "search"})
#: The customer id of a guest's order (order.yml's `customer.id` default): no customer may have it.
GUEST_CUSTOMER_ID = "ANONYMOUS"
#: Loose on purpose: one `@` with text on both sides and no spaces. Deliverability is the tenant's business.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
#: `expand` values the spec lists that this project holds nothing for (no addresses, no separate accounts).
_EXPAND_IGNORED = frozenset({"addresses", "accounts"})


def check_customer_id(value: str, *, field: str = "id") -> str:
    """A client-chosen customer id: `check_custom_id`'s rules, and not the guest's id."""
    check_custom_id(value, reserved=RESERVED_IDS, field=field)
    if value == GUEST_CUSTOMER_ID:
        raise BadRequest(
            f"Invalid {field} '{value}': orders name guests with it, so no customer can have it.",
            field=field,
            type="invalid_value",
        )
    return value


def not_found(customer_id: str) -> NotFound:
    """The 404 of customer.yml's `404_customer` response."""
    return NotFound(f"Couldn't find a customer with customerNumber '{customer_id}'.")


# -------------------------------------------------------------------------------------------------- documents


@dataclass(frozen=True, slots=True)
class Expand:
    """Which mixins a read returns: none (the spec's default), all (`mixin:*`) or the named ones (`mixin:name`)."""

    all_mixins: bool = False
    mixins: frozenset[str] = frozenset()


def parse_expand(expand: str | None) -> Expand:
    """The `expand` parameter: `mixin:*`, `mixin:<name>`, and the spec's `addresses`/`accounts` (nothing to add)."""
    if expand is None or not expand.strip():
        return Expand()
    all_mixins = False
    names: set[str] = set()
    for part in (p.strip() for p in expand.split(",")):
        if not part or part in _EXPAND_IGNORED:
            continue
        kind, _, name = part.partition(":")
        if kind != "mixin" or not name:
            raise BadRequest(
                f"Invalid expand '{part[:80]}': use mixin:* (or mixin:<name>), addresses or accounts.",
                field="expand",
                type="invalid_query_parameter",
            )
        if name == "*":
            all_mixins = True
        else:
            names.add(name)
    return Expand(all_mixins, frozenset(names))


def customer_document(row: CustomerRow, expand: Expand = Expand()) -> dict[str, Any]:
    """The `CustomerForSellerDto` of a stored customer; `customerNumber` is the id."""
    doc: dict[str, Any] = {"id": row.id, "customerNumber": row.id}
    for name, value in (
        ("contactEmail", row.contact_email),
        ("title", row.title),
        ("firstName", row.first_name),
        ("lastName", row.last_name),
        ("company", row.company),
        ("preferredLanguage", row.preferred_language),
    ):
        if value is not None:
            doc[name] = value
    doc["active"] = row.active
    if row.mixins is not None and (expand.all_mixins or expand.mixins):
        # customer.yml: "The property is not returned by default ... use expand=mixin:*".
        doc["mixins"] = row.mixins if expand.all_mixins else {k: v for k, v in row.mixins.items() if k in expand.mixins}
    metadata: dict[str, Any] = {"version": row.version, "createdAt": row.created_at, "modifiedAt": row.modified_at}
    if row.metadata_mixins is not None:
        metadata["mixins"] = row.metadata_mixins
    doc["metadata"] = metadata
    return doc


def _patchable_document(row: CustomerRow) -> dict[str, Any]:
    """The stored profile as a PUT body would write it, for merge patches to apply to."""
    doc = {
        k: v
        for k, v in customer_document(row, Expand(all_mixins=True)).items()
        if k not in ("id", "customerNumber", "metadata")
    }
    metadata: dict[str, Any] = {"version": row.version}
    if row.metadata_mixins is not None:
        metadata["mixins"] = row.metadata_mixins
    doc["metadata"] = metadata
    return doc


# ------------------------------------------------------------------------------------------------------ writes


def check_email(email: str, *, field: str = "contactEmail") -> str:
    """An email address as customers log in with it; 400 naming the field otherwise."""
    if not _EMAIL.fullmatch(email):
        raise BadRequest(
            f"Invalid {field} '{email[:80]}': expected an email address such as john.doe@example.com.",
            field=field,
            type="invalid_value",
        )
    return email


def _text(value: str | None | UnsetType) -> str | None:
    return None if isinstance(value, UnsetType) else value


def content_from_body(customer_id: str, body: CustomerUpdateBySellerDto) -> store.CustomerContent:
    """A customer row from a create or replace body, checked against the rules the schema cannot express."""
    email = _text(body.contact_email)
    metadata_mixins = None
    if body.metadata is not UNSET and body.metadata is not None and body.metadata.mixins is not UNSET:
        metadata_mixins = body.metadata.mixins
    return store.CustomerContent(
        id=customer_id,
        contact_email=None if email is None else check_email(email),
        title=_text(body.title),
        first_name=_text(body.first_name),
        last_name=_text(body.last_name),
        company=_text(body.company),
        preferred_language=_text(body.preferred_language),
        active=body.active,
        mixins=None if body.mixins is UNSET else body.mixins,
        metadata_mixins=metadata_mixins,
    )


def _expected_version(body: CustomerUpdateBySellerDto) -> int | None:
    if body.metadata is UNSET or body.metadata is None or body.metadata.version is UNSET:
        return None
    return body.metadata.version


def _keep_email(current: CustomerRow, content: store.CustomerContent) -> None:
    """customer.yml: the contact email "cannot be unset once a value is present" (it is also the login)."""
    if current.contact_email is not None and content.contact_email is None:
        raise BadRequest(
            "contactEmail cannot be removed once it is set; send the current or a new address.",
            field="contactEmail",
            type="invalid_value",
        )


async def create_customer(
    db: Database, caller: Caller, body: CustomerSignupBySellerDto, *, passwords: Passwords
) -> str:
    """Create a customer, with an initial password when the body has one; its id (generated unless named)."""
    customer_id = new_id() if body.id is UNSET else check_customer_id(body.id)
    content = content_from_body(customer_id, body)
    password_hash = None if body.password is UNSET else await passwords.hash(body.password)
    async with db.transaction() as conn:
        await store.insert_customer(
            conn, caller.tenant, content, password_hash=password_hash, initial_password=password_hash is not None
        )
        await events.emit(conn, events.CustomerCreated(tenant=caller.tenant, customer_id=customer_id))
    return customer_id


async def upsert_customer(db: Database, caller: Caller, customer_id: str, body: CustomerUpdateBySellerDto) -> bool:
    """Replace the customer's profile or create it; whether it was created. A sent `metadata.version` must match."""
    check_customer_id(customer_id, field="customerNumber")
    content = content_from_body(customer_id, body)
    async with db.transaction() as conn:
        current = await store.fetch_customer_for_update(conn, caller.tenant, customer_id)
        if current is None:
            await store.insert_customer(conn, caller.tenant, content)
            await events.emit(conn, events.CustomerCreated(tenant=caller.tenant, customer_id=customer_id))
            return True
        expected = _expected_version(body)
        if expected is not None and expected != current.version:
            raise VersionConflict()
        _keep_email(current, content)
        await store.update_customer(conn, caller.tenant, content)
        await emit_updated(conn, caller.tenant, content)
        return False


async def emit_updated(conn: Connection, tenant: str, content: store.CustomerContent) -> None:
    """Announce a written customer: CustomerUpdated, and CustomerDeactivated when it is inactive now (its sessions
    end then: oauth/reactions.py). Every update of an inactive customer announces it, so that no session of one
    outlives a write, as before events existed."""
    await events.emit(conn, events.CustomerUpdated(tenant=tenant, customer_id=content.id))
    if not content.active:
        await events.emit(conn, events.CustomerDeactivated(tenant=tenant, customer_id=content.id))


async def merge_into_customer(conn: Connection, tenant: str, current: CustomerRow, patch: dict[str, Any]) -> None:
    """Apply a merge patch (RFC 7396) to a locked customer and store the result as a PUT of it would be."""
    merged = merge_patch(_patchable_document(current), patch)
    try:
        body = msgspec.convert(merged, type=CustomerUpdateBySellerDto, str_keys=True)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Validation problem with the patched customer: {exc}.", type="invalid_value") from exc
    expected = _expected_version(body)
    if expected is not None and expected != current.version:
        raise VersionConflict()
    content = content_from_body(current.id, body)
    _keep_email(current, content)
    await store.update_customer(conn, tenant, content)
    await emit_updated(conn, tenant, content)


def patch_body(patch: CustomerPatchBySellerDto | CustomerPatchDto) -> dict[str, Any]:
    """A decoded merge object back as JSON: members left out stay out, `null` stays null (it removes)."""
    return msgspec.to_builtins(patch)  # type: ignore[no-any-return]


async def patch_customer(db: Database, caller: Caller, customer_id: str, patch: CustomerPatchBySellerDto) -> None:
    """Change the members of the customer that the merge object names."""
    async with db.transaction() as conn:
        current = await store.fetch_customer_for_update(conn, caller.tenant, customer_id)
        if current is None:
            raise not_found(customer_id)
        await merge_into_customer(conn, caller.tenant, current, patch_body(patch))


async def delete_customer(db: Database, caller: Caller, customer_id: str) -> None:
    """Delete a customer; 404 when there is none (customer.yml declares it).

    Nothing may keep pointing at the customer: its sessions, contact assignments and segment memberships go with it,
    through the subscribers of CustomerDeleted (docs/events.md)."""
    async with db.transaction() as conn:
        deleted = await store.delete_customer(conn, caller.tenant, customer_id)
        if deleted is None:
            raise not_found(customer_id)
        await events.emit(
            conn, events.CustomerDeleted(tenant=caller.tenant, customer_id=customer_id, email=deleted.email)
        )


# ------------------------------------------------------------------------------------------------------- reads


async def get_customer(db: Database, caller: Caller, customer_id: str, *, expand: Expand) -> dict[str, Any]:
    """One customer; 404 when there is none."""
    async with db.connection() as conn:
        row = await store.fetch_customer(conn, caller.tenant, customer_id)
    if row is None:
        raise not_found(customer_id)
    return customer_document(row, expand)


async def list_customers(
    db: Database, caller: Caller, *, q: str | None, page: Page, sort: str | None, with_total: bool, expand: Expand
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the tenant's customers that match `q`, and the total when asked for."""
    search = parse_search(q, sort, store.CUSTOMER_FIELDS)
    rows, total = await db.read(
        caller.read_key,
        lambda conn: store.list_customers(conn, caller.tenant, search, page=page, with_total=with_total),
    )
    return [customer_document(r, expand) for r in rows], total


# ------------------------------------------------------------------------------------------ for other services


async def customer_exists(conn: Connection, tenant: str, customer_id: str, *, for_write: bool = False) -> bool:
    """Whether the customer exists in the tenant. `for_write` keeps it from being deleted until the caller's
    transaction ends, for a write that stores a reference to it: a delete committing between the check and the write
    would miss the new row (CustomerDeleted's subscribers remove only what they see) and leave it behind."""
    if for_write:
        return await store.customer_exists_locked(conn, tenant, customer_id)
    return await store.customer_exists(conn, tenant, customer_id)


async def existing_customer_ids(
    conn: Connection, tenant: str, ids: Sequence[str], *, for_write: bool = False
) -> set[str]:
    """Which of `ids` name a customer of the tenant, in one query (for checks of large batches); `for_write` keeps
    them from being deleted until the caller's transaction ends, as in `customer_exists`."""
    if not ids:
        return set()
    if for_write:
        return await store.existing_customer_ids_locked(conn, tenant, ids)
    return await store.existing_customer_ids(conn, tenant, ids)


async def fetch_customers(conn: Connection, tenant: str, ids: Sequence[str]) -> dict[str, CustomerRow]:
    """The existing customers among `ids`, by id, in one query (`contact_email`, `first_name`, `last_name`, ...)."""
    if not ids:
        return {}
    return await store.fetch_customers(conn, tenant, ids)
