"""Adversarial tests of import jobs over HTTP (docs/operations.md#import-over-http): ids that are not ids, tokens of
every kind, bodies of every shape (chunked, over the limit, BOM, CRLF, NUL, invalid UTF-8, very long lines), many
jobs at once, events for imported rows, and the temporary files left behind."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from segment_service.core.auth import SERVICE_SCOPES, TokenKind, TokenService
from segment_service.core.db import migrate
from segment_service.core.scopes import Scope
from segment_service.settings import Settings
from segment_service.transfer import jobs
from tests.factories import Api, run_sql
from tests.ops.servers import SIGNING_KEY, ServeProcess, StoppablePostgres, process_gone, serve_env
from tests.ops.test_database_outage import create_client
from tests.transfer.helpers import call
from tests.transfer.test_import_jobs import IMPORT, finished, read_job, upload
from tests.webhooks.helpers import configure, subscribe
from tests.webhooks.helpers import published_events as read_published

SEGMENTS_HEADER = "id,name,siteCode\n"


def spooled() -> set[str]:
    """The import jobs' temporary folders now on disk."""
    return {p.name for p in Path(tempfile.gettempdir()).glob("segment-import-*")}


def jobs_url(api: Api) -> str:
    return IMPORT.replace("{t}", api.tenant)


def get(api: Api, path: str, token: str | None = None, **headers: str) -> Any:
    client: TestClient[Any] = api.client
    return client.get(path, headers={"Authorization": f"Bearer {token or api.token}", **headers})


def is_service_error(body: Any, code: int) -> bool:
    return isinstance(body, dict) and body.get("code") == code and isinstance(body.get("message"), str)


# -- ids, tokens and tenants -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "job_id",
    ["%00", "a%00b", "x" * 5000, "..%2F..%2Fsegments", "%2e%2e", "%E2%80%AE", "'%20OR%201=1--", "%F0%9F%98%80"],
)
def test_a_job_id_that_is_not_an_id_is_404_in_the_services_shape(api: Api, job_id: str) -> None:
    answer = get(api, f"{jobs_url(api)}/{job_id}")
    # A NUL is refused as everywhere in the service (400); anything else is no job.
    code = 400 if "%00" in job_id else 404
    assert answer.status_code == code, answer.text
    assert is_service_error(answer.json(), code), answer.text
    assert "Traceback" not in answer.text


def test_customer_and_guest_tokens_neither_start_read_nor_list_jobs(api: Api) -> None:
    job = finished(api, upload(api, "segments", SEGMENTS_HEADER + "s1,One,main\n"))
    call(api, "POST", "/customer/{t}/customers", {"id": "c1", "contactEmail": "c1@example.com"})
    for token in (api.tokens.customer(api.tenant, "c1"), api.tokens.anonymous(api.tenant)):
        assert upload(api, "segments", SEGMENTS_HEADER + "s2,Two,main\n", token=token).status_code == 403
        assert read_job(api, job["id"], token=token).status_code == 403
        listed = get(api, jobs_url(api), token=token)
        assert listed.status_code == 403
        assert is_service_error(listed.json(), 403)
    assert call(api, "GET", "/customer-segment/{t}/segments/s2").status_code == 404


def test_another_tenants_jobs_are_neither_listed_nor_read_nor_counted(api: Api) -> None:
    mine = finished(api, upload(api, "segments", SEGMENTS_HEADER + "s1,One,main\n"))
    other = Api(api.client, api.tokens, api.tenant + "o")
    theirs = finished(other, upload(other, "segments", SEGMENTS_HEADER + "s1,One,main\n"))
    listed = get(api, jobs_url(api), **{"X-Total-Count": "true"})
    assert [j["id"] for j in listed.json()] == [mine["id"]]
    assert listed.headers["x-total-count"] == "1"
    assert read_job(api, theirs["id"]).status_code == 404
    # My token on their path: refused as everywhere.
    assert get(api, f"{jobs_url(other)}/{theirs['id']}").status_code == 403
    assert get(api, jobs_url(other)).status_code == 403


