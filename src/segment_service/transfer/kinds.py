"""What `segment-service import` does with a row of each KIND: the API's own models decode it and the services'
own functions write it, so that a row is validated exactly as the API validates the same request body.

Resources (segments, customers, legal entities, contacts, products, categories) are created as POST creates them; a
row whose `id` exists already is then replaced as PUT …/{id} replaces it (a `metadata.version` in the row must match).
Assignments are upserts, as their PUT is, in batches through segments/assignment_import.py."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from segment_service.categories import service as categories_service
from segment_service.categories.models import CategoryCreateRequest, CategoryUpdateRequest
from segment_service.core.auth import Caller
from segment_service.core.bulk import Outcome, row_error
from segment_service.core.db import Database
from segment_service.core.errors import BadRequest, Conflict, ServiceError, VersionConflict
from segment_service.core.languages import WriteLanguage
from segment_service.customers import service as customers_service
from segment_service.customers.models import CustomerSignupBySellerDto, CustomerUpdateBySellerDto
from segment_service.customers.passwords import Passwords
from segment_service.legal_entities import contacts as contacts_service
from segment_service.legal_entities import service as legal_entities_service
from segment_service.legal_entities.models import (
    ContactAssignmentCreate,
    ContactAssignmentUpdate,
    LegalEntityCreate,
    LegalEntityUpdate,
)
from segment_service.orders import bulk as orders_bulk
from segment_service.orders.models import SalesOrderCreation
from segment_service.products import service as products_service
from segment_service.products.models import ProductCreation, ProductUpdate
from segment_service.segments import assignment_import
from segment_service.segments import service as segments_service
from segment_service.segments.models import SegmentCreation, SegmentUpdate


@dataclass(frozen=True, slots=True)
class Context:
    """What the services need besides the row: the database, a caller of the tenant holding every service scope,
    the language of plain-string localized values, and the password hasher."""

    db: Database
    caller: Caller
    language: WriteLanguage
    passwords: Passwords


_AT_PATH = re.compile(r"^(.*) - at `\$\.?(.*)`$", re.DOTALL)


def decode(body: Any, model: type[Any], *, lenient: bool) -> Any:
    """The row as the API's model, or the 400 the API answers for that body. `lenient` reads numbers and booleans
    from text (CSV cells)."""
    try:
        return msgspec.convert(body, type=model, str_keys=True, strict=not lenient)
    except msgspec.ValidationError as exc:
        match = _AT_PATH.match(str(exc))
        if match and match.group(2):
            field = match.group(2)
            raise BadRequest(
                f"Validation problem with request body: {match.group(1)} (at '{field}').",
                field=field,
                type="invalid_value",
            ) from exc
        raise BadRequest(
            f"Validation problem with request body: {match.group(1) if match else exc}.", type="invalid_body"
        ) from exc


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource kind: POST's model and function, then PUT's for a row whose id exists already."""

    create_model: type[Any]
    update_model: type[Any]
    create: Callable[[Context, Any], Awaitable[object]]
    update: Callable[[Context, str, Any], Awaitable[bool]]

    async def write(self, context: Context, body: Any, lenient: bool) -> Outcome:
        try:
            await self.create(context, decode(body, self.create_model, lenient=lenient))
            return True
        except Conflict as conflict:
            row_id = body.get("id") if isinstance(body, dict) else None
            if isinstance(conflict, VersionConflict) or not isinstance(row_id, str):
                return conflict
        except Exception as exc:
            return row_error(exc)
        try:  # the id exists: replace it as PUT does
            return await self.update(context, row_id, decode(body, self.update_model, lenient=lenient))
        except Exception as exc:
            return row_error(exc)


RESOURCES: dict[str, Resource] = {
    "segments": Resource(
        SegmentCreation,
        SegmentUpdate,
        lambda c, b: segments_service.create_segment(c.db, c.caller, b, language=c.language),
        lambda c, i, b: segments_service.upsert_segment(c.db, c.caller, i, b, language=c.language),
    ),
    "customers": Resource(
        CustomerSignupBySellerDto,
        CustomerUpdateBySellerDto,
        lambda c, b: customers_service.create_customer(c.db, c.caller, b, passwords=c.passwords),
        lambda c, i, b: customers_service.upsert_customer(c.db, c.caller, i, b),
    ),
    "legal-entities": Resource(
        LegalEntityCreate,
        LegalEntityUpdate,
        lambda c, b: legal_entities_service.create_legal_entity(c.db, c.caller, b),
        lambda c, i, b: legal_entities_service.upsert_legal_entity(c.db, c.caller, i, b),
    ),
    "contacts": Resource(
        ContactAssignmentCreate,
        ContactAssignmentUpdate,
        lambda c, b: contacts_service.create_contact_assignment(c.db, c.caller, b),
        lambda c, i, b: contacts_service.upsert_contact_assignment(c.db, c.caller, i, b),
    ),
    "products": Resource(
        ProductCreation,
        ProductUpdate,
        lambda c, b: products_service.create_product(c.db, c.caller, b, language=c.language),
        lambda c, i, b: products_service.upsert_product(c.db, c.caller, i, b, language=c.language),
    ),
    "categories": Resource(
        CategoryCreateRequest,
        CategoryUpdateRequest,
        lambda c, b: categories_service.create_category(c.db, c.caller, b, language=c.language, publish=None),
        lambda c, i, b: categories_service.upsert_category(c.db, c.caller, i, b, language=c.language, publish=None),
    ),
}

