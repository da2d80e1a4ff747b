"""The console's webhooks page: configure a real receiver (an HTTP server in this process on 127.0.0.1, which the
service allows unless SEGMENT_SERVICE_WEBHOOK_PUBLIC_ONLY=true), subscribe, and see deliveries, failures and retries
in the log; the configuration's errors at their fields, its edits and deletion."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.console.conftest import Tenant, screenshot

SEGMENTS = "/customer-segment/{tenant}/segments"
CONFIG = "/webhook/{tenant}/config"
SUBSCRIPTIONS = "/webhook/{tenant}/event-subscriptions"
CREATED = "customer-segment.segment-created"


@dataclass
class Receiver:
    """An HTTP receiver that answers `status` and records every request it gets."""

    url: str
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    if os.environ.get("SEGMENT_SERVICE_WEBHOOK_PUBLIC_ONLY", "").lower() == "true":
        pytest.skip("the service would refuse a loopback receiver (SEGMENT_SERVICE_WEBHOOK_PUBLIC_ONLY=true)")
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body or b"{}")})
            self.send_response(state.status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if state.status < 300 else b"receiver is down")

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def make_segment(tenant: Tenant, name: str) -> str:
    segment_id: str = tenant.post(SEGMENTS, {"name": {"en": name}, "status": "ACTIVE", "siteCode": "main"}).json()["id"]
    return segment_id


def configure_through_the_api(tenant: Tenant, url: str) -> None:
    tenant.post(CONFIG, {"code": "http", "provider": "HTTP", "configuration": {"destinationUrl": url}})
    answer = tenant.api.patch(tenant.path(SUBSCRIPTIONS), json=[{"eventType": CREATED, "action": "SUBSCRIBE"}])
    assert answer.status_code == 207, answer.text
    assert answer.json()[0]["code"] == 200, answer.text


def refresh_until(page: Page, locator: Locator, seconds: float = 20) -> None:
    """Click Refresh until `locator` shows (the relay delivers within a poll interval or a retry delay)."""
    deadline = time.monotonic() + seconds
    while True:
        page.get_by_role("button", name="Refresh").click()
        try:
            expect(locator).to_be_visible(timeout=1000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def wait_for(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_subscribed_event_is_delivered_and_shown(signed_in: Page, tenant: Tenant, receiver: Receiver) -> None:
    page = signed_in
    page.goto("/admin#/webhooks")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    expect(page.get_by_text("No webhook configuration yet")).to_be_visible()
    page.get_by_label("Destination URL").fill(receiver.url)
    page.get_by_label("Signing secret").fill("s3cret")
    page.get_by_role("button", name="Add a header").click()
    page.get_by_label("Header 1 name").fill("X-Shop")
    page.get_by_label("Header 1 value").fill("demo")
    page.get_by_role("button", name="Create configuration").click()
    expect(page.get_by_role("status")).to_contain_text("Webhook configuration created.")
    expect(page.get_by_text("A secret is set")).to_be_visible()
    screenshot(page, "webhook-configuration")
    assert tenant.get(CONFIG + "/http")["configuration"]["secretKeyExists"] is True

    page.get_by_role("link", name="Subscriptions").click()
    expect(page.get_by_text("No event is subscribed yet.")).to_be_visible()
    page.get_by_role("button", name="Subscribe to Customer Segment: Segment created").click()
    expect(page.get_by_role("status")).to_contain_text("Subscribed to Customer Segment: Segment created.")
    row = page.get_by_role("row").filter(has_text=CREATED)
    expect(row).to_contain_text("Subscribed")
    expect(row.get_by_role("button", name="Unsubscribe from Customer Segment: Segment created")).to_be_visible()
    screenshot(page, "webhook-subscriptions")

    make_segment(tenant, "Webhook watchers")
    page.get_by_role("link", name="Deliveries").click()
    delivery = page.get_by_role("row").filter(has_text=CREATED)
    refresh_until(page, delivery.filter(has_text="DELIVERED"))
    expect(delivery.first).to_contain_text(receiver.url)
    expect(delivery.first).to_contain_text("200")

    wait_for(lambda: len(receiver.requests) == 1)
    sent = receiver.requests[0]
    assert sent["headers"]["emporix-event-type"] == CREATED
    assert sent["headers"]["X-Shop"] == "demo"
    assert "emporix-event-signature" in sent["headers"]
    assert sent["body"]["name"] == {"en": "Webhook watchers"}

    page.get_by_role("button", name=f"Show details of the {CREATED} delivery").click()
    expect(page.get_by_role("table", name="Attempts of delivery")).to_contain_text("ok")
    expect(page.get_by_label("Payload")).to_contain_text("Webhook watchers")
    screenshot(page, "webhook-deliveries")


def test_a_failing_receiver_is_retried_then_failed_and_retry_delivers(
    signed_in: Page, tenant: Tenant, receiver: Receiver
) -> None:
    page = signed_in
    receiver.status = 500
    configure_through_the_api(tenant, receiver.url)
    make_segment(tenant, "Unlucky")
    page.goto("/admin#/webhooks/deliveries")
    delivery = page.get_by_role("row").filter(has_text=CREATED)
    refresh_until(page, delivery)
    # The relay's schedule in the tests is "1,1": three attempts about a second apart, then FAILED. The log refreshes
    # itself while the delivery is pending.
    expect(delivery.filter(has_text="FAILED")).to_be_visible(timeout=20_000)
    expect(delivery.first).to_contain_text("500")
    assert len(receiver.requests) == 3

    page.get_by_label("Status").select_option("DELIVERED")
    expect(page.get_by_text("No delivery matches these filters.")).to_be_visible()
    page.get_by_label("Status").select_option("FAILED")
    expect(delivery).to_have_count(1)

    page.get_by_role("button", name=f"Show details of the {CREATED} delivery").click()
    attempts = page.get_by_role("table", name="Attempts of delivery")
    expect(attempts.get_by_role("row")).to_have_count(4)  # the header and three attempts
    expect(attempts).to_contain_text("receiver is down")

    receiver.status = 200
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name=f"Retry: the {CREATED} delivery").click()
    expect(page.get_by_role("status")).to_contain_text("is being sent again")
    expect(delivery.filter(has_text="DELIVERED")).to_be_visible(timeout=20_000)
    wait_for(lambda: len(receiver.requests) == 4)
    assert receiver.requests[3]["headers"]["emporix-event-id"] == receiver.requests[0]["headers"]["emporix-event-id"]


def test_the_configuration_shows_errors_at_fields_keeps_the_secret_and_is_deleted(
    signed_in: Page, tenant: Tenant, receiver: Receiver
) -> None:
    page = signed_in
    page.goto("/admin#/webhooks/configuration")
    page.get_by_label("Destination URL").fill("ftp://example.com/hooks")
    page.get_by_role("button", name="Create configuration").click()
    url = page.get_by_label("Destination URL")
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_have_accessible_description(re.compile("must start with http"))

    url.fill(receiver.url)
    page.get_by_label("Signing secret").fill("first-secret")
    page.get_by_role("button", name="Create configuration").click()
    expect(page.get_by_role("button", name="Save configuration")).to_be_visible()

    page.get_by_label("Destination URL").fill("ftp://example.com/other")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_label("Destination URL")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Destination URL")).to_have_accessible_description(re.compile("must start with http"))

    page.get_by_label("Destination URL").fill(receiver.url + "/v2")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_role("status")).to_contain_text("Webhook configuration saved.")
    stored = tenant.get(CONFIG + "/http")
    assert stored["configuration"]["destinationUrl"] == receiver.url + "/v2"
    assert stored["configuration"]["secretKeyExists"] is True  # not shown, not typed again: kept

    page.get_by_label("Active").uncheck()
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_text("The configuration is inactive")).to_be_visible()
    assert tenant.get(CONFIG + "/http")["active"] is False

    page.get_by_role("button", name="Delete configuration").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete configuration").click()
    expect(page.get_by_text("No webhook configuration yet")).to_be_visible()
    assert tenant.get(CONFIG) == []
