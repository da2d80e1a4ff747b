"""Category assignment API shapes, named as category.yml names them."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from segment_service.core.models import UNSET, ApiModel, UnsetType

#: `minLength: 1` (Reference.id, Reference.type).
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class Reference(ApiModel):
    """Reference: the assigned resource. `type` is checked by the service (PRODUCT, in any case)."""

    id: NonEmpty
    type: NonEmpty


class AssignmentRequest(ApiModel):
    """POST /categories/{categoryId}/assignments body, and one item of the bulk POST (BulkAssignmentRequest)."""

    ref: Reference


class UpsertReference(ApiModel):
    id: NonEmpty


class AssignmentUpsertItem(ApiModel):
    """One item of PUT /categories/{categoryId}/assignments/references/bulk (BulkAssignmentUpsertRequest)."""

    ref: UpsertReference


class AssignmentIdResponse(ApiModel):
    """The 201 of an assignment write: the assignment's id."""

    id: str


class AssignmentRefResponse(ApiModel):
    """CategoryAssignmentRefQueryDocument: the assigned product, with its localized name."""

    id: str
    type: str
    localized_name: dict[str, str]


class CategoryAssignmentResponse(ApiModel):
    """CategoryAssignment."""

    id: str
    category_id: str
    ref: AssignmentRefResponse


class BulkAssignmentResult(ApiModel, kw_only=True):
    """One item of BulkAssignmentResponse; `message` only when the item failed."""

    assignment_id: str | UnsetType = UNSET
    product_id: str | UnsetType = UNSET
    index: int
    code: int
    status: str
    message: str | UnsetType = UNSET


class CategoryResponse(ApiModel, kw_only=True):
    """Category, as GET /assignments/references/{referenceId} returns it."""

    id: str
    localized_name: dict[str, str]
    published: bool
    metadata: dict[str, Any]
    media: list[dict[str, Any]]
    type: str | UnsetType = UNSET
    parent_id: str | UnsetType = UNSET
    code: str | UnsetType = UNSET
    localized_description: dict[str, str] | UnsetType = UNSET
    localized_slug: dict[str, str] | UnsetType = UNSET
    ecn: list[str] | UnsetType = UNSET
    validity: dict[str, str] | UnsetType = UNSET
    position: int | UnsetType = UNSET
    supercategories_ids: list[str] | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET
