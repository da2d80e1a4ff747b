"""Fair use of the connection pool: no single tenant may hold more than its share of a worker's connections.

Without a share, one tenant's slow requests (a costly `q` on a public list, which an anonymous storefront token is
enough for) can occupy every pooled connection, and every other tenant's requests, `/health` included, queue behind
them. So each request is attributed to a *pool key* (the tenant in its path, else the path's first segment, such as
`oauth` or `health`), and a key may hold at most `tenant_pool_share` connections of the worker at once; its further
requests wait for one of its own to finish, never for anyone else's. A request that waits longer than
`tenant_pool_wait_ms` answers 429 with `Retry-After`. Nested borrowing within one request (a service calling another
while it holds a connection) takes no second share, so a request never waits for itself.

Both lanes are covered: the key is set by the fast lane's ASGI entry point (`bind_request`), in front of everything,
and the share is taken in `Database.connection()` and `Database.transaction()`, which every statement goes through.
docs/operations.md#limits-and-fair-use explains the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from contextvars import ContextVar, Token
from dataclasses import dataclass

from segment_service.core.errors import TooManyRequests

#: First path segments that are followed by the tenant (`/{service}/{tenant}/…`).
_TENANT_PREFIXES = frozenset(
    {
        "customer-segment",
        "customer",
        "customer-management",
        "product",
        "category",
        "coupon",
        "order-v2",
        "webhook",
        "import",
    }
)

_pool_key: ContextVar[str] = ContextVar("pool_key", default="")
_holding: ContextVar[bool] = ContextVar("pool_share_held", default=False)


def pool_key(path: str) -> str:
    """The key a request's database use is counted under: its tenant, or the service path it calls."""
    # Empty segments are skipped as the router skips them: `//product/t/…` and `/product//t/…` reach tenant t's
    # routes, so they must count against t's share, not open a share of their own.
    parts = [part for part in path.split("/") if part]
    if len(parts) > 1 and parts[0] in _TENANT_PREFIXES:
        return parts[1]
    return "/" + (parts[0] if parts else "")


def bind_request(path: str) -> Token[str]:
    """Attribute the current request (its task and whatever it awaits) to the pool key of `path`."""
    return _pool_key.set(pool_key(path))


def unbind_request(token: Token[str]) -> None:
    _pool_key.reset(token)


@dataclass(slots=True)
class _Share:
    semaphore: asyncio.Semaphore
    users: int = 0  # holders and waiters: the share is dropped when none is left
    held: int = 0


class FairShare:
    """Per pool key, at most `limit` connections held at once (0: no limit); waiting longer than `wait_seconds` for
    one raises TooManyRequests."""

    def __init__(self, limit: int, wait_seconds: float, resource: str = "the database") -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.resource = resource  # what the requests wait for, in the 429's message
        self._shares: dict[str, _Share] = {}

    def in_use(self, key: str) -> int:
        """How many connections `key` holds now (for tests and metrics)."""
        share = self._shares.get(key)
        return 0 if share is None else share.held

    def slot(self) -> _Slot:
        """Hold one of the current request's connections of its share for the duration (`async with`)."""
        return _Slot(self)

    def _too_many(self, key: str) -> TooManyRequests:
        retry = max(1, math.ceil(self.wait_seconds))
        who = f"'{key}'" if key.startswith("/") else f"tenant '{key}'"
        return TooManyRequests(
            f"Too many concurrent requests for {who} are waiting for {self.resource} (at most {self.limit} "
            f"at once use it); retry after {retry} s.",
            retry_after=retry,
        )

    def _leave(self, key: str, share: _Share) -> None:
        share.users -= 1
        if share.users == 0 and self._shares.get(key) is share:
            del self._shares[key]


class _Slot:
    """One use of a share, as an async context manager written out as a class: every statement of every request
    passes here, and a generator-based context manager costs several times as much."""

    __slots__ = ("_fair", "_holding", "_key", "_share")

    def __init__(self, fair: FairShare) -> None:
        self._fair = fair
        self._share: _Share | None = None
        self._key = ""
        self._holding: Token[bool] | None = None

    async def __aenter__(self) -> None:
        fair = self._fair
        if fair.limit <= 0 or _holding.get():
            return
        key = _pool_key.get()
        share = fair._shares.get(key)
        if share is None:
            share = fair._shares[key] = _Share(asyncio.Semaphore(fair.limit))
        share.users += 1
        try:
            if share.semaphore.locked():
                # asyncio.timeout rather than wait_for: Semaphore.acquire gives a permit granted at the moment of
                # the timeout back, where Python 3.11's wait_for could lose it.
                try:
                    async with asyncio.timeout(fair.wait_seconds):
                        await share.semaphore.acquire()
                except TimeoutError:
                    raise fair._too_many(key) from None
            else:
                await share.semaphore.acquire()  # a free permit is taken at once: no timer to arm
        except BaseException:
            fair._leave(key, share)
            raise
        share.held += 1
        self._share, self._key = share, key
        self._holding = _holding.set(True)

    async def __aexit__(self, *exc: object) -> None:
        share = self._share
        if share is None:
            return
        self._share = None
        # The permit first: whatever happens to the context variable, the tenant never keeps one permit fewer.
        share.held -= 1
        share.semaphore.release()
        self._fair._leave(self._key, share)
        if self._holding is not None:
            with contextlib.suppress(ValueError):  # left in another context than entered: nothing of ours to undo
                _holding.reset(self._holding)
