"""Customer passwords: argon2id hashes, computed off the event loop (one hash costs ~150 ms at the default cost)."""

from __future__ import annotations

import asyncio
import os
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from segment_service.core.fairshare import FairShare

#: argon2-cffi's default time cost (RFC 9106, low-memory profile); the memory cost comes from the settings.
TIME_COST = 3

#: How many hashes one tenant may compute at once in a worker: half the threads asyncio.to_thread runs them on, so
#: that a flood of logins to one tenant (an anonymous token is enough, unknown emails cost a hash too) queues behind
#: its own share instead of ahead of every other tenant's logins (core/fairshare.py, docs/operations.md).
HASHES_PER_TENANT = max(1, min(32, (os.cpu_count() or 1) + 4) // 2)
#: How long a request waits for its tenant's share of hashing before it answers 429.
HASH_WAIT_SECONDS = 5.0

_HASHING = FairShare(HASHES_PER_TENANT, HASH_WAIT_SECONDS, resource="a password check")


class Passwords:
    """Hashes and checks passwords at one configured cost."""

    def __init__(self, memory_kib: int) -> None:
        memory_kib = max(8, memory_kib)
        # argon2 needs at least 8 KiB per lane; 4 lanes is argon2-cffi's default.
        self._hasher = PasswordHasher(
            time_cost=TIME_COST, memory_cost=memory_kib, parallelism=max(1, min(4, memory_kib // 8))
        )
        # Checked when there is no account, so that an unknown email costs as much time as a wrong password.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """The argon2id hash of `password`, salted."""
        async with _HASHING.slot():
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches `password_hash`; None (no account) is checked against a decoy and fails."""

        def check() -> bool:
            try:
                return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        async with _HASHING.slot():
            return await asyncio.to_thread(check)


def hashing_in_use(tenant: str) -> int:
    """How many password hashes `tenant` computes now in this process (for tests)."""
    return _HASHING.in_use(tenant)


@lru_cache(maxsize=4)
def passwords(memory_kib: int) -> Passwords:
    """The hasher for a memory cost, made once per process."""
    return Passwords(memory_kib)
