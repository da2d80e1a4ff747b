"""The admin console's page and assets (docs/console.md).

The console is static: one HTML page at /admin and its modules, styles and vendored libraries under /admin/assets.
Everything it shows it asks the public API for, with a token it keeps in the page's memory, so the routes here need
no token and know nothing of tenants. The page forbids everything it does not need (no inline script, no other
origin, no framing), which also keeps a token from being sent anywhere but this service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

STATIC = Path(__file__).parent / "static"
CONSOLE_PATH = "/admin"
ASSETS_PATH = "/admin/assets"

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page names its assets without a version, so a browser asks again after an upgrade (304 when unchanged).
    "Cache-Control": "no-cache",
}


@get([CONSOLE_PATH, f"{CONSOLE_PATH}/"], include_in_schema=False)
async def console_page() -> Response[Any]:
    """The console's one page; what it shows is chosen by the address's #fragment, in the browser."""
    return Response(
        content=(STATIC / "index.html").read_bytes(),
        media_type="text/html; charset=utf-8",
        headers=_SECURITY_HEADERS,
    )


ROUTES: list[ControllerRouterHandler] = [
    console_page,
    create_static_files_router(
        path=ASSETS_PATH,
        directories=[STATIC],
        name="console-assets",
        include_in_schema=False,
        cache_control=CacheControlHeader(no_cache=True),
    ),
]
