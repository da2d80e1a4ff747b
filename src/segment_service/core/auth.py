"""Tokens, the caller, and how a request's bearer token becomes one (core/guard.py checks it for every route).

Routes declare the scopes they accept in `opt={"scopes": (...)}` (the sets are named in each service's scopes.py; the
OpenAPI security is derived from them, core/openapi.py); any one of them is enough
(docs/decisions.md#which-scopes-an-operation-takes). The guard answers 401 for a missing, malformed, expired or
foreign-signed token, and 403 for another tenant or a missing scope (docs/behaviour.md#tokens-and-scopes).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any

import msgspec
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OctKey
from litestar.connection import ASGIConnection

from segment_service.core.db import Database
from segment_service.core.errors import Forbidden, Unauthorized

# Re-exported: the services that end sessions and change clients evict there.
from segment_service.core.revocation import CLIENTS as CLIENTS
from segment_service.core.revocation import SESSIONS as SESSIONS

# The scopes live in core/scopes.py; re-exported here, where tokens carry them.
from segment_service.core.scopes import ANONYMOUS_SCOPES as ANONYMOUS_SCOPES
from segment_service.core.scopes import ANY_TOKEN as ANY_TOKEN
from segment_service.core.scopes import CUSTOMER_SCOPES as CUSTOMER_SCOPES
from segment_service.core.scopes import SERVICE_SCOPES as SERVICE_SCOPES
from segment_service.core.scopes import Scope as Scope

ISSUER = "segment-service"


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
    def read_key(self) -> tuple[str, str]:
        """Who read-your-writes is kept for (core/dbreplicas.py): the tenant and the token's subject, which is the
        client of a service token, the customer of a customer token (all its sessions alike) and the session of an
        anonymous one."""
        return (self.tenant, f"{self.kind.value}:{self.subject}")

    @property
    def scope_text(self) -> str:
        """The Emporix scope string of the token."""
        return scope_text(self.tenant, self.scopes)


def scope_text(tenant: str, scopes: Iterable[str]) -> str:
    """The Emporix scope string: `tenant=T` first, then the scopes."""
    return " ".join([f"tenant={tenant}", *sorted(scopes)])


class SigningKey(msgspec.Struct, frozen=True):
    """One HS256 key: `kid` names it in the header of the tokens it signs."""

    kid: str
    secret: str


def configured_key(secret: str) -> SigningKey:
    """The key SEGMENT_SERVICE_SIGNING_KEY names; its kid is derived from it, so every process agrees on it."""
    return SigningKey(kid="env-" + hashlib.sha256(secret.encode()).hexdigest()[:12], secret=secret)


_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class _Claims(msgspec.Struct, frozen=True):
    """The claims of our tokens with their exact types: anything else in a validly signed token is a 401."""

    iss: str
    sub: _NonEmpty
    ten: _NonEmpty
    knd: TokenKind
    exp: int
    iat: int | None = None
    scp: str = ""
    jti: str | None = None
    cid: _NonEmpty | None = None
    lei: _NonEmpty | None = None
    sid: _NonEmpty | None = None


class UnknownSigningKey(Unauthorized):
    """A token names a key this process does not know (yet): after a rotation, reloading the keys may find it."""


#: Where the keys come from when they are kept in the database, newest first.
KeyLoader = Callable[[], Awaitable[Sequence[SigningKey]]]


class TokenService:
    """Signs and verifies bearer tokens (HS256 JWTs with a `kid` header) and keeps a small cache of verified ones off
    the hot path.

    New tokens are signed with the newest key; older keys still verify the tokens they signed until they are
    dropped. With a `loader` the keys are reloaded when a token names an unknown key (at most once a second) and,
    when older than a few seconds, before tokens are issued, so that a rotation reaches every worker process without
    a restart."""

    _CACHE_LIMIT = 10_000
    MIN_KEY_BYTES = 32
    #: How stale the keys may be when a token is issued, and how often an unknown kid may cause a reload.
    RELOAD_SECONDS = 5.0
    FORCED_RELOAD_SECONDS = 1.0

    def __init__(self, signing_key: str | Sequence[SigningKey], *, loader: KeyLoader | None = None) -> None:
        keys = [configured_key(signing_key)] if isinstance(signing_key, str) else list(signing_key)
        self._loader = loader
        self._loaded_at = time.monotonic()
        self._forced_at = float("-inf")
        self._reload_lock = asyncio.Lock()
        self._verified: dict[str, Caller] = {}
        self._use(keys)

    def _use(self, keys: Sequence[SigningKey]) -> None:
        """Take `keys`, newest first."""
        if not keys:
            raise ValueError("No token signing key.")
        for key in keys:
            if len(key.secret.encode()) < self.MIN_KEY_BYTES:
                raise ValueError(
                    f"The token signing key must be at least {self.MIN_KEY_BYTES} bytes long "
                    "(SEGMENT_SERVICE_SIGNING_KEY)."
                )
        previous = getattr(self, "_keys", {})
        self._keys = {key.kid: OctKey.import_key(key.secret) for key in keys}
        self._current = keys[0].kid
        if not previous.keys() <= self._keys.keys():
            self._verified.clear()  # a dropped key verifies nothing any more, cached tokens included

    @property
    def current_kid(self) -> str:
        """The kid new tokens are signed with."""
        return self._current

    async def reload_keys(self, *, forced: bool = False) -> bool:
        """Reload the keys when they are older than RELOAD_SECONDS (FORCED_RELOAD_SECONDS when `forced`, for an
        unknown kid); whether they were reloaded."""
        if self._loader is None:
            return False
        if not forced and (self._reload_lock.locked() or time.monotonic() - self._loaded_at < self.RELOAD_SECONDS):
            return False  # issuing callers hold a connection: they never wait for another one's reload
        async with self._reload_lock:
            now = time.monotonic()
            if forced:
                # Unknown kids (which anyone can send) cause at most one reload a second.
                if now - self._forced_at < self.FORCED_RELOAD_SECONDS:
                    return False
                self._forced_at = now
            elif now - self._loaded_at < self.RELOAD_SECONDS:
                return False
            keys = await self._loader()
            self._loaded_at = time.monotonic()
            self._use(keys)
            return True

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
        return jwt.encode({"alg": "HS256", "kid": self._current}, claims, self._keys[self._current])

    def verify(self, token: str) -> Caller:
        """The caller a token stands for; raises Unauthorized for anything not issued by us or expired
        (UnknownSigningKey for a key not loaded here: `verify_fresh` reloads the keys then)."""
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

    async def verify_fresh(self, token: str) -> Caller:
        """`verify`, reloading the keys once when the token names a key this process does not know (and every few
        seconds anyway, so that a dropped key stops verifying in a process that only verifies)."""
        await self.reload_keys()
        try:
            return self.verify(token)
        except UnknownSigningKey:
            if not await self.reload_keys(forced=True):
                raise
            return self.verify(token)

    async def decode_ignoring_expiry(self, token: str) -> Caller:
        """The caller a token stood for, checking its signature but not its expiry (to refresh an expired token)."""
        try:
            return self._decode(token)
        except UnknownSigningKey:
            if not await self.reload_keys(forced=True):
                raise
            return self._decode(token)

    def _keys_for(self, token: str) -> list[OctKey]:
        """The keys that may have signed `token`: the one its `kid` names; every key for a token from before kids."""
        kid = jws.extract_compact(token.encode()).headers().get("kid")
        if kid is None:
            return list(self._keys.values())
        if not isinstance(kid, str):
            raise Unauthorized()
        key = self._keys.get(kid)
        if key is None:
            raise UnknownSigningKey()
        return [key]

    def _decode(self, token: str) -> Caller:
        try:
            raw: dict[str, Any] | None = None
            for key in self._keys_for(token):
                try:
                    raw = jwt.decode(token, key, algorithms=["HS256"]).claims
                    break
                except BadSignatureError:
                    continue
            if raw is None:
                raise Unauthorized()
            claims = msgspec.convert(raw, _Claims, strict=True)
        except (JoseError, ValueError, msgspec.ValidationError) as exc:
            raise Unauthorized() from exc
        if claims.iss != ISSUER or not _consistent(claims):
            raise Unauthorized()
        return Caller(
            tenant=claims.ten,
            kind=claims.knd,
            subject=claims.sub,
            scopes=frozenset(claims.scp.split()),
            expires_at=claims.exp,
            customer_id=claims.cid,
            legal_entity_id=claims.lei,
            session_id=claims.sid,
        )


def _consistent(claims: _Claims) -> bool:
    """Whether the claims fit the token's kind: only a customer token names a customer and a legal entity, and a
    service token has no session."""
    if claims.knd is TokenKind.CUSTOMER:
        return claims.cid is not None
    if claims.knd is TokenKind.ANONYMOUS:
        return claims.cid is None and claims.lei is None
    return claims.cid is None and claims.lei is None and claims.sid is None


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


async def authenticate(
    tokens: TokenService,
    db: Database,
    authorization: str | None,
    *,
    tenant: str | None,
    required: tuple[str, ...],
    kinds: tuple[TokenKind, ...] | None = None,
    anonymous_without_scopes: bool = False,
) -> Caller:
    """The caller of a request with this `Authorization` header, checked against the path's tenant, the operation's
    scopes (any one of `required` is enough; `()` takes any valid token of the tenant; with
    `anonymous_without_scopes` they bind service and customer tokens only) and token kinds: 401 or 403 otherwise."""
    caller = await tokens.verify_fresh(bearer_token(authorization))
    if caller.session_id is not None and not await SESSIONS.is_open(db, caller.tenant, caller.session_id):
        raise Unauthorized()  # the customer logged out or was deactivated, or the session expired
    if caller.kind is TokenKind.SERVICE:
        client = await CLIENTS.current(db, caller.subject)
        if client is None or client.tenant != caller.tenant:
            raise Unauthorized()  # the API client was deleted
        if not caller.scopes <= client.scopes:  # the client's scopes were narrowed since the token was issued
            caller = msgspec.structs.replace(caller, scopes=caller.scopes & client.scopes)
    if tenant is not None and tenant != caller.tenant:
        raise Forbidden(f"The token belongs to tenant '{caller.tenant}', not to tenant '{tenant}'.")
    anonymous_free = anonymous_without_scopes and caller.kind is TokenKind.ANONYMOUS
    if required and not caller.has_any(required) and not anonymous_free:
        raise Forbidden(f"Required scope(s): {', '.join(required)}.")
    if kinds is not None and caller.kind not in kinds:
        raise Forbidden(kind_refusal(kinds))
    return caller


def current_caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """Dependency: the caller the guard verified."""
    caller: Caller = connection.scope["state"]["caller"]
    return caller
