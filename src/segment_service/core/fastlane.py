"""The fast lane: the hottest storefront reads answered without the framework's parameter parsing and dependency
injection, everything else about their route kept.

Litestar's routing, dependency injection, signature parsing and response objects cost about as much again as a whole
storefront read (docs/performance.md#the-fast-lane-lane-routed-or-lean). A `FastRoute` names its routed twin (the
Litestar handler of the same operation) and is built from it when the app starts:

- its method and path are the twin's; its query parameters and request headers must be exactly those of the twin's
  signature and dependencies, or the app does not start (`FastLaneMismatch`);
- the caller is authenticated by the twin's own guards, against the twin's `opt` (scopes, kinds,
  `anonymous_without_scopes`): nothing about access is declared twice;
- its answer passes through the twin's middleware (the URL limit, whatever the app's middleware list holds) and the
  app's CORS middleware, the very classes and instances the framework builds; request ids, metrics, the access log
  (core/observe.py) and the tenant's fair share of the pool (core/fairshare.py) wrap both lanes;
- the routed handler and the fast one run the same body: the route module's shared answer function;
- a GET, or a POST that only reads (`match`, a coupon's validation) whose body model is the type of the twin's
  `data`: the body is converted by the same functions with the same arguments as the twin's signature model
  converts it (decoded with the route's type decoders, then `msgspec.convert`, not strict, with its deserializer).

A request is decided in two steps. The *parse* reads the query (each parameter once, none blank, no `+`) with
plain parsing and, for a POST, a body of announced length within the app's limit (not chunked, not empty);
anything it does not fully understand raises, and the request goes to the Litestar app untouched (a body already
read is given to it again), which answers it as it always does (nothing has run yet). Once parsed, the request is the
lane's: the guards and the body run once, and any error they raise is answered by the app's exception handler, as
the route would answer it. tests/core/test_fastlane.py and test_fastlane_posts.py send the same requests through both
lanes and compare.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, cast
from urllib.parse import parse_qsl

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware._internal.cors import CORSMiddleware  # the class Litestar wraps the app in (2.9+)
from litestar.routes import HTTPRoute
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from segment_service.core.auth import Caller, current_caller
from segment_service.core.db import Database
from segment_service.core.deps import DEPENDENCIES, Listing
from segment_service.core.fairshare import bind_request, unbind_request
from segment_service.core.fastlane_body import body_decoder, plain_body, read_body, replay
from segment_service.core.http import ReadShape, exception_handler
from segment_service.core.paging import parse_page, wants_total

log = logging.getLogger("segment_service.fastlane")

_JSON_HEADERS = [(b"content-type", b"application/json")]
#: Where the parsed request waits, in the scope, for the middleware to pass it on to the answer.
_RUN = "segment_service.fast_run"


class FastLaneMismatch(RuntimeError):
    """A fast route does not match its routed twin, or the app does something to the twin the lane would skip."""


@dataclass(frozen=True, slots=True)
class FastRequest:
    """What a fast handler parses: the path parameters, the query (each parameter once), the headers (lower-case
    names), the app's state and, for a POST, the body converted to the route's body model."""

    path_params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    state: State
    data: Any = None

    @property
    def db(self) -> Database:
        db: Database = self.state.db
        return db

    def listing(self) -> Listing:
        """Paging, sort and `X-Total-Count`, as the `listing` dependency reads them (core/deps.py)."""
        page = parse_page(self.query.get("pageNumber"), self.query.get("pageSize"))
        return Listing(page, self.query.get("sort"), wants_total(self.headers.get("x-total-count")))

    def shape(self) -> ReadShape:
        """`fields` and `Accept-Language`, as the `shape` dependency reads them (core/deps.py)."""
        default_language = str(self.state.settings.default_language)
        return ReadShape.of(self.query.get("fields"), self.headers.get("accept-language"), default_language)


@dataclass(frozen=True, slots=True)
class FastResponse:
    """A JSON answer: the encoded body and any extra headers."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


