"""The app-wide route guard: authenticates the caller of every route that declares `opt["scopes"]` (core/auth.py
`authenticate`), in the routed and the fast lane alike (core/fastlane.py)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.routes import HTTPRoute

from segment_service.core.auth import authenticate
from segment_service.core.dbreplicas import WRITER


async def scope_guard(connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler) -> None:
    """Authenticate the caller of routes that declare `opt["scopes"]` (and `opt["kinds"]`,
    `opt["anonymous_without_scopes"]`): see `authenticate`.

    Async although it rarely does I/O: Litestar runs a plain function guard in a thread pool, which costs more than
    the check itself."""
    required: tuple[str, ...] | None = route_handler.opt.get("scopes")
    if required is None:
        return
    app_state = connection.scope["litestar_app"].state
    caller = await authenticate(
        app_state.tokens,
        app_state.db,
        _authorization(connection.scope["headers"]),
        tenant=connection.scope["path_params"].get("tenant"),
        required=required,
        kinds=route_handler.opt.get("kinds"),
        anonymous_without_scopes=bool(route_handler.opt.get("anonymous_without_scopes")),
    )
    connection.scope.setdefault("state", {})["caller"] = caller
    if app_state.db.replicas is not None:
        # The request's writes are this caller's (core/dbreplicas.py); the guard runs in the request's own task.
        WRITER.set(caller.read_key)


def _authorization(headers: Any) -> str | None:
    """The Authorization header of raw ASGI headers: read straight from the scope, since building the connection's
    header map costs more than the rest of the guard on the hottest reads."""
    for name, value in headers:
        if name == b"authorization" or (len(name) == 13 and name.lower() == b"authorization"):
            return str(value.decode("latin-1"))
    return None


def guard_in_place(app: Litestar) -> None:
    """Let every route's guards check the registered handler itself, not a copy of it per guard and request.

    Litestar's `authorize_connection` hands each guard `copy(handler)`, in case a guard changes the handler it is
    given. The service's guards only read it (its `opt`: scopes, kinds), as the fast lane already relies on
    (core/fastlane.py); the copies cost about 20 µs per routed request, more in a busy worker
    (docs/performance.md#the-frameworks-share-of-a-request). Routes registered after this keep Litestar's way."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, _ in route.route_handler_map.values():
                if hasattr(handler, "__dict__"):  # Litestar's own OPTIONS handlers have slots only: left as they are
                    handler.authorize_connection = _authorize_in_place(handler)  # type: ignore[method-assign,assignment]


def _authorize_in_place(
    handler: BaseRouteHandler,
) -> Callable[[ASGIConnection[Any, Any, Any, Any]], Coroutine[Any, Any, None]]:
    guards = handler.resolve_guards()

    async def authorize_connection(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        for guard in guards:
            await guard(connection, handler)  # type: ignore[misc]  # Litestar has made each guard async

    return authorize_connection
