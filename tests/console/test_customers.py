"""The customers pages: search with paging, and one customer's facts, legal entities, segments with the reason for
each membership, coupons, and what the storefront shows it in a legal-entity context."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.console.conftest import Tenant, screenshot

SEGMENTS = "/customer-segment/{tenant}/segments"
CUSTOMERS = "/customer/{tenant}/customers"


def _customer(tenant: Tenant, customer_id: str, first: str, last: str, company: str = "") -> None:
    body = {"firstName": first, "lastName": last, "company": company, "contactEmail": f"{customer_id}@example.com"}
    tenant.put(f"{CUSTOMERS}/{customer_id}", body)


def _segment(tenant: Tenant, segment_id: str, name: str) -> None:
    tenant.put(f"{SEGMENTS}/{segment_id}", {"name": {"en": name}, "siteCode": "main", "status": "ACTIVE"})


def _wait_until_ready(tenant: Tenant, segment_id: str) -> None:
    deadline = time.monotonic() + 15
    while tenant.get(f"{SEGMENTS}/{segment_id}/rule")["state"] != "READY":
        assert time.monotonic() < deadline, "the rule was not evaluated in time"
        time.sleep(0.1)


def test_customers_are_found_by_name_or_email_and_paged(signed_in: Page, tenant: Tenant) -> None:
    for n in range(23):
        _customer(tenant, f"c{n:02d}", f"First{n:02d}", f"Last{n:02d}")
    _customer(tenant, "jane", "Jane", "Doe")
    page = signed_in
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    expect(page.get_by_text("1\u201320 of 24")).to_be_visible()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("21\u201324 of 24")).to_be_visible()
    page.get_by_label("Name, email or customer number").fill("doe")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row")).to_have_count(2)
    page.get_by_label("Name, email or customer number").fill("JANE@example")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row")).to_have_count(2)
    page.get_by_label("Name, email or customer number").fill("nobody")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No customer matches “nobody”.")).to_be_visible()
    page.get_by_label("Name, email or customer number").fill("jane doe")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Jane Doe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jane Doe")
    expect(page).to_have_url("/admin#/customers/jane")


def test_the_customer_page_shows_segments_why_coupons_and_the_storefront(signed_in: Page, tenant: Tenant) -> None:
    _customer(tenant, "ann", "Ann", "Lee", "Acme")
    _customer(tenant, "bob", "Bob", "Ray", "Globex")
    tenant.put("/customer-management/{tenant}/legal-entities/acme", {"name": "Acme Inc", "type": "COMPANY"})
    tenant.post(
        "/customer-management/{tenant}/contact-assignments",
        {"legalEntity": {"id": "acme"}, "customer": {"id": "ann"}, "type": "PRIMARY"},
    )
    _segment(tenant, "vip", "VIP")
    tenant.put(
        f"{SEGMENTS}/vip/rule",
        {"subject": "CUSTOMER", "condition": {"attribute": "customer.company", "op": "eq", "value": "Acme"}},
    )
    _segment(tenant, "news", "Newsletter")
    tenant.put(f"{SEGMENTS}/news/customers/ann", {})
    _segment(tenant, "b2b", "Acme buyers")
    tenant.put(f"{SEGMENTS}/b2b/customers/ann/acme", {})
    tenant.post(
        "/product/{tenant}/products", {"id": "p1", "code": "TEA-1", "name": {"en": "Green tea"}, "published": True}
    )
    tenant.put(f"{SEGMENTS}/vip/items/PRODUCT/p1", {})
    tenant.post("/category/{tenant}/categories", {"id": "drinks", "localizedName": {"en": "Drinks"}, "published": True})
    tenant.post(
        "/category/{tenant}/categories",
        {"id": "hot", "parentId": "drinks", "localizedName": {"en": "Hot drinks"}, "published": True},
    )
    tenant.put(f"{SEGMENTS}/b2b/items/CATEGORY/hot", {})
    tenant.post(
        "/coupon/{tenant}/coupons",
        {
            "code": "VIP10",
            "name": "VIP ten",
            "discountType": "PERCENT",
            "discountPercentage": 10,
            "segmentRestricted": True,
            "restrictions": {"segments": ["vip"]},
        },
    )
    _wait_until_ready(tenant, "vip")

    page = signed_in
    page.goto("/admin#/customers/ann")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ann Lee")
    expect(page.get_by_role("table", name="Legal entities")).to_contain_text("Acme Inc")

    segments = page.get_by_role("table", name="Segments of the customer")
    vip = segments.get_by_role("row", name="VIP")
    expect(vip).to_contain_text("AUTOMATIC")
    expect(vip).to_contain_text("Member, because the rule matches.")
    vip.get_by_text("The rule, evaluated for the customer").click()
    expect(vip.locator(".explain-leaf")).to_contain_text("actual: Acme")
    expect(segments.get_by_role("row", name="Newsletter")).to_contain_text("Member, because someone assigned")
    acme = segments.get_by_role("row", name="Acme buyers")
    expect(acme).to_contain_text("as a contact of Acme Inc")
    expect(acme).to_contain_text("MANUAL")

    coupons = page.get_by_role("table", name="Coupons of the customer")
    expect(coupons.get_by_role("row", name="VIP ten")).to_contain_text("for its segment vip")

    storefront = page.get_by_role("region", name="What the storefront shows")
    items = storefront.get_by_role("table", name="Storefront items")
    expect(items.get_by_role("row")).to_have_count(3)
    expect(items.get_by_role("row", name="Green tea")).to_contain_text("VIP")
    tree = storefront.get_by_role("list", name="My category tree")
    expect(tree.get_by_role("listitem").filter(has_text="Hot drinks").last).to_contain_text("(segment content)")
    expect(tree.get_by_role("listitem").first).to_contain_text("Drinks (on the way, a navigation label)")
    screenshot(page, "customer")

    # Bob is no contact of Acme, and the rule does not match him: nothing segment-specific.
    page.goto("/admin#/customers/bob")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bob Ray")
    expect(page.get_by_text("Not a member of any segment.")).to_be_visible()
    expect(page.get_by_text("Nothing segment-specific")).to_be_visible()


def test_the_coupons_of_a_customer_are_found_by_segment_name_and_issue(signed_in: Page, tenant: Tenant) -> None:
    _customer(tenant, "ann", "Ann", "Lee")
    window = {"from": "2020-01-01T00:00:00.000Z", "to": "2099-01-01T00:00:00.000Z"}
    tenant.put(f"{SEGMENTS}/gold", {"name": {"en": "Gold"}, "siteCode": "main", "status": "ACTIVE", "validity": window})
    _segment(tenant, "silver", "Silver")
    tenant.put(f"{SEGMENTS}/gold/customers/ann", {})
    coupon = {"discountType": "PERCENT", "discountPercentage": 10, "name": "Ten"}
    tenant.post(
        "/coupon/{tenant}/coupons",
        {**coupon, "code": "GOLD10", "segmentRestricted": True, "restrictions": {"segments": ["gold"]}},
    )
    tenant.post(
        "/coupon/{tenant}/coupons",
        {**coupon, "code": "SILVER10", "segmentRestricted": True, "restrictions": {"segments": ["silver"]}},
    )
    tenant.post("/coupon/{tenant}/coupons", {**coupon, "code": "ANN10", "restrictions": {"validFor": ["ann"]}})
    tenant.post("/coupon/{tenant}/coupons", {**coupon, "code": "OPEN10"})
    page = signed_in
    page.goto("/admin#/customers/ann")
    coupons = page.get_by_role("table", name="Coupons of the customer")
    expect(coupons.get_by_role("row")).to_have_count(3)  # the header, ANN10 and GOLD10
    expect(coupons.get_by_role("row", name="GOLD10")).to_contain_text("for its segment gold")
    expect(coupons.get_by_role("row", name="ANN10")).to_contain_text("valid for it by name")