#: The parsed request's work, given the authenticated caller.
FastRun = Callable[[Caller], Awaitable[FastResponse]]
#: Parses a request (raising on anything it does not fully understand) into its work.
FastParse = Callable[[FastRequest], FastRun]


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
    """One operation's fast lane, as declared beside its routed twin: the twin, the query parameters and request
    headers (lower-case) the parse reads, and the parse; for a POST, the type of the twin's `data` (its body)."""

    twin: HTTPRouteHandler
    query: frozenset[str]
    headers: frozenset[str]
    parse: FastParse
    body: Any = None


@dataclass(slots=True)
class _BoundRoute:
    """A fast route built from its twin as registered in the app."""

    path: str
    segments: tuple[str, ...]
    twin: HTTPRouteHandler
    query: frozenset[str]
    parse: FastParse
    #: The twin's body model (a POST), None for a GET; the largest body the app takes; how the twin decodes it.
    body: Any
    max_body: int
    decode: Callable[[bytes], Any]
    #: The twin's guards, app-wide ones first (scope_guard among them), each made async by Litestar.
    guards: list[Callable[[ASGIConnection[Any, Any, Any, Any], HTTPRouteHandler], Awaitable[None]]]
    #: The answer wrapped in the twin's middleware and the app's CORS middleware.
    asgi: ASGIApp = field(init=False)
    #: The app's other routes that the router prefers for some of this route's paths (a literal where this one has a
    #: parameter: `/segments/items` before `/segments/{segmentId}`), each as its literals at this route's parameter
    #: positions: a path with all of one's literals there is never this route's.
    shadows: list[tuple[tuple[int, str], ...]] = field(default_factory=list)

    #: The path's literal parts and its parameters, by position (from `segments`, when the route is bound).
    literals: tuple[tuple[int, str], ...] = ()
    params: tuple[tuple[int, str], ...] = ()

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The path parameters when `parts` (the request path split at `/`) is this route's path."""
        for index, literal in self.literals:
            if parts[index] != literal:
                return None
        for shadow in self.shadows:
            if all(parts[index] == literal for index, literal in shadow):
                return None
        params: dict[str, str] = {}
        for index, name in self.params:
            part = parts[index]
            if not part:
                return None
            params[name] = part
        return params


def _function(handler: HTTPRouteHandler) -> Any:
    fn = handler.fn
    return getattr(fn, "__func__", fn)  # a controller's registered handler holds a bound method


