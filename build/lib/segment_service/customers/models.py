"""Customer API shapes, named as `customer.yml` (tenant-managed) and `customer-login.yml` (customer-managed) name them.

Only the profile fields this project stores are declared; the spec's other fields (contactPhone, preferredCurrency,
b2b, addresses, ...) are accepted in request bodies and ignored, as any unknown field is.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from segment_service.core.models import UNSET, ApiModel, UnsetType

#: A profile text (names, title, company); long enough for any real value, short enough to keep rows small.
Text = Annotated[str, msgspec.Meta(max_length=256)]
Email = Annotated[str, msgspec.Meta(max_length=254)]
Language = Annotated[str, msgspec.Meta(max_length=64)]
#: Login's `PasswordAuthentication.password` has minLength 6; every password that can be set must be usable to log in.
Password = Annotated[str, msgspec.Meta(min_length=6, max_length=1024)]
#: A version as a client may send it: versions start at 1 and are stored as a PostgreSQL integer.
Version = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)]


class BasicMetadataDto(ApiModel):
    mixins: dict[str, Any] | None | UnsetType = UNSET


class DefaultDtoMetadata(ApiModel):
    version: Version | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET


class CustomerUpdateBySellerDto(ApiModel):
    """PUT body: a full replacement of the profile; `active` left out means true."""

    contact_email: Email | None | UnsetType = UNSET
    title: Text | None | UnsetType = UNSET
    first_name: Text | None | UnsetType = UNSET
    last_name: Text | None | UnsetType = UNSET
    company: Text | None | UnsetType = UNSET
    preferred_language: Language | None | UnsetType = UNSET
    active: bool = True
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: DefaultDtoMetadata | None | UnsetType = UNSET


class CustomerSignupBySellerDto(CustomerUpdateBySellerDto):
    """POST body; `id` is generated when left out, `password` is the customer's initial password."""

    id: str | UnsetType = UNSET
    password: Password | UnsetType = UNSET


class CustomerPatchBySellerDto(ApiModel):
    """PATCH body: a merge object (RFC 7396). Members sent replace, `null` removes; `mixins` are merged."""

    contact_email: Email | None | UnsetType = UNSET
    title: Text | None | UnsetType = UNSET
    first_name: Text | None | UnsetType = UNSET
    last_name: Text | None | UnsetType = UNSET
    company: Text | None | UnsetType = UNSET
    preferred_language: Language | None | UnsetType = UNSET
    active: bool | None | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: DefaultDtoMetadata | None | UnsetType = UNSET


class CustomerPatchDto(ApiModel):
    """PATCH /me body: the customer's own merge object; a customer cannot change `active`."""

    contact_email: Email | None | UnsetType = UNSET
    title: Text | None | UnsetType = UNSET
    first_name: Text | None | UnsetType = UNSET
    last_name: Text | None | UnsetType = UNSET
    company: Text | None | UnsetType = UNSET
    preferred_language: Language | None | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: DefaultDtoMetadata | None | UnsetType = UNSET


class CustomersSearch(ApiModel):
    q: str | None = None


class MetadataResponse(ApiModel):
    version: int | UnsetType = UNSET
    created_at: str | UnsetType = UNSET
    modified_at: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET


class CustomerForSellerDto(ApiModel, kw_only=True):
    """A stored customer as the tenant sees it; `customerNumber` is the id. `mixins` only with `expand=mixin:*`."""

    id: str
    customer_number: str
    contact_email: str | UnsetType = UNSET
    title: str | UnsetType = UNSET
    first_name: str | UnsetType = UNSET
    last_name: str | UnsetType = UNSET
    company: str | UnsetType = UNSET
    preferred_language: str | UnsetType = UNSET
    active: bool
    mixins: dict[str, Any] | UnsetType = UNSET
    metadata: MetadataResponse


class Customer(CustomerForSellerDto, kw_only=True):
    """A customer's own profile (`GET /me`), with the time of the last login."""

    last_login: str | UnsetType = UNSET


class ResourceLocation(ApiModel):
    id: str


# ----------------------------------------------------------------------------------------- customer-managed flows


class CustomerDetails(ApiModel):
    """`CustomerSignup.customerDetails`: the profile a customer signs up with."""

    contact_email: Email | None | UnsetType = UNSET
    title: Text | None | UnsetType = UNSET
    first_name: Text | None | UnsetType = UNSET
    last_name: Text | None | UnsetType = UNSET
    company: Text | None | UnsetType = UNSET
    preferred_language: Language | None | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: BasicMetadataDto | None | UnsetType = UNSET


class PasswordAuthentication(ApiModel):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Password


class CustomerSignup(ApiModel):
    """Signup body. `customerAddress` is accepted and ignored (no addresses here); separate `signup` credentials are
    refused, because customers log in with their contact email."""

    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Password
    customer_details: CustomerDetails | None | UnsetType = UNSET
    customer_address: dict[str, Any] | None | UnsetType = UNSET
    signup: dict[str, Any] | None | UnsetType = UNSET


class PasswordChangeDto(ApiModel):
    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    new_password: Password


class RefreshCustomerToken(msgspec.Struct, omit_defaults=True):
    """The refresh response: snake_case names, and the deprecated camelCase twins the spec still lists."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_token_expires_in: int
    token_type: str
    session_id: str
    accessToken: str  # noqa: N815 - deprecated twin, the spec's name
    expiresIn: int  # noqa: N815
    refreshToken: str  # noqa: N815
    refreshTokenExpiresIn: int  # noqa: N815


class CustomerToken(msgspec.Struct, omit_defaults=True):
    """The login response: `RefreshCustomerToken` plus the SaaS token and `initialPassword`."""

    access_token: str
    saas_token: str
    expires_in: int
    refresh_token: str
    refresh_token_expires_in: int
    token_type: str
    session_id: str
    initialPassword: bool  # noqa: N815 - the spec's name
    accessToken: str  # noqa: N815 - deprecated twin
    saasToken: str  # noqa: N815
    expiresIn: int  # noqa: N815
    refreshToken: str  # noqa: N815
    refreshTokenExpiresIn: int  # noqa: N815


class ValidateTokenResponse(msgspec.Struct, omit_defaults=True):
    token_type: str
    expires_in: int
    scope: str
    sessionId: str | UnsetType = UNSET  # noqa: N815 - the spec's name
    email: str | UnsetType = UNSET
    legalEntityId: str | UnsetType = UNSET  # noqa: N815
