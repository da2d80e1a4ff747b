"""Configuration, read from the environment once and passed into `create_app(settings)`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service can be configured with; each field names its environment variable."""

    database_url: str | None = None
    """DATABASE_URL: PostgreSQL >= 14. When unset, `serve` starts an embedded server in `data_dir`."""
    data_dir: Path = field(default_factory=lambda: Path(".data"))
    """SEGMENT_SERVICE_DATA_DIR: where the embedded PostgreSQL keeps its files."""
    signing_key: str | None = None
    """SEGMENT_SERVICE_SIGNING_KEY: HMAC key for tokens. When unset, a random key is generated once and kept in the
    database, so that every worker and the CLI agree on it."""
    token_ttl_seconds: int = 14399
    """SEGMENT_SERVICE_TOKEN_TTL: lifetime of service tokens (Emporix's example value, about 4 hours)."""
    default_language: str = "en"
    """SEGMENT_SERVICE_DEFAULT_LANGUAGE: language of plain-string localized values sent without Content-Language."""
    max_body_bytes: int = 10 * 1024 * 1024
    """Request bodies over this size answer 413 (Emporix: 10 MB)."""
    max_url_bytes: int = 10 * 1024
    """URLs over this size answer 414 (Emporix: 10 KB)."""
    statement_timeout_ms: int = 5000
    """SEGMENT_SERVICE_STATEMENT_TIMEOUT_MS: upper bound for any one SQL statement, so no query can hang the service."""
    password_hash_memory_kib: int = 65536
    """SEGMENT_SERVICE_PASSWORD_HASH_MEMORY_KIB: memory cost of the argon2id customer password hash, in KiB (time cost
    3; the default is argon2-cffi's, RFC 9106's low-memory profile). Lower it only for tests: 8 is the minimum. Stored
    hashes keep their own cost, so changing it never locks anyone out."""
    pool_min_size: int = 2
    pool_max_size: int = 10
    """SEGMENT_SERVICE_POOL_MAX: connections per worker process."""
    tenant_pool_share: int = 5
    """SEGMENT_SERVICE_TENANT_POOL_SHARE: how many of a worker's pooled connections one tenant may use at once, so that
    no tenant's slow requests can hold the whole pool (core/fairshare.py, docs/operations.md). 0: no limit."""
    tenant_pool_wait_ms: int = 5000
    """SEGMENT_SERVICE_TENANT_POOL_WAIT_MS: how long a request may wait for its tenant's share before it answers 429
    with Retry-After."""
    fast_lane: bool = True
    """SEGMENT_SERVICE_FAST_LANE: `0` turns off the fast lane of the hottest storefront reads (core/fastlane.py), so
    that the framework answers every request; the answers are the same, only slower."""

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from the process environment."""
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(os.environ.get("SEGMENT_SERVICE_DATA_DIR") or ".data"),
            signing_key=os.environ.get("SEGMENT_SERVICE_SIGNING_KEY") or None,
            token_ttl_seconds=_env_int("SEGMENT_SERVICE_TOKEN_TTL", 14399),
            default_language=os.environ.get("SEGMENT_SERVICE_DEFAULT_LANGUAGE") or "en",
            statement_timeout_ms=_env_int("SEGMENT_SERVICE_STATEMENT_TIMEOUT_MS", 5000),
            password_hash_memory_kib=_env_int("SEGMENT_SERVICE_PASSWORD_HASH_MEMORY_KIB", 65536),
            pool_min_size=_env_int("SEGMENT_SERVICE_POOL_MIN", 2),
            pool_max_size=_env_int("SEGMENT_SERVICE_POOL_MAX", 10),
            tenant_pool_share=_env_int("SEGMENT_SERVICE_TENANT_POOL_SHARE", 5),
            tenant_pool_wait_ms=_env_int("SEGMENT_SERVICE_TENANT_POOL_WAIT_MS", 5000),
            fast_lane=os.environ.get("SEGMENT_SERVICE_FAST_LANE", "1") != "0",
        )