def test_orders_need_both_create_and_update(api: Api) -> None:
    update_only = api.tokens.service(api.tenant, scopes=(Scope.ORDER_UPDATE.value,))
    assert upload(api, "orders", "id\nx\n", token=update_only).status_code == 403
    both = api.tokens.service(api.tenant, scopes=(Scope.ORDER_CREATE.value, Scope.ORDER_UPDATE_COMPLETED.value))
    answer = upload(api, "orders", "id\nx\n", token=both)
    assert answer.status_code == 202, answer.text
    # The list of a token that may import only orders shows only the orders job.
    finished(api, upload(api, "segments", SEGMENTS_HEADER + "s1,One,main\n"))
    assert [j["kind"] for j in get(api, jobs_url(api), token=both).json()] == ["orders"]


# -- bodies ------------------------------------------------------------------------------------------------------------


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    yield b"id,name,siteCode\n"
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


def test_a_chunked_body_over_the_limit_is_413_and_leaves_no_file(settings: Settings, api: Api) -> None:
    before = spooled()
    client: TestClient[Any] = api.client
    answer = client.post(
        jobs_url(api),
        params={"kind": "segments"},
        content=_chunks(settings.max_body_bytes + (1 << 20)),
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "text/csv"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.json() == {
        "code": 413,
        "status": "Request Entity Too Large",
        "message": "The request body is larger than the allowed 10 MB.",
    }
    assert spooled() <= before
    assert call(api, "GET", IMPORT).json() == []


def test_a_body_of_exactly_the_limit_is_taken(settings: Settings, api: Api) -> None:
    body = SEGMENTS_HEADER.encode() + b"s1,One,main\n"
    body += b"\n" * (settings.max_body_bytes - len(body))  # blank lines are no rows
    assert len(body) == settings.max_body_bytes
    job = finished(api, upload(api, "segments", body))
    assert job["state"] == "DONE"
    assert job["rows"] == job["processed"]


@pytest.mark.parametrize(
    "content_type",
    ["TEXT/CSV", "text/csv;charset=UTF-8", 'text/csv; charset="utf-8"', "text/csv ; header=present", "text/csv;"],
)
def test_content_type_variants_of_csv_are_taken(api: Api, content_type: str) -> None:
    job = finished(api, upload(api, "segments", SEGMENTS_HEADER + "s1,One,main\n", content_type))
    assert (job["state"], job["created"]) == ("DONE", 1)


@pytest.mark.parametrize("content_type", ["text/plain", "text/csvx", "application/octet-stream", "", "text"])
def test_other_content_types_are_415_in_the_services_shape(api: Api, content_type: str) -> None:
    answer = upload(api, "segments", SEGMENTS_HEADER + "s1,One,main\n", content_type)
    assert answer.status_code == 415, answer.text
    assert is_service_error(answer.json(), 415)


def test_a_csv_in_latin1_is_refused_naming_the_line(api: Api) -> None:
    body = (SEGMENTS_HEADER + "s1,One,main\ns2,Caf\u00e9,main\n").encode("latin-1")
    answer = upload(api, "segments", body, "text/csv; charset=ISO-8859-1")
    assert answer.status_code == 400, answer.text
    assert "line 3" in answer.json()["message"]
    assert "utf-8" in answer.json()["message"].lower()
    assert call(api, "GET", "/customer-segment/{t}/segments").json() == []


def test_a_csv_in_utf16_is_refused(api: Api) -> None:
    body = (SEGMENTS_HEADER + "s1,One,main\n").encode("utf-16")
    answer = upload(api, "segments", body, "text/csv; charset=utf-16")
    assert answer.status_code == 400, answer.text
    assert "line 1" in answer.json()["message"]


def test_bom_and_crlf_csv(api: Api) -> None:
    body = '\ufeffid,name,siteCode\r\ns1,One,main\r\ns2,"Two\r\nlines",main\r\n'.encode()
    job = finished(api, upload(api, "segments", body))
    assert (job["state"], job["rows"], job["created"], job["failed"]) == ("DONE", 2, 2, 0), job
    two = call(api, "GET", "/customer-segment/{t}/segments/s2").json()
    assert two["name"] == "Two\r\nlines" or two["name"].get("en") == "Two\r\nlines", two


def test_crlf_ndjson(api: Api) -> None:
    body = b'{"id": "s1", "name": "One", "siteCode": "main"}\r\n{"id": "s2", "name": "Two", "siteCode": "main"}\r\n'
    job = finished(api, upload(api, "segments", body, "application/x-ndjson"))
    assert (job["state"], job["rows"], job["created"], job["failed"]) == ("DONE", 2, 2, 0), job


def test_a_bom_before_ndjson_is_not_a_broken_first_row(api: Api) -> None:
    body = '\ufeff{"id": "s1", "name": "One", "siteCode": "main"}\n'.encode()
    job = finished(api, upload(api, "segments", body, "application/x-ndjson"))
    assert (job["state"], job["created"], job["failed"]) == ("DONE", 1, 0), job


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("id,name,siteCode\n", "text/csv"),
        ("id,name,siteCode\r\n\r\n\r\n", "text/csv"),
        ("\n\n", "application/x-ndjson"),
    ],
)
def test_a_file_without_rows_is_a_done_job_of_none(api: Api, body: str, content_type: str) -> None:
    job = finished(api, upload(api, "segments", body, content_type))
    assert (job["state"], job["rows"], job["processed"], job["errors"]) == ("DONE", 0, 0, []), job


