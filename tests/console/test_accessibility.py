"""Automated accessibility checks of the console: axe-core (tests/console/vendor/, used by the tests only, never
shipped) runs the WCAG 2.0 and 2.1 A and AA rules on every main page and state, with realistic data seeded through
the API, and no violation of impact "serious" or "critical" may remain.

axe is injected with `context.add_init_script(path=...)` (Playwright hands the script to the browser over the
DevTools protocol, so the page's Content-Security-Policy does not stop it from running), in a browser context made
with `bypass_csp=True`, for these tests only. The bypass is needed for axe's own workings, not the console's: axe
adds <style> elements to the page while it runs (its CSSOM preload for css-orientation-lock, its helper styles),
which the console's `style-src 'self'` refuses, logging a CSP error for each and leaving those checks incomplete.
Every other console test runs under the console's real policy, so a console that broke its own CSP still fails.

axe's best-practice rules (landmarks, heading order, …) run as well; their findings of lesser impact are printed
(pytest -s shows them) but do not fail the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.console.conftest import SCREENSHOTS, TIMEOUT_MS, Tenant, screenshot, sign_in
from tests.ops.servers import ServeProcess

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
#: The rule sets to run: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
#: The impacts that fail a test.
FAILING = {"serious", "critical"}

SEGMENTS = "/customer-segment/{tenant}/segments"
CUSTOMERS = "/customer/{tenant}/customers"
COUPONS = "/coupon/{tenant}/coupons"


@pytest.fixture
def page(browser: Browser, console_server: ServeProcess, request: pytest.FixtureRequest) -> Iterator[Page]:
    """conftest's page, in a context that bypasses the page's CSP and loads axe into every document (see above);
    errors the page's scripts throw still fail the test."""
    context = browser.new_context(
        base_url=console_server.base_url, viewport={"width": 1280, "height": 860}, bypass_csp=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console {message.type}: {message.text}")
            if message.type == "error" and "the server responded with a status of 4" not in message.text
            else None
        ),
    )
    yield page
    SCREENSHOTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    page.screenshot(path=str(SCREENSHOTS / f"last-{name}.png"), full_page=True)
    context.close()
    assert errors == [], errors


