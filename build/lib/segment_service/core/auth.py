"""Tokens, scopes, the caller, and the one guard that checks them for every route.

Routes declare the scopes they accept in `opt={"scopes": (...)}`; any one of them is enough (digest §1.1). The guard
answers 401 for a missing, malformed, expired or foreign-signed token, and 403 for another tenant or a missing scope
(decisions.md: Tokens and scopes).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import msgspec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from segment_service.core.db import Database
from segment_service.core.errors import Forbidden, Unauthorized

ISSUER = "segment-service"


class Scope(StrEnum):
    """Every Emporix scope string this project knows, spelled once."""

    SEGMENT_READ = "customersegment.segment_read"
    SEGMENT_READ_OWN = "customersegment.segment_read_own"
    SEGMENT_MANAGE = "customersegment.segment_manage"
    COUPON_READ = "coupon.coupon_read"
    COUPON_MANAGE = "coupon.coupon_manage"
    COUPON_REDEEM = "coupon.coupon_redeem"
    COUPON_REDEEM_ON_BEHALF = "coupon.coupon_redeem_on_behalf"
    CATEGORY_MANAGE = "category.category_manage"
    CATEGORY_READ_UNPUBLISHED = "category.category_read_unpublished"
    CATEGORY_PUBLISH = "category.category_publish"
    CATEGORY_UNPUBLISH = "category.category_unpublish"
    CUSTOMER_READ = "customer.customer_read"
    CUSTOMER_MANAGE = "customer.customer_manage"
    CUSTOMER_READ_OWN = "customer.customer_read_own"
    CUSTOMER_MANAGE_OWN = "customer.customer_manage_own"
    LEGAL_ENTITY_READ = "customermanagement.legalentity_read"
    LEGAL_ENTITY_READ_OWN = "customermanagement.legalentity_read_own"
    LEGAL_ENTITY_MANAGE = "customermanagement.legalentity_manage"
    CONTACT_ASSIGNMENT_READ = "customermanagement.contactassignment_read"
    CONTACT_ASSIGNMENT_MANAGE = "customermanagement.contactassignment_manage"
    PRODUCT_READ_UNPUBLISHED = "product.product_read_unpublished"
    PRODUCT_MANAGE = "product.product_manage"
    PRODUCT_PUBLISH = "product.product_publish"
    PRODUCT_UNPUBLISH = "product.product_unpublish"


#: What a service client gets when no scopes are asked for: every scope a back office needs.
SERVICE_SCOPES: tuple[str, ...] = tuple(
    s.value for s in Scope if not s.value.endswith("_own") and s is not Scope.COUPON_REDEEM
)


#: What a customer token carries: the storefront set (digest §4.2), so a shop can read its own data and redeem coupons.
CUSTOMER_SCOPES: tuple[str, ...] = (
    Scope.SEGMENT_READ_OWN.value,
    Scope.COUPON_REDEEM.value,
    Scope.CUSTOMER_READ_OWN.value,
    Scope.CUSTOMER_MANAGE_OWN.value,
    Scope.LEGAL_ENTITY_READ_OWN.value,
)

#: An anonymous token's scope is only `tenant=T` (digest §4.2).
ANONYMOUS_SCOPES: tuple[str, ...] = ()


class TokenKind(StrEnum):
    SERVICE = "service"
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"


class Caller(msgspec.Struct, frozen=True):
    """Who is calling: the verified content of the bearer token."""

    tenant: str
    kind: TokenKind
    subject: str
    scopes: frozenset[str]
    expires_at: int
    customer_id: str | None = None
    legal_entity_id: str | None = None
    session_id: str | None = None

    def has_any(self, scopes: Iterable[str]) -> bool:
        """Whether the caller holds at least one of `scopes`."""
        return not self.scopes.isdisjoint(scopes)

    @property
    def scope_text(self) -> str:
        """The Emporix scope string of the token."""
        return scope_text(self.tenant, self.scopes)


def scope_text(tenant: str, scopes: Iterable[str]) -> str:
    """The Emporix scope string: `tenant=T` first, then the scopes."""
    return " ".join([f"tenant={tenant}", *sorted(scopes)])


class TokenService:
    """Signs and verifies bearer tokens (HS256 JWTs) and keeps a small cache of verified ones off the hot path."""

    _CACHE_LIMIT = 10_000

    MIN_KEY_BYTES = 32

    def __init__(self, signing_key: str) -> None:
        if len(signing_key.encode()) < self.MIN_KEY_BYTES:
            raise ValueError(f"The token signing key must be at least {self.MIN_KEY_BYTES} bytes long "
                             "(SEGMENT_SERVICE_SIGNING_KEY).")
        self._key = OctKey.import_key(signing_key)
        self._verified: dict[str, Caller] = {}

    def issue(
        self,
        *,
        tenant: str,
        kind: TokenKind,
        subject: str,
        scopes: Iterable[str],
        ttl_seconds: int,
        customer_id: str | None = None,
        legal_entity_id: str | None = None,
        session_id: str | None = None,
    ) -> str:
        """A signed token for the given identity, valid for `ttl_seconds`."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": subject,
            "ten": tenant,
            "knd": kind.value,
            "scp": " ".join(sorted(set(scopes))),
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": secrets.token_hex(8),
        }
        if customer_id is not None:
            claims["cid"] = customer_id
        if legal_entity_id is not None:
            claims["lei"] = legal_entity_id
        if session_id is not None:
            claims["sid"] = session_id
        return jwt.encode({"alg": "HS256"}, claims, self._key)

    def verify(self, token: str) -> Caller:
        """The caller a token stands for; raises Unauthorized for anything not issued by us or expired."""
        now = time.time()
        caller = self._verified.get(token)
        if caller is None:
            caller = self._decode(token)
            if len(self._verified) >= self._CACHE_LIMIT:
                self._verified.clear()
            self._verified[token] = caller
        if caller.expires_at <= now:
            self._verified.pop(token, None)
            raise Unauthorized("Access Token expired", errorcode="keymanagement.service.access_token_expired")
        return caller

    def decode_ignoring_expiry(self, token: str) -> Caller:
        """The caller a token stood for, checking its signature but not its expiry (to refresh an expired token)."""
        return self._decode(token)

    def _decode(self, token: str) -> Caller:
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"]).claims
            if claims.get("iss") != ISSUER:
                raise Unauthorized()
            return Caller(
                tenant=str(claims["ten"]),
                kind=TokenKind(claims["knd"]),
                subject=str(claims["sub"]),
                scopes=frozenset(str(claims.get("scp", "")).split()),
                expires_at=int(claims["exp"]),
                customer_id=claims.get("cid"),
                legal_entity_id=claims.get("lei"),
                session_id=claims.get("sid"),
            )
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise Unauthorized() from exc


