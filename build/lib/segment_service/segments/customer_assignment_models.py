"""Customer-assignment API shapes (operations 12-21 of customer-segment.yml), named as the spec names them."""

from __future__ import annotations

from typing import Any

from segment_service.core.models import UNSET, ApiModel, UnsetType
from segment_service.segments.models import MetadataResponse, MetadataUpdate


class CustomerAssignmentUpsert(ApiModel):
    """PUT body of a single assignment; nothing is required."""

    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: MetadataUpdate | None | UnsetType = UNSET


class CustomerAssignmentUpsertBulk(CustomerAssignmentUpsert):
    """One item of a bulk PUT: `customerId` is needed, `legalEntityId` is left out for B2C."""

    customer_id: str | UnsetType = UNSET
    legal_entity_id: str | None | UnsetType = UNSET


class CustomerAssignmentDelete(ApiModel):
    """One item of a bulk DELETE (the spec describes it in prose only)."""

    customer_id: str | UnsetType = UNSET
    legal_entity_id: str | None | UnsetType = UNSET


class CustomerAssignmentsSearch(ApiModel):
    q: str | None = None


class AssignedCustomer(ApiModel):
    id: str | UnsetType = UNSET
    first_name: str | UnsetType = UNSET
    last_name: str | UnsetType = UNSET
    email: str | UnsetType = UNSET


class AssignedLegalEntity(ApiModel):
    id: str | UnsetType = UNSET
    name: str | UnsetType = UNSET


class CustomerAssignmentB2CResponse(ApiModel):
    """A B2C assignment. Any field may be left out by a `fields` projection."""

    customer: AssignedCustomer | UnsetType = UNSET
    assignment_type: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET
    metadata: MetadataResponse | UnsetType = UNSET


class CustomerAssignmentResponse(CustomerAssignmentB2CResponse):
    """A B2B assignment (and a list element: B2C elements have no `legalEntity`)."""

    legal_entity: AssignedLegalEntity | UnsetType = UNSET
