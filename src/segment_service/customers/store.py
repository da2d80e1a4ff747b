"""Customer SQL. Every statement filters on tenant; the only SQL built at run time comes from `core.query`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.core.listing import ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind, spec_only
from segment_service.core.timefmt import iso_sql

#: The public field paths of a customer for `q` and `sort`, with the column each one reads.
CUSTOMER_FIELDS: dict[str, Field] = {
    "id": Field("c.id", FieldKind.TEXT),
    "customerNumber": Field("c.id", FieldKind.TEXT),
    "contactEmail": Field("c.contact_email", FieldKind.TEXT),
    "title": Field("c.title", FieldKind.TEXT),
    "firstName": Field("c.first_name", FieldKind.TEXT),
    "lastName": Field("c.last_name", FieldKind.TEXT),
    "company": Field("c.company", FieldKind.TEXT),
    "preferredLanguage": Field("c.preferred_language", FieldKind.TEXT),
    "active": Field("c.active", FieldKind.BOOLEAN),
    "metadata.version": Field("c.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("c.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("c.modified_at", FieldKind.DATETIME),
    # The flat spellings of Emporix's own q examples (docs/decisions.md#the-q-language; CustomerForSellerDto has
    # metadataCreatedAt).
    "metadataCreatedAt": Field("c.created_at", FieldKind.DATETIME),
    "metadataModifiedAt": Field("c.modified_at", FieldKind.DATETIME),
    "mixins": Field("c.mixins", FieldKind.JSON),
    # Fields of customer.yml the service does not store: absent from every customer (core/query FieldKind.ABSENT).
    **spec_only(
        "accounts",
        "addresses",
        "b2b",
        "businessModel",
        "contactPhone",
        "defaultAddress",
        "middleName",
        "onHold",
        "photoUrl",
        "preferredCurrency",
        "preferredSite",
        "restriction",
        "type",
    ),
}

#: Every profile column as the service reads it, date-times already in the wire format. Credentials never leave
#: this module except through `Credentials`.
_COLUMNS = (
    "c.id, c.contact_email, c.title, c.first_name, c.last_name, c.company, c.preferred_language, c.active, "
    "c.mixins, c.metadata_mixins, c.version, "
    + ", ".join(iso_sql(column) for column in ("c.created_at", "c.modified_at", "c.last_login"))
)

#: The unique index that keeps contact emails unique per tenant, regardless of case.
EMAIL_KEY = "customers_contact_email_key"


class CustomerContent(msgspec.Struct, kw_only=True):
    """What a client writes of a customer; the database keeps the version, the timestamps and the credentials."""

    id: str
    contact_email: str | None
    title: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    preferred_language: str | None
    active: bool
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None


class CustomerRow(msgspec.Struct, kw_only=True):
    """A stored customer profile; date-times are `2024-05-14T12:00:00.000Z` strings."""

    id: str
    contact_email: str | None
    title: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    preferred_language: str | None
    active: bool
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None
    version: int
    created_at: str
    modified_at: str
    last_login: str | None


class Credentials(msgspec.Struct, kw_only=True):
    """What login needs of a customer: the password hash and whether the account may log in."""

    id: str
    password_hash: str | None
    active: bool
    initial_password: bool


def _row(record: asyncpg.Record) -> CustomerRow:
    return CustomerRow(**record)


_SELECT_CUSTOMER = f"""
SELECT {_COLUMNS}
FROM customers c
WHERE c.tenant = $1 AND c.id = $2
"""

_SELECT_CUSTOMERS = f"""
SELECT {_COLUMNS}
FROM customers c
WHERE c.tenant = $1 AND c.id = ANY($2::text[])
"""

_CUSTOMER_EXISTS = """
SELECT EXISTS (SELECT 1 FROM customers WHERE tenant = $1 AND id = $2)
"""

# FOR KEY SHARE: the customer cannot be deleted until the caller's transaction ends (other writes of it go on).
_LOCK_CUSTOMER_KEY = """
SELECT 1 FROM customers WHERE tenant = $1 AND id = $2 FOR KEY SHARE
"""

_EXISTING_CUSTOMER_IDS = """
SELECT id FROM customers WHERE tenant = $1 AND id = ANY($2::text[])
"""

# Sorted, so that two batches locking overlapping customers take the locks in the same order.
_LOCK_CUSTOMER_KEYS = """
SELECT id FROM customers WHERE tenant = $1 AND id = ANY($2::text[]) ORDER BY id FOR KEY SHARE
"""

_SELECT_CUSTOMER_BY_EMAIL = f"""
SELECT {_COLUMNS}, c.password_hash IS NOT NULL AS has_password
FROM customers c
WHERE c.tenant = $1 AND lower(c.contact_email) = lower($2)
FOR UPDATE
"""

_INSERT_CUSTOMER = """
INSERT INTO customers (tenant, id, contact_email, title, first_name, last_name, company, preferred_language, active,
                       mixins, metadata_mixins, password_hash, initial_password, version, created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, now(), now())
"""

_UPDATE_CUSTOMER = """
UPDATE customers
SET contact_email = $3, title = $4, first_name = $5, last_name = $6, company = $7, preferred_language = $8,
    active = $9, mixins = $10, metadata_mixins = $11, version = version + 1, modified_at = now()
WHERE tenant = $1 AND id = $2
"""

_DELETE_CUSTOMER = """
DELETE FROM customers
WHERE tenant = $1 AND id = $2
RETURNING contact_email
"""

# ------------------------------------------------------------------------------------------------ credentials

_SELECT_CREDENTIALS = """
SELECT id, password_hash, active, initial_password
FROM customers
WHERE tenant = $1 AND id = $2
"""

_SET_PASSWORD = """
UPDATE customers
SET password_hash = $3, initial_password = $4, failed_logins = 0, locked_until = NULL, last_failed_login = NULL
WHERE tenant = $1 AND id = $2
"""


def _content_values(content: CustomerContent) -> tuple[Any, ...]:
    return (
        content.contact_email,
        content.title,
        content.first_name,
        content.last_name,
        content.company,
        content.preferred_language,
        content.active,
        content.mixins,
        content.metadata_mixins,
    )


def _conflict(exc: asyncpg.UniqueViolationError, tenant: str, content: CustomerContent) -> Exception:
    """The 409 a unique violation stands for, named by its constraint; anything else is re-raised as it is."""
    if exc.constraint_name == EMAIL_KEY:
        # customer.yml's 409 example: "Duplicate account '{email}' for tenant '{tenant}'."
        return Conflict(
            f"Duplicate account '{content.contact_email}' for tenant '{tenant}'.",
            field="contactEmail",
            type="duplicate_value",
        )
    if exc.constraint_name == "customers_pkey":
        return Conflict(f"A customer with id '{content.id}' already exists.", field="id", type="duplicate_value")
    return exc


async def fetch_customer(conn: Connection, tenant: str, customer_id: str) -> CustomerRow | None:
    """The customer with this id, or None."""
    record = await conn.fetchrow(_SELECT_CUSTOMER, tenant, customer_id)
    return None if record is None else _row(record)


async def fetch_customer_for_update(conn: Connection, tenant: str, customer_id: str) -> CustomerRow | None:
    """The customer with this id, locked until the transaction ends."""
    record = await conn.fetchrow(_SELECT_CUSTOMER + "FOR UPDATE", tenant, customer_id)
    return None if record is None else _row(record)


async def fetch_customers(conn: Connection, tenant: str, ids: Sequence[str]) -> dict[str, CustomerRow]:
    """The customers with these ids that exist, by id."""
    records = await conn.fetch(_SELECT_CUSTOMERS, tenant, list(ids))
    return {record["id"]: _row(record) for record in records}


async def existing_customer_ids(conn: Connection, tenant: str, ids: Sequence[str]) -> set[str]:
    """Which of these ids name a customer (an index-only scan: no row is read)."""
    return {record["id"] for record in await conn.fetch(_EXISTING_CUSTOMER_IDS, tenant, list(ids))}


async def existing_customer_ids_locked(conn: Connection, tenant: str, ids: Sequence[str]) -> set[str]:
    """`existing_customer_ids`, keeping those customers from being deleted until the transaction ends."""
    return {record["id"] for record in await conn.fetch(_LOCK_CUSTOMER_KEYS, tenant, list(ids))}


async def customer_exists(conn: Connection, tenant: str, customer_id: str) -> bool:
    """Whether the customer exists."""
    return bool(await conn.fetchval(_CUSTOMER_EXISTS, tenant, customer_id))


async def customer_exists_locked(conn: Connection, tenant: str, customer_id: str) -> bool:
    """`customer_exists`, keeping the customer from being deleted until the transaction ends."""
    return bool(await conn.fetch(_LOCK_CUSTOMER_KEY, tenant, customer_id))


async def fetch_customer_by_email_for_update(
    conn: Connection, tenant: str, email: str
) -> tuple[CustomerRow, bool] | None:
    """The customer whose contact email is `email` (any case), locked, and whether it has a password."""
    record = await conn.fetchrow(_SELECT_CUSTOMER_BY_EMAIL, tenant, email)
    if record is None:
        return None
    values = dict(record)
    has_password = bool(values.pop("has_password"))
    return CustomerRow(**values), has_password


async def insert_customer(
    conn: Connection,
    tenant: str,
    content: CustomerContent,
    *,
    password_hash: str | None = None,
    initial_password: bool = False,
) -> None:
    """Store a new customer at version 1; Conflict when the id or the contact email is taken."""
    try:
        await conn.execute(
            _INSERT_CUSTOMER, tenant, content.id, *_content_values(content), password_hash, initial_password
        )
    except asyncpg.UniqueViolationError as exc:
        raise _conflict(exc, tenant, content) from exc


async def update_customer(conn: Connection, tenant: str, content: CustomerContent) -> bool:
    """Replace a customer's profile and raise its version; whether it exists. Conflict when the email is taken."""
    try:
        status = await conn.execute(_UPDATE_CUSTOMER, tenant, content.id, *_content_values(content))
    except asyncpg.UniqueViolationError as exc:
        raise _conflict(exc, tenant, content) from exc
    return str(status) != "UPDATE 0"


