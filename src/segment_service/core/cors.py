"""Cross-origin requests from storefronts running in browsers (SEGMENT_SERVICE_CORS_ORIGINS).

Litestar's CORS middleware answers preflight `OPTIONS` requests on every path and adds the CORS headers to what the
app answers. The fast lane (core/fastlane.py) answers some reads in front of the app, so it puts its answers through
an instance of the same middleware with the same configuration; tests/core/test_cors.py compares the two lanes.
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
