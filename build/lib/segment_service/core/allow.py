"""`OPTIONS` answers list every method of the path in `Allow`.

Litestar 2 builds a path's automatic OPTIONS handler when the path's first handler is registered, and that handler
reports the methods known at that moment only: `OPTIONS /segments` said `OPTIONS, POST` although `GET` is there too
(Litestar issue 4169, fixed in Litestar 3). This middleware runs after routing, so it knows the matched path, and puts
the methods of every handler on that path into the header instead.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def allowed_methods(routes: list[Any]) -> dict[str, str]:
    """The `Allow` value of every path template of the app's routes (methods sorted, OPTIONS included)."""
    methods: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, HTTPRoute):
            known = methods.setdefault(route.path_format, {"OPTIONS"})
            for handler in route.route_handlers:
                known.update(handler.http_methods)
    return {path: ", ".join(sorted(names)) for path, names in methods.items()}


class AllowHeaderMiddleware:
    """Rewrites the `Allow` header of the automatic OPTIONS answers with every method of the matched path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._allow: dict[str, str] | None = None  # built on the first OPTIONS, once the app's routes are final

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        if self._allow is None:
            self._allow = allowed_methods(scope["litestar_app"].routes)
        allow = self._allow.get(scope.get("path_template", ""))
        if allow is None:
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if "allow" in headers:
                    headers["Allow"] = allow
            await send(message)

        await self.app(scope, receive, send_with_allow)