class DeletedCustomer(msgspec.Struct, frozen=True):
    """What a deletion's event tells of the customer that went."""

    email: str | None


async def delete_customer(conn: Connection, tenant: str, customer_id: str) -> DeletedCustomer | None:
    """Delete a customer; None when it did not exist."""
    record = await conn.fetchrow(_DELETE_CUSTOMER, tenant, customer_id)
    return None if record is None else DeletedCustomer(email=record["contact_email"])


_CUSTOMERS = ListStatement(_COLUMNS, "FROM customers c", "c.tenant = $1", _row, tiebreak="c.id")


async def list_customers(
    conn: Connection, tenant: str, search: Search, *, page: Page, with_total: bool
) -> tuple[list[CustomerRow], int | None]:
    """One page of the tenant's customers matching `search`, and the total when asked for."""
    criteria = _CUSTOMERS.criteria(tenant, query=search.query)
    return await fetch_page(conn, _CUSTOMERS, criteria, search.ordering, page=page, with_total=with_total)


async def fetch_credentials(conn: Connection, tenant: str, customer_id: str) -> Credentials | None:
    """The customer's credentials, or None when the customer does not exist."""
    record = await conn.fetchrow(_SELECT_CREDENTIALS, tenant, customer_id)
    return None if record is None else Credentials(**record)


async def set_password(conn: Connection, tenant: str, customer_id: str, password_hash: str, *, initial: bool) -> None:
    """Store a new password hash (and unlock the account); `initial` when the tenant set it."""
    await conn.execute(_SET_PASSWORD, tenant, customer_id, password_hash, initial)
