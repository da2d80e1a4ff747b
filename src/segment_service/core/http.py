"""HTTP glue shared by every route: error responses, JSON responses, the URL limit and read shaping."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import ParameterKwarg
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

from segment_service.core.db import input_error
from segment_service.core.errors import (
    BadRequest,
    Conflict,
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
from segment_service.core.outage import unavailable_error
from segment_service.core.paging import parse_fields, project

log = logging.getLogger("segment_service")
_encoder = msgspec.json.Encoder()
JSON = "application/json"


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[Any]:
    """A JSON response encoded with msgspec."""
    return Response(content=_encoder.encode(content), status_code=status, media_type=JSON, headers=headers)


def list_response(
    docs: list[dict[str, Any]], total: int | None, shape: ReadShape | None = None, localized: Iterable[str] = ()
) -> Response[Any]:
    """A list answer: each document shaped for the client (languages, `fields`), and the total in `X-Total-Count`
    when the request asked for it (docs/decisions.md#lists-and-totals)."""
    body, headers = list_body(docs if shape is None else [shape.apply(d, localized) for d in docs], total)
    return Response(content=body, status_code=200, media_type=JSON, headers=headers)


def body_response(body: bytes, headers: dict[str, str]) -> Response[Any]:
    """A 200 answer with an encoded JSON body (from `list_body` or `json_body`) and its headers."""
    return Response(content=body, status_code=200, media_type=JSON, headers=headers or None)


def json_body(content: Any) -> bytes:
    """`content` encoded as JSON, as every response of the service is."""
    return _encoder.encode(content)


def list_body(docs: list[dict[str, Any]], total: int | None) -> tuple[bytes, dict[str, str]]:
    """The encoded body of a list answer, and its headers (`X-Total-Count` when there is a total)."""
    return _encoder.encode(docs), {} if total is None else {"X-Total-Count": str(total)}


def empty_response(status: int = 204) -> Response[Any]:
    """A response without a body; with a status other than 204 (a 200 or 202 the spec gives no body) too, where
    `content=None` would be encoded as `null`."""
    return Response(content=b"", status_code=status)


_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']+)'")
# A missing or unknown member: the details name it, with its parent's path when it is nested.
_MEMBER_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `([^`]+)`")
_CAUSE_PATH = re.compile(r" - at `\$\.data\.?([^`]*)`$")


def _parameter_name(request: Request[Any, Any, Any] | None, key: str) -> str:
    """The public name (query, header or cookie alias) of the handler or dependency parameter Litestar calls `key`."""
    if request is None:
        return key
    try:
        handler = request.route_handler
        signatures = [
            handler.parsed_fn_signature,
            *(provider.parsed_fn_signature for provider in handler.resolve_dependencies().values()),
        ]
    except Exception:  # no route matched: there is no signature to look in
        return key
    for signature in signatures:
        kwarg = getattr(signature.parameters.get(key), "kwarg_definition", None)
        if isinstance(kwarg, ParameterKwarg):
            return kwarg.query or kwarg.header or kwarg.cookie or key
    return key


def _body_path(exc: ValidationException, key: str) -> str:
    """The body path of a decode error. Litestar strips every "data." from its key ("metadata.version" becomes
    "metaversion"), so take the path from msgspec's own message when it is the one the key came from."""
    match = _CAUSE_PATH.search(str(exc.__cause__)) if isinstance(exc.__cause__, msgspec.ValidationError) else None
    if match and match.group(1).replace("data.", "") == key:
        return match.group(1)
    return key


def _validation_message(
    exc: ValidationException, request: Request[Any, Any, Any] | None = None
) -> tuple[str, str | None]:
    """A person-readable message (and the offending field) from Litestar's decode errors."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and item.get("message"):
            message = str(item["message"]).rstrip(".")
            key = item.get("key")
            source = item.get("source")
            source = getattr(source, "value", source)  # Litestar's ParamType enum: "query", "header", ...
            if key == "data" and message == "'data'":  # Litestar's KeyError when there is no body at all
                return "The request body is missing; send a JSON body.", None
            field = None if key in (None, "", "data", "body") else str(key)
            if source == "body" or field is None:
                field = None if field is None else _body_path(exc, field)
                member = _MEMBER_FIELD.search(message)
                if member:
                    where = f" (at '{field}')" if field else ""
                    field = f"{field}.{member.group(1)}" if field else member.group(1)
                    return f"Validation problem with request body: {message}{where}.", field
                where = f" (at '{field}')" if field else ""
                return f"Validation problem with request body: {message}{where}.", field
            field = _parameter_name(request, field)
            return f"Invalid {source or 'request'} parameter '{field}': {message}.", field
    detail = str(exc.detail or "")
    missing = _MISSING_PARAMETER.match(detail)
    if missing:
        return f"Missing required {missing.group(1)} parameter '{missing.group(2)}'.", missing.group(2)
    if "JSON" in detail or "decode" in detail.lower():
        return f"The request body is not valid JSON: {detail}", None
    return "Validation problem with request body.", None


def to_service_error(exc: Exception, request: Request[Any, Any, Any] | None = None) -> ServiceError:
    """The domain error an exception stands for; anything unexpected becomes a logged 500."""
    if isinstance(exc, ServiceError):
        return exc
    if (data_error := input_error(exc)) is not None:
        return data_error
    if isinstance(exc, asyncpg.QueryCanceledError):
        return BadRequest(
            "The request was stopped after the statement timeout; narrow the query down "
            "(for example a simpler regular expression).",
            type="query_timeout",
        )
    if isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
        # PostgreSQL rolled the request's transaction back to let a concurrent one finish: nothing of it was kept.
        return Conflict("The request ran into a concurrent change of the same data and was not applied; send it again.")
    if (outage := unavailable_error(exc)) is not None:
        return outage  # the database is down or restarting: 503 + Retry-After, logged once per outage
    if isinstance(exc, RecursionError):
        return BadRequest("The request body nests too deeply.", type="invalid_body")
    if isinstance(exc, ValidationException):
        message, field = _validation_message(exc, request)
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
    error = to_service_error(exc, request)
    return json_response(
        error_body(error, family_for_path(request.url.path)), status=error.status, headers=error.headers
    )


class UrlLimitMiddleware:
    """414 for URLs over the limit (Emporix: 10 KB), before any routing or parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
            if len(raw_path) + len(scope.get("query_string", b"")) > self.max_bytes:
                error = UriTooLong()
                body = _encoder.encode(error_body(error, family_for_path(scope["path"])))
                headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
                start: HTTPResponseStartEvent = {
                    "type": "http.response.start",
                    "status": error.status,
                    "headers": headers,
                }
                await send(start)
                end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
                await send(end)
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