class Axe:
    """Runs axe on a page in named states and keeps what it finds; `assert_clean()` fails with every serious or
    critical violation of every state, each with its rule, impact, elements and help."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.failures: list[str] = []

    def check(self, state: str) -> None:
        # Let transitions (the toast, Pico's) end, so colours are read as they settle.
        self.page.wait_for_timeout(350)
        results: dict[str, Any] = self.page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations', 'incomplete']})",
            TAGS,
        )
        screenshot(self.page, f"a11y-{state}")
        # What axe could not decide is for a person to look at (pytest -s shows it). Left out: contrast over Pico's
        # icons (the background images of selects, search and date inputs) and of empty inputs, which is Pico's text
        # on Pico's field colour.
        for item in results["incomplete"]:
            for node in item["nodes"]:
                summary = node.get("failureSummary", "").replace("\n", " ")
                if "background image" in summary or "no value" in summary:
                    continue
                print(f"axe (to review) [{state}] {item['id']}: {node['target']} {node['html'][:120]} {summary[:300]}")
        for violation in results["violations"]:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
            line = (
                f"[{state}] {violation['id']} ({violation['impact']}): {violation['help']} "
                f"on {json.dumps(targets[:6])}{' …' if len(targets) > 6 else ''}"
            )
            if violation["impact"] in FAILING:
                details = [node.get("failureSummary", "").replace("\n", " ") for node in violation["nodes"][:2]]
                self.failures.append(f"{line}\n    {' | '.join(details)}")
            else:
                print(f"axe (not failing): {line}")

    def assert_clean(self) -> None:
        assert not self.failures, "axe found serious or critical violations:\n" + "\n".join(self.failures)


def _sign_in(page: Page, tenant: Tenant) -> None:
    sign_in(page, tenant)
    # The shell sends an empty address to #/segments: wait for that before going anywhere else.
    expect(page.get_by_role("heading", level=1)).to_have_text("Segments")


def _go(page: Page, address: str, heading: str) -> None:
    page.goto(f"/admin#{address}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    expect(page.locator("[aria-busy='true']")).to_have_count(0)


def _seed_segments(tenant: Tenant) -> None:
    now = datetime.now(UTC)
    tenant.put(
        f"{SEGMENTS}/gold",
        {
            "name": {"en": "Gold customers", "de": "Goldkunden"},
            "description": {"en": "Customers who ordered a lot this year."},
            "siteCode": "main",
            "status": "ACTIVE",
            "validity": {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=90)).isoformat()},
        },
    )
    tenant.put(f"{SEGMENTS}/silver", {"name": {"en": "Silver customers"}, "siteCode": "main", "status": "INACTIVE"})
    for customer_id, first, last, company in (
        ("ann", "Ann", "Lee", "Acme"),
        ("bob", "Bob", "Ray", "Globex"),
        ("cid", "Cid", "Moe", "Acme"),
    ):
        tenant.put(
            f"{CUSTOMERS}/{customer_id}",
            {"firstName": first, "lastName": last, "company": company, "contactEmail": f"{customer_id}@example.com"},
        )
    tenant.put("/customer-management/{tenant}/legal-entities/acme", {"name": "Acme Inc", "type": "COMPANY"})
    tenant.post(
        "/customer-management/{tenant}/contact-assignments",
        {"legalEntity": {"id": "acme"}, "customer": {"id": "ann"}, "type": "PRIMARY"},
    )
    tenant.put(f"{SEGMENTS}/gold/customers/ann", {})
    tenant.put(f"{SEGMENTS}/gold/customers/bob", {})
    tenant.put(f"{SEGMENTS}/gold/customers/ann/acme", {})
    tenant.put(f"{SEGMENTS}/gold/exclusions/cid", {})
    tenant.post(
        "/product/{tenant}/products", {"id": "p1", "code": "TEA-1", "name": {"en": "Green tea"}, "published": True}
    )
    tenant.post("/category/{tenant}/categories", {"id": "drinks", "localizedName": {"en": "Drinks"}, "published": True})
    tenant.post(
        "/category/{tenant}/categories",
        {"id": "hot", "parentId": "drinks", "localizedName": {"en": "Hot drinks"}, "published": True},
    )
    tenant.put(f"{SEGMENTS}/gold/items/PRODUCT/p1", {})
    tenant.put(f"{SEGMENTS}/gold/items/CATEGORY/hot", {})
    tenant.put(
        f"{SEGMENTS}/silver/rule",
        {"subject": "CUSTOMER", "condition": {"attribute": "customer.company", "op": "eq", "value": "Acme"}},
    )
    tenant.post(
        COUPONS,
        {
            "code": "GOLD10",
            "name": "Ten percent for Gold",
            "discountType": "PERCENT",
            "discountPercentage": 10,
            "maxRedemptions": 100,
            "segmentRestricted": True,
            "restrictions": {"segments": ["gold"], "validUntil": "2099-12-31T23:59:59.999Z"},
        },
    )
    tenant.post(
        COUPONS,
        {
            "code": "ANN5",
            "name": "Five off for Ann",
            "discountType": "ABSOLUTE",
            "discountAbsolute": {"amount": 5, "currency": "EUR"},
            "restrictions": {"validFor": ["ann"]},
        },
    )
    tenant.post(
        COUPONS + "/GOLD10/redemptions",
        {
            "orderCode": "O-1001",
            "customerNumber": "ann",
            "orderTotal": {"amount": 80, "currency": "EUR"},
            "discount": {"amount": 8, "currency": "EUR"},
        },
    )


def test_sign_in_with_an_error(page: Page, tenant: Tenant) -> None:
    axe = Axe(page)
    page.goto("/admin")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    axe.check("sign-in")
    page.get_by_label("Client id").fill(tenant.client_id)
    page.get_by_label("Client secret").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("401")
    axe.check("sign-in-error")
    axe.assert_clean()


def test_segment_pages(page: Page, tenant: Tenant) -> None:
    _seed_segments(tenant)
    axe = Axe(page)
    _sign_in(page, tenant)
    _go(page, "/segments", "Segments")
    expect(page.get_by_role("row")).to_have_count(3)
    axe.check("segments")
    page.get_by_text("Write q yourself").click()
    axe.check("segments-q")

    _go(page, "/segments/gold/members", "Gold customers")
    expect(page.get_by_role("table", name="Members of the segment")).to_contain_text("Ann Lee")
    expect(page.get_by_role("table", name="Exclusions from the segment")).to_contain_text("Cid Moe")
    page.get_by_label("Find a customer").fill("a")
    page.get_by_role("search", name="Customer search").get_by_role("button", name="Search").click()
    expect(page.get_by_role("button", name="Add Ann Lee")).to_be_visible()
    page.get_by_label("Find a legal entity").fill("acme")
    page.get_by_role("search", name="Legal entity search").get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Show the contacts of Acme Inc").click()
    expect(page.get_by_role("button", name="Add Ann Lee as a contact of Acme Inc")).to_be_visible()
    axe.check("segment-members")

    page.get_by_role("button", name="Remove Bob Ray").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    axe.check("confirm-dialog")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()

    _go(page, "/segments/gold/items", "Gold customers")
    expect(page.get_by_role("table", name="Items of the segment")).to_contain_text("Green tea")
    page.get_by_label("Find a product").fill("tea")
    page.get_by_role("search", name="Product search").get_by_role("button", name="Search").click()
    expect(page.get_by_role("button", name="Add product Green tea")).to_be_visible()
    page.get_by_role("button", name="Choose from the category trees").click()
    page.get_by_role("button", name="Drinks", exact=True).click()
    expect(page.get_by_role("button", name="Add category Hot drinks")).to_be_visible()
    axe.check("segment-items")

    _go(page, "/segments/gold/coupons", "Gold customers")
    expect(page.get_by_role("table", name="Coupons restricted to the segment")).to_contain_text("GOLD10")
    axe.check("segment-coupons")

    _go(page, "/segments/gold/edit", "Edit")
    page.get_by_label("Valid until").fill("2000-01-01T00:00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_label("Valid until")).to_have_attribute("aria-invalid", "true")
    axe.check("segment-edit-error")

    _go(page, "/new-segment", "New segment")
    page.get_by_role("button", name="Create segment").click()
    expect(page.get_by_role("group", name="Name")).to_contain_text("needs at least one language")
    axe.check("segment-new-error")
    axe.assert_clean()


def test_rule_page_with_preview_and_explain(page: Page, tenant: Tenant) -> None:
    _seed_segments(tenant)
    axe = Axe(page)
    _sign_in(page, tenant)
    _go(page, "/segments/gold/rule", "Rule of Gold customers")
    page.get_by_role("button", name="Add a customer field condition to the rule").click()
    page.get_by_label("Field of condition 1").select_option(label="Company")
    page.get_by_label("Value of condition 1").fill("Acme")
    page.get_by_role("button", name="Add an order condition to the rule").click()
    expect(page.get_by_label("Matches", exact=True)).to_have_text("0")
    page.get_by_label("Comparison of condition 2").select_option(label="is between")
    page.get_by_label("Value of condition 2: from").fill("10")
    page.get_by_label("Value of condition 2: to").fill("2")
    expect(page.locator("[data-condition='2']").get_by_role("alert")).to_be_visible()
    axe.check("rule-condition-error")
    page.locator("[data-condition='2']").get_by_role("button", name="Remove condition 2").click()
    expect(page.get_by_label("Matches", exact=True)).to_have_text("2")
    expect(page.get_by_role("link", name="Ann Lee").first).to_be_visible()
    page.get_by_label("Customer to explain").fill("bob")
    explain = page.get_by_role("region", name="Why (not) in this segment?")
    explain.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Explain Bob Ray").click()
    expect(explain.get_by_text("Member, because someone assigned")).to_be_visible()
    axe.check("rule-preview-explain")

    _go(page, "/segments/silver/rule", "Rule of Silver customers")
    expect(page.get_by_text("READY")).to_be_visible()
    axe.check("rule-saved")
    axe.assert_clean()


def test_customer_pages(page: Page, tenant: Tenant) -> None:
    _seed_segments(tenant)
    axe = Axe(page)
    _sign_in(page, tenant)
    _go(page, "/customers", "Customers")
    expect(page.get_by_role("link", name="Ann Lee")).to_be_visible()
    axe.check("customers")
    _go(page, "/customers/ann", "Ann Lee")
    expect(page.get_by_role("table", name="Segments of the customer")).to_contain_text("Gold customers")
    expect(page.get_by_role("table", name="Coupons of the customer")).to_contain_text("ANN5")
    expect(page.locator("[aria-busy='true']")).to_have_count(0)
    axe.check("customer")
    axe.assert_clean()


def test_coupon_pages(page: Page, tenant: Tenant) -> None:
    _seed_segments(tenant)
    axe = Axe(page)
    _sign_in(page, tenant)
    _go(page, "/coupons", "Coupons")
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(3)
    axe.check("coupons")
    _go(page, "/coupons/GOLD10", "Ten percent for Gold")
    expect(page.get_by_role("table", name="Redemptions of GOLD10")).to_contain_text("O-1001")
    axe.check("coupon")
    _go(page, "/new-coupon", "New coupon")
    page.get_by_label("Percentage off").fill("150")
    page.get_by_label("Valid from").fill("2030-02-01T10:00")
    page.get_by_label("Valid until").fill("2030-01-01T10:00")
    page.get_by_label("Members of chosen segments").check()
    page.get_by_role("button", name="Create coupon").click()
    expect(page.get_by_label("Percentage off")).to_have_attribute("aria-invalid", "true")
    axe.check("coupon-form-errors")
    _go(page, "/coupons/GOLD10/edit", "Edit coupon GOLD10")
    axe.check("coupon-edit")
    axe.assert_clean()


def test_webhook_pages(page: Page, tenant: Tenant) -> None:
    # A receiver nobody listens on: the delivery fails, with its attempts and their errors to show.
    tenant.post(
        "/webhook/{tenant}/config",
        {
            "code": "http",
            "provider": "HTTP",
            "configuration": {
                "destinationUrl": "http://127.0.0.1:9/hooks",
                "secretKey": "s3cret",
                "headers": {"X-Shop": {"value": "demo"}},
            },
        },
    )
    answer = tenant.api.patch(
        tenant.path("/webhook/{tenant}/event-subscriptions"),
        json=[{"eventType": "customer-segment.segment-created", "action": "SUBSCRIBE"}],
    )
    assert answer.status_code == 207, answer.text
    tenant.post(SEGMENTS, {"name": {"en": "Webhook watchers"}, "status": "ACTIVE", "siteCode": "main"})
    axe = Axe(page)
    _sign_in(page, tenant)
    _go(page, "/webhooks/configuration", "Webhooks")
    expect(page.get_by_text("A secret is set")).to_be_visible()
    page.get_by_label("Destination URL").fill("ftp://example.com/hooks")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_label("Destination URL")).to_have_attribute("aria-invalid", "true")
    axe.check("webhooks-configuration-error")
    _go(page, "/webhooks/subscriptions", "Webhooks")
    expect(page.get_by_role("button", name="Unsubscribe from Customer Segment: Segment created")).to_be_visible()
    axe.check("webhooks-subscriptions")
    _go(page, "/webhooks/deliveries", "Webhooks")
    delivery = page.get_by_role("row").filter(has_text="customer-segment.segment-created")
    expect(delivery.first).to_be_visible()
    page.get_by_role("button", name="Show details of the customer-segment.segment-created delivery").click()
    expect(page.get_by_label("Payload")).to_contain_text("Webhook watchers")
    axe.check("webhooks-deliveries")
    axe.assert_clean()


def test_import_page_with_a_finished_job(page: Page, tenant: Tenant) -> None:
    tenant.put(f"{SEGMENTS}/gold", {"name": {"en": "Gold"}, "siteCode": "main"})
    tenant.post("/product/{tenant}/products", {"id": "p1", "code": "p1", "name": {"en": "Coffee"}})
    axe = Axe(page)
    _sign_in(page, tenant)
    _go(page, "/import", "Import")
    axe.check("import")
    page.get_by_label("Kind").select_option(label="Item assignments (products and categories of segments)")
    page.get_by_text("What a file of item assignments").click()
    csv = "segmentId,type,id\ngold,PRODUCT,p1\ngold,PRODUCT,nope\n"
    page.get_by_label("File", exact=True).set_input_files(
        files=[FilePayload(name="items.csv", mimeType="text/csv", buffer=csv.encode())]
    )
    page.get_by_role("button", name="Upload").click()
    job = page.locator("section.import-job")
    expect(job.get_by_role("heading", level=2)).to_contain_text("DONE")
    expect(job.get_by_role("table", name="Rows that were not imported")).to_contain_text("nope")
    axe.check("import-done")
    axe.assert_clean()