def bind(app: Litestar, route: FastRoute) -> _BoundRoute:
    """`route` built from its twin as registered in `app`; FastLaneMismatch when they do not agree."""
    name = _function(route.twin).__qualname__
    found = [
        (path_route, handler, model)
        for path_route in app.routes
        if isinstance(path_route, HTTPRoute)
        for handler, model in path_route.route_handler_map.values()
        if _function(handler) is _function(route.twin)
    ]
    if len(found) != 1:
        raise FastLaneMismatch(f"{name}: registered {len(found)} times, not once")
    path_route, twin, model = found[0]
    method = "GET" if route.body is None else "POST"
    if twin.http_methods != {method}:
        raise FastLaneMismatch(
            f"{name}: the lane answers GET, and POST with a body model; not {sorted(twin.http_methods)}"
            + ("" if route.body is None else " with a body model")
        )
    parameters = twin.parsed_fn_signature.parameters
    data = parameters.get("data")
    if (route.body is None) != (data is None) or (data is not None and data.annotation is not route.body):
        raise FastLaneMismatch(
            f"{name}: the route's body is {None if data is None else data.annotation}, the fast route's {route.body}"
        )
    if any(parameter.type is not str for parameter in path_route.path_parameters.values()):
        raise FastLaneMismatch(f"{name}: the lane passes path parameters as text; {path_route.path} converts one")
    declared_query = {p.field_alias for p in model.expected_query_params}
    declared_headers = {p.field_alias.lower() for p in model.expected_header_params}
    if declared_query != route.query or declared_headers != route.headers:
        raise FastLaneMismatch(
            f"{name}: the route reads query {sorted(declared_query)} and headers {sorted(declared_headers)}, "
            f"the fast route {sorted(route.query)} and {sorted(route.headers)}"
        )
    listing = twin.resolve_dependencies().get("listing") if "listing" in parameters else None
    if listing is not None and listing is not DEPENDENCIES["listing"]:
        raise FastLaneMismatch(f"{name}: FastRequest.listing() reads the app-wide page size, the route its own")
    skipped = {
        "before_request": twin.resolve_before_request(),
        "after_request": [
            layer.after_request for layer in twin.ownership_layers if getattr(layer, "after_request", None)
        ],
        "after_response": twin.resolve_after_response(),
        "cache": twin.cache,
        "csrf_config": app.csrf_config,
        "compression_config": app.compression_config,
        "allowed_hosts": app.allowed_hosts,
    }
    if used := [key for key, value in skipped.items() if value]:
        raise FastLaneMismatch(f"{name}: the lane does not apply {', '.join(used)}")
    if set(twin.resolve_exception_handlers().values()) != {exception_handler}:
        raise FastLaneMismatch(f"{name}: the lane answers errors with core.http.exception_handler only")
    segments = tuple(path_route.path_format.strip("/").split("/"))
    bound = _BoundRoute(
        path_route.path_format,
        segments,
        twin,
        route.query,
        route.parse,
        route.body,
        twin.resolve_request_max_body_size() or 0,
        body_decoder(twin, route.body),
        cast("Any", twin.resolve_guards()),
    )
    bound.shadows = _shadows(app, segments)
    bound.literals = tuple((i, part) for i, part in enumerate(segments) if not part.startswith("{"))
    bound.params = tuple((i, part[1:-1]) for i, part in enumerate(segments) if part.startswith("{"))
    return bound


def _shadows(app: Litestar, segments: tuple[str, ...]) -> list[tuple[tuple[int, str], ...]]:
    """The app's other routes (any method) that could match a path of `segments` and that the router tries first (as
    long, the same literal or a parameter wherever `segments` has a literal, and a literal somewhere `segments` has a
    parameter), each as its literals where `segments` has parameters."""
    found: list[tuple[tuple[int, str], ...]] = []
    for other in app.routes:
        parts = tuple(other.path_format.strip("/").split("/"))
        if len(parts) != len(segments) or parts == segments:
            continue
        overlaps = all(a.startswith("{") or b.startswith("{") or a == b for a, b in zip(parts, segments, strict=True))
        preferred = any(b.startswith("{") and not a.startswith("{") for a, b in zip(parts, segments, strict=True))
        if overlaps and preferred:
            found.append(
                tuple(
                    (i, a)
                    for i, (a, b) in enumerate(zip(parts, segments, strict=True))
                    if b.startswith("{") and not a.startswith("{")
                )
            )
    return found


