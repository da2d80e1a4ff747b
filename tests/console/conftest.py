"""Browser tests of the admin console: a real `segment-service serve` (its own embedded PostgreSQL, the webhook relay
on) driven through a real headless Chromium by Playwright.

Chromium is Debian's (`/usr/bin/chromium`); the test setup installs the package with apt-get when it is missing and
the tests run as root, as tests/ops/pgbouncer.py does for pgbouncer. Every test gets a tenant of its own (a new API
client), so tests see nothing of each other. A test's last screen is written to tests/console/screenshots/ (ignored
by git); `screenshot(page, name)` writes a named one there too.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.ops.servers import ServeProcess, run_cli, serve_env

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
#: Without the background-networking flags Chromium keeps trying to reach Google's hosts, which a closed network
#: refuses; as root it needs --no-sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long an expectation waits for the page (the service answers in milliseconds; the machine may be busy).
TIMEOUT_MS = 15_000


def chromium_path() -> str:
    """Debian's Chromium, installed first when missing (as root, with apt-get); skips with the way to install it
    otherwise."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        # Every pytest worker gets here at once on a fresh machine: one installs, the others wait for it (and apt
        # waits for a lock another install holds, such as pgbouncer's, instead of failing).
        with open("/tmp/segment-service-tests-apt.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.exists(CHROMIUM):
                env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
                wait = ["-o", "DPkg::Lock::Timeout=300"]
                subprocess.run(
                    ["apt-get", *wait, "update", "-qq"], check=False, env=env, capture_output=True, timeout=400
                )
                subprocess.run(
                    ["apt-get", *wait, "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                    check=False,
                    env=env,
                    capture_output=True,
                    timeout=900,
                )
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: install Debian's package `chromium` (apt-get install chromium) as root")
    return CHROMIUM


# Module-scoped, not session-scoped: while Playwright's sync API runs, its event loop is the thread's running loop,
# and the other tests a worker runs between console modules call asyncio.run(), which refuses to run inside it.
@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """The service with the webhook relay on and quick retries, on an embedded database of its own (the relay of a
    shared test database would take other tests' deliveries)."""
    folder = tmp_path_factory.mktemp("console")
    env = serve_env(
        SEGMENT_SERVICE_WEBHOOK_DELIVER="true",
        SEGMENT_SERVICE_WEBHOOK_RETRY_SCHEDULE="1,1",
        SEGMENT_SERVICE_WEBHOOK_POLL_MS="100",
        SEGMENT_SERVICE_RULE_POLL_MS="100",
    )
    with ServeProcess.start(folder, env=env) as serve:
        yield serve


@dataclass
class Tenant:
    """A tenant of its own: its API client's credentials, a service token and an HTTP client for setting data up
    through the API (`tenant.api.post("/customer-segment/{tenant}/segments", json=...)`)."""

    name: str
    client_id: str
    client_secret: str
    token: str
    api: httpx.Client

    def path(self, template: str) -> str:
        return template.replace("{tenant}", self.name)

    def post(self, template: str, body: Any) -> httpx.Response:
        response = self.api.post(self.path(template), json=body)
        assert response.status_code < 300, response.text
        return response

    def put(self, template: str, body: Any) -> httpx.Response:
        response = self.api.put(self.path(template), json=body)
        assert response.status_code < 300, response.text
        return response

    def get(self, template: str, **params: Any) -> Any:
        response = self.api.get(self.path(template), params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def tenant(console_server: ServeProcess) -> Iterator[Tenant]:
    name = "ui" + uuid.uuid4().hex[:12]
    result = run_cli("clients", "create", "--tenant", name, "--json", data_dir=console_server.data_dir)
    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)
    answer = httpx.post(
        f"{console_server.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    with httpx.Client(
        base_url=console_server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=15
    ) as api:
        yield Tenant(name, client["client_id"], client["client_secret"], token, api)


@pytest.fixture
def page(browser: Browser, console_server: ServeProcess, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context and page on the console's origin; its last screen is kept as a screenshot. Any error
    the page's scripts throw, or a failed asset, fails the test."""
    context = browser.new_context(base_url=console_server.base_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console {message.type}: {message.text}")
            if message.type == "error" and not _expected_console_error(message.text)
            else None
        ),
    )
    yield page
    SCREENSHOTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    page.screenshot(path=str(SCREENSHOTS / f"last-{name}.png"), full_page=True)
    context.close()
    assert errors == [], errors


def _expected_console_error(text: str) -> bool:
    """Chromium logs every 4xx answer to fetch as a console error; those are the API's answers the console shows,
    which the tests check on the page itself."""
    return "Failed to load resource: the server responded with a status of 4" in text


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, tenant: Tenant) -> None:
    """Open the console and sign in with the tenant's client; waits for the navigation."""
    page.goto("/admin")
    page.get_by_label("Client id").fill(tenant.client_id)
    page.get_by_label("Client secret").fill(tenant.client_secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_text(tenant.name)).to_be_visible()


@pytest.fixture
def signed_in(page: Page, tenant: Tenant) -> Page:
    sign_in(page, tenant)
    return page
