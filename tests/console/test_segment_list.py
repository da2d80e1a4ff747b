"""The segments list: the search builder (name, status, site) and `q` written by hand, paging, and each segment's
member and item counts."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.conftest import Tenant, screenshot, sign_in

SEGMENTS = "/customer-segment/{tenant}/segments"


def _segments(tenant: Tenant, count: int, **fields: object) -> None:
    items = [
        {"id": f"s{n:02d}", "name": {"en": f"Segment {n:02d}"}, "siteCode": "main", "status": "INACTIVE", **fields}
        for n in range(count)
    ]
    response = tenant.api.post(tenant.path(f"{SEGMENTS}/bulk"), json=items)
    assert response.status_code == 207, response.text


def test_the_list_pages_and_counts_members_and_items(page: Page, tenant: Tenant) -> None:
    _segments(tenant, 23)
    tenant.post("/customer/{tenant}/customers", {"contactEmail": "ann@example.com", "firstName": "Ann"})
    customer = tenant.get("/customer/{tenant}/customers", q="contactEmail:ann@example.com")[0]
    tenant.put(f"{SEGMENTS}/s00/customers/{customer['id']}", {})
    tenant.post("/product/{tenant}/products", {"id": "p1", "code": "p1", "name": {"en": "Coffee"}, "published": True})
    tenant.put(f"{SEGMENTS}/s00/items/PRODUCT/p1", {})
    sign_in(page, tenant)  # the first page after signing in is the segments list
    signed_in = page
    rows = signed_in.get_by_role("row")
    expect(rows).to_have_count(21)  # the header and 20 segments
    first = signed_in.get_by_role("row", name="Segment 00")
    expect(first.get_by_role("cell").nth(5)).to_have_text("1")
    expect(first.get_by_role("cell").nth(6)).to_have_text("1")
    expect(signed_in.get_by_text("1\u201320 of 23")).to_be_visible()
    signed_in.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(4)
    expect(signed_in.get_by_text("21\u201323 of 23")).to_be_visible()
    expect(signed_in.get_by_role("button", name="Next")).to_be_disabled()
    screenshot(signed_in, "segments")


def test_the_search_builder_finds_by_name_status_and_site(page: Page, tenant: Tenant) -> None:
    _segments(tenant, 3)
    tenant.put(f"{SEGMENTS}/gold", {"name": {"en": "Golden (VIP) customers"}, "siteCode": "main", "status": "ACTIVE"})
    tenant.put(f"{SEGMENTS}/gold-de", {"name": {"en": "Gold DE"}, "siteCode": "de", "status": "ACTIVE"})
    sign_in(page, tenant)
    signed_in = page
    signed_in.get_by_label("Name contains").fill("golden (vip")
    signed_in.get_by_role("button", name="Search").click()
    expect(signed_in.get_by_role("row")).to_have_count(2)
    expect(signed_in.get_by_role("link", name="Golden (VIP) customers")).to_be_visible()
    signed_in.get_by_label("Name contains").fill("GOLD")
    signed_in.get_by_label("Site").fill("de")
    signed_in.get_by_role("button", name="Search").click()
    expect(signed_in.get_by_role("row")).to_have_count(2)
    expect(signed_in.get_by_role("link", name="Gold DE")).to_be_visible()
    signed_in.get_by_label("Name contains").fill("")
    signed_in.get_by_label("Site").fill("")
    signed_in.get_by_label("Status").select_option("INACTIVE")
    signed_in.get_by_role("button", name="Search").click()
    expect(signed_in.get_by_role("row")).to_have_count(4)
    # The address keeps the search: back and forward work.
    signed_in.go_back()
    expect(signed_in.get_by_role("row")).to_have_count(2)


def test_q_written_by_hand_and_its_errors(page: Page, tenant: Tenant) -> None:
    _segments(tenant, 2)
    sign_in(page, tenant)
    signed_in = page
    signed_in.get_by_text("Write q yourself").click()
    signed_in.get_by_label("q", exact=True).fill("id:s01")
    signed_in.get_by_role("button", name="Search").click()
    expect(signed_in.get_by_role("row")).to_have_count(2)
    signed_in.get_by_label("q", exact=True).fill("colour:red")
    signed_in.get_by_role("button", name="Search").click()
    expect(signed_in.get_by_role("alert")).to_contain_text("colour")
