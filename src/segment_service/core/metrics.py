"""Prometheus metrics: requests, latencies, the connection pool and database errors (docs/operations.md#metrics).

With several server processes each one writes its numbers to files in the folder PROMETHEUS_MULTIPROC_DIR names
(prometheus_client's multiprocess mode; `serve` prepares a fresh folder per run), and whichever process answers a
scrape of `/metrics` adds up the files of all of them. Without that variable the numbers are the answering process's.

Label values are bounded sets: route templates (never raw paths, so no tenant or customer id), methods, statuses,
SQLSTATE classes. No label ever carries a value a caller chose.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import asyncpg
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The route label of requests no route matched (an unknown path, or a method the path does not have).
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Seconds; storefront reads take a few milliseconds, bulk writes and hostile queries up to the statement timeout.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: How often each process writes its pool figures for the others to read.
POOL_SAMPLE_SECONDS = 1.0
CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The service's metrics in one process. Create one per app; `render()` answers a scrape."""

    def __init__(self) -> None:
        self.directory = multiprocess_dir()
        if self.directory is not None and values.ValueClass is values.MutexValue:
            # prometheus_client picks file-backed values when it is first imported; the variable may have been set
            # after that (the CLI sets it before starting its server), so pick again before any metric exists.
            values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
        # Metrics of several processes are read from the files, not registered anywhere; a single process registers
        # them in a registry of this app's own, so that several apps in one process (tests) never clash.
        self._own = CollectorRegistry(auto_describe=True)
        registry = None if self.directory is not None else self._own
        self.requests = Counter(
            "segment_service_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "segment_service_http_request_duration_seconds",
            "Time from receiving a request to sending the last byte of its answer, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.db_errors = Counter(
            "segment_service_db_errors",
            "Errors of the database or the connection to it, by SQLSTATE class (`none`: no SQLSTATE, e.g. a lost "
            "connection) and exception type.",
            ["sqlstate_class", "error"],
            registry=registry,
        )
        # Pool gauges: the sum over the live processes of a run.
        self.pool_size = Gauge(
            "segment_service_db_pool_connections",
            "Open connections in the pools.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_in_use = Gauge(
            "segment_service_db_pool_in_use",
            "Connections lent to a request right now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_waiting = Gauge(
            "segment_service_db_pool_waiting",
            "Requests waiting for a connection because all are in use.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_max = Gauge(
            "segment_service_db_pool_max",
            "The most connections the pools may open.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        # Read replicas (docs/operations.md#read-replicas): where the reads that a replica may answer went.
        self.replica_reads = Counter(
            "segment_service_db_replica_eligible_reads",
            "Reads that a replica may answer (lists, the storefront), by where they were answered: `replica` or "
            "`primary`.",
            ["target"],
            registry=registry,
        )
        self.replica_fallbacks = Counter(
            "segment_service_db_replica_fallbacks",
            "Replica-eligible reads the primary answered, by reason: `own_write` (the caller's last write is not "
            "replayed yet), `unavailable` (no replica up and within the lag limit), `error` (the replica failed the "
            "read), `marks_reset` (the primary's marks table was emptied by a crash or promotion).",
            ["reason"],
            registry=registry,
        )
        self.replica_up = Gauge(
            "segment_service_db_replica_up",
            "1 when the replica is reachable and within SEGMENT_SERVICE_READ_MAX_LAG_SECONDS, by its position in "
            "DATABASE_READ_URL (the lowest view among the processes).",
            ["replica"],
            registry=registry,
            multiprocess_mode="livemin",
        )
        self.replica_lag = Gauge(
            "segment_service_db_replica_lag_seconds",
            "How long ago the primary had written something the replica has not replayed (the highest view among "
            "the processes; NaN while it is down).",
            ["replica"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        # The answer cache (core/answer_cache.py): its counts are plain integers on the hot path, carried over here
        # when the pool is sampled.
        self.answer_hits = Counter(
            "segment_service_answer_cache_hits",
            "Storefront reads answered from the answer cache, by kind of answer.",
            ["answer"],
            registry=registry,
        )
        self.answer_misses = Counter(
            "segment_service_answer_cache_misses",
            "Storefront reads the answer cache could not answer (the database did), by kind of answer.",
            ["answer"],
            registry=registry,
        )
        self.answer_evictions = Counter(
            "segment_service_answer_cache_evictions",
            "Answers dropped from the answer cache to stay within its memory bound.",
            registry=registry,
        )
        self.answer_bytes = Gauge(
            "segment_service_answer_cache_bytes",
            "Memory the answer caches hold (bodies, headers and keys, estimated).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.answer_entries = Gauge(
            "segment_service_answer_cache_entries",
            "Answers the answer caches hold.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._answer_counted: dict[str, tuple[int, int]] = {}
        self._answer_evicted = 0
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._db: Any = None

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request. The label children are looked up once per combination: it is the hot path."""
        if method not in _METHODS:  # a caller may send any word as a method: one label value for them all
            method = "other"
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(route, method, str(status)), self.duration.labels(route, method))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def db_error(self, exc: BaseException) -> None:
        """Count an error of the database or the connection; errors of the service's own are not counted."""
        if isinstance(exc, asyncpg.PostgresError):
            sqlstate = getattr(exc, "sqlstate", None) or ""
            self.db_errors.labels(sqlstate[:2] or "none", type(exc).__name__).inc()
        elif isinstance(exc, asyncpg.InterfaceError | OSError | asyncio.TimeoutError):
            self.db_errors.labels("none", type(exc).__name__).inc()

    def watch_pool(self, db: Any) -> None:
        """Report `db`'s pool (a core.db.Database) in the pool gauges."""
        self._db = db
        db.on_error = self.db_error
        if db.replicas is not None:
            db.replicas.on_read = self.replica_read
        self.sample_pool()

    def replica_read(self, target: str, reason: str) -> None:
        """Count one replica-eligible read (core/dbreplicas.py)."""
        self.replica_reads.labels(target).inc()
        if reason:
            self.replica_fallbacks.labels(reason).inc()

    def sample_pool(self) -> None:
        db = self._db
        if db is None:
            return
        pool = db.pool
        size = pool.get_size()
        self.pool_size.set(size)
        self.pool_in_use.set(size - pool.get_idle_size())
        self.pool_waiting.set(db.waiting)
        self.pool_max.set(pool.get_max_size())
        if db.replicas is not None:
            for replica in db.replicas.replicas:
                label = str(replica.number)
                self.replica_up.labels(label).set(1 if replica.state(db.replicas.max_lag) == "up" else 0)
                self.replica_lag.labels(label).set(float("nan") if replica.lag is None else replica.lag)
        self._sample_answers(db.answers)

    def _sample_answers(self, cache: Any) -> None:
        """Carry the answer cache's counts since the last sample into the counters; its size into the gauges."""
        for kind, counts in cache.counts.items():
            hits, misses = self._answer_counted.get(kind, (0, 0))
            if counts.hits > hits:
                self.answer_hits.labels(kind).inc(counts.hits - hits)
            if counts.misses > misses:
                self.answer_misses.labels(kind).inc(counts.misses - misses)
            self._answer_counted[kind] = (counts.hits, counts.misses)
        if cache.evictions > self._answer_evicted:
            self.answer_evictions.inc(cache.evictions - self._answer_evicted)
            self._answer_evicted = cache.evictions
        self.answer_bytes.set(cache.bytes)
        self.answer_entries.set(len(cache.entries))

    @asynccontextmanager
    async def sampling(self) -> AsyncIterator[None]:
        """While the app runs: write this process's pool figures every POOL_SAMPLE_SECONDS, so that the process that
        answers a scrape reads everyone's; on the way out, take this process's live gauges away."""
        task = asyncio.create_task(self._sample_forever())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            if self.directory is not None:
                multiprocess.mark_process_dead(os.getpid(), self.directory)  # type: ignore[no-untyped-call]

    async def _sample_forever(self) -> None:
        while True:
            self.sample_pool()
            await asyncio.sleep(POOL_SAMPLE_SECONDS)

    def render(self) -> bytes:
        """The exposition of every process of the run (or this process's alone)."""
        self.sample_pool()
        if self.directory is None:
            return generate_latest(self._own)
        _forget_dead_processes(self.directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, self.directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def _forget_dead_processes(directory: str) -> None:
    """Drop the live gauges of processes that are gone (a killed worker never takes its own away). Their counters
    stay: a counter must never go down."""
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        pid = int(Path(path).stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, someone else's
            pass


def prepare_run_dir() -> Callable[[], None]:
    """Give the server processes of this run a metrics folder: PROMETHEUS_MULTIPROC_DIR when the operator set it
    (emptied of an earlier run's files, as prometheus_client asks), else a new temporary folder. Returns what removes
    the temporary folder at the end of the run."""
    given = multiprocess_dir()
    if given is not None:
        os.makedirs(given, exist_ok=True)
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.remove(stale)
        return lambda: None
    folder = tempfile.mkdtemp(prefix="segment-service-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    return lambda: shutil.rmtree(folder, ignore_errors=True)


__all__ = ["CONTENT_TYPE", "UNMATCHED", "Metrics", "prepare_run_dir"]