class FastLane:
    """An ASGI app in front of the Litestar app: it answers what its routes fully understand and passes the rest."""

    def __init__(self, app: Litestar, routes: Iterable[FastRoute], *, enabled: bool = True) -> None:
        self.app = app
        #: Off: every request goes to the Litestar app (settings.fast_lane; tests compare both lanes with it).
        self.enabled = enabled
        #: How many requests this lane took (parsed, then answered, errors included); the rest went to the app.
        self.answered = 0
        self._routes: dict[tuple[str, int], list[_BoundRoute]] = {}
        for route in routes:
            bound = bind(app, route)
            bound.asgi = self._stack(bound)
            method = "GET" if bound.body is None else "POST"
            self._routes.setdefault((method, len(bound.segments)), []).append(bound)

    def __getattr__(self, name: str) -> Any:
        # Whoever holds the served app (tests, the CLI) reaches the Litestar app's state, settings and schema.
        return getattr(self.app, name)

    def _stack(self, route: _BoundRoute) -> ASGIApp:
        """The answer of `route` inside the middleware the framework puts around its twin: the twin's own (the app's
        middleware list, innermost last), then CORS, which Litestar puts around the whole app."""

        async def answer(scope: Scope, receive: Receive, send: Send) -> None:
            await self._answer(route, cast("HTTPScope", scope), receive, send)

        asgi: ASGIApp = answer
        for middleware in reversed(route.twin.resolve_middleware()):
            asgi = middleware(app=asgi) if isinstance(middleware, DefineMiddleware) else middleware(asgi)
        if self.app.cors_config is not None:
            asgi = CORSMiddleware(app=asgi, config=self.app.cors_config)
        return asgi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        # Every request, in either lane, uses the database under its tenant's share (core/fairshare.py).
        share_token = bind_request(scope["path"])
        try:
            parsed = self._parse(scope) if self.enabled else None
            if parsed is None:
                await self.app(scope, receive, send)
                return
            route, request = parsed
            received: list[ReceiveMessage] = []
            try:
                if route.body is not None:
                    length = int(request.headers["content-length"])
                    request = replace(request, data=route.decode(await read_body(receive, received, length)))
                run = route.parse(request)
            except Exception as exc:  # nothing has run yet: the routed handler answers it, as without this lane
                log.debug("fast lane hands %s over: %r", scope["path"], exc)
                await self.app(scope, replay(received, receive) if received else receive, send)
                return
            # What Litestar sets when it routes: the access log and the metrics (core/observe.py), the guards and the
            # middleware read them.
            scope["path_template"], scope["path_params"] = route.path, request.path_params
            scope["litestar_app"], scope["route_handler"] = self.app, route.twin
            scope.setdefault("state", {})
            cast("dict[str, Any]", scope)[_RUN] = run
            self.answered += 1
            await route.asgi(scope, replay(received, receive) if received else receive, send)
        finally:
            unbind_request(share_token)

    def _parse(self, scope: HTTPScope) -> tuple[_BoundRoute, FastRequest] | None:
        """The route that takes this request and the request as its parse reads it (a POST's body not read yet);
        None: the Litestar app answers."""
        path: str = scope["path"]
        parts = path.strip("/").split("/")
        for route in self._routes.get((scope["method"], len(parts)), ()):
            params = route.match(parts)
            if params is not None:
                break
        else:
            return None
        raw_query: bytes = scope.get("query_string", b"")
        if b"+" in raw_query:
            return None  # `+`, which query parsers disagree about, stays with Litestar
        try:
            pairs = parse_qsl(
                raw_query.decode("ascii"), keep_blank_values=True, strict_parsing=bool(raw_query), errors="strict"
            )
        except (UnicodeDecodeError, ValueError):
            return None
        query = dict(pairs)
        if len(query) != len(pairs) or not query.keys() <= route.query or "" in query.values():
            return None
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            if key in headers:
                return None
            headers[key] = value.decode("latin-1")
        if route.body is not None and not plain_body(headers, route.max_body):
            return None
        return route, FastRequest(params, query, headers, self.app.state)

    async def _answer(self, route: _BoundRoute, scope: HTTPScope, receive: Receive, send: Send) -> None:
        run: FastRun = cast("dict[str, Any]", scope).pop(_RUN)
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        try:
            # The twin's guards, as `authorize_connection` runs them but for its copy of the handler per guard and
            # request (a third of the lane's own cost; the service's guards only read the handler's `opt`).
            for guard in route.guards:
                await guard(connection, route.twin)
            answer = await run(current_caller(connection))
        except Exception as exc:
            # The route's answer to the error, by the app's exception handler; never run a second time.
            request: Request[Any, Any, Any] = Request(scope, receive, send)
            response = exception_handler(request, exc)
            await response.to_asgi_response(app=None, request=request)(scope, receive, send)
            return
        headers = [
            *((k.lower().encode(), v.encode()) for k, v in answer.headers.items()),
            *_JSON_HEADERS,
            (b"content-length", str(len(answer.body)).encode()),
        ]
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": answer.status, "headers": headers}
        await send(start)
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": answer.body, "more_body": False}
        await send(end)
