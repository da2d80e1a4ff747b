"""Import jobs over HTTP (docs/operations.md#import-over-http): an uploaded file is spooled to a temporary file and
imported by a background task of the process that took it, through the same row pipeline as `segment-service
import` (transfer/importer.py), as the caller that uploaded it. The task writes its counts and first errors to the
job's row after its batches and moves a heartbeat on every few seconds, so every process answers for the job alike,
and a job whose process died is reported FAILED."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.errors import BadRequest, Forbidden, NotFound, ServiceError, ServiceUnavailable
from segment_service.core.http import to_service_error
from segment_service.core.ids import new_id
from segment_service.core.languages import WriteLanguage
from segment_service.core.paging import Page, page_total
from segment_service.customers.passwords import passwords
from segment_service.settings import Settings
from segment_service.transfer import importer, job_store, kinds, readers
from segment_service.transfer.scopes import KIND_SCOPES, missing_scopes

log = logging.getLogger("segment_service")

#: Errors kept with a job (the first by line); `failed` counts them all.
MAX_STORED_ERRORS = 1000
#: The longest error message kept (a message may quote a row's value).
MAX_MESSAGE_CHARS = 1000
#: How often a running job's task says it is alive, and after how long without a sign a job counts as lost.
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 30.0
#: Progress is written after a batch, at most this often (resources come 50 rows to a batch).
REPORT_SECONDS = 0.25
MAX_FILE_NAME_CHARS = 255

#: Request media types and the file format they name.
MEDIA_TYPES = {"text/csv": "csv", "application/x-ndjson": "ndjson", "application/ndjson": "ndjson"}

#: The running jobs' tasks: held here so that they are not garbage-collected while they run.
_RUNNING: set[asyncio.Task[None]] = set()

STOPPED_MESSAGE = (
    "The process running this import stopped before it finished: the rows counted were imported, and rows after "
    "them may have been too. Import the file again: every kind is safe to repeat."
)
OUTAGE_MESSAGE = (
    "The import stopped because the service could not reach its database: the rows counted were imported, and rows "
    "after them may have been too. Import the file again: every kind is safe to repeat."
)
#: How long a job that stopped because the database went away tries to say so (the process may end meanwhile: then
#: its heartbeat grows old and the job is reported lost).
OUTAGE_REPORT_SECONDS = 600.0
#: The spool folders: the process's id in the name, so that the folders a killed process left are known.
SPOOL_PREFIX = "segment-import-"


class UnsupportedMediaType(ServiceError):
    status = 415
    type = "unsupported_media_type"


def check_kind(kind: str | None) -> str:
    """The KIND, or a 400 naming the kinds."""
    if kind not in KIND_SCOPES:
        said = "is missing" if not kind else f"'{kind[:60]}' is not a kind"
        raise BadRequest(
            f"The query parameter 'kind' {said}; use one of: {', '.join(kinds.KINDS)}.",
            field="kind",
            type="invalid_query_parameter",
        )
    return kind


def check_scopes(caller: Caller, kind: str) -> None:
    """403 unless the caller holds what the API operations writing `kind`'s rows take."""
    missing = missing_scopes(kind, caller.scopes)
    if missing:
        needed = " and ".join(" or ".join(scopes) for scopes in missing)
        raise Forbidden(f"Importing {kind} needs the scope {needed}, as the API operations that write them do.")