def test_nul_bytes_never_500(api: Api) -> None:
    csv_cell = finished(api, upload(api, "segments", SEGMENTS_HEADER + "s1,O\x00ne,main\n"))
    assert csv_cell["state"] in ("DONE",), csv_cell
    assert csv_cell["processed"] == 1
    if csv_cell["failed"]:
        assert csv_cell["errors"][0]["status"] == 400
        assert "NUL" in csv_cell["errors"][0]["message"]
    escaped = finished(
        api, upload(api, "segments", '{"id": "s2", "name": "T\\u0000wo", "siteCode": "main"}\n', "application/x-ndjson")
    )
    assert (escaped["state"], escaped["failed"]) == ("DONE", 1), escaped
    assert escaped["errors"][0]["status"] == 400
    raw = finished(api, upload(api, "segments", b'{"id": "s3", "na\x00me": "x"}\n', "application/x-ndjson"))
    assert (raw["state"], raw["failed"]) == ("DONE", 1), raw
    # An id with a NUL: the message quotes it, and the stored message keeps no NUL.
    quoted = finished(
        api, upload(api, "segments", '{"id": "s\\u0000", "name": "x", "siteCode": "main"}\n', "application/x-ndjson")
    )
    assert quoted["state"] == "DONE", quoted
    assert "\x00" not in str(quoted)


def test_invalid_utf8_in_ndjson_fails_that_row_alone(api: Api) -> None:
    body = b'{"id": "s1", "name": "One", "siteCode": "main"}\n{"id": "s2", "name": "\xff\xfe", "siteCode": "main"}\n'
    job = finished(api, upload(api, "segments", body, "application/x-ndjson"))
    assert (job["state"], job["created"], job["failed"]) == ("DONE", 1, 1), job
    assert job["errors"][0]["line"] == 2


def test_a_very_long_line_fails_with_a_short_message(api: Api) -> None:
    long_id = "x" * 3_000_000
    body = f'{{"id": "{long_id}", "name": "x", "siteCode": "main"}}\n'
    job = finished(api, upload(api, "segments", body, "application/x-ndjson"))
    assert (job["state"], job["failed"]) == ("DONE", 1), {k: v for k, v in job.items() if k != "errors"}
    assert len(job["errors"][0]["message"]) <= jobs.MAX_MESSAGE_CHARS


def test_csv_injection_is_stored_as_text(api: Api) -> None:
    body = SEGMENTS_HEADER + 's1,"=HYPERLINK(""http://evil"",""x"")",main\ns2,+cmd|\' /C calc\'!A0,main\n'
    job = finished(api, upload(api, "segments", body))
    assert (job["state"], job["created"]) == ("DONE", 2), job


