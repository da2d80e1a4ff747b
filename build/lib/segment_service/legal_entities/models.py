"""Customer Management API shapes (legal entities and contact assignments), named as `legal-entity.yml` names them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from segment_service.core.models import UNSET, ApiModel, UnsetType

#: legalEntityUpdate and contactAssignmentUpdate: `metadata.version` has `minimum: 1`; stored as a PostgreSQL integer.
Version = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
Name = Annotated[str, msgspec.Meta(min_length=1)]
ReferenceId = Annotated[str, msgspec.Meta(min_length=1)]


class LegalEntityType(StrEnum):
    COMPANY = "COMPANY"
    SUBSIDIARY = "SUBSIDIARY"


class ContactType(StrEnum):
    PRIMARY = "PRIMARY"
    BILLING = "BILLING"
    LOGISTICS = "LOGISTICS"
    CONTACT = "CONTACT"


class MetadataCreate(ApiModel):
    """`metadata_create`: only the mixin schema links (a version sent on create is ignored)."""

    mixins: dict[str, Any] | UnsetType = UNSET


class MetadataUpdate(ApiModel):
    version: Version | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET


class LegalInfo(ApiModel):
    legal_name: str | None | UnsetType = UNSET
    registration_date: datetime | None | UnsetType = UNSET
    tax_registration_number: str | None | UnsetType = UNSET
    registration_agency: str | None | UnsetType = UNSET
    country_of_registration: str | None | UnsetType = UNSET
    registration_id: str | None | UnsetType = UNSET


class AccountLimit(ApiModel):
    currency: str | None | UnsetType = UNSET
    value: Annotated[float, msgspec.Meta(ge=0)] | None | UnsetType = UNSET


class CustomerGroup(ApiModel):
    """`customerGroup` on create, `resourceId` on update: the id is what matters, name and role are kept as sent."""

    id: ReferenceId
    name: dict[str, str] | UnsetType = UNSET
    role: str | UnsetType = UNSET


class LegalEntityFields(ApiModel, kw_only=True):
    """What `legalEntityCreate` and `legalEntityUpdate` share.

    `entitiesAddresses` and `approvalGroup` are accepted and ignored: locations are not implemented here."""

    name: Name
    parent_id: ReferenceId | None | UnsetType = UNSET
    legal_info: LegalInfo | None | UnsetType = UNSET
    account_limit: AccountLimit | None | UnsetType = UNSET
    customer_groups: list[CustomerGroup] | None | UnsetType = UNSET
    # `restrictions` says `maximum: 1` on an array: read as at most one item.
    restrictions: Annotated[list[str], msgspec.Meta(max_length=1)] | None | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET


class LegalEntityUpdate(LegalEntityFields, kw_only=True):
    """`legalEntityUpdate` (PUT body): a full replacement; `name` and `type` are required."""

    type: LegalEntityType
    metadata: MetadataUpdate | None | UnsetType = UNSET


class LegalEntityCreate(LegalEntityFields, kw_only=True):
    """`legalEntityCreate` (POST body): `type` defaults to COMPANY and `id` is generated when left out."""

    id: str | UnsetType = UNSET
    type: LegalEntityType = LegalEntityType.COMPANY
    metadata: MetadataCreate | None | UnsetType = UNSET


class LegalEntitiesSearch(ApiModel):
    q: str | None = None


class LegalEntityFilters(msgspec.Struct, kw_only=True):
    """The dedicated filter parameters of the legal-entity list and search (`trait_legalEntity_*_query_param`).

    Each uses the operator the spec names: `id` equals (case-insensitive); `name`, `legalName`,
    `registrationAgency` and `countryOfRegistration` contain (case-insensitive); the others equal."""

    id: str | None = None
    name: str | None = None
    type: LegalEntityType | None = None
    parent_id: str | None = None
    legal_name: str | None = None
    registration_date: str | None = None
    tax_registration_number: str | None = None
    registration_agency: str | None = None
    country_of_registration: str | None = None
    registration_id: str | None = None


class ContactAssignmentFilters(msgspec.Struct, kw_only=True):
    """The dedicated filter parameters of the contact-assignment list; each one is an equality."""

    legal_entity_id: str | None = None
    customer_id: str | None = None
    type: ContactType | None = None
    primary: bool | None = None


class Reference(ApiModel):
    """`{"id": "…"}`: how a contact assignment names its legal entity and its customer."""

    id: ReferenceId


class ContactAssignmentFields(ApiModel, kw_only=True):
    """What `contactAssignmentCreate` and `contactAssignmentUpdate` share."""

    legal_entity: Reference
    customer: Reference
    primary: bool = False
    mixins: dict[str, Any] | None | UnsetType = UNSET


class ContactAssignmentUpdate(ContactAssignmentFields, kw_only=True):
    """`contactAssignmentUpdate` (PUT body): `legalEntity`, `customer` and `type` are required."""

    type: ContactType
    metadata: MetadataUpdate | None | UnsetType = UNSET


class ContactAssignmentCreate(ContactAssignmentFields, kw_only=True):
    """`contactAssignmentCreate` (POST body): `type` defaults to CONTACT and `id` is generated when left out."""

    id: str | UnsetType = UNSET
    type: ContactType = ContactType.CONTACT
    metadata: MetadataCreate | None | UnsetType = UNSET


# ------------------------------------------------------------------------------------------------ responses
class MetadataResponse(ApiModel):
    version: int | UnsetType = UNSET
    created_at: str | UnsetType = UNSET
    modified_at: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET


class LegalInfoResponse(ApiModel):
    legal_name: str | UnsetType = UNSET
    registration_date: str | UnsetType = UNSET
    tax_registration_number: str | UnsetType = UNSET
    registration_agency: str | UnsetType = UNSET
    country_of_registration: str | UnsetType = UNSET
    registration_id: str | UnsetType = UNSET


class AccountLimitResponse(ApiModel):
    currency: str | UnsetType = UNSET
    value: float | UnsetType = UNSET


class CustomerGroupResponse(ApiModel):
    id: str | UnsetType = UNSET
    name: dict[str, str] | UnsetType = UNSET
    role: str | UnsetType = UNSET


class LegalEntityResponse(ApiModel, kw_only=True):
    """A stored legal entity (`legalEntity`). Every field but `id` may be cut by a `fields` projection."""

    id: str
    name: str | UnsetType = UNSET
    type: LegalEntityType | UnsetType = UNSET
    parent_id: str | UnsetType = UNSET
    account_limit: AccountLimitResponse | UnsetType = UNSET
    legal_info: LegalInfoResponse | UnsetType = UNSET
    customer_groups: list[CustomerGroupResponse] | UnsetType = UNSET
    restrictions: list[str] | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET
    metadata: MetadataResponse | UnsetType = UNSET


class CustomerResponse(ApiModel, kw_only=True):
    """The spec's `customer`: `name` and `surname` are the customer's first and last name."""

    id: str
    name: str | UnsetType = UNSET
    surname: str | UnsetType = UNSET
    email: str | UnsetType = UNSET
    phone: str | UnsetType = UNSET


class ContactAssignmentResponse(ApiModel, kw_only=True):
    """A stored contact assignment (`contactAssignment`) with its legal entity expanded, as the spec's examples show."""

    id: str
    legal_entity: LegalEntityResponse | UnsetType = UNSET
    customer: CustomerResponse | UnsetType = UNSET
    type: ContactType | UnsetType = UNSET
    primary: bool | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET
    metadata: MetadataResponse | UnsetType = UNSET


class IdResponse(ApiModel):
    id: str
