"""Import job routes, beyond Emporix (docs/operations.md#import-over-http): POST /import/{tenant}/jobs?kind=KIND with
a CSV or NDJSON file as the body, then GET …/jobs/{jobId} for its progress and per-line errors, and GET …/jobs for the
recent ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter

from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.http import json_response, list_response
from segment_service.core.languages import WriteLanguage
from segment_service.core.openapi import error_responses
from segment_service.core.paging import parse_page, wants_total
from segment_service.transfer import jobs, kinds
from segment_service.transfer.job_models import ImportJob, ImportJobCreated, ImportJobSummary
from segment_service.transfer.scopes import IMPORT_ANY_KIND

_OPT = {
    "scopes": IMPORT_ANY_KIND,
    "scope_note": "then those of the job's `kind` (docs/operations.md#import-over-http)",
}
_FILE = Schema(type=OpenAPIType.STRING, description="The file's content.")


@dataclass
class _UploadOperation(Operation):
    """The upload's body: the file itself, as CSV or NDJSON (the handler streams it, so Litestar sees no `data`)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "text/csv": OpenAPIMediaType(schema=_FILE),
                "application/x-ndjson": OpenAPIMediaType(schema=_FILE),
            },
            description=(
                "The file: CSV with a header row of the API's field names (dotted for nested fields), or NDJSON with "
                "one API request body per line; at most the service's request body limit (10 MB)."
            ),
            required=True,
        )


class ImportJobController(Controller):
    path = "/import/{tenant:str}/jobs"
    tags = ["Import jobs"]

    @post(
        "",
        opt=_OPT,
        status_code=202,
        operation_id="POST-import-create-job",
        summary="Importing a file",
        operation_class=_UploadOperation,
        responses=error_responses(400, 403, 413, 415)
        | {202: ResponseSpec(data_container=ImportJobCreated, description="The job was started; Location names it.")},
    )
    async def create_job(
        self,
        request: Request[Any, Any, Any],
        db: Database,
        caller: Caller,
        state: State,
        language: WriteLanguage,
        kind: str | None = Parameter(
            query="kind", required=False, default=None, description=f"One of {', '.join(kinds.KINDS)}."
        ),
        file_name: str | None = Parameter(
            query="fileName", required=False, default=None, description="The file's name, shown with the job."
        ),
    ) -> Response[ImportJobCreated]:
        """Starts importing the body's rows as KIND into the tenant, each checked as the API checks that body (as
        `segment-service import` does); answers at once with the job's id. Needs the scopes of the API operations that
        write KIND's rows."""
        checked = jobs.check_kind(kind)
        jobs.check_scopes(caller, checked)
        form = jobs.file_format(request.headers.get("content-type"))
        name = jobs.check_file_name(file_name)
        job_id = await jobs.start_job(
            db, state.settings, caller, checked, form, request.stream(), file_name=name, language=language
        )
        location = f"/import/{caller.tenant}/jobs/{job_id}"
        return json_response({"id": job_id}, 202, headers={"Location": location})

    @get(
        "",
        opt=_OPT,
        operation_id="GET-import-list-jobs",
        summary="Retrieving recent import jobs",
        responses=error_responses(400, 403),
    )
    async def list_jobs(
        self,
        db: Database,
        caller: Caller,
        page_number: str | None = Parameter(query="pageNumber", required=False, default=None),
        page_size: str | None = Parameter(
            query="pageSize", required=False, default=None, description="Default 20, at most 1000."
        ),
        x_total_count: str | None = Parameter(header="X-Total-Count", required=False, default=None),
    ) -> Response[list[ImportJobSummary]]:
        """The tenant's import jobs of the kinds the token may import, newest first, without their errors."""
        page = parse_page(page_number, page_size, default_size=20)
        docs, total = await jobs.list_jobs(db, caller, page, wants_total(x_total_count))
        return list_response(docs, total)

    @get(
        "/{jobId:str}",
        opt=_OPT,
        operation_id="GET-import-retrieve-job",
        summary="Retrieving an import job",
        responses=error_responses(403, 404),
    )
    async def get_job(self, db: Database, caller: Caller, jobId: str) -> Response[ImportJob]:
        """The job's state, counts and first errors by line."""
        return json_response(await jobs.get_job(db, caller, jobId))
