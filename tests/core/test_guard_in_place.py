"""Routed requests run their guards on the registered handler itself (core/guard.py `guard_in_place`), in order, and
a guard that refuses still stops the request before the handler."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from segment_service.app import create_app
from segment_service.core.guard import guard_in_place
from segment_service.settings import Settings

seen: list[tuple[str, BaseRouteHandler]] = []


async def first(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    seen.append(("first", handler))


async def second(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    seen.append(("second", handler))
    if connection.headers.get("x-refuse"):
        raise NotAuthorizedException("refused")


@get("/guarded", guards=[second], sync_to_thread=False)
def guarded() -> str:
    seen.append(("handler", guarded))
    return "ok"


def _app(in_place: bool) -> Litestar:
    app = Litestar([guarded], guards=[first])
    if in_place:
        guard_in_place(app)
    return app


def _registered(app: Litestar) -> BaseRouteHandler:
    [handler] = [
        handler
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path == "/guarded"
        for handler, _ in route.route_handler_map.values()
        if "GET" in handler.http_methods
    ]
    return handler


def _guarded(in_place: bool, headers: dict[str, str] | None = None) -> tuple[int, list[str], list[bool]]:
    """One request to /guarded: its status, who ran in order, and for each guard whether it got the registered
    handler itself."""
    app = _app(in_place)
    registered = _registered(app)
    seen.clear()
    with TestClient(app) as client:
        status = client.get("/guarded", headers=headers).status_code
    names = [name for name, _ in seen]
    return status, names, [handler is registered for name, handler in seen if name != "handler"]


def test_guards_see_the_registered_handler_in_order_and_can_refuse() -> None:
    assert _guarded(in_place=True) == (200, ["first", "second", "handler"], [True, True])
    assert _guarded(in_place=True, headers={"x-refuse": "1"}) == (401, ["first", "second"], [True, True])


def test_without_it_litestar_hands_each_guard_a_copy() -> None:
    # What guard_in_place changes: the same request on the plain app gives the guards copies.
    assert _guarded(in_place=False) == (200, ["first", "second", "handler"], [False, False])


def test_the_service_app_runs_its_routes_guards_in_place() -> None:
    app = create_app(Settings(database_url="postgresql://unused", signing_key="x" * 32))
    handlers = [
        handler
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler, _ in route.route_handler_map.values()
        if hasattr(handler, "__dict__")
    ]
    assert len(handlers) > 100
    assert all("authorize_connection" in vars(handler) for handler in handlers)
