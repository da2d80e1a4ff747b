"""The bodies of the import job operations, as the OpenAPI document describes them (transfer/job_routes.py)."""

from __future__ import annotations

from typing import Literal

import msgspec

JobState = Literal["RUNNING", "DONE", "FAILED"]


class ImportJobCreated(msgspec.Struct):
    """202: the job was accepted; `Location` names it."""

    id: str


class ImportJobError(msgspec.Struct):
    """A row that was not imported: its line, and the status and message the API answers for that body."""

    line: int
    status: int
    message: str


class ImportJobSummary(msgspec.Struct):
    """A job as the list shows it."""

    id: str
    kind: str
    format: Literal["csv", "ndjson"]
    fileName: str | None  # noqa: N815 - the API's camelCase
    state: JobState
    rows: int
    processed: int
    imported: int
    created: int
    updated: int
    failed: int
    createdAt: str  # noqa: N815
    finishedAt: str | None  # noqa: N815
    message: str | None


class ImportJob(ImportJobSummary):
    """A job with its first errors by line (at most 1000; `moreErrors` counts those not listed)."""

    errors: list[ImportJobError]
    moreErrors: int  # noqa: N815
