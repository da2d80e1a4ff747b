"""Configuration, read from the environment once and passed into `create_app(settings)`.

Every value is checked when it is read: a bad one raises `ConfigError`, whose message is one line naming the variable
and what it accepts (the CLI prints it and exits with code 2)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A configuration value the service cannot run with; the message names the variable and the allowed values."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable


class PoolerMode(StrEnum):
    """What sits between the service and PostgreSQL (SEGMENT_SERVICE_POOLER)."""

    AUTO = "auto"
    """Find out at start: a server that refuses or ignores startup parameters is a pooler (pgbouncer)."""
    NONE = "none"
    """PostgreSQL itself (or a pooler that keeps one server connection per client)."""
    TRANSACTION = "transaction"
    """A pooler in transaction mode (pgbouncer `pool_mode = transaction`): no prepared statements, settings per
    transaction (core/dbconnect.py)."""


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_MAX_URL_SHOWN = 80


def _raw(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value; unset and empty are the same (the default applies)."""
    value = env.get(name)
    return None if value is None or value.strip() == "" else value.strip()


def _env_int(
    name: str,
    default: int,
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    unit: str = "",
    env: Mapping[str, str] | None = None,
) -> int:
    raw = _raw(os.environ if env is None else env, name)
    if raw is None:
        return default
    allowed = "a whole number" + (f" of {unit}" if unit else "")
    if minimum is not None and maximum is not None:
        allowed += f" from {minimum} to {maximum}"
    elif minimum is not None:
        allowed += f" of at least {minimum}"
    if not re.fullmatch(r"[+-]?\d{1,18}", raw):
        raise ConfigError(name, f"{name} is {raw!r}; allowed: {allowed}")
    value = int(raw)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(name, f"{name} is {raw!r}; allowed: {allowed}")
    return value


def _env_float(
    name: str, default: float, minimum: float, maximum: float, *, unit: str, env: Mapping[str, str]
) -> float:
    raw = _raw(env, name)
    if raw is None:
        return default
    allowed = f"a number of {unit} from {minimum:g} to {maximum:g}"
    if not re.fullmatch(r"\d{1,9}(\.\d{1,6})?", raw) or not minimum <= float(raw) <= maximum:
        raise ConfigError(name, f"{name} is {raw!r}; allowed: {allowed}")
    return float(raw)


