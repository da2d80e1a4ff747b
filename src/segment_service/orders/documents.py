"""An order between the API and the store: a checked body becomes an `OrderContent` (the columns the service reads,
and the document as sent), a stored row becomes the `salesOrder` / `order` the API returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from segment_service.core.errors import BadRequest
from segment_service.core.models import UNSET, UnsetType, check_nesting
from segment_service.core.timefmt import as_utc
from segment_service.customers.service import GUEST_CUSTOMER_ID
from segment_service.orders.models import OrderEntry, OrderUpdate
from segment_service.orders.store import OrderContent, OrderRow

#: The customer id order.yml gives a guest.
GUEST = GUEST_CUSTOMER_ID
#: Fields the service keeps in columns of its own, not in the stored document.
_MANAGED = frozenset({"id", "status", "created", "completed", "lastStatusChange", "legalEntityId", "metadata"})
#: Fields only the tenant's view of an order has (salesOrder, not the customer's `order`).
_SALES_ONLY = frozenset({"quoteId", "createdBy", "assistedBuying", "checkout"})
#: How far in the future a `created` may lie (clocks of importing hosts drift a little).
_CLOCK_SKEW = timedelta(minutes=5)


def money(value: float) -> Decimal:
    """A JSON number as the exact decimal it was written as (0.1 stays 0.1)."""
    return Decimal(repr(value))


def _gross(price: Any) -> float | None:
    if price is UNSET or price is None or price.gross_value is UNSET:
        return None
    return float(price.gross_value)


def _entry_product(entry: OrderEntry, index: int) -> str:
    product_id = None
    if entry.product is not UNSET and entry.product.id is not UNSET and entry.product.id:
        product_id = entry.product.id
    elif entry.id is not UNSET and entry.id:
        product_id = entry.id
    if product_id is not None:
        if not product_id.isprintable():
            raise BadRequest(
                f"Entry {index} has a product id with control characters; send the product's id as it is.",
                field=f"entries[{index}].product.id",
                type="invalid_value",
            )
        return product_id
    raise BadRequest(
        f"Entry {index} names no product: send entries[{index}].product.id (or the entry's id).",
        field=f"entries[{index}].product.id",
        type="missing_value",
    )


def _entry_amount(entry: OrderEntry, index: int) -> Decimal:
    """The entry's gross amount: its calculated final price, else its price, else the deprecated totalPrice, else
    quantity times unit price."""
    calculated = entry.calculated_price
    if calculated is not UNSET:
        for price in (calculated.final_price, calculated.price):
            gross = _gross(price)
            if gross is not None:
                return money(gross)
    if entry.total_price is not UNSET:
        return money(entry.total_price)
    unit = _gross(entry.calculated_unit_price)
    if unit is None and entry.unit_price is not UNSET:
        unit = entry.unit_price
    if unit is not None:
        return money(unit) * entry.amount
    raise BadRequest(
        f"Entry {index} has no price: send entries[{index}].calculatedPrice.finalPrice.grossValue (or "
        f"calculatedUnitPrice.grossValue).",
        field=f"entries[{index}].calculatedPrice",
        type="missing_value",
    )


def _currency(body: OrderUpdate) -> str:
    if body.currency is not UNSET:
        return body.currency
    for entry in body.entries:
        if entry.price is not UNSET and entry.price.currency is not UNSET:
            return entry.price.currency
    raise BadRequest(
        "The order has no currency: send currency, a three-letter ISO 4217 code such as EUR.",
        field="currency",
        type="missing_value",
    )


def created_time(value: datetime | UnsetType) -> datetime | None:
    """`created` of a body: a past date-time (None: now)."""
    if value is UNSET:
        return None
    moment = as_utc(value, field="created")
    # Kept to the millisecond, as it is shown: a q or a PATCH with the shown value then means the same instant.
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    if moment > datetime.now(UTC) + _CLOCK_SKEW:
        raise BadRequest(
            f"Invalid created '{value.isoformat()}': an order cannot be created in the future.",
            field="created",
            type="invalid_value",
        )
    return moment


def content_from_body(order_id: str, body: OrderUpdate, raw: dict[str, Any], *, status: str) -> OrderContent:
    """The columns and document of an order from its checked body and the body as sent."""
    product_ids = [_entry_product(entry, i) for i, entry in enumerate(body.entries)]
    amounts = [_entry_amount(entry, i) for i, entry in enumerate(body.entries)]
    total = None
    if body.calculated_price is not UNSET:
        gross = _gross(body.calculated_price.final_price)
        total = None if gross is None else money(gross)
    if total is None and body.total_price is not UNSET:
        total = money(body.total_price)
    document = {k: v for k, v in raw.items() if k not in _MANAGED}
    metadata = raw.get("metadata")
    if isinstance(metadata, dict):
        extra = {k: v for k, v in metadata.items() if k not in ("version", "createdAt", "modifiedAt")}
        if extra:
            document["metadata"] = extra
    check_nesting(document, field="order")
    currency = _currency(body)
    document["currency"] = currency
    customer_id = body.customer.id
    legal_entity_id = body.legal_entity_id if isinstance(body.legal_entity_id, str) else None
    site_code = body.site_code if isinstance(body.site_code, str) else None
    return OrderContent(
        id=order_id,
        customer_id=None if customer_id == GUEST else customer_id,
        legal_entity_id=legal_entity_id,
        status=status,
        site_code=site_code,
        currency=currency,
        total=sum(amounts, Decimal(0)) if total is None else total,
        product_ids=product_ids,
        quantities=[Decimal(entry.amount) for entry in body.entries],
        amounts=amounts,
        document=document,
        created_at=created_time(body.created),
    )


def order_document(row: OrderRow, *, sales: bool = True) -> dict[str, Any]:
    """The order as the API returns it: the tenant's `salesOrder`, or with `sales=False` the customer's `order`."""
    doc: dict[str, Any] = {"id": row.id, "status": row.status, "created": row.created_at}
    for key, value in row.document.items():
        if key == "metadata" or (not sales and key in _SALES_ONLY):
            continue
        doc[key] = value
    doc["lastStatusChange"] = row.last_status_change
    if row.completed_at is not None:
        doc["completed"] = row.completed_at
    if row.legal_entity_id is not None:
        doc["legalEntityId"] = row.legal_entity_id
    stored_metadata = row.document.get("metadata")
    metadata = dict(stored_metadata) if isinstance(stored_metadata, dict) else {}
    metadata.update(version=row.version, createdAt=row.created_at, modifiedAt=row.modified_at)
    doc["metadata"] = metadata
    return doc


def patchable_document(row: OrderRow) -> dict[str, Any]:
    """The stored order as a PUT body would write it, for merge patches to apply to."""
    doc = {k: v for k, v in order_document(row).items() if k not in ("id", "lastStatusChange", "completed")}
    doc["metadata"] = {k: v for k, v in doc["metadata"].items() if k not in ("createdAt", "modifiedAt")}
    return doc
