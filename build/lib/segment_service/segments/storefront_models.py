"""Storefront shapes, named as `customer-segment.yml` names them (`Match`, `MatchItem`, `CategoryTreeResponse`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from segment_service.core.models import UNSET, ApiModel, UnsetType

ProductId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
SegmentId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class MatchItem(ApiModel):
    """A product asked about, and in the answer a product that matched."""

    id: ProductId


class Match(ApiModel, kw_only=True):
    """`POST /segments/match`: the schema names the site `site`, the spec's example `siteCode`; either is taken."""

    items: list[MatchItem]
    segment_ids: list[SegmentId]
    site: str | UnsetType = UNSET
    site_code: str | UnsetType = UNSET


class CategoryTreeNode(ApiModel, kw_only=True):
    """One category of a segments' category tree, with its subcategories nested."""

    id: str
    parent_id: str | UnsetType = UNSET
    code: str
    name: dict[str, str]
    localized_description: dict[str, str] | UnsetType = UNSET
    localized_slug: dict[str, str] | UnsetType = UNSET
    ecn: list[str] | UnsetType = UNSET
    validity: dict[str, str] | UnsetType = UNSET
    position: int | UnsetType = UNSET
    published: bool | UnsetType = UNSET
    is_segment_assigned: bool
    subcategories: list[dict[str, Any]] | UnsetType = UNSET
