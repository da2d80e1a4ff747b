"""The scopes an import job needs: those of the API operations that write its KIND's rows.

A row of a resource kind is created as POST creates it or replaced as PUT replaces it, so a job needs what both
operations take; for every kind but orders that is one scope (POST and PUT take the same), for orders POST's
`order.order_create` and PUT's `order.order_update` (or `order.order_update_completed`). Reading a job needs the
same as starting it. The services' own finer checks (publishing a product or category, changing a COMPLETED order)
apply to each row, since the job writes as the caller that started it.
"""

from __future__ import annotations

from segment_service.categories.scopes import MANAGE_CATEGORIES
from segment_service.customers.scopes import MANAGE_CUSTOMERS
from segment_service.legal_entities.scopes import MANAGE_CONTACT_ASSIGNMENTS, MANAGE_LEGAL_ENTITIES
from segment_service.orders.scopes import CREATE_ORDERS, UPDATE_ORDERS
from segment_service.products.scopes import MANAGE_PRODUCTS
from segment_service.segments.scopes import MANAGE_SEGMENTS

#: Per KIND, the scope sets a caller must hold every one of (any one scope of a set is enough).
KIND_SCOPES: dict[str, tuple[tuple[str, ...], ...]] = {
    "segments": (MANAGE_SEGMENTS,),
    "customers": (MANAGE_CUSTOMERS,),
    "legal-entities": (MANAGE_LEGAL_ENTITIES,),
    "contacts": (MANAGE_CONTACT_ASSIGNMENTS,),
    "products": (MANAGE_PRODUCTS,),
    "categories": (MANAGE_CATEGORIES,),
    "customer-assignments": (MANAGE_SEGMENTS,),
    "item-assignments": (MANAGE_SEGMENTS,),
    "orders": (CREATE_ORDERS, UPDATE_ORDERS),
}

#: What the guard takes for the job routes (`opt["scopes"]`): a scope that some KIND needs. The route then checks the
#: KIND's own sets (transfer/jobs.py).
IMPORT_ANY_KIND: tuple[str, ...] = tuple(
    sorted({scope for sets in KIND_SCOPES.values() for scopes in sets for scope in scopes})
)


def missing_scopes(kind: str, held: frozenset[str]) -> list[tuple[str, ...]]:
    """The sets of `kind` of which the caller holds no scope."""
    return [scopes for scopes in KIND_SCOPES[kind] if held.isdisjoint(scopes)]
