"""Cross-origin requests from storefronts running in browsers (SEGMENT_SERVICE_CORS_ORIGINS).

Litestar's CORS middleware answers preflight `OPTIONS` requests on every path and adds the CORS headers to what the
app answers. The fast lane (core/fastlane.py) answers some reads before that middleware runs, so it adds the same
headers with `response_headers`; tests/core/test_cors.py compares the two lanes' headers.
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar.config.cors import CORSConfig

#: Response headers a browser script may read besides the always readable ones: the list total storefronts page
#: with, and the wait of a 429 or 503.
EXPOSED_HEADERS = ("X-Total-Count", "Retry-After", "X-Request-ID")


def cors_config(origins: Sequence[str]) -> CORSConfig | None:
    """The CORS configuration for these allowed origins; None (CORS off) when there are none.

    Tokens travel in the `Authorization` header, never in cookies, so credentials mode stays off; any method and
    request header may be asked for, since the scopes decide what a token may do."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["*"],
        allow_headers=["*"],
        allow_credentials=False,
        expose_headers=list(EXPOSED_HEADERS),
        max_age=600,
    )


def response_headers(config: CORSConfig, origin: str, *, has_cookie: bool) -> list[tuple[bytes, bytes]]:
    """The headers Litestar's CORS middleware adds to an answer (not a preflight) to a request with `origin`."""
    headers = dict(config.simple_headers)
    if (config.is_allow_all_origins and has_cookie) or (
        not config.is_allow_all_origins and config.is_origin_allowed(origin)
    ):
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
    headers["Access-Control-Allow-Headers"] = ", ".join(sorted(set(config.allow_headers)))
    headers["Access-Control-Allow-Methods"] = ", ".join(sorted(set(config.allow_methods)))
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
