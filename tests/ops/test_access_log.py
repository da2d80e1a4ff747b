"""Request ids (the caller's or a new one) on every answer and every log line of the request; one access log line
per request; plain text or JSON lines; the level and the switch."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar import get

from segment_service.core.fastlane import FastLane
from segment_service.core.logs import HANDLER_NAME, configure_logging, request_id, write_access
from segment_service.settings import Settings
from tests.factories import Api
from tests.ops.ops_helpers import served
from tests.segments.storefront_helpers import build_shop

GENERATED = re.compile(r"[0-9a-f]{32}")
SEGMENT = "/customer-segment/{tenant}/segments/{segmentId}"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The service's log configuration, writing to a buffer instead of stderr; undone afterwards."""
    root = logging.getLogger()
    saved = (root.level, logging._srcfile, logging.logThreads, logging.logMultiprocessing)
    buffer = io.StringIO()
    yield buffer
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(saved[0])
    logging._srcfile, logging.logThreads, logging.logMultiprocessing = saved[1:]


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def access_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in json_lines(buffer) if line["logger"] == "segment_service.access"]


def test_the_request_id_is_echoed_on_every_kind_of_answer(api: Api, app: FastLane, database_url: str) -> None:
    build_shop(api, database_url)
    customer = api.tokens.customer(api.tenant, "c1")
    given = {"X-Request-ID": "req-0b5e.7/a:b=c"}
    answered = app.answered
    cases = {
        "success": api.request("GET", "/segments/gold", headers=given),
        "fast lane": api.request("GET", "/segments/items", token=customer, headers=given),
        "error": api.request("GET", "/segments/nope", headers=given),
        "no token": api.client.get(api.url("/segments"), headers=given),
        "unmatched": api.client.get("/no/such/path", headers=given),
        "too long": api.request("GET", "/segments/" + "x" * 11_000, headers=given),
        "health": api.client.get("/health/live", headers=given),
    }
    # The fast lane answers GET a segment too: the success, the error and the too long one (the route's 414).
    assert app.answered == answered + 4
    assert {case: r.status_code for case, r in cases.items()} == {
        "success": 200,
        "fast lane": 200,
        "error": 404,
        "no token": 401,
        "unmatched": 404,
        "too long": 414,
        "health": 200,
    }
    for case, response in cases.items():
        assert response.headers.get_list("x-request-id") == ["req-0b5e.7/a:b=c"], case


@pytest.mark.parametrize("sent", [None, "", "has space", "new\nline", "é".encode(), "<script>", "x" * 129])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(api: Api, sent: str | bytes | None) -> None:
    headers: dict[str, Any] = {} if sent is None else {"X-Request-ID": sent}
    first = api.request("GET", "/segments", headers=headers).headers["x-request-id"]
    second = api.request("GET", "/segments", headers=headers).headers["x-request-id"]
    assert GENERATED.fullmatch(first)
    assert first != second


def test_a_request_id_of_128_safe_characters_is_kept(api: Api) -> None:
    sent = "a1-" * 42 + "zz"
    assert api.request("GET", "/segments", headers={"X-Request-ID": sent}).headers["x-request-id"] == sent


def test_json_access_lines(api: Api, database_url: str, log_output: io.StringIO) -> None:
    configure_logging("INFO", "json", log_output)
    build_shop(api, database_url)
    log_output.truncate(0)
    log_output.seek(0)
    customer = api.tokens.customer(api.tenant, "c1")
    api.request("GET", "/segments/gold", headers={"X-Request-ID": "abc-1"})
    api.request("GET", "/segments/items", token=customer, headers={"X-Request-ID": "abc-2"})
    api.client.get("/no/such/path", headers={"X-Request-ID": "abc-3"})
    lines = access_lines(log_output)
    assert [{k: v for k, v in line.items() if k not in ("time", "duration_ms", "message")} for line in lines] == [
        {
            "level": "INFO",
            "logger": "segment_service.access",
            "request_id": "abc-1",
            "method": "GET",
            "route": SEGMENT,
            "status": 200,
            "tenant": api.tenant,
        },
        {
            "level": "INFO",
            "logger": "segment_service.access",
            "request_id": "abc-2",
            "method": "GET",
            "route": "/customer-segment/{tenant}/segments/items",
            "status": 200,
            "tenant": api.tenant,
        },
        {
            "level": "INFO",
            "logger": "segment_service.access",
            "request_id": "abc-3",
            "method": "GET",
            "route": "unmatched",
            "status": 404,
            "tenant": "-",
        },
    ]
    for line in lines:
        assert isinstance(line["duration_ms"], float)
        assert 0 < line["duration_ms"] < 10_000
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert lines[0]["message"] == (
        f"GET {SEGMENT} 200 {lines[0]['duration_ms']:.2f}ms tenant={api.tenant} request_id=abc-1"
    )


@get("/test-only/boom", include_in_schema=False)
async def boom() -> None:
    raise RuntimeError("the handler broke")


