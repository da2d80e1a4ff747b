"""Import jobs over HTTP (docs/operations.md#import-over-http): a CSV or NDJSON body imported in the background as
`segment-service import` imports a file, its progress and per-line errors read back, the scopes of the KIND's
operations required, other tenants kept out, bodies over the limit and unreadable files refused, and a job whose
process died reported FAILED."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import TestClient

from segment_service.core.scopes import Scope
from segment_service.settings import Settings
from segment_service.transfer import jobs, kinds
from segment_service.transfer.scopes import KIND_SCOPES
from tests.factories import Api, run_sql
from tests.transfer.helpers import call, errors, run_import, write_csv

IMPORT = "/import/{t}/jobs"


def upload(
    api: Api,
    kind: str | None,
    body: bytes | str,
    content_type: str | None = "text/csv",
    *,
    token: str | None = None,
    tenant: str | None = None,
    **params: str,
) -> httpx.Response:
    client: TestClient[Any] = api.client
    headers = {"Authorization": f"Bearer {token or api.token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    query = {**({"kind": kind} if kind is not None else {}), **params}
    return client.post(
        IMPORT.replace("{t}", tenant or api.tenant),
        content=body.encode() if isinstance(body, str) else body,
        headers=headers,
        params=query,
    )


def read_job(api: Api, job_id: str, token: str | None = None) -> httpx.Response:
    client: TestClient[Any] = api.client
    return client.get(
        f"{IMPORT.replace('{t}', api.tenant)}/{job_id}", headers={"Authorization": f"Bearer {token or api.token}"}
    )


def finished(api: Api, response: httpx.Response) -> dict[str, Any]:
    """The job `response` (a 202) started, once it is no longer RUNNING."""
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert response.headers["location"] == f"/import/{api.tenant}/jobs/{job_id}"
    deadline = time.monotonic() + 30
    while True:
        job = read_job(api, job_id)
        assert job.status_code == 200, job.text
        if job.json()["state"] != "RUNNING":
            return dict(job.json())
        assert time.monotonic() < deadline, job.json()
        time.sleep(0.05)


def segment_with_product(api: Api) -> None:
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Gold", "siteCode": "main"})
    call(api, "POST", "/product/{t}/products", {"id": "p1", "code": "p1", "name": {"en": "Coffee"}})


def test_a_csv_with_a_bad_line_is_imported_with_counts_and_the_lines_error(api: Api) -> None:
    segment_with_product(api)
    job = finished(
        api,
        upload(api, "item-assignments", "segmentId,type,id\ngold,PRODUCT,p1\ngold,PRODUCT,nope\n", fileName="i.csv"),
    )

    nope = call(api, "PUT", "/customer-segment/{t}/segments/gold/items/PRODUCT/nope", {})
    assert {k: v for k, v in job.items() if k not in ("id", "createdAt", "finishedAt")} == {
        "kind": "item-assignments",
        "format": "csv",
        "fileName": "i.csv",
        "state": "DONE",
        "rows": 2,
        "processed": 2,
        "imported": 1,
        "created": 1,
        "updated": 0,
        "failed": 1,
        "errors": [{"line": 3, "status": 400, "message": nope.json()["message"]}],
        "moreErrors": 0,
        "message": None,
    }
    assert nope.json()["message"] == "The product nope does not exist in this tenant."
    assert job["createdAt"] <= job["finishedAt"]
    items = call(api, "GET", "/customer-segment/{t}/segments/gold/items").json()
    assert [(i["type"], i["item"]["id"]) for i in items] == [("PRODUCT", "p1")]


def test_ndjson_customer_assignments_with_a_line_that_is_not_json(api: Api) -> None:
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Gold", "siteCode": "main"})
    call(api, "POST", "/customer/{t}/customers", {"id": "c1", "contactEmail": "c1@example.com"})
    body = '{"segmentId": "gold", "customerId": "c1", "mixins": {"rank": 3}}\n{not json\n\n'
    job = finished(api, upload(api, "customer-assignments", body, "application/x-ndjson; charset=utf-8"))

    assert (job["state"], job["format"], job["rows"], job["created"], job["failed"]) == ("DONE", "ndjson", 2, 1, 1)
    ((line, status, message),) = [(e["line"], e["status"], e["message"]) for e in job["errors"]]
    assert (line, status) == (2, 400)
    assert message.startswith("The request body is not valid JSON: ")
    members = call(api, "GET", "/customer-segment/{t}/segments/gold/customers").json()
    assert [(m["customer"]["id"], m["mixins"]) for m in members] == [("c1", {"rank": 3})]


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in ("createdAt", "modifiedAt", "updatedAt")}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def test_a_job_writes_what_the_command_writes(settings: Settings, api: Api, tmp_path: Path) -> None:
    other = Api(api.client, api.tokens, api.tenant + "cli")
    header = ["id", "contactEmail", "firstName", "active"]
    rows = [
        ["c1", "c1@example.com", "Ann", "true"],
        ["c2", "not-an-email", "Bob", "true"],
        ["c3", "c3@example.com", "Cy", "maybe"],
        ["c1", "c1@example.com", "Anne", "false"],
    ]
    path = write_csv(tmp_path / "customers.csv", header, rows)
    summary = run_import(settings, "customers", path, other.tenant)
    job = finished(api, upload(api, "customers", path.read_bytes()))

    assert [(e["line"], e["status"], e["message"]) for e in job["errors"]] == errors(summary)
    assert (job["rows"], job["created"], job["updated"], job["failed"]) == (
        summary.rows,
        summary.created,
        summary.updated,
        summary.failed,
    )
    assert summary.failed > 0
    assert summary.updated == 1
    by_job = call(api, "GET", "/customer/{t}/customers?sort=id").json()
    by_command = call(other, "GET", "/customer/{t}/customers?sort=id").json()
    assert _without_times(by_job) == _without_times(by_command)
    assert [c["firstName"] for c in by_job] == ["Anne"]


def test_an_unknown_or_missing_kind_is_refused_naming_the_kinds(api: Api) -> None:
    assert list(KIND_SCOPES) == list(kinds.KINDS)
    for kind in ("nope", None, ""):
        answer = upload(api, kind, "id\nx\n")
        assert answer.status_code == 400, answer.text
        assert (
            "use one of: segments, customers, legal-entities, contacts, products, categories"
            in answer.json()["message"]
        )
        assert answer.json()["details"]["field"] == "kind"


def test_a_body_of_another_media_type_is_refused_with_what_to_send(api: Api) -> None:
    for content_type in ("application/json", None, "multipart/form-data; boundary=x"):
        answer = upload(api, "segments", "id\nx\n", content_type)
        assert answer.status_code == 415, answer.text
        assert "send a CSV file as 'text/csv' or an NDJSON file as 'application/x-ndjson'" in answer.json()["message"]


def test_the_job_needs_the_scopes_of_its_kinds_operations(api: Api) -> None:
    segment_with_product(api)
    customers_only = api.tokens.service(api.tenant, scopes=(Scope.CUSTOMER_MANAGE.value,))
    segments_only = api.tokens.service(api.tenant, scopes=(Scope.SEGMENT_MANAGE.value,))
    body = "segmentId,type,id\ngold,PRODUCT,p1\n"

    refused = upload(api, "item-assignments", body, token=customers_only)
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        "Importing item-assignments needs the scope customersegment.segment_manage, as the API operations that write "
        "them do."
    )
    create_only = api.tokens.service(api.tenant, scopes=(Scope.ORDER_CREATE.value,))
    orders = upload(api, "orders", "id\nx\n", token=create_only)
    assert orders.status_code == 403
    assert "order.order_update or order.order_update_completed" in orders.json()["message"]
    anonymous = upload(api, "segments", "id\nx\n", token=api.tokens.anonymous(api.tenant))
    assert anonymous.status_code == 403

    started = upload(api, "item-assignments", body, token=segments_only)
    job = finished(api, started)
    assert (job["state"], job["created"]) == ("DONE", 1)
    # Reading needs the same: the job is hidden from the list of a token that could not have started it.
    assert read_job(api, job["id"], token=customers_only).status_code == 403
    assert read_job(api, job["id"], token=segments_only).status_code == 200
    client: TestClient[Any] = api.client
    listed = client.get(IMPORT.replace("{t}", api.tenant), headers={"Authorization": f"Bearer {customers_only}"})
    assert listed.status_code == 200
    assert listed.json() == []


def test_another_tenants_job_is_not_found(api: Api) -> None:
    job = finished(api, upload(api, "segments", "id,name,siteCode\ns1,One,main\n"))
    other = Api(api.client, api.tokens, api.tenant + "x")
    answer = read_job(other, job["id"])
    assert answer.status_code == 404
    assert answer.json() == {
        "code": 404,
        "status": "Not Found",
        "message": f"There is no import job '{job['id']}' in this tenant.",
    }
    # A token of one tenant is refused on another's path, as everywhere.
    assert upload(api, "segments", "id\nx\n", tenant=other.tenant).status_code == 403


def test_a_body_over_the_limit_is_413_in_the_services_error_body(settings: Settings, api: Api) -> None:
    body = b"id\n" + b"x" * settings.max_body_bytes
    answer = upload(api, "segments", body)
    assert answer.status_code == 413
    assert answer.json() == {
        "code": 413,
        "status": "Request Entity Too Large",
        "message": "The request body is larger than the allowed 10 MB.",
    }


def test_a_file_that_cannot_be_read_is_refused_before_any_row(api: Api) -> None:
    header = upload(api, "segments", "id,name,name.en\ns1,One,One\n")
    assert header.status_code == 400
    assert header.json()["message"] == (
        "The file cannot be read, so nothing was imported: line 1: the columns 'name' and 'name.en' name the same "
        "field twice."
    )
    quote = upload(api, "segments", 'id,name,siteCode\ns1,One,main\ns2,"Two,main\n')
    assert quote.status_code == 400
    assert quote.json()["message"].startswith("The file cannot be read, so nothing was imported: line 3: ")
    empty = upload(api, "segments", "")
    assert empty.status_code == 400
    assert empty.json()["message"] == "The request body is empty: send the file's content as the body."
    listed = call(api, "GET", IMPORT)
    assert listed.json() == []  # no job was stored
    assert call(api, "GET", "/customer-segment/{t}/segments").json() == []


def test_rows_that_cannot_be_read_fail_on_their_own(api: Api) -> None:
    job = finished(api, upload(api, "segments", "[1\n{\n", "application/x-ndjson"))
    assert (job["state"], job["rows"], job["processed"], job["failed"]) == ("DONE", 2, 2, 2)
    assert [e["line"] for e in job["errors"]] == [1, 2]
    short = finished(api, upload(api, "segments", "id,name,siteCode\ns1,One\n"))
    assert short["errors"] == [
        {"line": 2, "status": 400, "message": "The row has 2 cells; the header names 3 columns."}
    ]


def test_a_job_whose_process_stopped_is_reported_failed(settings: Settings, api: Api) -> None:
    insert = (
        "INSERT INTO import_jobs (tenant, id, kind, format, row_count, processed, created, created_by, heartbeat_at)"
        " VALUES ($1, $2, 'segments', 'csv', 10, 4, 4, 'test', now() - make_interval(secs => $3))"
    )
    assert settings.database_url is not None
    run_sql(settings.database_url, insert, api.tenant, "lost", jobs.STALE_SECONDS + 5)
    run_sql(settings.database_url, insert, api.tenant, "alive", 1.0)

    lost = read_job(api, "lost").json()
    assert (lost["state"], lost["processed"], lost["rows"], lost["message"]) == (
        "FAILED",
        4,
        10,
        jobs.STOPPED_MESSAGE,
    )
    assert lost["finishedAt"] is not None
    alive = read_job(api, "alive").json()
    assert (alive["state"], alive["finishedAt"], alive["message"]) == ("RUNNING", None, None)
    listed = {job["id"]: job["state"] for job in call(api, "GET", IMPORT).json()}
    assert listed == {"lost": "FAILED", "alive": "RUNNING"}


def test_the_list_pages_newest_first(api: Api) -> None:
    ids = [finished(api, upload(api, "segments", f"id,name,siteCode\ns{n},S{n},main\n"))["id"] for n in range(3)]
    client: TestClient[Any] = api.client
    headers = {"Authorization": f"Bearer {api.token}", "X-Total-Count": "true"}
    first = client.get(IMPORT.replace("{t}", api.tenant), params={"pageSize": 2}, headers=headers)
    second = client.get(IMPORT.replace("{t}", api.tenant), params={"pageSize": 2, "pageNumber": 2}, headers=headers)
    assert [j["id"] for j in first.json() + second.json()] == ids[::-1]
    assert first.headers["x-total-count"] == "3"
    assert "errors" not in first.json()[0]
    bad = client.get(IMPORT.replace("{t}", api.tenant), params={"pageSize": "x"}, headers=headers)
    assert bad.status_code == 400
