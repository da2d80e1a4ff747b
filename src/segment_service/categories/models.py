"""Category API shapes, named as `category.yml` names them (docs/categories.md lists what is implemented).

Localized fields are always maps here (the Category Service requires maps even with Content-Language,
docs/decisions.md#localized-fields), so a plain string is a 400 from the decoder.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from segment_service.core.models import UNSET, ApiModel, UnsetType

#: A version as a client may send it; versions start at 1 and are stored as a PostgreSQL integer.
Version = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)]
#: `position`: `minimum: 0`, `format: int32`.
Position = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)]
#: A tenant-defined code; the upper bound keeps the unique index within PostgreSQL's limits.
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
#: One external category number.
Ecn = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
LocalizedMap = dict[str, str]


class CategoryType(StrEnum):
    STANDARD = "STANDARD"
    CLASSIFICATION = "CLASSIFICATION"


class Validity(ApiModel):
    """Category validity: `from` and `to` date-times, each optional."""

    from_: datetime | None | UnsetType = msgspec.field(default=UNSET, name="from")
    to: datetime | None | UnsetType = UNSET


class MetadataCreate(ApiModel):
    """MetadataCreate: links of the mixins to their schemas. A `version` sent on create is ignored."""

    mixins: dict[str, Any] | None | UnsetType = UNSET
    version: Version | UnsetType = UNSET


class MetadataUpdate(ApiModel):
    """MetadataUpdate on PUT: the version is the optional optimistic lock."""

    version: Version | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET


class MetadataPatch(ApiModel):
    """MetadataUpdate on PATCH: the version is required there (CategoryPartialUpdateRequest requires `metadata`)."""

    version: Version
    mixins: dict[str, Any] | None | UnsetType = UNSET


class CategoryUpdateRequest(ApiModel, kw_only=True):
    """PUT body: a full replacement; `localizedName` and `published` are required. `type` is accepted too (the
    changelog says upserts support it, docs/decisions.md#category-type-on-update); left out, the stored type stays."""

    localized_name: LocalizedMap
    published: bool
    type: CategoryType | UnsetType = UNSET
    parent_id: str | None | UnsetType = UNSET
    localized_description: LocalizedMap | None | UnsetType = UNSET
    localized_slug: LocalizedMap | None | UnsetType = UNSET
    code: Code | None | UnsetType = UNSET
    ecn: list[Ecn] | None | UnsetType = UNSET
    validity: Validity | None | UnsetType = UNSET
    position: Position | None | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: MetadataUpdate | None | UnsetType = UNSET


class CategoryCreateRequest(CategoryUpdateRequest, kw_only=True):
    """POST body; `id` is generated when left out."""

    id: str | UnsetType = UNSET


class CategoryPartialUpdateRequest(ApiModel, kw_only=True):
    """PATCH body: a merge object (RFC 7396); `metadata.version` is required and must match."""

    metadata: MetadataPatch
    localized_name: dict[str, str | None] | None | UnsetType = UNSET
    localized_description: dict[str, str | None] | None | UnsetType = UNSET
    localized_slug: dict[str, str | None] | None | UnsetType = UNSET
    parent_id: str | None | UnsetType = UNSET
    code: Code | None | UnsetType = UNSET
    ecn: list[Ecn] | None | UnsetType = UNSET
    validity: Validity | None | UnsetType = UNSET
    position: Position | None | UnsetType = UNSET
    published: bool | None | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET


class SearchRequest(ApiModel):
    """The `q` of a category search."""

    q: str | None = None


class CategoryTreeSearchRequest(ApiModel):
    """The trees to return: those containing at least one of these categories."""

    category_ids: list[str]


class CategoryIdResponse(ApiModel):
    """The 201 of a create or an upserting PUT."""

    id: str


class ValidityResponse(ApiModel):
    from_: str | UnsetType = msgspec.field(default=UNSET, name="from")
    to: str | UnsetType = UNSET


class MetadataResponse(ApiModel):
    version: int | UnsetType = UNSET
    created_at: str | UnsetType = UNSET
    modified_at: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET


class Category(ApiModel, kw_only=True):
    """A stored category as reads show it. Every field but `id` may be left out by a `fields` projection."""

    id: str
    parent_id: str | UnsetType = UNSET
    type: CategoryType | UnsetType = UNSET
    localized_name: dict[str, str] | UnsetType = UNSET
    name: str | UnsetType = UNSET
    localized_description: dict[str, str] | UnsetType = UNSET
    description: str | UnsetType = UNSET
    localized_slug: dict[str, str] | UnsetType = UNSET
    code: str | UnsetType = UNSET
    ecn: list[str] | UnsetType = UNSET
    validity: ValidityResponse | UnsetType = UNSET
    position: int | UnsetType = UNSET
    published: bool | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET
    metadata: MetadataResponse | UnsetType = UNSET
    media: list[dict[str, Any]] | UnsetType = UNSET


class CategoryTree(ApiModel, kw_only=True):
    """A node of a category tree, its subcategories inline (no `parentId`, as live Emporix answers,
    docs/decisions.md#category-hierarchy)."""

    id: str
    localized_name: dict[str, str]
    name: str
    position: int
    published: bool
    description: str | UnsetType = UNSET
    code: str | UnsetType = UNSET
    localized_description: dict[str, str] | UnsetType = UNSET
    localized_slug: dict[str, str] | UnsetType = UNSET
    validity: ValidityResponse | UnsetType = UNSET
    ecn: list[str] | UnsetType = UNSET
    subcategories: list[CategoryTree] = msgspec.field(default_factory=list)
