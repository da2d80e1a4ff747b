"""The served app's outermost layer: a request id for every request, echoed on every answer, one access log line
and the request metrics, for the fast lane's answers and the framework's alike (docs/operations.md#metrics,
docs/operations.md#logs).

It is the fast lane itself, extended (a subclass rather than one more wrapper), so that whoever holds the served app
still reaches the fast lane's switches and the Litestar app's state through it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from time import perf_counter
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import Message, Receive, Scope, Send

from segment_service.core.fastlane import FastLane, FastRoute
from segment_service.core.logs import ACCESS_LOGGER, request_id, request_id_for, write_access
from segment_service.core.metrics import UNMATCHED, Metrics

access_log = logging.getLogger(ACCESS_LOGGER)

_REQUEST_ID = b"x-request-id"
# A tenant is written to the log as sent only when it cannot break a log line; the path is the caller's choice.
_LOGGABLE_TENANT = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ObservedLane(FastLane):
    """The fast lane in front of the Litestar app, with request ids, the access log and the request metrics."""

    def __init__(
        self,
        app: Litestar,
        routes: Iterable[FastRoute],
        *,
        enabled: bool = True,
        metrics: Metrics,
        access_log_on: bool = True,
    ) -> None:
        super().__init__(app, routes, enabled=enabled)
        self.metrics = metrics
        #: settings.access_log: off, requests are still counted and timed, only not logged.
        self.access_log_on = access_log_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        started = perf_counter()
        given = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                given = value
                break
        rid = request_id_for(given)
        echo = (_REQUEST_ID, rid.encode("ascii"))
        status = 500  # what the server answers when the app fails before starting an answer

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), echo]}
            await send(message)

        context = request_id.set(rid)
        try:
            await super().__call__(scope, receive, send_with_id)
        finally:
            seconds = perf_counter() - started
            route: str = scope.get("path_template") or UNMATCHED
            method: str = scope["method"]
            self.metrics.observe(route, method, status, seconds)
            if self.access_log_on and access_log.isEnabledFor(logging.INFO):
                _log_access(scope, rid, route, method, status, seconds)
            request_id.reset(context)


def _log_access(scope: Scope, rid: str, route: str, method: str, status: int, seconds: float) -> None:
    params: dict[str, Any] = scope.get("path_params") or {}
    tenant = params.get("tenant")
    if not isinstance(tenant, str) or not _LOGGABLE_TENANT.fullmatch(tenant):
        tenant = "-" if tenant is None else "(not a tenant name)"
    duration_ms = round(seconds * 1000, 2)
    if not method.isalpha() or len(method) > 16:
        method = "(other)"
    message = f"{method} {route} {status} {duration_ms:.2f}ms tenant={tenant} request_id={rid}"
    fields = {"method": method, "route": route, "status": status, "duration_ms": duration_ms, "tenant": tenant}
    if write_access(message, fields):
        return
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, message, None, None)
    record.__dict__.update(fields)
    access_log.handle(record)
