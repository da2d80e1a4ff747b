"""The per-account login rate limit around a password check (docs/customers.md#login-rate-limit); no HTTP here.

`start` admits a check or says why not; while other checks of the account hold its remaining guesses it waits a
little (they take a few hundred milliseconds), so that a right password sent several times at once logs in every
time. `finish` counts the outcome: only a wrong password is a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from segment_service.core.db import Database
from segment_service.core.errors import TooManyRequests
from segment_service.customers import login_store
from segment_service.customers.store import Credentials

#: Consecutive failed password attempts after which an account is locked, and the longest lock (2^(n-5) s).
FAILURE_LIMIT = 5
MAX_LOCK_SECONDS = 15 * 60
#: How long a check waits for the account's other checks to finish before it gives up with a 429, and how often it
#: looks.
WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.05


def _locked(lock: login_store.Lock) -> TooManyRequests:
    return TooManyRequests(
        f"Too many failed login attempts for this account; try again after {lock.locked_until}.",
        retry_after=lock.retry_after,
    )


async def start(
    db: Database, tenant: str, *, email: str | None = None, customer_id: str | None = None
) -> Credentials | None:
    """Start a password check of the account; its credentials, or None when there is no account with a password.

    Raises:
        TooManyRequests: the account is locked, or other checks kept it busy for WAIT_SECONDS.
    """
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        async with db.transaction() as conn:
            credentials = await login_store.start(
                conn, tenant, email=email, customer_id=customer_id, threshold=FAILURE_LIMIT
            )
            refusal = (
                None
                if credentials is not None
                else await login_store.refusal(conn, tenant, email=email, customer_id=customer_id)
            )
        if credentials is not None or refusal is None:
            return credentials
        if isinstance(refusal, login_store.Lock):
            raise _locked(refusal)
        if time.monotonic() >= deadline:
            raise TooManyRequests(
                "Other login attempts for this account are being checked; try again in a second.", retry_after=1
            )
        await asyncio.sleep(_POLL_SECONDS)


async def check(db: Database, tenant: str, credentials: Credentials, verify: Callable[[], Awaitable[bool]]) -> bool:
    """Run the started check `verify` (whether the password is right) and count its outcome: a wrong password is a
    failure, a right one resets the count. A check that fails to run counts neither way."""
    try:
        right = await verify()
    except BaseException:
        async with db.transaction() as conn:
            await login_store.abandoned(conn, tenant, credentials.id)
        raise
    if not right:
        async with db.transaction() as conn:
            await login_store.failed(
                conn, tenant, credentials.id, threshold=FAILURE_LIMIT, max_lock_seconds=MAX_LOCK_SECONDS
            )
    return right
