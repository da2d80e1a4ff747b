"""HTTP glue shared by every route: error responses, JSON responses, the URL limit and read shaping."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ASGIApp, Receive, Scope, Send

from segment_service.core.errors import (
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    UriTooLong,
    error_body,
    family_for_path,
)
from segment_service.core.languages import accepted_languages, localize
from segment_service.core.paging import parse_fields, project

log = logging.getLogger("segment_service")
_encoder = msgspec.json.Encoder()
JSON = "application/json"


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[Any]:
    """A JSON response encoded with msgspec."""
    return Response(content=_encoder.encode(content), status_code=status, media_type=JSON, headers=headers)


def empty_response(status: int = 204) -> Response[None]:
    return Response(content=None, status_code=status)


def _validation_message(exc: ValidationException) -> tuple[str, str | None]:
    """A person-readable message (and the offending field) from Litestar's decode errors."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and item.get("message"):
            message = str(item["message"]).rstrip(".")
            key = item.get("key")
            field = None if key in (None, "", "data", "body") else str(key)
            if item.get("source") == "body" or field is None:
                where = f" (at '{field}')" if field else ""
                return f"Validation problem with request body: {message}{where}.", field
            return f"Invalid {item.get('source') or 'parameter'} '{field}': {message}.", field
    detail = str(exc.detail or "")
    if "JSON" in detail or "decode" in detail.lower():
        return f"The request body is not valid JSON: {detail}", None
    return "Validation problem with request body.", None


def to_service_error(exc: Exception) -> ServiceError:
    """The domain error an exception stands for; anything unexpected becomes a logged 500."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, ValidationException):
        message, field = _validation_message(exc)
        return BadRequest(message, field=field, type="invalid_body" if field is None else "invalid_value")
    if isinstance(exc, NotFoundException):
        return NotFound("The requested resource or path does not exist.")
    if isinstance(exc, MethodNotAllowedException):
        return MethodNotAllowed()
    if isinstance(exc, RequestEntityTooLarge):
        return PayloadTooLarge()
    if isinstance(exc, HTTPException) and 400 <= exc.status_code < 500:
        error = ServiceError(str(exc.detail))
        error.status = exc.status_code
        return error
    log.exception("unexpected error", exc_info=exc)
    return InternalError()


def exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The one handler for every error: the body shape of the service the path belongs to, never a stack trace."""
    error = to_service_error(exc)
    return json_response(error_body(error, family_for_path(request.url.path)), status=error.status)


class UrlLimitMiddleware:
    """414 for URLs over the limit (Emporix: 10 KB), before any routing or parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
            if len(raw_path) + len(scope.get("query_string", b"")) > self.max_bytes:
                error = UriTooLong()
                body = _encoder.encode(error_body(error, family_for_path(scope["path"])))
                headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": error.status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


@dataclass(frozen=True, slots=True)
class ReadShape:
    """How a read is shaped for the client: the `fields` projection and the `Accept-Language` narrowing."""

    fields: tuple[tuple[str, ...], ...] | None
    languages: tuple[str, ...] | None
    default_language: str

    @classmethod
    def of(cls, fields: str | None, accept_language: str | None, default_language: str) -> ReadShape:
        return cls(parse_fields(fields), accepted_languages(accept_language), default_language)

    def apply(self, document: dict[str, Any], localized: Iterable[str]) -> dict[str, Any]:
        """One resource, narrowed to the asked languages, then projected to the asked fields."""
        if self.languages is not None:
            for name in localized:
                value = document.get(name)
                if isinstance(value, dict):
                    document[name] = localize(value, self.languages, self.default_language)
        return project(document, self.fields)
