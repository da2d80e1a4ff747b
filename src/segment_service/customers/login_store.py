"""Login-attempt SQL: the per-account counters of password checks (docs/customers.md#login-rate-limit).

A check is *started* before the password is verified, in the same statement that checks the lock: that statement
admits it only while the checks under way (`logins_in_flight`) stay below the guesses the account has left before
it locks, so that no number of parallel requests gets more guesses than the limit. It is *finished* after the
verification: only a wrong password counts as a failure; a right one resets the count.
"""

from __future__ import annotations

import msgspec

from segment_service.core.db import Connection
from segment_service.core.timefmt import iso_sql
from segment_service.customers.store import Credentials

#: A started check whose process died never finishes: it stops holding back others this long after the last start.
STALE_SECONDS = 30

_IN_FLIGHT = (
    f"(CASE WHEN c.login_started_at > now() - interval '{STALE_SECONDS} seconds' THEN c.logins_in_flight ELSE 0 END)"
)

_MATCH_BY_EMAIL = "c.tenant = $1 AND lower(c.contact_email) = lower($2)"
_MATCH_BY_ID = "c.tenant = $1 AND c.id = $2"

# $3: the consecutive failures from which the account is locked. Once locked and the lock has run out, one check at a
# time is let through.
_START = """
UPDATE customers AS c
SET logins_in_flight = {in_flight} + 1, login_started_at = now()
WHERE {match} AND c.password_hash IS NOT NULL
  AND (c.locked_until IS NULL OR c.locked_until <= now())
  AND {in_flight} < greatest($3 - c.failed_logins, 1)
RETURNING c.id, c.password_hash, c.active, c.initial_password
"""
_START_BY_EMAIL = _START.format(in_flight=_IN_FLIGHT, match=_MATCH_BY_EMAIL)
_START_BY_ID = _START.format(in_flight=_IN_FLIGHT, match=_MATCH_BY_ID)

# Why a check was not started: the account's lock when it is locked; otherwise other checks are under way.
_REFUSAL = f"""
SELECT {iso_sql("c.locked_until")}, ceil(extract(epoch FROM c.locked_until - now()))::bigint AS retry_after,
       coalesce(c.locked_until > now(), false) AS locked
FROM customers c
WHERE {{match}} AND c.password_hash IS NOT NULL
"""
_REFUSAL_BY_EMAIL = _REFUSAL.format(match=_MATCH_BY_EMAIL)
_REFUSAL_BY_ID = _REFUSAL.format(match=_MATCH_BY_ID)

# From the $3-th consecutive failure on, the account is locked for 2^(n-$3) seconds, at most $4 seconds.
_FAILED = f"""
UPDATE customers AS c
SET logins_in_flight = greatest({_IN_FLIGHT} - 1, 0),
    failed_logins = c.failed_logins + 1,
    last_failed_login = now(),
    locked_until = CASE
        WHEN c.failed_logins + 1 >= $3
        THEN now() + make_interval(secs => least(power(2, least(c.failed_logins + 1 - $3, 30)), $4))
        ELSE NULL
    END
WHERE c.tenant = $1 AND c.id = $2
"""

_SUCCEEDED = f"""
UPDATE customers AS c
SET logins_in_flight = greatest({_IN_FLIGHT} - 1, 0),
    failed_logins = 0, locked_until = NULL, last_failed_login = NULL,
    last_login = CASE WHEN $3 AND c.active THEN now() ELSE c.last_login END
WHERE c.tenant = $1 AND c.id = $2
"""

_ABANDONED = f"""
UPDATE customers AS c
SET logins_in_flight = greatest({_IN_FLIGHT} - 1, 0)
WHERE c.tenant = $1 AND c.id = $2
"""


class Lock(msgspec.Struct, kw_only=True):
    """A login lock: until when (wire format) and how many whole seconds are left."""

    locked_until: str
    retry_after: int


class Busy(msgspec.Struct):
    """As many checks of the account are under way as it has guesses left."""


async def start(
    conn: Connection, tenant: str, *, email: str | None = None, customer_id: str | None = None, threshold: int
) -> Credentials | None:
    """Start a password check of the account (by email or id); its credentials, or None when it has no password,
    is locked, or has as many checks under way as guesses left (`refusal` tells which)."""
    if email is not None:
        record = await conn.fetchrow(_START_BY_EMAIL, tenant, email, threshold)
    else:
        record = await conn.fetchrow(_START_BY_ID, tenant, customer_id, threshold)
    return None if record is None else Credentials(**record)


async def refusal(
    conn: Connection, tenant: str, *, email: str | None = None, customer_id: str | None = None
) -> Lock | Busy | None:
    """Why `start` gave nothing: the lock, Busy, or None when there is no account with a password."""
    if email is not None:
        record = await conn.fetchrow(_REFUSAL_BY_EMAIL, tenant, email)
    else:
        record = await conn.fetchrow(_REFUSAL_BY_ID, tenant, customer_id)
    if record is None:
        return None
    if record["locked"]:
        return Lock(locked_until=record["locked_until"], retry_after=record["retry_after"])
    return Busy()


async def failed(conn: Connection, tenant: str, customer_id: str, *, threshold: int, max_lock_seconds: int) -> None:
    """Finish a check with a wrong password: one more consecutive failure, locking from the `threshold`-th on."""
    await conn.execute(_FAILED, tenant, customer_id, threshold, max_lock_seconds)


async def succeeded(conn: Connection, tenant: str, customer_id: str, *, record_login: bool) -> None:
    """Finish a check with the right password: the failure count is reset (and the login of an active account
    recorded, with `record_login`)."""
    await conn.execute(_SUCCEEDED, tenant, customer_id, record_login)


async def abandoned(conn: Connection, tenant: str, customer_id: str) -> None:
    """Finish a check that could not verify the password: it counts neither way."""
    await conn.execute(_ABANDONED, tenant, customer_id)