def file_format(content_type: str | None) -> str:
    """`csv` or `ndjson` for the request's Content-Type, or a 415 saying what to send."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    found = MEDIA_TYPES.get(media_type)
    if found is None:
        said = f"Content-Type '{media_type[:80]}'" if media_type else "no Content-Type"
        raise UnsupportedMediaType(
            f"The file was sent with {said}: send a CSV file as 'text/csv' or an NDJSON file as "
            "'application/x-ndjson', as the request body itself (not a form)."
        )
    return found


def check_file_name(file_name: str | None) -> str | None:
    if file_name is None or file_name == "":
        return None
    if len(file_name) > MAX_FILE_NAME_CHARS or not file_name.isprintable():
        raise BadRequest(
            f"The query parameter 'fileName' must be printable text of at most {MAX_FILE_NAME_CHARS} characters.",
            field="fileName",
            type="invalid_query_parameter",
        )
    return file_name


async def start_job(
    db: Database,
    settings: Settings,
    caller: Caller,
    kind: str,
    form: str,
    body: AsyncIterator[bytes],
    *,
    file_name: str | None,
    language: WriteLanguage,
) -> str:
    """Spool the body, check that it can be read, store the job and start its task; the job's id. The caller has been
    checked (`check_kind`, `check_scopes`, `file_format`)."""
    await asyncio.to_thread(_sweep_spool_folders)
    folder = Path(tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-"))
    try:
        path = folder / f"upload.{form}"
        size = 0
        with path.open("wb") as file:
            async for chunk in body:
                size += len(chunk)
                file.write(chunk)
        if size == 0:
            raise BadRequest("The request body is empty: send the file's content as the body.", type="invalid_body")
        rows = await asyncio.to_thread(_count_rows, path)
        job_id = new_id()
        async with db.transaction() as conn:
            await job_store.insert_job(
                conn, job_store.NewJob(caller.tenant, job_id, kind, form, file_name, rows, caller.subject)
            )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    context = kinds.Context(db, caller, language, passwords(settings.password_hash_memory_kib))
    task = asyncio.create_task(_run(context, job_id, kind, path), name=f"import-{caller.tenant}-{job_id}")
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return job_id


#: How long the app's shutdown waits for the running jobs to say that they stopped.
STOP_SECONDS = 5.0


async def stop_running() -> None:
    """Stop the running jobs of the caller's event loop (the app shutting down), each writing that it stopped
    (FAILED, STOPPED_MESSAGE), while the app's pool is still open (else a job stays RUNNING until its heartbeat grows
    old). Another loop's jobs (another app in the same process) are that app's to stop: a task may be cancelled and
    awaited only from its own loop's thread."""
    loop = asyncio.get_running_loop()
    tasks = [task for task in _RUNNING if task.get_loop() is loop]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=STOP_SECONDS)


def _sweep_spool_folders() -> None:
    """Delete the spool folders of processes that ended without deleting them (killed: SIGKILL, out of memory)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SPOOL_PREFIX}*-*"):
        pid = folder.name.removeprefix(SPOOL_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass  # a process of another user: alive


def _count_rows(path: Path) -> int:
    """How many rows the file has (a line that cannot be read is a row: it fails on its own); a 400 when the file as
    a whole cannot be read (its header, a CSV quote left open), before any row is imported."""
    try:
        return sum(1 for _ in readers.read_rows(path))
    except readers.FileFormatError as exc:
        where = str(exc).removeprefix(f"{path.name}, ").removeprefix(f"{path.name}: ").rstrip(".")
        raise BadRequest(f"The file cannot be read, so nothing was imported: {where}.", type="invalid_body") from exc


async def _run(context: kinds.Context, job_id: str, kind: str, path: Path) -> None:
    """Import the file as the job `job_id`, then delete it."""
    tenant = context.caller.tenant
    reporter = _Reporter(context.db, tenant, job_id, importer.Summary(kind=kind, file=path.name, tenant=tenant))
    beating = asyncio.create_task(reporter.beat_forever())
    try:
        await importer.import_rows(context, kind, path, reporter.summary, after_batch=reporter.report)
        await reporter.finish("DONE", None)
    except asyncio.CancelledError:
        # The process is stopping: say so if the database still answers, else the heartbeat will.
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(2):
                await reporter.finish("FAILED", STOPPED_MESSAGE)
        raise
    except Exception as exc:
        if _pool_closing(context.db, exc):
            # The process is stopping (its pool closes before its tasks end): nothing unexpected, and nothing can be
            # written any more; the heartbeat grows old and the job is reported lost.
            log.warning("import job %s stopped: the process is stopping", job_id)
            return
        error = to_service_error(exc)  # logs an unexpected one
        if isinstance(error, ServiceUnavailable):
            await reporter.finish_after_outage()
        else:
            with contextlib.suppress(Exception):
                await reporter.finish("FAILED", f"The import stopped: {error.message}")
    finally:
        beating.cancel()
        shutil.rmtree(path.parent, ignore_errors=True)


class _Reporter:
    """Writes a job's progress to its row: after a batch (at most every REPORT_SECONDS), and a heartbeat meanwhile."""

    def __init__(self, db: Database, tenant: str, job_id: str, summary: importer.Summary) -> None:
        self.db = db
        self.tenant = tenant
        self.job_id = job_id
        self.summary = summary
        self._reported_at = 0.0
        self._stored_errors = 0

    def _progress(self, *, final: bool) -> job_store.Progress:
        summary = self.summary
        errors: list[dict[str, Any]] | None = None
        kept = min(len(summary.errors), MAX_STORED_ERRORS)
        if final or kept != self._stored_errors:
            first = sorted(summary.errors, key=lambda e: e.line)[:MAX_STORED_ERRORS]
            errors = [{"line": e.line, "status": e.status, "message": _clean(e.message)} for e in first]
            self._stored_errors = kept
        processed = summary.created + summary.updated + summary.failed
        return job_store.Progress(processed, summary.created, summary.updated, summary.failed, errors)

    async def report(self) -> None:
        now = time.monotonic()
        if now - self._reported_at < REPORT_SECONDS:
            return
        self._reported_at = now
        progress = self._progress(final=False)
        async with self.db.transaction() as conn:
            await job_store.write_progress(conn, self.tenant, self.job_id, progress)

    async def finish(self, state: str, message: str | None) -> None:
        progress = self._progress(final=True)
        async with self.db.transaction() as conn:
            await job_store.finish(conn, self.tenant, self.job_id, progress, state, message)

    async def finish_after_outage(self) -> None:
        """FAILED with OUTAGE_MESSAGE, once the database answers again (for at most OUTAGE_REPORT_SECONDS)."""
        deadline = time.monotonic() + OUTAGE_REPORT_SECONDS
        while True:
            try:
                await self.finish("FAILED", OUTAGE_MESSAGE)
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    log.warning("import job %s: its end was not written: %s", self.job_id, exc)
                    return
            await asyncio.sleep(1.0)

    async def beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                async with self.db.transaction() as conn:
                    await job_store.beat(conn, self.tenant, self.job_id)
            except Exception as exc:  # the next beat tries again; a job without beats is reported lost
                log.warning("import job %s: the heartbeat was not written: %s", self.job_id, exc)