_SESSION_ACTIVE = """
SELECT ended_at IS NULL AND expires_at > now()
FROM token_sessions
WHERE tenant = $1 AND id = $2
"""


class SessionCheck:
    """Whether a storefront token's session is still open (logout ends it at once).

    A positive answer is kept for a second so that a burst of storefront calls costs one lookup; ending a session
    evicts it here, and other worker processes notice within that second."""

    TTL_SECONDS = 1.0
    _LIMIT = 10_000

    def __init__(self) -> None:
        self._open_until: dict[str, float] = {}

    async def is_open(self, db: Database, tenant: str, session_id: str) -> bool:
        now = time.monotonic()
        if self._open_until.get(session_id, 0.0) > now:
            return True
        async with db.connection() as conn:
            is_open = bool(await conn.fetchval(_SESSION_ACTIVE, tenant, session_id))
        if is_open:
            if len(self._open_until) >= self._LIMIT:
                self._open_until.clear()
            self._open_until[session_id] = now + self.TTL_SECONDS
        return is_open

    def forget(self, session_id: str) -> None:
        self._open_until.pop(session_id, None)


#: One per process, shared by the guard and whatever ends sessions.
SESSIONS = SessionCheck()


#: Why a token of the wrong kind is refused, by the kinds an operation takes (`opt["kinds"]`).
_KIND_MESSAGES = {
    frozenset({TokenKind.ANONYMOUS}): "This operation needs an anonymous token of the tenant "
                                      "(GET /customerlogin/auth/anonymous/login).",
    frozenset({TokenKind.CUSTOMER}): "This operation needs a customer token (POST /customer/{tenant}/login).",
    frozenset({TokenKind.ANONYMOUS, TokenKind.CUSTOMER}): "This operation needs an anonymous or a customer token of "
                                                          "the tenant.",
}


def kind_refusal(kinds: Iterable[TokenKind]) -> str:
    """The 403 message for a token that is not of one of `kinds`."""
    wanted = frozenset(kinds)
    return _KIND_MESSAGES.get(wanted) or f"This operation needs a token of kind {' or '.join(sorted(wanted))}."


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header; 401 when there is none."""
    if not authorization:
        raise Unauthorized()
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


async def authenticate(tokens: TokenService, db: Database, authorization: str | None, *, tenant: str | None,
                       required: tuple[str, ...], kinds: tuple[TokenKind, ...] | None = None,
                       anonymous_without_scopes: bool = False) -> Caller:
    """The caller of a request with this `Authorization` header, checked against the path's tenant, the operation's
    scopes (any one of `required` is enough; `()` takes any valid token of the tenant; with
    `anonymous_without_scopes` they bind service and customer tokens only) and token kinds: 401 or 403 otherwise."""
    caller = tokens.verify(bearer_token(authorization))
    if caller.session_id is not None and not await SESSIONS.is_open(db, caller.tenant, caller.session_id):
        raise Unauthorized()  # the customer logged out, or the session expired
    if tenant is not None and tenant != caller.tenant:
        raise Forbidden(f"The token belongs to tenant '{caller.tenant}', not to tenant '{tenant}'.")
    anonymous_free = anonymous_without_scopes and caller.kind is TokenKind.ANONYMOUS
    if required and not caller.has_any(required) and not anonymous_free:
        raise Forbidden(f"Required scope(s): {', '.join(required)}.")
    if kinds is not None and caller.kind not in kinds:
        raise Forbidden(kind_refusal(kinds))
    return caller


async def scope_guard(connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler) -> None:
    """Authenticate the caller of routes that declare `opt["scopes"]` (and `opt["kinds"]`,
    `opt["anonymous_without_scopes"]`): see `authenticate`.

    Async although it rarely does I/O: Litestar runs a plain function guard in a thread pool, which costs more than
    the check itself."""
    required: tuple[str, ...] | None = route_handler.opt.get("scopes")
    if required is None:
        return
    connection.state.caller = await authenticate(
        connection.app.state.tokens, connection.app.state.db, connection.headers.get("authorization"),
        tenant=connection.path_params.get("tenant"), required=required, kinds=route_handler.opt.get("kinds"),
        anonymous_without_scopes=bool(route_handler.opt.get("anonymous_without_scopes")),
    )


def current_caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """Dependency: the caller the guard verified."""
    caller: Caller = connection.state.caller
    return caller
