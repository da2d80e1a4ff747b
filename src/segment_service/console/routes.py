"""The admin console's page and assets (docs/console.md).

The console is static: one HTML page at /admin and its modules, styles and vendored libraries under /admin/assets.
Everything it shows it asks the public API for, with a token it keeps in the page's memory, so the routes here need
no token and know nothing of tenants. The page forbids everything it does not need (no inline script, no other
origin, no framing), which also keeps a token from being sent anywhere but this service.
"""

from __future__ import annotations

import mimetypes
import os
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

from litestar import HttpMethod, Request, Response, route
from litestar.types import ControllerRouterHandler

from segment_service.core.errors import NotFound

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


@route([CONSOLE_PATH, f"{CONSOLE_PATH}/"], http_method=[HttpMethod.GET, HttpMethod.HEAD], include_in_schema=False)
async def console_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The console's one page; what it shows is chosen by the address's #fragment, in the browser."""
    return Response(
        content=b"" if request.method == HttpMethod.HEAD else (STATIC / "index.html").read_bytes(),
        media_type="text/html",
        headers=_SECURITY_HEADERS,
    )


#: The assets' media types: what the page loads (modules, styles, images, fonts); anything else is no asset.
_MEDIA_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain",
    ".md": "text/plain",
}
_ROOT = os.path.realpath(STATIC)


def _asset_file(path: str) -> Path | None:
    """The asset file `path` names, or None: nothing outside the assets folder (no `..`, no backslash, no NUL, no
    symlink out of it), no hidden file, and not the page itself (it is served at /admin, with its policy)."""
    parts = path.strip("/").split("/")
    if not path or "\\" in path or "\x00" in path or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    real = os.path.realpath(os.path.join(_ROOT, *parts))
    if os.path.commonpath([_ROOT, real]) != _ROOT or real == os.path.join(_ROOT, "index.html"):
        return None
    if Path(real).suffix.lower() not in _MEDIA_TYPES or not os.path.isfile(real):
        return None
    return Path(real)


def _not_modified(request: Request[Any, Any, Any], etag: str, modified: float) -> bool:
    """Whether the browser's copy is current (If-None-Match wins over If-Modified-Since, as RFC 9110 says)."""
    if (tags := request.headers.get("if-none-match")) is not None:
        return etag in [t.strip().removeprefix("W/") for t in tags.split(",")] or tags.strip() == "*"
    if (since := request.headers.get("if-modified-since")) is not None:
        try:
            return int(modified) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


@route(f"{ASSETS_PATH}/{{path:path}}", http_method=[HttpMethod.GET, HttpMethod.HEAD], include_in_schema=False)
async def console_asset(request: Request[Any, Any, Any], path: str) -> Response[bytes]:
    """One of the page's modules, styles, images or fonts; with the page's policy, and 304 when the browser's copy is
    current."""
    file = _asset_file(path)
    if file is None:
        raise NotFound("The requested resource or path does not exist.")
    stat = file.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {**_SECURITY_HEADERS, "ETag": etag, "Last-Modified": formatdate(stat.st_mtime, usegmt=True)}
    if _not_modified(request, etag, stat.st_mtime):
        return Response(content=b"", status_code=304, headers=headers)
    media_type = (
        _MEDIA_TYPES.get(file.suffix.lower()) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    )
    body = b"" if request.method == HttpMethod.HEAD else file.read_bytes()
    if request.method == HttpMethod.HEAD:
        headers["Content-Length"] = str(stat.st_size)
    return Response(content=body, media_type=media_type, headers=headers)


ROUTES: list[ControllerRouterHandler] = [console_page, console_asset]