#: Assignment kinds: the row model and the batch upsert.
ASSIGNMENTS: dict[str, tuple[type[Any], Callable[[Database, Caller, Sequence[Any]], Awaitable[list[Outcome]]]]] = {
    "customer-assignments": (assignment_import.CustomerAssignmentRow, assignment_import.import_customer_assignments),
    "item-assignments": (assignment_import.ItemAssignmentRow, assignment_import.import_item_assignments),
}


@dataclass(frozen=True, slots=True)
class Documents:
    """A kind written in batches whose rows keep every field as sent (an order's document): the row model, the
    check of one decoded row (no database; run as the file is read) and the batch import of checked rows."""

    model: type[Any]
    prepare: Callable[[Any, dict[str, Any]], Any]
    write: Callable[[Database, Caller, Sequence[Any]], Awaitable[list[Outcome]]]


DOCUMENTS: dict[str, Documents] = {
    "orders": Documents(SalesOrderCreation, orders_bulk.prepare, orders_bulk.import_orders),
}


KINDS = (
    "segments",
    "customers",
    "legal-entities",
    "contacts",
    "products",
    "categories",
    "customer-assignments",
    "item-assignments",
    "orders",
)


async def write_batch(context: Context, kind: str, bodies: Sequence[Any], *, lenient: bool) -> list[Outcome]:
    """Import the rows' bodies; one outcome per body, in order. Resources go one row (one transaction) at a time,
    in the file's order (a category's parent before the category); assignments as one batch."""
    if kind in RESOURCES:
        resource = RESOURCES[kind]
        return [await resource.write(context, body, lenient) for body in bodies]
    if kind in DOCUMENTS:
        return await _write_documents(context, kind, bodies)
    model, upsert = ASSIGNMENTS[kind]
    outcomes: list[Outcome | None] = [None] * len(bodies)
    decoded: list[tuple[int, Any]] = []
    for index, body in enumerate(bodies):
        try:
            decoded.append((index, decode(body, model, lenient=lenient)))
        except ServiceError as error:
            outcomes[index] = error
    for (index, _), outcome in zip(
        decoded, await upsert(context.db, context.caller, [r for _, r in decoded]), strict=True
    ):
        outcomes[index] = outcome
    return [o for o in outcomes if o is not None]


def prepare(kind: str, body: Any, *, lenient: bool, text: bytes | None = None) -> Any:
    """A row of a DOCUMENTS kind checked as the API checks its body, or the ServiceError the API would answer. With
    the row's JSON `text` (NDJSON) the model is decoded from it, as the API decodes a request body (twice as fast as
    converting the decoded row)."""
    documents = DOCUMENTS[kind]
    try:
        if not isinstance(body, dict):
            raise BadRequest("Each row must be a JSON object.", type="invalid_body")
        if text is not None and not lenient:
            try:
                model = msgspec.json.decode(text, type=documents.model)
            except msgspec.ValidationError:
                model = decode(body, documents.model, lenient=False)  # the same error, worded as for every kind
        else:
            model = decode(body, documents.model, lenient=lenient)
        return documents.prepare(model, body)
    except ServiceError as error:
        return error


async def _write_documents(context: Context, kind: str, rows: Sequence[Any]) -> list[Outcome]:
    """Rows of a DOCUMENTS kind, each already prepared (or the error preparing it)."""
    outcomes: list[Outcome | None] = [row if isinstance(row, ServiceError) else None for row in rows]
    prepared = [(i, row) for i, row in enumerate(rows) if not isinstance(row, ServiceError)]
    written = await DOCUMENTS[kind].write(context.db, context.caller, [row for _, row in prepared])
    for (index, _), outcome in zip(prepared, written, strict=True):
        outcomes[index] = outcome
    return [o for o in outcomes if o is not None]