def _pool_closing(db: Database, exc: BaseException) -> bool:
    """Whether `exc` is the pool refusing a connection because the process is stopping."""
    closing = getattr(db.pool, "_closing", False) or getattr(db.pool, "_closed", False)
    return bool(closing) and "pool is clos" in str(exc)


def _clean(message: str) -> str:
    """A message as jsonb keeps it: no NUL character, and not longer than MAX_MESSAGE_CHARS."""
    text = message.replace("\x00", "\ufffd")
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


async def get_job(db: Database, caller: Caller, job_id: str) -> dict[str, Any]:
    """One job of the caller's tenant with its first errors; 404 for none, 403 without its KIND's scopes."""
    async with db.connection() as conn:
        row = await job_store.fetch_job(conn, caller.tenant, job_id, STALE_SECONDS)
    if row is None:
        raise NotFound(f"There is no import job '{job_id[:60]}' in this tenant.")
    check_scopes(caller, row["kind"])
    document = _document(row)
    errors = row["errors"]
    return {**document, "errors": errors, "moreErrors": max(0, document["failed"] - len(errors))}


async def list_jobs(
    db: Database, caller: Caller, page: Page, with_total: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the tenant's jobs of the kinds the caller may import, newest first, without their errors."""
    allowed = [kind for kind in kinds.KINDS if not missing_scopes(kind, caller.scopes)]
    async with db.connection() as conn:
        rows = await job_store.list_jobs(
            conn, caller.tenant, allowed, STALE_SECONDS, offset=page.offset, limit=page.size
        )
        total = None
        if with_total:
            total = await page_total(page, len(rows), lambda: job_store.count_jobs(conn, caller.tenant, allowed))
    return [_document(row) for row in rows], total


def _document(row: dict[str, Any]) -> dict[str, Any]:
    stale = bool(row["stale"])
    return {
        "id": row["id"],
        "kind": row["kind"],
        "format": row["format"],
        "fileName": row["file_name"],
        "state": "FAILED" if stale else row["state"],
        "rows": row["row_count"],
        "processed": row["processed"],
        "imported": row["created"] + row["updated"],
        "created": row["created"],
        "updated": row["updated"],
        "failed": row["failed"],
        "createdAt": row["created_at"],
        # A lost job ended when it was last heard of.
        "finishedAt": row["heartbeat_at"] if stale else row["finished_at"],
        "message": STOPPED_MESSAGE if stale else row["message"],
    }