def _env_bool(name: str, default: bool, env: Mapping[str, str]) -> bool:
    raw = _raw(env, name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(name, f"{name} is {raw!r}; allowed: true, false, 1, 0, yes, no, on, off")


def _env_choice(name: str, default: PoolerMode, env: Mapping[str, str]) -> PoolerMode:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        return PoolerMode(raw.lower())
    except ValueError:
        raise ConfigError(name, f"{name} is {raw!r}; allowed: {', '.join(m.value for m in PoolerMode)}") from None


def _env_option(name: str, default: str, allowed: tuple[str, ...], env: Mapping[str, str]) -> str:
    """The variable's value when it is one of `allowed` (any case), spelled as in `allowed`."""
    raw = _raw(env, name)
    if raw is None:
        return default
    for option in allowed:
        if raw.lower() == option.lower():
            return option
    raise ConfigError(name, f"{name} is {raw!r}; allowed: {', '.join(allowed)}")


def _env_database_url(name: str, env: Mapping[str, str]) -> str | None:
    raw = _raw(env, name)
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 (reading it checks it: a port past 65535 raises)
    except ValueError:
        # Neither the URL nor the parser's message is shown: either may hold the password.
        raise ConfigError(
            name,
            f"{name} is not a valid URL (its host or port cannot be read: a port is a number "
            "from 0 to 65535, an IPv6 address is in brackets); allowed: a postgresql:// (or "
            "postgres://) URL, e.g. postgresql://user:password@host:5432/database",
        ) from None
    scheme = parts.scheme
    if scheme not in ("postgresql", "postgres"):
        # Not a URL we understand, so it may hold a password anywhere: show only its scheme.
        shown = f"a {scheme}:// URL" if scheme else "not a URL"
        raise ConfigError(
            name,
            f"{name} is {shown}; allowed: a postgresql:// (or postgres://) URL, "
            "e.g. postgresql://user:password@host:5432/database",
        )
    return raw


def _env_database_urls(name: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """Comma-separated database URLs, each checked as `_env_database_url` checks one (a comma inside a password is
    written %2C)."""
    raw = _raw(env, name)
    if raw is None:
        return ()
    parts = [part.strip() for part in raw.split(",")]
    if any(part == "" for part in parts):
        raise ConfigError(name, f"{name} has an empty entry; allowed: postgresql:// URLs separated by commas")
    urls = tuple(_env_database_url(name, {name: part}) or "" for part in parts)
    if len(set(urls)) != len(urls):
        raise ConfigError(name, f"{name} names a URL twice; allowed: postgresql:// URLs separated by commas")
    return urls


def _env_application_name(name: str, env: Mapping[str, str]) -> str:
    raw = env.get(name)
    if raw is None or raw == "":
        return "segment-service"
    # PostgreSQL keeps 63 bytes and replaces anything but printable ASCII with `?`.
    if not re.fullmatch(r"[ -~]{1,63}", raw):
        raise ConfigError(name, f"{name} is {raw[:_MAX_URL_SHOWN]!r}; allowed: 1 to 63 printable ASCII characters")
    return raw


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


# An origin as browsers send it: scheme, host and optional port, nothing after (a `*` is a wildcard).
_ORIGIN = re.compile(r"\*|https?://[^/\s?#]+")


def _env_origins(name: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """A comma-separated list of origins; a value that no browser would send as `Origin` is refused."""
    origins = tuple(part.strip() for part in (env.get(name) or "").split(",") if part.strip())
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ConfigError(
                name,
                f"{name} has {origin!r}, which is not an origin; allowed: scheme://host[:port] "
                "without a path or trailing slash (e.g. https://shop.example.com), or *",
            )
    return origins


#: The retry delays of SEGMENT_SERVICE_WEBHOOK_RETRY_SCHEDULE when it is unset, in seconds.
DEFAULT_WEBHOOK_RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


def _env_schedule(name: str, default: tuple[float, ...], env: Mapping[str, str]) -> tuple[float, ...]:
    """Comma-separated delays in seconds, each from 0 to 30 days, at most 50 of them."""
    raw = _raw(env, name)
    if raw is None:
        return default
    allowed = "1 to 50 comma-separated numbers of seconds from 0 to 2592000, e.g. 5,300,1800"
    parts = [part.strip() for part in raw.split(",")]
    if not 1 <= len(parts) <= 50 or not all(re.fullmatch(r"\d{1,7}(\.\d{1,6})?", part) for part in parts):
        raise ConfigError(name, f"{name} is {raw!r}; allowed: {allowed}")
    delays = tuple(float(part) for part in parts)
    if any(delay > 2_592_000 for delay in delays):
        raise ConfigError(name, f"{name} is {raw!r}; allowed: {allowed}")
    return delays


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service can be configured with; each field names its environment variable."""

    database_url: str | None = None
    """DATABASE_URL: PostgreSQL >= 14. When unset, `serve` starts an embedded server in `data_dir`."""
    database_read_urls: tuple[str, ...] = ()
    """DATABASE_READ_URL: comma-separated URLs of streaming replicas of DATABASE_URL. Lists and the storefront reads
    go to them, with read-your-writes for the caller that wrote (docs/operations.md#read-replicas). Empty: every
    read goes to DATABASE_URL."""
    read_max_lag_seconds: float = 10.0
    """SEGMENT_SERVICE_READ_MAX_LAG_SECONDS: a replica that has not replayed what the primary had written this many
    seconds ago gets no reads until it catches up (0.1 to 3600)."""
    data_dir: Path = field(default_factory=lambda: Path(".data"))
    """SEGMENT_SERVICE_DATA_DIR: where the embedded PostgreSQL keeps its files."""
    signing_key: str | None = None
    """SEGMENT_SERVICE_SIGNING_KEY: HMAC key for tokens, at least 32 bytes. When unset, keys are generated and kept in
    the database, so that every worker and the CLI agree on them, and `segment-service keys rotate` replaces them;
    when set, that key alone signs and verifies every token (docs/operations.md)."""
    token_ttl_seconds: int = 14399
    """SEGMENT_SERVICE_TOKEN_TTL: lifetime of service tokens in seconds, 1 to 2592000 (Emporix's example value, about
    4 hours)."""
    default_language: str = "en"
    """SEGMENT_SERVICE_DEFAULT_LANGUAGE: language of plain-string localized values sent without Content-Language."""
    max_body_bytes: int = 10 * 1024 * 1024
    """Request bodies over this size answer 413 (Emporix: 10 MB)."""
    max_url_bytes: int = 10 * 1024
    """URLs over this size answer 414 (Emporix: 10 KB)."""
    statement_timeout_ms: int = 5000
    """SEGMENT_SERVICE_STATEMENT_TIMEOUT_MS: upper bound for any one SQL statement, so no query can hang the service
    (1 to 3600000)."""
    password_hash_memory_kib: int = 65536
    """SEGMENT_SERVICE_PASSWORD_HASH_MEMORY_KIB: memory cost of the argon2id customer password hash, in KiB (time cost
    3; the default is argon2-cffi's, RFC 9106's low-memory profile). Lower it only for tests: 8 is the minimum, 4194304
    (4 GiB) the maximum. Stored hashes keep their own cost, so changing it never locks anyone out."""
    pool_min_size: int = 2
    """SEGMENT_SERVICE_POOL_MIN: connections per worker process kept open while idle (0 to POOL_MAX)."""
    pool_max_size: int = 10
    """SEGMENT_SERVICE_POOL_MAX: connections per worker process (1 to 1000)."""
    tenant_pool_share: int = 5
    """SEGMENT_SERVICE_TENANT_POOL_SHARE: how many of a worker's pooled connections one tenant may use at once, so that
    no tenant's slow requests can hold the whole pool (core/fairshare.py, docs/operations.md). 0: no limit;
    0 to 1000."""
    tenant_pool_wait_ms: int = 5000
    """SEGMENT_SERVICE_TENANT_POOL_WAIT_MS: how long a request may wait for its tenant's share before it answers 429
    with Retry-After (1 to 3600000)."""
    fast_lane: bool = True
    """SEGMENT_SERVICE_FAST_LANE: `false` turns off the fast lane of the hottest storefront reads (core/fastlane.py), so
    that the framework answers every request; the answers are the same, only slower."""
    answer_cache_mb: int = 64
    """SEGMENT_SERVICE_ANSWER_CACHE_MB: memory per worker process for the storefront's cached answers (docs/answers.md),
    least recently used dropped first; 0 turns the cache off (every read asks the database). 0 to 65536."""
    answer_versions: str = "database"
    """SEGMENT_SERVICE_ANSWER_VERSIONS: where a cached storefront read learns the versions of what it depends on
    (docs/answers.md): `database` (the default) asks PostgreSQL at every read, right with any number of hosts;
    `host` keeps them in the process, vouched for by counters in shared memory that every write on this host raises,
    so that a cached answer needs no statement: only when every process that writes to the database runs on this
    host (docs/answers.md#versions-kept-on-the-host). With read replicas the versions are read as with `database`."""
    pooler: PoolerMode = PoolerMode.AUTO
    """SEGMENT_SERVICE_POOLER: `transaction` when DATABASE_URL points at a transaction-mode pooler such as pgbouncer
    (docs/operations.md#connection-poolers-pgbouncer); `none` for PostgreSQL itself; `auto` (the default) finds out at
    start."""
    migration_database_url: str | None = None
    """SEGMENT_SERVICE_MIGRATION_DATABASE_URL: where `migrate` (and `serve` unless `--no-migrate`) changes the schema:
    PostgreSQL itself (not a transaction-mode pooler), as the role that owns the schema. Unset: DATABASE_URL."""
    connect_timeout_seconds: float = 5.0
    """SEGMENT_SERVICE_CONNECT_TIMEOUT: seconds to wait for a new database connection (0.1 to 600)."""
    application_name: str = "segment-service"
    """SEGMENT_SERVICE_APPLICATION_NAME: the `application_name` of every database connection (pg_stat_activity)."""

    log_level: str = "INFO"
    """SEGMENT_SERVICE_LOG_LEVEL: the least severe log lines written: DEBUG, INFO, WARNING, ERROR or CRITICAL."""
    log_format: str = "text"
    """SEGMENT_SERVICE_LOG_FORMAT: `text` (one readable line per event) or `json` (one JSON object per line, for log
    collectors), for every log line of the service: startup, access log, errors."""
    access_log: bool = True
    """SEGMENT_SERVICE_ACCESS_LOG: `0` (or `false`) turns off the access log line written for every request."""
    metrics_token: str | None = None
    """SEGMENT_SERVICE_METRICS_TOKEN: when set, `/metrics` answers only requests with `Authorization: Bearer <it>`;
    unset, it is open like `/health` (expose it on an internal network; docs/operations.md#metrics)."""
    cors_origins: tuple[str, ...] = ()
    """SEGMENT_SERVICE_CORS_ORIGINS: comma-separated origins whose browser scripts (storefronts) may call the API,
    e.g. `https://shop.example.com`; `*` within one is a wildcard, `*` alone allows every origin. Empty: CORS off."""

    webhook_deliver: bool = True
    """SEGMENT_SERVICE_WEBHOOK_DELIVER: `false` runs no webhook relay in this process (`serve --no-deliver` sets it);
    events are still written to the outbox, and any other process's relay delivers them (docs/webhooks.md)."""
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_SCHEDULE
    """SEGMENT_SERVICE_WEBHOOK_RETRY_SCHEDULE: the delays in seconds before each retry of a failed webhook delivery,
    comma-separated (default 5, 300, 1800, 7200, 18000, 36000, 36000: 8 attempts over about 27.6 hours); a delivery
    that fails once more after the last delay is given up (docs/webhooks.md#retries)."""
    webhook_timeout_seconds: float = 15.0
    """SEGMENT_SERVICE_WEBHOOK_TIMEOUT: seconds a receiver has to answer a delivery (0.1 to 300)."""
    webhook_public_only: bool = False
    """SEGMENT_SERVICE_WEBHOOK_PUBLIC_ONLY: `true` refuses loopback and private destinations as well as link-local
    and cloud-metadata ones (for shared, multi-tenant deployments; docs/webhooks.md#destinations)."""
    webhook_retention_days: int = 30
    """SEGMENT_SERVICE_WEBHOOK_RETENTION_DAYS: how long events and their delivery log are kept (1 to 3650)."""
    webhook_concurrency: int = 64
    """SEGMENT_SERVICE_WEBHOOK_CONCURRENCY: deliveries one relay (one server process) has in flight at once
    (1 to 1000)."""
    webhook_poll_ms: int = 100
    """SEGMENT_SERVICE_WEBHOOK_POLL_MS: how often an idle relay looks for new events, in milliseconds (10 to 60000);
    the bound on commit-to-first-attempt latency when nothing else is going on."""
    rule_evaluate: bool = True
    """SEGMENT_SERVICE_RULE_EVALUATE: `false` runs no rule evaluator in this process; saved rules wait for another
    process's (docs/rules.md#evaluation). Writes always re-evaluate their own customers."""
    rule_poll_ms: int = 1000
    """SEGMENT_SERVICE_RULE_POLL_MS: how often an idle evaluator looks for rules saved by other processes
    (10 to 60000 milliseconds); a rule saved through this process is taken at once."""
    rule_sweep_seconds: float = 300.0
    """SEGMENT_SERVICE_RULE_SWEEP_SECONDS: how often time-relative rules (withinLast, olderThan, order windows) are
    moved forward (0.1 to 900 seconds): a membership that a moment in time changes moves at most this much later."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the process environment (or `env`); raises ConfigError for a value out of bounds."""
        env = os.environ if env is None else env
        pool_max = _env_int("SEGMENT_SERVICE_POOL_MAX", 10, 1, 1000, unit="connections", env=env)
        pool_min = _env_int("SEGMENT_SERVICE_POOL_MIN", 2, 0, 1000, unit="connections", env=env)
        if pool_min > pool_max:
            raise ConfigError(
                "SEGMENT_SERVICE_POOL_MIN",
                f"SEGMENT_SERVICE_POOL_MIN is {pool_min}, more than SEGMENT_SERVICE_POOL_MAX "
                f"({pool_max}); allowed: 0 to SEGMENT_SERVICE_POOL_MAX",
            )
        signing_key = env.get("SEGMENT_SERVICE_SIGNING_KEY") or None
        if signing_key is not None and len(signing_key.encode()) < 32:
            raise ConfigError(
                "SEGMENT_SERVICE_SIGNING_KEY",
                f"SEGMENT_SERVICE_SIGNING_KEY is {len(signing_key.encode())} bytes long; allowed: at "
                "least 32 bytes (or unset: a key is generated and kept in the database)",
            )
        return cls(
            database_url=_env_database_url("DATABASE_URL", env),
            database_read_urls=_env_database_urls("DATABASE_READ_URL", env),
            read_max_lag_seconds=_env_float(
                "SEGMENT_SERVICE_READ_MAX_LAG_SECONDS", 10.0, 0.1, 3600, unit="seconds", env=env
            ),
            data_dir=Path(env.get("SEGMENT_SERVICE_DATA_DIR") or ".data"),
            signing_key=signing_key,
            token_ttl_seconds=_env_int("SEGMENT_SERVICE_TOKEN_TTL", 14399, 1, 2_592_000, unit="seconds", env=env),
            default_language=env.get("SEGMENT_SERVICE_DEFAULT_LANGUAGE") or "en",
            statement_timeout_ms=_env_int(
                "SEGMENT_SERVICE_STATEMENT_TIMEOUT_MS", 5000, 1, 3_600_000, unit="milliseconds", env=env
            ),
            password_hash_memory_kib=_env_int(
                "SEGMENT_SERVICE_PASSWORD_HASH_MEMORY_KIB", 65536, 8, 4_194_304, unit="KiB", env=env
            ),
            pool_min_size=pool_min,
            pool_max_size=pool_max,
            tenant_pool_share=_env_int("SEGMENT_SERVICE_TENANT_POOL_SHARE", 5, 0, 1000, unit="connections", env=env),
            tenant_pool_wait_ms=_env_int(
                "SEGMENT_SERVICE_TENANT_POOL_WAIT_MS", 5000, 1, 3_600_000, unit="milliseconds", env=env
            ),
            fast_lane=_env_bool("SEGMENT_SERVICE_FAST_LANE", True, env),
            answer_cache_mb=_env_int("SEGMENT_SERVICE_ANSWER_CACHE_MB", 64, 0, 65536, unit="MB", env=env),
            answer_versions=_env_option("SEGMENT_SERVICE_ANSWER_VERSIONS", "database", ("database", "host"), env),
            pooler=_env_choice("SEGMENT_SERVICE_POOLER", PoolerMode.AUTO, env),
            migration_database_url=_env_database_url("SEGMENT_SERVICE_MIGRATION_DATABASE_URL", env),
            connect_timeout_seconds=_env_float(
                "SEGMENT_SERVICE_CONNECT_TIMEOUT", 5.0, 0.1, 600, unit="seconds", env=env
            ),
            application_name=_env_application_name("SEGMENT_SERVICE_APPLICATION_NAME", env),
            log_level=_env_option("SEGMENT_SERVICE_LOG_LEVEL", "INFO", LOG_LEVELS, env),
            log_format=_env_option("SEGMENT_SERVICE_LOG_FORMAT", "text", LOG_FORMATS, env),
            access_log=_env_bool("SEGMENT_SERVICE_ACCESS_LOG", True, env),
            metrics_token=env.get("SEGMENT_SERVICE_METRICS_TOKEN") or None,
            cors_origins=_env_origins("SEGMENT_SERVICE_CORS_ORIGINS", env),
            webhook_deliver=_env_bool("SEGMENT_SERVICE_WEBHOOK_DELIVER", True, env),
            webhook_retry_schedule=_env_schedule(
                "SEGMENT_SERVICE_WEBHOOK_RETRY_SCHEDULE", DEFAULT_WEBHOOK_RETRY_SCHEDULE, env
            ),
            webhook_timeout_seconds=_env_float(
                "SEGMENT_SERVICE_WEBHOOK_TIMEOUT", 15.0, 0.1, 300, unit="seconds", env=env
            ),
            webhook_public_only=_env_bool("SEGMENT_SERVICE_WEBHOOK_PUBLIC_ONLY", False, env),
            webhook_retention_days=_env_int(
                "SEGMENT_SERVICE_WEBHOOK_RETENTION_DAYS", 30, 1, 3650, unit="days", env=env
            ),
            webhook_concurrency=_env_int(
                "SEGMENT_SERVICE_WEBHOOK_CONCURRENCY", 64, 1, 1000, unit="deliveries", env=env
            ),
            webhook_poll_ms=_env_int("SEGMENT_SERVICE_WEBHOOK_POLL_MS", 100, 10, 60000, unit="milliseconds", env=env),
            rule_evaluate=_env_bool("SEGMENT_SERVICE_RULE_EVALUATE", True, env),
            rule_poll_ms=_env_int("SEGMENT_SERVICE_RULE_POLL_MS", 1000, 10, 60000, unit="milliseconds", env=env),
            rule_sweep_seconds=_env_float(
                "SEGMENT_SERVICE_RULE_SWEEP_SECONDS", 300.0, 0.1, 900, unit="seconds", env=env
            ),
        )
