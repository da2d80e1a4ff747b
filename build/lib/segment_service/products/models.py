"""Product API shapes, named as `product.yml` names them, for the subset this project implements (docs/products.md):
`id`, `code`, `name`, `description`, `published`, `mixins` and `metadata`. Other product fields are not stored."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from segment_service.core.models import UNSET, ApiModel, Localized, UnsetType
from segment_service.core.openapi import ErrorDetails

#: productCore.code: `minLength: 1`. The upper bound keeps the unique index on codes within PostgreSQL's limits.
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
#: A version as a client may send it; versions start at 1 and are stored as a PostgreSQL integer.
Version = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)]
#: A localized value in a PATCH: a `null` translation removes that language (RFC 7396 merge).
LocalizedPatch = dict[str, str | None] | str


class ProductMetadataWithVersion(ApiModel):
    """productMetadataWithVersion: the version is the optimistic lock; `mixins` link the mixin schemas."""

    version: Version | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET


class ProductUpdate(ApiModel):
    """PUT body (basicProductUpdate): a full replacement; `name` and `code` are required."""

    name: Localized
    code: Code
    description: Localized | None | UnsetType = UNSET
    published: bool = False
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: ProductMetadataWithVersion | None | UnsetType = UNSET


class ProductCreation(ProductUpdate):
    """POST body (basicProductCreation); `id` is generated when left out. A `metadata.version` sent here is ignored."""

    id: str | UnsetType = UNSET


class ProductPartialUpdate(ApiModel):
    """PATCH body (productPartialUpdate): the fields to change, merged into the product as RFC 7396 describes."""

    name: LocalizedPatch | None | UnsetType = UNSET
    code: Code | None | UnsetType = UNSET
    description: LocalizedPatch | None | UnsetType = UNSET
    published: bool | None | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: ProductMetadataWithVersion | None | UnsetType = UNSET


class ProductsSearch(ApiModel):
    """searchProducts: the `q` of a search."""

    q: str | None = None


class ProductMetadataGet(ApiModel):
    version: int | UnsetType = UNSET
    created_at: str | UnsetType = UNSET
    modified_at: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET


class ProductResponse(ApiModel, kw_only=True):
    """A stored product. Every field but `id` may be left out by a `fields` projection, so only `id` is required."""

    id: str
    code: str | UnsetType = UNSET
    name: dict[str, str] | UnsetType = UNSET
    description: dict[str, str] | UnsetType = UNSET
    published: bool | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET
    metadata: ProductMetadataGet | UnsetType = UNSET


class ResourceLocation(ApiModel):
    """The 201 of a create or an upserting PUT: the new product's id."""

    id: str


class ProductError(msgspec.Struct, omit_defaults=True):
    """Error body of the Product Service (coreErrorMessageWithDetails, `ErrorFamily.PRODUCT`)."""

    code: int
    status: str
    message: str
    details: list[ErrorDetails] | UnsetType = UNSET
