"""Log lines: plain text or JSON lines, the log level, and the request id every line written during a request carries.

One handler on the root logger writes every line of the process (the service's own, the HTTP server's, the
libraries') to stderr in one format, so a log collector reads one kind of line (docs/operations.md#logs).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import sys
import time
from contextvars import ContextVar
from typing import Any, TextIO

import msgspec

#: The id of the request being answered, for every log line written while answering it.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

#: The longest X-Request-ID taken from a caller; longer or stranger ones are replaced by one of the service's own.
MAX_REQUEST_ID = 128
# Letters, digits and the punctuation of common trace ids (UUIDs, W3C trace ids, AWS `Root=1-…`): nothing that could
# break a log line or a header.
_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:/+=@~-]{1,%d}" % MAX_REQUEST_ID)

# What every record has, so that only what a caller added with `extra=` becomes extra JSON members.
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}
# Loggers of the HTTP servers that may run the app: their lines go through the service's handler too.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error")
#: The HTTP server's own access lines: the service writes its own (core/observe.py), with the route and tenant.
_SERVER_ACCESS_LOGGERS = ("uvicorn.access",)
HANDLER_NAME = "segment_service"
# Anything a caller logs that JSON has no type for is written as its str().
_json = msgspec.json.Encoder(enc_hook=str)


def request_id_for(header: bytes | None) -> str:
    """The caller's X-Request-ID when it is short and made of safe characters, else a new one of the service's."""
    if header is not None and _SAFE_REQUEST_ID.fullmatch(header):
        return header.decode("ascii")
    return f"{_process_prefix}{next(_request_numbers):016x}"


# New request ids: 16 random hex digits per process, then the process's request count in 16 more. Unique across
# processes and hosts without asking the system for randomness on every request; an id is a handle for the logs,
# never a secret.
_process_prefix = secrets.token_hex(8)
_request_numbers = itertools.count()


def _new_process_prefix() -> None:
    global _process_prefix, _request_numbers
    _process_prefix, _request_numbers = secrets.token_hex(8), itertools.count()


os.register_at_fork(after_in_child=_new_process_prefix)  # a forked worker must not repeat its parent's ids


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class TextFormatter(logging.Formatter):
    """`2026-01-31T12:00:00.123Z INFO segment_service: message [request_id=…]`, then any stack trace."""

    def format(self, record: logging.LogRecord) -> str:
        # Built directly rather than through a format string: it runs once per request for the access log.
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        rid = getattr(record, "request_id", None)
        if rid and record.name != ACCESS_LOGGER:  # the access line names its request id itself
            line = f"{line} [request_id={rid}]"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id when there is one, the members a caller
    passed with `extra=` (the access log's method, route, status...), and `exception` with the stack trace."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return _json.encode(entry).decode()


_second: list[Any] = [None, ""]  # the last whole second formatted, and its text


def _timestamp(record: logging.LogRecord) -> str:
    """UTC, ISO 8601 with milliseconds: what log collectors parse without configuration."""
    return _time_text(record.created, int(record.msecs))


def _time_text(created: float, msecs: int) -> str:
    second = int(created)
    if _second[0] != second:  # formatting the date is most of the cost: once a second is enough
        _second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_second[1]}.{msecs:03d}Z"


ACCESS_LOGGER = "segment_service.access"
_ACCESS = logging.getLogger(ACCESS_LOGGER)
_SERVICE = logging.getLogger("segment_service")
#: The handler configure_logging installed (None before it ran).
_installed: list[logging.StreamHandler[TextIO]] = []


def write_access(message: str, fields: dict[str, Any]) -> bool:
    """Write one access line straight through the service's handler, byte for byte the line its formatter makes of
    the record `logging.getLogger(ACCESS_LOGGER).info(message, extra=fields)` would make, when the logging
    configuration is the one configure_logging made (its handler alone on the root, nothing added on the way, the
    level checked by the caller). False, having written nothing: the caller logs the record the usual way.

    Why: a line a request costs a LogRecord, the logger chain, the filters and the formatter's lookups, together about
    a tenth of a cached storefront read's CPU (docs/performance.md#metrics-and-access-log-what-they-cost-a-request)."""
    if not _installed:
        return False
    handler = _installed[0]
    root = logging.root
    if (
        len(root.handlers) != 1
        or root.handlers[0] is not handler
        or root.filters
        or _ACCESS.handlers
        or _ACCESS.filters
        or _ACCESS.disabled
        or not _ACCESS.propagate
        or _SERVICE.handlers
        or _SERVICE.filters
        or _SERVICE.disabled
        or not _SERVICE.propagate
        or handler.level > logging.INFO
        or len(handler.filters) != 1
        or type(handler.filters[0]) is not _RequestIdFilter
    ):
        return False
    created = time.time()
    stamp = _time_text(created, int((created - int(created)) * 1000))
    formatter = handler.formatter
    if type(formatter) is TextFormatter:
        line = f"{stamp} INFO {ACCESS_LOGGER}: {message}"  # the access line names its request id itself
    elif type(formatter) is JsonFormatter:
        entry: dict[str, Any] = {"time": stamp, "level": "INFO", "logger": ACCESS_LOGGER, "message": message}
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        entry.update(fields)
        line = _json.encode(entry).decode()
    else:
        return False
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    except Exception:
        return False  # the usual way reports it (logging.Handler.handleError)
    finally:
        handler.release()
    return True


def configure_logging(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Route every log line of the process through one handler writing to `stream` (stderr) in `log_format` (`text`
    or `json`) at `level`. Safe to call again (each server worker calls it when it builds the app): the handler is
    replaced."""
    # The formats print none of these, and looking them up is most of what a log call costs (the logging HOWTO's
    # "Optimization"): the access log writes a line per request.
    logging._srcfile = None  # no caller file and line
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    _installed[:] = [handler]
    root.setLevel(level)
    for name in _SERVER_LOGGERS:
        # The server may have installed handlers of its own format: take its lines over, at the service's level.
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
        server_logger.setLevel(logging.NOTSET)
    for name in _SERVER_ACCESS_LOGGERS:
        access_logger = logging.getLogger(name)
        access_logger.handlers.clear()
        access_logger.propagate = False