def test_an_unexpected_error_logs_its_request_id_and_stack_trace(settings: Settings, log_output: io.StringIO) -> None:
    configure_logging("INFO", "json", log_output)
    with served(settings, routes=[boom]) as client:
        response = client.get("/test-only/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.json() == {
        "code": 500,
        "status": "Internal Server Error",
        "message": "An unexpected error occurred. It has been logged.",
    }
    assert response.headers["x-request-id"] == "boom-1"
    errors = [line for line in json_lines(log_output) if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "boom-1"
    assert errors[0]["message"] == "unexpected error"
    assert "RuntimeError: the handler broke" in errors[0]["exception"]
    [access] = [line for line in access_lines(log_output) if line["request_id"] == "boom-1"]
    assert (access["route"], access["status"]) == ("/test-only/boom", 500)


def test_text_lines(settings: Settings, log_output: io.StringIO) -> None:
    configure_logging("INFO", "text", log_output)
    with served(settings, routes=[boom]) as client:
        client.get("/health/live", headers={"X-Request-ID": "t-1"})
        client.get("/test-only/boom", headers={"X-Request-ID": "t-2"})
    lines = log_output.getvalue().splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert any(
        re.fullmatch(
            rf"{stamp} INFO segment_service.access: GET /health/live 200 \d+\.\d\dms tenant=- "
            r"request_id=t-1",
            line,
        )
        for line in lines
    ), lines
    error = next(i for i, line in enumerate(lines) if " ERROR " in line)
    assert re.fullmatch(rf"{stamp} ERROR segment_service: unexpected error \[request_id=t-2\]", lines[error])
    assert lines[error + 1] == "Traceback (most recent call last):"


def test_the_level_and_the_switch(settings: Settings, log_output: io.StringIO) -> None:
    configure_logging("WARNING", "json", log_output)
    with served(settings) as client:
        client.get("/health/live")
    assert access_lines(log_output) == []

    configure_logging("INFO", "json", log_output)
    with served(settings, access_log=False) as client:
        client.get("/health/live")
        metrics = client.get("/metrics").text
    assert access_lines(log_output) == []
    assert (
        'segment_service_http_requests_total{method="GET",route="/health/live",status="200"} 1.0'
        in metrics.splitlines()
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SEGMENT_SERVICE_LOG_FORMAT", "xml", "SEGMENT_SERVICE_LOG_FORMAT is 'xml'; allowed: text, json"),
        (
            "SEGMENT_SERVICE_LOG_LEVEL",
            "loud",
            "SEGMENT_SERVICE_LOG_LEVEL is 'loud'; allowed: DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
        (
            "SEGMENT_SERVICE_ACCESS_LOG",
            "maybe",
            "SEGMENT_SERVICE_ACCESS_LOG is 'maybe'; allowed: true, false, 1, 0, yes, no, on, off",
        ),
    ],
)
def test_bad_log_settings_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings.from_env()


@pytest.mark.parametrize(
    ("value", "on"), [("0", False), ("false", False), ("OFF", False), ("1", True), ("true", True), ("", True)]
)
def test_the_access_log_switch_reads_the_usual_spellings(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    monkeypatch.setenv("SEGMENT_SERVICE_ACCESS_LOG", value)
    monkeypatch.setenv("SEGMENT_SERVICE_LOG_LEVEL", "debug")
    settings = Settings.from_env()
    assert (settings.access_log, settings.log_level) == (on, "DEBUG")


@contextmanager
def service_handler_alone() -> Iterator[None]:
    """The root logger with the service's handler only, as in a served process (pytest adds capture handlers)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [h for h in saved if h.get_name() == HANDLER_NAME]
    try:
        yield
    finally:
        root.handlers = saved


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_direct_access_line_is_the_line_the_record_makes(log_format: str, log_output: io.StringIO) -> None:
    """The access line is written straight through the service's handler; it must be the formatter's line for the
    record, and anything added to the logging configuration must see the record instead."""
    configure_logging("INFO", log_format, log_output)
    with service_handler_alone():
        _direct_and_record_lines(log_output)
    assert not write_access("pytest's handlers are back", {})


def _direct_and_record_lines(log_output: io.StringIO) -> None:
    fields = {"method": "GET", "route": SEGMENT, "status": 200, "duration_ms": 1.25, "tenant": "shop"}
    message = f"GET {SEGMENT} 200 1.25ms tenant=shop request_id=r-1"
    token = request_id.set("r-1")
    try:
        assert write_access(message, fields)
        direct = log_output.getvalue()
        log_output.seek(0)
        log_output.truncate()
        logging.getLogger("segment_service.access").info(message, extra=fields)
        through_record = log_output.getvalue()

        def without_time(line: str) -> str:
            return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "T", line)

        assert direct.endswith("\n")
        assert direct.count("\n") == 1
        assert without_time(direct) == without_time(through_record)

        # Something else listening (a handler on the service's logger, a filter, a second root handler): the record
        # goes the usual way, so that they see it.
        seen: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                seen.append(record)

        for logger in (logging.getLogger("segment_service"), logging.getLogger()):
            keep = Keep()
            logger.addHandler(keep)
            try:
                assert not write_access(message, fields)
            finally:
                logger.removeHandler(keep)
        service = logging.getLogger("segment_service")
        service.propagate = False
        try:
            assert not write_access(message, fields)
        finally:
            service.propagate = True
        assert write_access(message, fields)
    finally:
        request_id.reset(token)


def test_a_served_request_writes_its_access_line_directly(settings: Settings, log_output: io.StringIO) -> None:
    configure_logging("INFO", "json", log_output)
    with served(settings) as client, service_handler_alone():
        response = client.get("/health/live", headers={"X-Request-ID": "direct-1"})
        assert write_access("the direct way is open", {})
    [line] = [entry for entry in access_lines(log_output) if entry.get("request_id") == "direct-1"]
    assert response.headers["x-request-id"] == "direct-1"
    assert (line["route"], line["status"], line["tenant"], line["method"]) == ("/health/live", 200, "-", "GET")
    assert line["message"].startswith("GET /health/live 200 ")
    assert line["message"].endswith("request_id=direct-1")
