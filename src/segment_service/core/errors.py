"""Domain errors and the Emporix error bodies they become.

Services raise these; one app-level handler (`core.http`) turns them into the body shape of the service named by the
URL prefix. Segment, category and coupon bodies differ (docs/decisions.md#error-bodies); 401 always uses the gateway
`fault` body.
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus
from typing import Any


class ErrorFamily(StrEnum):
    """The error-body shapes of the Emporix specs, each named for a service that uses it."""

    SEGMENT = "segment"
    """`{code, status, message, resourceId?, details?: {field, type, message}}`: segments, OAuth."""
    CATEGORY = "category"
    """`{code, status, message, resourceId?, details: [text]}`: categories, legal entities, webhooks."""
    COUPON = "coupon"
    """`{status, type, message, details?: [{field, type, message}]}`: coupons, customers, customer login, orders."""
    PRODUCT = "product"
    """`{code, status, message, details?: [{field, type, message}]}`: products."""


#: URL prefix -> error shape; anything else uses the segment shape.
_FAMILY_BY_PREFIX = (
    ("/coupon/", ErrorFamily.COUPON),
    ("/customer/", ErrorFamily.COUPON),
    ("/customerlogin/", ErrorFamily.COUPON),
    ("/order-v2/", ErrorFamily.COUPON),
    ("/category/", ErrorFamily.CATEGORY),
    ("/customer-management/", ErrorFamily.CATEGORY),
    ("/product/", ErrorFamily.PRODUCT),
    ("/webhook/", ErrorFamily.CATEGORY),
)


class ServiceError(Exception):
    """An error with an HTTP status and a message a person can act on."""

    status: int = 400
    type: str = "validation_violation"
    default_message: str = "Validation problem with request body."
    headers: dict[str, str] | None = None
    """Response headers the error comes with (a 429's Retry-After)."""

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        type: str | None = None,
        resource_id: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.field = field
        self.detail_type = type
        self.resource_id = resource_id
        super().__init__(self.message)


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    """Missing, malformed, expired or foreign token: the gateway `fault` body."""

    status = 401
    default_message = "Invalid access token"

    def __init__(self, message: str | None = None, *, errorcode: str = "oauth.v2.InvalidAccessToken") -> None:
        super().__init__(message)
        self.errorcode = errorcode


class Forbidden(ServiceError):
    status = 403
    type = "insufficient_permissions"
    default_message = "The access to the requested resource has been forbidden by the server."


class NotFound(ServiceError):
    status = 404
    type = "resource_not_found"
    default_message = "The requested resource has not been found."


class MethodNotAllowed(ServiceError):
    status = 405
    type = "method_not_allowed"
    default_message = "The method is not allowed for the requested resource."


class Conflict(ServiceError):
    status = 409
    type = "conflict_resource"
    default_message = "The resource already exists."


class VersionConflict(Conflict):
    default_message = "The resource you are attempting to access has changed."


class TooManyRequests(ServiceError):
    """A rate limit refused the request; `retry_after` seconds from now it may be tried again."""

    status = 429
    type = "too_many_requests"
    default_message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.headers = {"Retry-After": str(self.retry_after)}


class PayloadTooLarge(ServiceError):
    status = 413
    type = "payload_too_large"
    default_message = "The request body is larger than the allowed 10 MB."


class UriTooLong(ServiceError):
    status = 414
    type = "uri_too_long"
    default_message = "The request URL is longer than the allowed 10 KB."


class ServiceUnavailable(ServiceError):
    """The database cannot be reached (down, restarting, refusing connections); `Retry-After` says when to try
    again. Nothing the client sent is at fault, so the same request may simply be repeated."""

    status = 503
    type = "service_unavailable"
    default_message = "The service cannot reach its database right now; try again in a few seconds."

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.headers = {"Retry-After": str(self.retry_after)}


class InternalError(ServiceError):
    status = 500
    type = "internal_service_error"
    default_message = "An unexpected error occurred. It has been logged."


def family_for_path(path: str) -> ErrorFamily:
    """The error-body family of the service that owns `path`."""
    for prefix, family in _FAMILY_BY_PREFIX:
        if path.startswith(prefix):
            return family
    return ErrorFamily.SEGMENT


def error_body(error: ServiceError, family: ErrorFamily) -> dict[str, Any]:
    """The JSON body for `error` in the shape of `family`'s spec."""
    if isinstance(error, Unauthorized):
        return {"fault": {"faultstring": error.message, "detail": {"errorcode": error.errorcode}}}
    detail = None
    if error.field:
        detail = {"field": error.field, "type": error.detail_type or error.type, "message": error.message}
    if family is ErrorFamily.COUPON:
        body: dict[str, Any] = {"status": error.status, "type": error.type, "message": error.message}
        if detail:
            body["details"] = [detail]
        return body
    body = {"code": error.status, "status": HTTPStatus(error.status).phrase, "message": error.message}
    if family is ErrorFamily.PRODUCT:
        if detail:
            body["details"] = [detail]
        return body
    if error.resource_id is not None:
        body["resourceId"] = error.resource_id
    if family is ErrorFamily.CATEGORY:
        body["details"] = [error.message] if error.field is None else [f"{error.field}: {error.message}"]
    elif detail:
        body["details"] = detail  # the segment spec's `details` is one object, not a list
    return body
