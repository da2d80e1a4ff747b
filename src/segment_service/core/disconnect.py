"""A request body cut short: the client closed the connection before sending the length it announced
(`Content-Length`, or a chunked body without its last chunk), or the HTTP server's parser gave up on it (a bad
chunk size) and closed the connection.

Litestar reports the server's `http.disconnect` in the middle of a body as an internal error, which would log a
stack trace and answer 500. It is the client's doing, so it becomes a 400 here, without a log line; the client has
usually gone and never reads it.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from segment_service.core.errors import BadRequest


class IncompleteBody(BadRequest):
    default_message = (
        "The request body ended before the length it announced (Content-Length or chunked "
        "encoding); send the whole body."
    )


class IncompleteBodyMiddleware:
    """Turns a disconnect before the body's end into IncompleteBody (a 400)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        body_complete = False

        async def checked_receive() -> ReceiveMessage:
            nonlocal body_complete
            message = await receive()
            if message["type"] == "http.request":
                body_complete = not message.get("more_body", False)
            elif message["type"] == "http.disconnect" and not body_complete:
                raise IncompleteBody(type="invalid_body")
            return message

        await self.app(scope, checked_receive, send)
