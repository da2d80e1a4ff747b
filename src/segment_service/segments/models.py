"""Segment API shapes, named as `customer-segment.yml` names them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from segment_service.core.models import UNSET, ApiModel, Localized, UnsetType

SiteCode = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
#: A version as a client may send it: versions start at 1 and are stored as a PostgreSQL integer.
Version = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)]


class SegmentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class Validity(ApiModel):
    """The time frame in which the segment is valid: `from` inclusive, `to` exclusive
    (docs/decisions.md#active-segments)."""

    from_: datetime | None | UnsetType = msgspec.field(default=UNSET, name="from")
    to: datetime | None | UnsetType = UNSET


class MetadataCreate(ApiModel):
    mixins: dict[str, Any] | UnsetType = UNSET


class MetadataUpdate(ApiModel):
    version: Version | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET


class SegmentUpdate(ApiModel):
    """PUT body: a full replacement; `name` and `siteCode` are required."""

    name: Localized
    site_code: SiteCode
    description: Localized | None | UnsetType = UNSET
    validity: Validity | None | UnsetType = UNSET
    status: SegmentStatus = SegmentStatus.INACTIVE
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: MetadataUpdate | None | UnsetType = UNSET


class SegmentCreation(SegmentUpdate):
    """POST body; `id` is generated when left out. A `metadata.version` sent here is ignored."""

    id: str | UnsetType = UNSET


class SegmentUpdateBulk(SegmentUpdate):
    """One item of a bulk PUT: the id travels in the item."""

    id: str | UnsetType = UNSET


class SegmentsSearch(ApiModel):
    q: str | None = None


class MetadataResponse(ApiModel):
    version: int | UnsetType = UNSET
    created_at: str | UnsetType = UNSET
    modified_at: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET


class ValidityResponse(ApiModel):
    from_: str | UnsetType = msgspec.field(default=UNSET, name="from")
    to: str | UnsetType = UNSET


class SegmentResponse(ApiModel, kw_only=True):
    """A stored segment. Every field but `id` may be left out by a `fields` projection, so only `id` is required."""

    id: str
    name: dict[str, str] | UnsetType = UNSET
    description: dict[str, str] | UnsetType = UNSET
    validity: ValidityResponse | UnsetType = UNSET
    status: SegmentStatus | UnsetType = UNSET
    site_code: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET
    metadata: MetadataResponse | UnsetType = UNSET


class IdResponse(ApiModel):
    id: str
