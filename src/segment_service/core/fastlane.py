"""The fast lane: the hottest storefront reads answered without the framework's per-request machinery.

Litestar's routing, middleware, dependency injection, parameter parsing and response objects cost about as much as
a whole storefront read (docs/performance-history.md, "2026-11-26 20:00 and 20:05 UTC"). A `FastRoute` answers one
operation's plain, successful request straight from the ASGI scope, with the same core functions and service the
routed handler uses (`authenticate`,
paging, shaping). It answers only what it fully understands: a parameter it does not know, a repeated one, any error
and any surprise go to the Litestar app, which answers exactly as it always does (a statement timeout and an
unreachable database are answered here, with the route's 400 or 503, since running the statement again would only
fail again). Reads only, so trying
and then handing over has no effect. tests/core/test_fastlane.py sends the same requests through both lanes and
compares.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, HTTPScope, Receive, Scope, Send

from segment_service.core.auth import Caller, authenticate
from segment_service.core.cors import response_headers as cors_headers
from segment_service.core.db import Database
from segment_service.core.errors import TooManyRequests, error_body, family_for_path
from segment_service.core.fairshare import bind_request, unbind_request
from segment_service.core.http import json_body, to_service_error
from segment_service.core.outage import is_connection_failure

log = logging.getLogger("segment_service.fastlane")

_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True, slots=True)
class FastRequest:
    """What a fast handler gets: the path parameters, the query (each parameter once), the headers (lower-case
    names), the authenticated caller and the app's state."""

    path_params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    caller: Caller
    state: State

    @property
    def db(self) -> Database:
        db: Database = self.state.db
        return db

    @property
    def default_language(self) -> str:
        return str(self.state.settings.default_language)


@dataclass(frozen=True, slots=True)
class FastResponse:
    """A JSON answer: the encoded body and any extra headers."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


FastHandler = Callable[[FastRequest], Awaitable[FastResponse]]


def flag(value: str | None) -> bool:
    """A boolean query parameter as a fast handler takes it: absent, `true` or `false`. Anything else raises, so the
    routed handler answers it (with its own parsing and its 400)."""
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise ValueError(f"not a plain boolean: {value!r}")


@dataclass(frozen=True, slots=True)
class FastRoute:
    """One operation's fast lane: its method and path (`{name}` marks a parameter), the scopes the routed handler
    declares, and the query parameters the handler understands."""

    method: str
    path: str
    scopes: tuple[str, ...]
    query: frozenset[str]
    handler: FastHandler
    segments: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.path.strip("/").split("/")))

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The path parameters when `parts` (the request path split at `/`) is this route's path."""
        params: dict[str, str] = {}
        for pattern, part in zip(self.segments, parts, strict=True):
            if pattern.startswith("{"):
                if not part:
                    return None
                params[pattern[1:-1]] = part
            elif pattern != part:
                return None
        return params


class FastLane:
    """An ASGI app in front of the Litestar app: it answers what its routes fully understand and passes the rest."""

    def __init__(
        self,
        app: Litestar,
        routes: Iterable[FastRoute],
        *,
        max_url_bytes: int,
        enabled: bool = True,
        cors: CORSConfig | None = None,
    ) -> None:
        self.app = app
        self.max_url_bytes = max_url_bytes
        #: The app's CORS configuration: this lane answers before the app's CORS middleware, so adds its headers.
        self.cors = cors
        #: Off: every request goes to the Litestar app (settings.fast_lane; tests compare both lanes with it).
        self.enabled = enabled
        #: How many requests this lane answered itself (the rest went to the Litestar app).
        self.answered = 0
        self._routes: dict[tuple[str, int], list[FastRoute]] = {}
        for route in routes:
            self._routes.setdefault((route.method, len(route.segments)), []).append(route)

    def __getattr__(self, name: str) -> Any:
        # Whoever holds the served app (tests, the CLI) reaches the Litestar app's state, settings and schema.
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        # Every request, in either lane, uses the database under its tenant's share (core/fairshare.py).
        share_token = bind_request(scope["path"])
        try:
            await self._serve(scope, receive, send)
        finally:
            unbind_request(share_token)

    async def _serve(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        if self.enabled:
            answer = await self._try(scope)
            if answer is not None:
                self.answered += 1
                headers = [
                    *((k.lower().encode(), v.encode()) for k, v in answer.headers.items()),
                    *_JSON_HEADERS,
                    (b"content-length", str(len(answer.body)).encode()),
                ]
                if self.cors is not None:
                    headers.extend(self._cors_headers(scope))
                start: HTTPResponseStartEvent = {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": headers,
                }
                await send(start)
                end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": answer.body, "more_body": False}
                await send(end)
                return
        await self.app(scope, receive, send)

    def _cors_headers(self, scope: HTTPScope) -> list[tuple[bytes, bytes]]:
        """The CORS headers the app's middleware would add (none without an `Origin`)."""
        assert self.cors is not None
        origin = next((value for name, value in scope["headers"] if name.lower() == b"origin"), None)
        if origin is None:
            return []
        has_cookie = any(name.lower() == b"cookie" for name, _ in scope["headers"])
        return cors_headers(self.cors, origin.decode("latin-1"), has_cookie=has_cookie)

    async def _try(self, scope: HTTPScope) -> FastResponse | None:
        path: str = scope["path"]
        parts = path.strip("/").split("/")
        routes = self._routes.get((scope["method"], len(parts)))
        if not routes:
            return None
        for route in routes:
            params = route.match(parts)
            if params is not None:
                break
        else:
            return None
        # Where the request is counted and logged (core/observe.py); Litestar sets the same when it takes over.
        scope["path_template"], scope["path_params"] = route.path, params
        try:
            request = await self._request(scope, route, params)
            return None if request is None else await route.handler(request)
        except Exception as exc:
            if isinstance(exc, asyncpg.QueryCanceledError | TooManyRequests) or is_connection_failure(exc):
                # The statement timeout, the tenant's share of the pool busy for too long, or the database is
                # unreachable: running it again through the route would only fail again. Answer the route's own 400,
                # 429 or 503 here (the same conversion and body the app's exception handler uses).
                error = to_service_error(exc)
                return FastResponse(
                    json_body(error_body(error, family_for_path(path))), dict(error.headers or {}), error.status
                )
            log.debug("fast lane hands %s over: %r", path, exc)  # the routed handler answers it, as without this lane
            return None

    async def _request(self, scope: HTTPScope, route: FastRoute, params: dict[str, str]) -> FastRequest | None:
        raw_query: bytes = scope.get("query_string", b"")
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        if len(raw_path) + len(raw_query) > self.max_url_bytes or b"+" in raw_query:
            return None  # the URL limit's 414, and `+` (which query parsers disagree about), stay with Litestar
        pairs = parse_qsl(
            raw_query.decode("ascii"), keep_blank_values=True, strict_parsing=bool(raw_query), errors="strict"
        )
        query = dict(pairs)
        if len(query) != len(pairs) or not query.keys() <= route.query or "" in query.values():
            return None
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            if key in headers:
                return None
            headers[key] = value.decode("latin-1")
        state: State = self.app.state
        caller = await authenticate(
            state.tokens, state.db, headers.get("authorization"), tenant=params.get("tenant"), required=route.scopes
        )
        return FastRequest(params, query, headers, caller, state)