def test_duplicate_lines_create_then_update(api: Api) -> None:
    job = finished(api, upload(api, "segments", SEGMENTS_HEADER + "s1,One,main\n" * 5))
    assert (job["created"], job["updated"], job["failed"]) == (1, 4, 0), job


def test_a_file_whose_rows_all_fail_keeps_the_first_thousand_errors(api: Api) -> None:
    rows = "".join(f"s{n},S{n},\n" for n in range(1500))  # no siteCode... may or may not be required
    body = "id,name,status\n" + "".join(f"s{n},S{n},NOPE\n" for n in range(1500))
    del rows
    job = finished(api, upload(api, "segments", body))
    assert (job["state"], job["rows"], job["processed"], job["failed"]) == ("DONE", 1500, 1500, 1500)
    assert len(job["errors"]) == jobs.MAX_STORED_ERRORS
    assert job["moreErrors"] == 500
    assert [e["line"] for e in job["errors"]] == list(range(2, 1002))
    listed = get(api, jobs_url(api)).json()
    assert listed[0]["failed"] == 1500
    assert "errors" not in listed[0]


def test_file_names_are_kept_as_text(api: Api) -> None:
    name = "<img src=x onerror=alert(1)> \u05e9\u05dc\u05d5\u05dd \U0001f600.csv"
    job = finished(api, upload(api, "segments", SEGMENTS_HEADER + "s1,One,main\n", fileName=name))
    assert job["fileName"] == name
    for bad_name in ("a\nb", "x\u202egnp.csv", "\x00", "n" * 256):
        bad = upload(api, "segments", SEGMENTS_HEADER, fileName=bad_name)
        assert bad.status_code == 400, bad_name
        assert is_service_error(bad.json(), 400)


# -- scale and concurrency ---------------------------------------------------------------------------------------------


def test_a_hundred_thousand_rows_move_progress_and_finish(api: Api) -> None:
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Gold", "siteCode": "main"})
    body = "segmentId,type,id\n" + "".join(f"gold,PRODUCT,p{n}\n" for n in range(100_000))
    started = time.monotonic()
    answer = upload(api, "item-assignments", body)
    assert answer.status_code == 202, answer.text
    assert time.monotonic() - started < 10
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while True:
        job = read_job(api, answer.json()["id"]).json()
        seen.append(job["processed"])
        if job["state"] != "RUNNING":
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["state"] == "DONE", job["message"]
    assert job["rows"] == job["processed"] == 100_000
    assert seen == sorted(seen)
    # Unknown products fail each row; counts and the capped errors hold.
    assert job["failed"] + job["imported"] == 100_000


def test_jobs_of_one_tenant_do_not_starve_another(api: Api) -> None:
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Gold", "siteCode": "main"})
    body = "id,name,siteCode\n" + "".join(f"s{n},S{n},main\n" for n in range(2000))
    started = [upload(api, "segments", body) for _ in range(12)]
    assert all(s.status_code == 202 for s in started), [s.text for s in started]
    other = Api(api.client, api.tokens, api.tenant + "b")
    took = []
    for _ in range(5):
        t0 = time.monotonic()
        answer = call(other, "GET", "/customer-segment/{t}/segments")
        took.append(time.monotonic() - t0)
        assert answer.status_code == 200, answer.text
    mine = upload(other, "segments", SEGMENTS_HEADER + "x1,X,main\n")
    t0 = time.monotonic()
    job = finished(other, mine)
    mine_took = time.monotonic() - t0
    print("other tenant's reads took", took, "its job took", mine_took)
    assert max(took) < 2, took
    assert job["state"] == "DONE"
    assert mine_took < 5, mine_took


# -- events ------------------------------------------------------------------------------------------------------------


