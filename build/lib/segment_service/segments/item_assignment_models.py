"""Segment item assignment shapes, named as `customer-segment.yml` names them."""

from __future__ import annotations

from typing import Any

from segment_service.core.models import UNSET, ApiModel, UnsetType
from segment_service.segments.models import MetadataResponse, MetadataUpdate


class ItemAssignmentUpsert(ApiModel):
    """PUT body of one assignment; every field is optional, so `{}` is a valid body."""

    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: MetadataUpdate | None | UnsetType = UNSET


class ItemAssignmentUpsertBulk(ItemAssignmentUpsert, kw_only=True):
    """One item of a bulk PUT: the product or category id travels in the item."""

    id: str


class AssignedItem(ApiModel):
    id: str
    code: str | UnsetType = UNSET
    name: dict[str, str] | UnsetType = UNSET


class ItemAssignmentResponse(ApiModel, kw_only=True):
    """A stored assignment; every field may be left out by a `fields` projection."""

    segment_id: str | UnsetType = UNSET
    item: AssignedItem | UnsetType = UNSET
    type: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET
    metadata: MetadataResponse | UnsetType = UNSET
