"""The app-wide route guard: authenticates the caller of every route that declares `opt["scopes"]` (core/auth.py
`authenticate`), in the routed and the fast lane alike (core/fastlane.py)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

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
