"""Purchase facts as the API shows them, and the tenant's counted statuses (docs/orders.md#purchase-facts).

The rule engine reads facts as SQL (`purchase_aggregate_sql`, joined by a rule's statement) or, for a few customers,
as their orders (`orders_of`, with the counted statuses, and `subtree_products_among`) that it adds up itself."""

from __future__ import annotations

from typing import Any

from segment_service.core import events
from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.errors import NotFound, VersionConflict
from segment_service.core.listing import Criteria
from segment_service.core.models import UNSET
from segment_service.core.timefmt import iso
from segment_service.customers import service as customers_service
from segment_service.orders import facts_store
from segment_service.orders.facts_store import Filter, Measures, OrderFacts, orders_of, subtree_products_among
from segment_service.orders.models import STATUSES, PurchaseSettings

__all__ = [
    "Filter",
    "Measures",
    "OrderFacts",
    "customer_facts",
    "get_settings",
    "orders_of",
    "put_settings",
    "shared_aggregate_sql",
    "subtree_products_among",
]


def _settings_document(settings: facts_store.Settings) -> dict[str, Any]:
    # Statuses in their lifecycle order, whatever order they were sent in.
    counted = [s for s in STATUSES if s in settings.counted_statuses]
    metadata: dict[str, Any] = {"version": settings.version}
    if settings.modified_at is not None:
        metadata["modifiedAt"] = iso(settings.modified_at)
    return {"countedStatuses": counted, "metadata": metadata}


async def get_settings(db: Database, caller: Caller) -> dict[str, Any]:
    async with db.connection() as conn:
        return _settings_document(await facts_store.fetch_settings(conn, caller.tenant))


async def put_settings(db: Database, caller: Caller, body: PurchaseSettings) -> None:
    """Store which statuses count as a purchase and rebuild the tenant's summaries with them (one statement over
    all of its orders); a sent `metadata.version` must be the current one."""
    async with db.transaction() as conn:
        await facts_store.lock_settings(conn, caller.tenant)
        current = await facts_store.fetch_settings(conn, caller.tenant)
        sent = None if body.metadata is UNSET or body.metadata is None else body.metadata.version
        if isinstance(sent, int) and sent != current.version:
            raise VersionConflict(f"The purchase settings are at version {current.version}, not {sent}.")
        await facts_store.store_settings(conn, caller.tenant, sorted(set(body.counted_statuses)))
        await events.emit(conn, events.PurchaseSettingsChanged(tenant=caller.tenant))


def _measures_document(currency: str, m: facts_store.SummaryRow) -> dict[str, Any]:
    return {
        "currency": currency,
        "orderCount": m.order_count,
        "total": float(m.total),
        "firstOrderAt": iso(m.first_order_at),
        "lastOrderAt": iso(m.last_order_at),
    }


async def customer_facts(db: Database, caller: Caller, customer_id: str, legal_entity_id: str | None) -> dict[str, Any]:
    """A customer's all-time purchase summary per currency (for one legal entity's orders when given)."""
    async with db.connection() as conn:
        if not await customers_service.customer_exists(conn, caller.tenant, customer_id):
            raise NotFound(f"Couldn't find a customer with customerNumber '{customer_id}'.")
        rows = await facts_store.summaries(conn, caller.tenant, [customer_id])
        settings = await facts_store.fetch_settings(conn, caller.tenant)
    wanted = legal_entity_id or ""
    doc: dict[str, Any] = {"customerId": customer_id}
    if legal_entity_id is not None:
        doc["legalEntityId"] = legal_entity_id
    doc["countedStatuses"] = _settings_document(settings)["countedStatuses"]
    doc["currencies"] = [_measures_document(r.currency, r) for r in rows if r.legal_entity_id == wanted]
    return doc


def purchase_aggregate_sql(f: Filter, criteria: Criteria, *, per_legal_entity: bool, customers: str | None) -> str:
    """The per-customer purchase aggregate that rule conditions join (orders/facts_store.py `per_customer_sql`)."""
    return facts_store.per_customer_sql(f, criteria, per_legal_entity=per_legal_entity, customers=customers)


def shared_aggregate_sql(
    filters: list[tuple[Filter, frozenset[str]]], criteria: Criteria, *, per_legal_entity: bool
) -> str:
    """Many purchase conditions' per-customer aggregates in one pass (orders/facts_store.py `shared_aggregate_sql`)."""
    return facts_store.shared_aggregate_sql(filters, criteria, per_legal_entity=per_legal_entity)
