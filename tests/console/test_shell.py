"""The console's shell: its page and assets, sign-in and sign-out, the token kept out of the address and storage."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.console.conftest import Tenant, screenshot, sign_in
from tests.ops.servers import ServeProcess


def test_the_page_and_its_assets_are_served_with_a_strict_policy(console_server: ServeProcess) -> None:
    page = httpx.get(f"{console_server.base_url}/admin", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    for asset in ("app.js", "api.js", "ui.js", "console.css", "vendor/preact-htm.js", "vendor/pico.min.css"):
        answer = httpx.get(f"{console_server.base_url}/admin/assets/{asset}", timeout=10)
        assert answer.status_code == 200, asset
        kind = "text/javascript" if asset.endswith(".js") else "text/css"
        assert answer.headers["content-type"] == f"{kind}; charset=utf-8", asset
    assert httpx.get(f"{console_server.base_url}/admin/assets/nope.js", timeout=10).status_code == 404
    assert httpx.get(f"{console_server.base_url}/admin/assets/../routes.py", timeout=10).status_code == 404


def test_sign_in_shows_the_tenant_and_sign_out_forgets_the_token(page: Page, tenant: Tenant) -> None:
    sign_in(page, tenant)
    assert tenant.client_secret not in page.url
    stored = page.evaluate(
        "() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage}) + document.cookie"
    )
    assert "eyJ" not in stored  # a token's header, base64url
    assert tenant.client_secret not in stored
    expect(page.get_by_role("heading", level=1)).to_have_text("Segments")
    screenshot(page, "segments-empty")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto("/admin#/segments")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_wrong_secret_is_said_in_words(page: Page, tenant: Tenant) -> None:
    page.goto("/admin")
    page.get_by_label("Client id").fill(tenant.client_id)
    page.get_by_label("Client secret").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("401")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)


def test_a_revoked_token_sends_the_reader_back_to_sign_in(page: Page, tenant: Tenant) -> None:
    sign_in(page, tenant)
    # What the API answers once the token is revoked or expired: 401.
    page.route(
        "**/customer-segment/**",
        lambda route: route.fulfill(status=401, json={"fault": {"faultstring": "Invalid token"}}),
    )
    page.evaluate("() => { window.location.hash = '#/segments?q=status:ACTIVE'; }")
    expect(page.get_by_text("Your session ended")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_an_unknown_address_says_so(signed_in: Page) -> None:
    signed_in.goto("/admin#/no-such-page")
    expect(signed_in.get_by_role("heading", level=1)).to_have_text("Not found")