def test_imported_rows_publish_the_events_api_writes_publish(settings: Settings, api: Api) -> None:
    assert settings.database_url is not None
    by_api = Api(api.client, api.tokens, api.tenant + "a")
    for each in (api, by_api):
        configure(each, "http://127.0.0.1:9/")
        subscribe(each, "customer-segment.segment-created", "customer-segment.segment-updated")
    finished(api, upload(api, "segments", SEGMENTS_HEADER + "s1,One,main\ns1,Uno,main\n"))
    call(by_api, "POST", "/customer-segment/{t}/segments", {"id": "s1", "name": "One", "siteCode": "main"})
    call(by_api, "PUT", "/customer-segment/{t}/segments/s1", {"name": "Uno", "siteCode": "main"})
    imported = [t for t, _ in read_published(settings.database_url, api.tenant, settings)]
    written = [t for t, _ in read_published(settings.database_url, by_api.tenant, settings)]
    assert imported == written
    assert imported


# -- real processes: SIGKILL, SIGTERM, the database stopped ------------------------------------------------------------


class Served:
    """A `serve` over a PostgreSQL the test can stop, with its own TMPDIR (to see the spooled files)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.tmp = folder / "tmp"
        self.tmp.mkdir()
        self.postgres = StoppablePostgres(folder)
        asyncio.run(migrate(self.postgres.url))
        self.tenant = "t" + secrets.token_hex(6)
        client_id, _ = asyncio.run(create_client(self.postgres.url, self.tenant))
        self.token = TokenService(SIGNING_KEY).issue(
            tenant=self.tenant, kind=TokenKind.SERVICE, subject=client_id, scopes=SERVICE_SCOPES, ttl_seconds=3600
        )
        self.serve = self.start()

    def start(self) -> ServeProcess:
        env = serve_env(self.postgres.url, TMPDIR=str(self.tmp))
        return ServeProcess.start(self.folder, database_url=self.postgres.url, env=env)

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def upload(self, body: bytes) -> str:
        answer = self.serve.post(
            f"/import/{self.tenant}/jobs",
            params={"kind": "segments"},
            content=body,
            headers=self.headers(**{"Content-Type": "text/csv"}),
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    def job(self, job_id: str) -> httpx.Response:
        return self.serve.get(f"/import/{self.tenant}/jobs/{job_id}", headers=self.headers())

    def running_with_progress(self, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while True:
            job = self.job(job_id).json()
            if job["processed"] > 0:
                assert job["state"] == "RUNNING", job
                return dict(job)
            assert time.monotonic() < deadline, job
            time.sleep(0.1)

    def until_not_running(self, job_id: str, timeout: float) -> tuple[dict[str, Any], float]:
        started = time.monotonic()
        while True:
            answer = self.job(job_id)
            if answer.status_code == 200 and answer.json()["state"] != "RUNNING":
                return dict(answer.json()), time.monotonic() - started
            assert time.monotonic() - started < timeout, answer.text
            time.sleep(0.25)

    def segment_count(self) -> int:
        rows = run_sql(self.postgres.url, "SELECT count(*) AS n FROM segments WHERE tenant = $1", self.tenant)
        return int(rows[0]["n"])

    def close(self) -> None:
        self.serve.stop()
        self.postgres.close()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    world = Served(Path(tempfile.mkdtemp(prefix="import-attacks-")))
    try:
        yield world
    finally:
        world.close()


def _segments(count: int, prefix: str) -> bytes:
    return (SEGMENTS_HEADER + "".join(f"{prefix}{n},S{n},main\n" for n in range(count))).encode()


def test_a_job_whose_worker_is_killed_is_reported_failed_and_its_file_goes(served: Served) -> None:
    job_id = served.upload(_segments(200_000, "k"))
    served.running_with_progress(job_id)
    (worker,) = served.serve.worker_pids()
    os.kill(worker, signal.SIGKILL)
    assert process_gone(worker)
    written = served.segment_count()
    served.serve.wait_for_log(rf"worker process {worker} was killed by SIGKILL; started worker process \d+")
    job, waited = served.until_not_running(job_id, jobs.STALE_SECONDS + 30)
    assert (job["state"], job["message"]) == ("FAILED", jobs.STOPPED_MESSAGE)
    assert job["finishedAt"] is not None
    # Every row is its own transaction: what is written is whole; the counts lag behind by at most a report.
    print("written", written, "counted", job["processed"], "reported failed after", waited)
    assert job["created"] <= written
    # The next upload on this host clears what the killed process spooled.
    finished_id = served.upload(_segments(1, "after-kill"))
    served.until_not_running(finished_id, 30)
    assert list(served.tmp.glob("segment-import-*")) == []


def _stopped_by_sigterm(served: Served) -> tuple[dict[str, Any], float, str]:
    job_id = served.upload(_segments(200_000, "t" + secrets.token_hex(2)))
    served.running_with_progress(job_id)
    served.serve.stop()
    log = served.serve.log()
    served.serve = served.start()
    job, waited = served.until_not_running(job_id, jobs.STALE_SECONDS + 30)
    return job, waited, log


def test_a_job_of_a_served_process_stopped_by_sigterm_is_failed_without_an_unexpected_error(served: Served) -> None:
    job, _, log = _stopped_by_sigterm(served)
    assert (job["state"], job["message"]) == ("FAILED", jobs.STOPPED_MESSAGE)
    assert "unexpected error" not in log, log
    assert "Traceback" not in log, log
    assert list(served.tmp.glob("segment-import-*")) == []


def test_a_job_of_a_served_process_stopped_by_sigterm_is_failed_at_once(served: Served) -> None:
    job, waited, _ = _stopped_by_sigterm(served)
    assert (job["state"], job["message"]) == ("FAILED", jobs.STOPPED_MESSAGE)
    assert waited < 5, waited


def test_the_database_stopped_during_a_job_fails_it_with_a_message(served: Served) -> None:
    job_id = served.upload(_segments(200_000, "d"))
    served.running_with_progress(job_id)
    served.postgres.stop()
    try:
        during = served.job(job_id)
        assert during.status_code == 503, during.text
        assert (
            during.json()["message"] == "The service cannot reach its database right now; try again in a few seconds."
        )
        time.sleep(2)
    finally:
        served.postgres.start()
    job, waited = served.until_not_running(job_id, jobs.STALE_SECONDS + 30)
    print("after the outage:", job["state"], job["message"], waited)
    assert (job["state"], job["message"]) == ("FAILED", jobs.OUTAGE_MESSAGE)
    assert waited < jobs.STALE_SECONDS, waited  # said by the job itself, not guessed from its old heartbeat
    assert list(served.tmp.glob("segment-import-*")) == []
    assert "Traceback" not in served.serve.log()


def test_stop_running_says_at_once_that_the_running_jobs_stopped(api: Api) -> None:
    """What the app's shutdown should call before it closes its pool (app.py's lifespan does)."""
    body = SEGMENTS_HEADER + "".join(f"s{n},S{n},main\n" for n in range(100_000))
    answer = upload(api, "segments", body)
    assert answer.status_code == 202
    job_id = answer.json()["id"]
    deadline = time.monotonic() + 30
    while read_job(api, job_id).json()["processed"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    api.client.blocking_portal.call(jobs.stop_running)
    job = read_job(api, job_id).json()
    assert (job["state"], job["message"]) == ("FAILED", jobs.STOPPED_MESSAGE)
    assert 0 < job["processed"] < 100_000


def test_another_app_shutting_down_in_the_process_leaves_this_apps_jobs_alone(api: Api, settings: Settings) -> None:
    """Each app stops its own loop's jobs: another app of the same process (tests run many) that shuts down neither
    waits for them nor touches them (a task is cancelled and awaited only from its own loop's thread)."""
    from segment_service.app import create_app

    body = SEGMENTS_HEADER + "".join(f"t{n},T{n},main\n" for n in range(15_000))
    answer = upload(api, "segments", body)
    assert answer.status_code == 202
    job_id = answer.json()["id"]
    deadline = time.monotonic() + 30
    while read_job(api, job_id).json()["processed"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    with TestClient(app=create_app(settings)) as other:
        assert other.get("/health").status_code == 200
    assert time.monotonic() - started < jobs.STOP_SECONDS
    assert read_job(api, job_id).json()["state"] == "RUNNING"  # the other app's shutdown did not stop it
    job = finished(api, answer)
    assert (job["state"], job["created"] + job["updated"]) == ("DONE", 15_000), job
