"""The customer's own account (customer-login.yml; docs/decisions.md#storefront-tokens): signup, login, token refresh
and validation, the profile (`/me`), logout and password change. No HTTP here.

Tokens and sessions belong to the OAuth service (`oauth.service`); this module proves who the customer is and asks
it for a session. Login attempts are rate-limited per account (docs/customers.md).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from segment_service.core import events
from segment_service.core.auth import Caller, TokenKind, TokenService, kind_refusal
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Conflict, Forbidden, Unauthorized
from segment_service.core.ids import new_id
from segment_service.core.models import UNSET, UnsetType
from segment_service.customers import login_limit, login_store, store
from segment_service.customers.models import (
    CustomerDetails,
    CustomerPatchDto,
    CustomerSignup,
    CustomerToken,
    PasswordAuthentication,
    PasswordChangeDto,
    RefreshCustomerToken,
    ValidateTokenResponse,
)
from segment_service.customers.passwords import Passwords
from segment_service.customers.service import (
    Expand,
    check_email,
    customer_document,
    merge_into_customer,
    patch_body,
)
from segment_service.oauth import service as oauth_service
from segment_service.oauth.models import SessionTokens

#: The same words for an unknown email and a wrong password, so that login tells nobody which emails exist.
WRONG_CREDENTIALS = "Invalid email or password"
_WRONG_CREDENTIALS_CODE = "oauth.v2.InvalidCredentials"


class ContactCheck(Protocol):
    """Whether a customer is a contact of a legal entity. The Legal Entity service answers it (it builds on this
    one, so this one is handed the question's answerer instead of importing it; app.py wires it)."""

    async def __call__(self, conn: Connection, tenant: str, customer_id: str, legal_entity_id: str) -> bool: ...


def _require_customer(caller: Caller) -> str:
    """The caller's customer id. The routes declare which token kinds they take and the guard checks it; this stays
    as the one place that turns a caller into a customer id."""
    if caller.kind is not TokenKind.CUSTOMER or caller.customer_id is None:
        raise Forbidden(kind_refusal((TokenKind.CUSTOMER,)))
    return caller.customer_id


def _gone() -> Unauthorized:
    """A valid token of a customer who no longer exists: the session is worth nothing any more."""
    return Unauthorized()


# ------------------------------------------------------------------------------------------------------ signup


def _given(value: str | None | UnsetType) -> str | None:
    return None if isinstance(value, UnsetType) else value


async def signup(db: Database, caller: Caller, body: CustomerSignup, *, passwords: Passwords) -> str:
    """Create a customer account with a password; the customer's id.

    When a customer with this email exists but has no password yet (created by the tenant), the account is completed
    instead: the password is set and the names sent replace the stored ones. With a password already: 409."""
    email = check_email(body.email, field="email")
    if body.signup is not UNSET and body.signup is not None:
        raise BadRequest(
            "Separate sign-up credentials are not supported: customers log in with `email`, which is "
            "also their contactEmail. Leave `signup` out.",
            field="signup",
            type="not_supported",
        )
    details = body.customer_details if isinstance(body.customer_details, CustomerDetails) else CustomerDetails()
    contact_email = _given(details.contact_email)
    if contact_email is not None and contact_email.lower() != email.lower():
        raise BadRequest(
            "customerDetails.contactEmail must be the same as email.",
            field="customerDetails.contactEmail",
            type="invalid_value",
        )
    password_hash = await passwords.hash(body.password)
    tenant = caller.tenant
    async with db.transaction() as conn:
        found = await store.fetch_customer_by_email_for_update(conn, tenant, email)
        if found is None:
            metadata = details.metadata
            content = store.CustomerContent(
                id=new_id(),
                contact_email=email,
                title=_given(details.title),
                first_name=_given(details.first_name),
                last_name=_given(details.last_name),
                company=_given(details.company),
                preferred_language=_given(details.preferred_language),
                active=True,
                mixins=None if isinstance(details.mixins, UnsetType) else details.mixins,
                metadata_mixins=None
                if isinstance(metadata, UnsetType) or metadata is None or isinstance(metadata.mixins, UnsetType)
                else metadata.mixins,
            )
            await store.insert_customer(conn, tenant, content, password_hash=password_hash)
            await events.emit(conn, events.CustomerCreated(tenant=tenant, customer_id=content.id))
            return content.id
        row, has_password = found
        if has_password:
            raise Conflict(f"Duplicate account '{email}' for tenant '{tenant}'.", field="email", type="duplicate_value")
        # A tenant-managed profile: the customer's names complete it; the tenant's active flag and mixins stay.
        content = store.CustomerContent(
            id=row.id,
            contact_email=row.contact_email,
            title=_pick(details.title, row.title),
            first_name=_pick(details.first_name, row.first_name),
            last_name=_pick(details.last_name, row.last_name),
            company=_pick(details.company, row.company),
            preferred_language=_pick(details.preferred_language, row.preferred_language),
            active=row.active,
            mixins=row.mixins,
            metadata_mixins=row.metadata_mixins,
        )
        await store.update_customer(conn, tenant, content)
        await store.set_password(conn, tenant, row.id, password_hash, initial=False)
        await events.emit(conn, events.CustomerUpdated(tenant=tenant, customer_id=row.id))
        return row.id


def _pick(given: str | None | UnsetType, stored: str | None) -> str | None:
    """A value the signup sent, else the stored one."""
    value = _given(given)
    return stored if value is None else value


# ------------------------------------------------------------------------------------------------------- login


def _customer_token(tokens: SessionTokens, *, initial_password: bool) -> CustomerToken:
    # Our access token already names the customer (a signed JWT), so it doubles as the SaaS token.
    return CustomerToken(
        access_token=tokens.access_token,
        saas_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
        refresh_token_expires_in=tokens.refresh_token_expires_in,
        token_type="Bearer",
        session_id=tokens.session_id,
        initialPassword=initial_password,
        accessToken=tokens.access_token,
        saasToken=tokens.access_token,
        expiresIn=tokens.expires_in,
        refreshToken=tokens.refresh_token,
        refreshTokenExpiresIn=tokens.refresh_token_expires_in,
    )


async def login(
    db: Database, tokens: TokenService, caller: Caller, body: PasswordAuthentication, *, passwords: Passwords
) -> CustomerToken:
    """Log a customer in with email and password: a new session and its tokens.

    Raises:
        Unauthorized: unknown email or wrong password (the same message for both).
        TooManyRequests: the account is locked after repeated failures, whatever the password.
        Forbidden: the password is right but the account is not active.
    """
    tenant = caller.tenant
    credentials = await login_limit.start(db, tenant, email=body.email)
    if credentials is None:
        # An unknown email is checked against a decoy hash: it takes as long as a wrong password.
        await passwords.verify(None, body.password)
        raise Unauthorized(WRONG_CREDENTIALS, errorcode=_WRONG_CREDENTIALS_CODE)
    found = credentials
    if not await login_limit.check(db, tenant, found, lambda: passwords.verify(found.password_hash, body.password)):
        raise Unauthorized(WRONG_CREDENTIALS, errorcode=_WRONG_CREDENTIALS_CODE)
    async with db.transaction() as conn:
        await login_store.succeeded(conn, tenant, credentials.id, record_login=True)
        session = None
        if credentials.active:
            session = await oauth_service.start_customer_session(
                conn, tokens, tenant=tenant, customer_id=credentials.id
            )
    if session is None:  # the right password, but the tenant has deactivated the account
        raise Forbidden("The customer account is not active; the shop can activate it.")
    return _customer_token(session, initial_password=credentials.initial_password)


async def refresh(
    db: Database,
    tokens: TokenService,
    caller: Caller,
    *,
    refresh_token: str,
    legal_entity_id: str | None,
    is_contact: ContactCheck,
) -> RefreshCustomerToken:
    """New tokens for the session of `refresh_token` (which rotates).

    With `legal_entity_id` the token is a B2B token of that legal entity (the customer must be its contact, else
    403); an empty one clears it; without it the session keeps its legal entity (checked again)."""
    tenant = caller.tenant
    async with db.transaction() as conn:
        session = await oauth_service.find_customer_session(conn, tenant=tenant, refresh_token=refresh_token)
        if caller.kind is TokenKind.CUSTOMER and caller.customer_id != session.customer_id:
            raise Forbidden("The refresh token belongs to another customer's session.")
        credentials = await store.fetch_credentials(conn, tenant, session.customer_id)
        if credentials is None:
            raise Unauthorized("Invalid refresh token", errorcode="oauth.v2.InvalidRefreshToken")
        if not credentials.active:
            raise Forbidden("The customer account is not active; the shop can activate it.")
        context = session.legal_entity_id if legal_entity_id is None else (legal_entity_id or None)
        if context is not None and not await is_contact(conn, tenant, session.customer_id, context):
            raise Forbidden(f"The customer is not a contact of legal entity '{context}'.")
        renewed = await oauth_service.renew_customer_session(conn, tokens, session, legal_entity_id=context)
    return RefreshCustomerToken(
        access_token=renewed.access_token,
        expires_in=renewed.expires_in,
        refresh_token=renewed.refresh_token,
        refresh_token_expires_in=renewed.refresh_token_expires_in,
        token_type="Bearer",
        session_id=renewed.session_id,
        accessToken=renewed.access_token,
        expiresIn=renewed.expires_in,
        refreshToken=renewed.refresh_token,
        refreshTokenExpiresIn=renewed.refresh_token_expires_in,
    )


async def validate(db: Database, caller: Caller) -> ValidateTokenResponse:
    """What the customer token stands for: its remaining lifetime, scopes, session, email and legal entity."""
    customer_id = _require_customer(caller)
    async with db.connection() as conn:
        row = await store.fetch_customer(conn, caller.tenant, customer_id)
    if row is None:
        raise _gone()
    return ValidateTokenResponse(
        token_type="Bearer",
        expires_in=max(0, caller.expires_at - int(time.time())),
        scope=caller.scope_text,
        sessionId=UNSET if caller.session_id is None else caller.session_id,
        email=UNSET if row.contact_email is None else row.contact_email,
        legalEntityId=UNSET if caller.legal_entity_id is None else caller.legal_entity_id,
    )


async def logout(db: Database, tokens: TokenService, caller: Caller, *, access_token: str | None) -> None:
    """End the session of the customer token (or of `access_token`, another token of the same customer)."""
    customer_id = _require_customer(caller)
    session_id = caller.session_id
    if access_token:
        try:
            other = await tokens.decode_ignoring_expiry(access_token)  # an expired token's session may still be open
        except Unauthorized:
            raise BadRequest(
                "accessToken is not a token issued by this service.", field="accessToken", type="invalid_value"
            ) from None
        if other.tenant != caller.tenant or other.kind is not TokenKind.CUSTOMER or other.customer_id != customer_id:
            raise Forbidden("accessToken is not a token of the calling customer.")
        session_id = other.session_id
    if session_id is None:
        return  # a token without a session cannot be ended early; it runs out by itself
    async with db.transaction() as conn:
        await oauth_service.end_session(conn, caller.tenant, session_id)


# ----------------------------------------------------------------------------------------------------- profile


async def get_me(db: Database, caller: Caller, *, expand: Expand) -> dict[str, Any]:
    """The calling customer's own profile (`Customer`), with the time of the last login."""
    customer_id = _require_customer(caller)
    async with db.connection() as conn:
        row = await store.fetch_customer(conn, caller.tenant, customer_id)
    if row is None:
        raise _gone()
    doc = customer_document(row, expand)
    if row.last_login is not None:
        doc["lastLogin"] = row.last_login
    return doc


async def patch_me(db: Database, caller: Caller, patch: CustomerPatchDto) -> None:
    """Change the calling customer's own profile with a merge object."""
    customer_id = _require_customer(caller)
    async with db.transaction() as conn:
        current = await store.fetch_customer_for_update(conn, caller.tenant, customer_id)
        if current is None:
            raise _gone()
        await merge_into_customer(conn, caller.tenant, current, patch_body(patch))


async def change_password(db: Database, caller: Caller, body: PasswordChangeDto, *, passwords: Passwords) -> None:
    """Replace the calling customer's password after checking the current one (rate-limited like login)."""
    customer_id = _require_customer(caller)
    tenant = caller.tenant
    credentials = await login_limit.start(db, tenant, customer_id=customer_id)
    if credentials is None:
        async with db.connection() as conn:
            exists = await store.customer_exists(conn, tenant, customer_id)
        if not exists:
            raise _gone()
        raise BadRequest("The customer has no password yet; sign up to set one.", type="no_password")
    found = credentials
    if not await login_limit.check(
        db, tenant, found, lambda: passwords.verify(found.password_hash, body.current_password)
    ):
        raise BadRequest("The current password is not correct.", field="currentPassword", type="invalid_value")
    try:
        new_hash = await passwords.hash(body.new_password)
    except BaseException:
        async with db.transaction() as conn:
            await login_store.abandoned(conn, tenant, customer_id)
        raise
    async with db.transaction() as conn:
        await login_store.succeeded(conn, tenant, customer_id, record_login=False)
        await store.set_password(conn, tenant, customer_id, new_hash, initial=False)
        # Whoever held the old password is logged out everywhere but here.
        await oauth_service.end_customer_sessions(conn, tenant, customer_id, keep=caller.session_id)
