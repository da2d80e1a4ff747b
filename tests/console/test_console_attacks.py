"""Adversarial tests of the console's server side (console/routes.py): paths out of the assets folder, methods,
headers and caching of the page and its assets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from segment_service.console import routes

TRAVERSALS = [
    "/admin/assets/../../settings.py",
    "/admin/assets/%2e%2e/%2e%2e/settings.py",
    "/admin/assets/%2E%2E%2F%2E%2E%2Fsettings.py",
    "/admin/assets/..%2f..%2fsettings.py",
    "/admin/assets/..%5c..%5csettings.py",
    "/admin/assets/..\\..\\settings.py",
    "/admin/assets/%252e%252e/%252e%252e/settings.py",
    "/admin/assets//etc/passwd",
    "/admin/assets/%2fetc%2fpasswd",
    "/admin/assets/....//....//settings.py",
    "/admin/assets/%00",
    "/admin/assets/app.js%00.png",
    "/admin/assets/vendor/../../routes.py",
    "/admin/assets/nope.js",
    "/admin/assets/",
    "/admin/assets",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_outside_the_assets_and_no_500(client: TestClient[Any], path: str) -> None:
    for method in ("GET", "HEAD"):
        answer = client.request(method, path)
        assert answer.status_code in (404, 400, 405), (method, path, answer.status_code, answer.text[:200])
        assert b"import " not in answer.content
        assert b"root:" not in answer.content


@pytest.fixture
def outside_link() -> Iterator[Path]:
    """A symlink in the assets folder to a file outside it (as a careless deployment might leave)."""
    link = routes.STATIC / "adv-outside-link.txt"
    target = Path(routes.__file__)
    os.symlink(target, link)
    try:
        yield link
    finally:
        link.unlink()


def test_a_symlink_out_of_the_assets_is_not_followed(client: TestClient[Any], outside_link: Path) -> None:
    answer = client.get(f"/admin/assets/{outside_link.name}")
    assert answer.status_code == 404, answer.text[:200]


def test_head_and_options_of_the_page(client: TestClient[Any]) -> None:
    get = client.get("/admin")
    head = client.head("/admin")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-security-policy"] == get.headers["content-security-policy"]
    options = client.options("/admin")
    assert options.status_code in (204, 200, 405), options.text
    assert "Traceback" not in options.text


def test_the_page_policy_forbids_other_origins_and_framing(client: TestClient[Any]) -> None:
    answer = client.get("/admin/")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_assets_revalidate_with_304(client: TestClient[Any]) -> None:
    first = client.get("/admin/assets/app.js")
    assert first.status_code == 200
    assert "javascript" in first.headers["content-type"]
    assert "no-cache" in first.headers["cache-control"]
    etag, modified = first.headers.get("etag"), first.headers.get("last-modified")
    assert etag or modified
    if etag:
        assert client.get("/admin/assets/app.js", headers={"If-None-Match": etag}).status_code == 304
    if modified:
        assert client.get("/admin/assets/app.js", headers={"If-Modified-Since": modified}).status_code == 304


def test_assets_are_not_sniffed(client: TestClient[Any]) -> None:
    answer = client.get("/admin/assets/app.js")
    assert answer.headers.get("x-content-type-options") == "nosniff"


def test_the_page_under_assets_has_the_pages_policy(client: TestClient[Any]) -> None:
    """/admin/assets/index.html is the console's page too: served without the policy, it may be framed
    (clickjacking) and runs without the CSP."""
    page = client.get("/admin")
    copy = client.get("/admin/assets/index.html")
    if copy.status_code == 200:
        for header in ("content-security-policy", "x-content-type-options", "referrer-policy"):
            assert copy.headers.get(header) == page.headers[header], header


def test_markup_in_an_imported_file_name_and_its_errors_is_shown_as_text(signed_in: Any, tenant: Any) -> None:
    from playwright.sync_api import FilePayload, expect

    page = signed_in
    fired: list[str] = []

    def dialog(shown: Any) -> None:
        fired.append(shown.message)
        shown.dismiss()

    page.on("dialog", dialog)
    other_origins: list[str] = []
    bearer: list[str] = []
    origin = page.url.split("/admin")[0]

    def seen(request: Any) -> None:
        if not request.url.startswith(origin):
            other_origins.append(request.url)
        if auth := request.headers.get("authorization"):
            bearer.append(auth.removeprefix("Bearer "))

    page.on("request", seen)
    page.goto("/admin#/import")
    page.get_by_label("Kind").select_option(label="Segments")
    evil = "<img src=x onerror=alert(1)>"
    body = f'id,name,siteCode\n"{evil}",{evil},main\ns1,"<b>x</b>",javascript:alert(2)\n'
    page.get_by_label("File", exact=True).set_input_files(
        files=[FilePayload(name=f"{evil}.csv", mimeType="text/csv", buffer=body.encode())]
    )
    page.get_by_role("button", name="Upload").click()
    job = page.locator("section.import-job")
    expect(job.get_by_role("heading", level=2)).to_contain_text(evil)
    expect(job.get_by_role("heading", level=2)).to_contain_text("DONE")
    assert page.locator("img[src=x]").count() == 0
    assert fired == []
    assert other_origins == []
    # The token is kept in the page's memory alone.
    stored = page.evaluate("() => JSON.stringify([localStorage, sessionStorage, document.cookie, location.href])")
    assert bearer
    assert all(token not in stored for token in set(bearer))
