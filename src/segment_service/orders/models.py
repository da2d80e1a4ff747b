"""Order API shapes, named as order.yml names them.

Only what the service reads is declared (who, where, when, how much, what was bought); every other field of a
request body (addresses, payments, shipping, discounts, mixins...) is kept as sent and returned as it was written
(docs/orders.md#what-is-stored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from segment_service.core.models import UNSET, ApiModel, UnsetType

OrderStatus = Literal["IN_CHECKOUT", "CREATED", "CONFIRMED", "DECLINED", "SHIPPED", "COMPLETED"]
STATUSES: tuple[str, ...] = ("IN_CHECKOUT", "CREATED", "CONFIRMED", "DECLINED", "SHIPPED", "COMPLETED")

#: A money value or quantity as JSON carries it; bounded so that sums stay exact in PostgreSQL's numeric.
Amount = Annotated[float, msgspec.Meta(ge=-1e15, le=1e15)]
Quantity = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
ShortText = Annotated[str, msgspec.Meta(max_length=256)]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
Version = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)]
#: At most this many entries in one order: far beyond a real basket, small enough to bound one write.
MAX_ENTRIES = 1000


class CalculatedPrice(ApiModel):
    net_value: Amount | UnsetType = UNSET
    gross_value: Amount | UnsetType = UNSET
    tax_value: Amount | UnsetType = UNSET


class EntryCalculatedPrice(ApiModel):
    price: CalculatedPrice | UnsetType = UNSET
    final_price: CalculatedPrice | UnsetType = UNSET


class EntryProduct(ApiModel):
    id: ShortText | UnsetType = UNSET
    name: str | UnsetType = UNSET


class EntryPrice(ApiModel):
    currency: Currency | UnsetType = UNSET


class OrderEntry(ApiModel):
    """An ordered item: which product (`product.id`, else `id`), how many (`amount`) and for how much (gross)."""

    amount: Quantity
    id: ShortText | UnsetType = UNSET
    product: EntryProduct | UnsetType = UNSET
    calculated_unit_price: CalculatedPrice | UnsetType = UNSET
    calculated_price: EntryCalculatedPrice | UnsetType = UNSET
    unit_price: Amount | UnsetType = UNSET
    total_price: Amount | UnsetType = UNSET
    price: EntryPrice | UnsetType = UNSET


class OrderCustomer(ApiModel):
    """The customer of the order; `id` ANONYMOUS (the default) is a guest."""

    id: ShortText = "ANONYMOUS"
    email: ShortText | UnsetType = UNSET
    first_name: ShortText | UnsetType = UNSET
    last_name: ShortText | UnsetType = UNSET
    name: ShortText | UnsetType = UNSET


class OrderCalculatedPrice(ApiModel):
    price: CalculatedPrice | UnsetType = UNSET
    final_price: CalculatedPrice | UnsetType = UNSET


class OrderMetadata(ApiModel):
    version: Version | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET


class OrderUpdate(ApiModel):
    """PUT body (orderUpdateDto): the whole order. `status` may only repeat the current one (transitions change it);
    `created` may move the order in time (imported history), never into the future."""

    entries: Annotated[list[OrderEntry], msgspec.Meta(min_length=1, max_length=MAX_ENTRIES)]
    customer: OrderCustomer
    status: OrderStatus | UnsetType = UNSET
    site_code: Annotated[str, msgspec.Meta(max_length=64)] | None | UnsetType = UNSET
    country_code: Annotated[str, msgspec.Meta(max_length=8)] | None | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    calculated_price: OrderCalculatedPrice | UnsetType = UNSET
    total_price: Amount | UnsetType = UNSET
    legal_entity_id: ShortText | None | UnsetType = UNSET
    created: datetime | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: OrderMetadata | None | UnsetType = UNSET


class SalesOrderCreation(OrderUpdate):
    """POST body (salesOrderCreationDto); `id` is generated when left out, `status` defaults to CREATED."""

    id: ShortText | UnsetType = UNSET
    quote_id: ShortText | UnsetType = UNSET
    checkout: bool | UnsetType = UNSET


class OrderPatch(ApiModel):
    """PATCH body: a partial order merged into the stored one (members sent replace, `null` removes, objects
    merge), then checked as a PUT of the result would be."""

    entries: list[OrderEntry] | UnsetType = UNSET
    customer: dict[str, Any] | UnsetType = UNSET
    site_code: str | None | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    legal_entity_id: str | None | UnsetType = UNSET
    created: datetime | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: OrderMetadata | None | UnsetType = UNSET


class OrdersSearch(ApiModel):
    q: str | None = None


class Transition(ApiModel):
    status: OrderStatus


class HistoricalTransition(ApiModel):
    status: str
    timestamp: str


class HistoricalTransitionsMetadata(ApiModel):
    version: int
    created_at: str
    modified_at: str


class HistoricalTransitions(ApiModel):
    transitions: list[HistoricalTransition]
    metadata: HistoricalTransitionsMetadata


class ResourceLocation(ApiModel):
    id: str
    yrn: str | UnsetType = UNSET


class OrderMetadataResponse(ApiModel):
    version: int | UnsetType = UNSET
    created_at: str | UnsetType = UNSET
    modified_at: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET


class OrderResponse(ApiModel, kw_only=True):
    """An order as it was written, with the service's own fields; every other field of the body comes back too."""

    id: str
    status: str
    created: str
    last_status_change: str
    completed: str | UnsetType = UNSET
    entries: list[dict[str, Any]] | UnsetType = UNSET
    customer: dict[str, Any] | UnsetType = UNSET
    site_code: str | UnsetType = UNSET
    currency: str | UnsetType = UNSET
    legal_entity_id: str | UnsetType = UNSET
    metadata: OrderMetadataResponse | UnsetType = UNSET


class PurchaseSettings(ApiModel):
    """Which statuses count as a purchase in the tenant's purchase facts (docs/orders.md#purchase-facts)."""

    counted_statuses: Annotated[list[OrderStatus], msgspec.Meta(max_length=6)]
    metadata: OrderMetadata | None | UnsetType = UNSET


class PurchaseSettingsResponse(ApiModel, kw_only=True):
    counted_statuses: list[str]
    metadata: OrderMetadataResponse
