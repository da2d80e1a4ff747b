"""Request and response shapes of rule-based segments (docs/rules.md#api). The condition is free JSON here; its
grammar is checked by rules/conditions.py, which names the path of whatever is wrong."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from segment_service.core.models import UNSET, ApiModel, UnsetType


class RuleMetadata(ApiModel):
    version: int | UnsetType = UNSET


class RuleBody(ApiModel):
    """PUT .../rule and POST .../rule/preview: `subject` CUSTOMER (B2C memberships) or CONTACT (one per contact of a
    legal entity), and the condition (docs/rules.md#conditions)."""

    subject: str
    condition: dict[str, Any]
    metadata: RuleMetadata | None | UnsetType = UNSET


class RuleMetadataResponse(ApiModel):
    version: int
    created_at: datetime
    modified_at: datetime


class RuleResponse(ApiModel):
    segment_id: str
    subject: str
    condition: dict[str, Any]
    state: str
    evaluated_at: datetime | None
    member_count: int | None
    error: str | None
    metadata: RuleMetadataResponse


class Sample(ApiModel):
    customer_id: str
    legal_entity_id: str | UnsetType = UNSET


class PreviewChange(ApiModel):
    count: int
    sample: list[Sample]


class PreviewResponse(ApiModel):
    match_count: int
    member_count: int
    added: PreviewChange
    removed: PreviewChange


class ExplainResponse(ApiModel):
    member: bool
    because: str
    condition: dict[str, Any] | None = None


class ExclusionResponse(ApiModel):
    customer_id: str
    legal_entity_id: str | None
    created_at: datetime
