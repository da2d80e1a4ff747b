"""OpenAPI pieces every service shares: error bodies per family, the security scheme, response specs."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, OpenAPI, Schema, SecurityScheme
from litestar.openapi.spec.enums import OpenAPIType

from segment_service.core.models import UNSET, UnsetType


class ErrorDetails(msgspec.Struct, omit_defaults=True):
    field: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    message: str | UnsetType = UNSET
    moreInfo: str | UnsetType = UNSET  # noqa: N815 - the spec's name


class SegmentError(msgspec.Struct, omit_defaults=True):
    """Error body of the Customer Segment Service."""

    code: int
    status: str
    message: str
    resourceId: str | UnsetType = UNSET  # noqa: N815 - the spec's name
    details: ErrorDetails | UnsetType = UNSET


class CustomerErrorDetail(msgspec.Struct, omit_defaults=True):
    field: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    message: str | UnsetType = UNSET


class CustomerError(msgspec.Struct, omit_defaults=True):
    """Error body of the Customer and Coupon services: `status` is the number, `type` a lower_snake word."""

    status: int
    type: str
    message: str
    details: list[CustomerErrorDetail] | UnsetType = UNSET


class CategoryError(msgspec.Struct, omit_defaults=True):
    """Error body of the Category and Customer Management (legal entities) services: `details` is a list of texts
    (`ErrorFamily.CATEGORY`)."""

    code: int
    status: str
    message: str
    resourceId: str | UnsetType = UNSET  # noqa: N815 - the spec's name
    details: list[str] | UnsetType = UNSET


class FaultDetail(msgspec.Struct):
    errorcode: str


class Fault(msgspec.Struct):
    faultstring: str
    detail: FaultDetail


class GatewayFault(msgspec.Struct):
    """The API gateway's 401 body, the same for every service."""

    fault: Fault


_DESCRIPTIONS = {
    400: "Bad request due to validation, incorrect parameters, etc.",
    401: "Unauthorized",
    403: "Access forbidden. The caller is not allowed to access this resource.",
    404: "Resource not found",
    409: "Conflict",
    413: "Request body too large",
    429: "Too many requests: try again after the Retry-After header's seconds",
}


def error_responses(*codes: int, body: type[Any] = SegmentError) -> dict[int, ResponseSpec]:
    """Response specs for the error codes an operation declares (401 always uses the gateway fault body)."""
    specs = {401: ResponseSpec(data_container=GatewayFault, description=_DESCRIPTIONS[401])}
    for code in codes:
        specs[code] = ResponseSpec(data_container=body, description=_DESCRIPTIONS.get(code, "Error"))
    return specs


def no_content(description: str) -> dict[int, ResponseSpec]:
    """The 204 of an operation whose main success code is another (an upsert's update)."""
    return {204: ResponseSpec(data_container=None, description=description)}


def security(*scopes: str) -> list[dict[str, list[str]]]:
    """The OpenAPI security requirement of an operation that takes any of `scopes`."""
    return [{"OAuth2": list(scopes)}]


def declare_security(app: Litestar) -> None:
    """Give every operation its OpenAPI security from the scopes its route declares, so that a route states them once.

    The requirement lists `opt["declared_scopes"]` where the service's spec declares other scopes than the guard takes
    (reads that any token may make, for instance), otherwise `opt["scopes"]`; `()` (any valid token) is OAuth2 with no
    scope. A route without `opt["scopes"]` takes no token and has no requirement; a route that sets `security` itself
    keeps it. Must run before the document is first built (Litestar builds it once, on first use)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or handler.security is not None:
                continue
            scopes: tuple[str, ...] | None = handler.opt.get("declared_scopes", handler.opt.get("scopes"))
            if scopes is not None:
                handler.security = security(*scopes)


COMPONENTS = Components(
    security_schemes={
        "OAuth2": SecurityScheme(
            type="oauth2",
            description="Service tokens from POST /oauth/token (client credentials).",
            flows=OAuthFlows(client_credentials=OAuthFlow(token_url="/oauth/token", scopes={})),
        )
    }
)


def _has_null_body(response: Any) -> bool:
    """Whether a response is documented as JSON `null` only: a handler returning `Response[None]` (an empty 200 or
    202 that the spec gives no body)."""
    content = getattr(response, "content", None)
    if not content:
        return False
    return all(isinstance(media.schema, Schema) and media.schema.type is OpenAPIType.NULL for media in content.values())


def finalize(document: OpenAPI) -> None:
    """Fix what Litestar cannot express from handler signatures: a 204 has no body, and neither has a response
    declared as `Response[None]`."""
    for path_item in (document.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(path_item, method, None)
            if operation is None or not operation.responses:
                continue
            no_content = operation.responses.get("204")
            if no_content is not None and hasattr(no_content, "content"):
                no_content.content = None
            for response in operation.responses.values():
                if _has_null_body(response):
                    response.content = None
