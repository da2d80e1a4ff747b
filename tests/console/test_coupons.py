"""The console's coupon pages: the list and its search, the form (create, the API's rule errors at their inputs, edit,
a lost update), a coupon's redemptions and deleting."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.console.conftest import Tenant, screenshot

COUPONS = "/coupon/{tenant}/coupons"
SEGMENTS = "/customer-segment/{tenant}/segments"


def make_segment(tenant: Tenant, name: str) -> str:
    now = datetime.now(UTC)
    body = {
        "name": {"en": name},
        "status": "ACTIVE",
        "siteCode": "main",
        "validity": {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=30)).isoformat()},
    }
    segment_id: str = tenant.post(SEGMENTS, body).json()["id"]
    return segment_id


def make_coupon(tenant: Tenant, code: str, name: str, **extra: Any) -> str:
    body = {
        "code": code,
        "name": name,
        "discountType": "ABSOLUTE",
        "discountAbsolute": {"amount": 5, "currency": "EUR"},
        **extra,
    }
    made: str = tenant.post(COUPONS, body).json()["id"]
    return made


def field_error(page: Page, label: str, message: str | re.Pattern[str]) -> None:
    """The input labelled `label` is marked invalid and described by the API's message."""
    control = page.get_by_label(label, exact=True)
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_accessible_description(message)


def test_a_segment_coupon_is_created_through_the_form(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    segment_id = make_segment(tenant, "Gold members")
    make_segment(tenant, "Silver members")
    page.goto("/admin#/coupons")
    expect(page.get_by_text("No coupons yet")).to_be_visible()
    page.get_by_role("button", name="New coupon").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New coupon")
    page.get_by_label("Code", exact=True).fill("gold10")
    page.get_by_label("Name", exact=True).fill("Ten percent for Gold")
    page.get_by_label("Percentage off").fill("10")
    page.get_by_label("Members of chosen segments").check()
    page.get_by_label("Find a segment to add").fill("gold")
    page.get_by_role("button", name="Add segment Gold members").click()
    expect(page.get_by_role("list", name="Chosen segments")).to_contain_text("Gold members")
    expect(page.get_by_role("button", name="Add segment Silver members")).to_have_count(0)
    page.get_by_label("Redemptions per customer").fill("1")
    screenshot(page, "coupon-edit")
    page.get_by_role("button", name="Create coupon").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ten percent for Gold")
    expect(page.get_by_role("status")).to_contain_text("Coupon GOLD10 created.")
    expect(page.get_by_role("link", name="Gold members")).to_be_visible()
    coupon = tenant.get(COUPONS + "/GOLD10")
    assert coupon["discountType"] == "PERCENT"
    assert coupon["discountPercentage"] == 10
    assert coupon["segmentRestricted"] is True
    assert coupon["restrictions"]["segments"] == [segment_id]
    assert coupon["maxRedemptionsPerCustomer"] == 1


def test_a_segment_from_the_address_is_chosen_already(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    segment_id = make_segment(tenant, "Newsletter readers")
    page.goto(f"/admin#/new-coupon?segment={segment_id}")
    expect(page.get_by_label("Members of chosen segments")).to_be_checked()
    expect(page.get_by_role("list", name="Chosen segments")).to_contain_text("Newsletter readers")


def test_the_apis_rule_errors_are_shown_at_their_inputs(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    page.goto("/admin#/new-coupon")
    page.get_by_label("Name", exact=True).fill("Too generous")
    page.get_by_label("Percentage off").fill("150")
    page.get_by_role("button", name="Create coupon").click()
    field_error(page, "Percentage off", re.compile("100"))
    expect(page.get_by_label("Percentage off")).to_be_focused()

    page.get_by_label("Percentage off").fill("15")
    page.get_by_label("Valid from").fill("2030-02-01T10:00")
    page.get_by_label("Valid until").fill("2030-01-01T10:00")
    page.get_by_role("button", name="Create coupon").click()
    field_error(page, "Valid until", re.compile("must not be earlier than"))
    expect(page.get_by_label("Percentage off")).not_to_have_attribute("aria-invalid", "true")

    page.get_by_label("Valid until").fill("2030-03-01T10:00")
    page.get_by_label("Members of chosen segments").check()
    page.get_by_role("button", name="Create coupon").click()
    field_error(page, "Find a segment to add", re.compile("restrictions.segments is required"))
    screenshot(page, "coupon-errors")

    page.get_by_label("Every customer").check()
    page.get_by_label("Discount type").select_option("ABSOLUTE")
    page.get_by_role("button", name="Create coupon").click()
    field_error(page, "Amount off", re.compile("discountAbsolute is required"))


def test_a_coupon_is_edited_and_a_lost_update_is_said_in_words(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    make_coupon(tenant, "SPRING5", "Spring five", mixins={"campaign": {"id": "c-1"}})
    page.goto("/admin#/coupons/SPRING5/edit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit coupon SPRING5")
    expect(page.get_by_label("Amount off")).to_have_value("5")
    page.get_by_label("Name", exact=True).fill("Spring six")
    page.get_by_label("Amount off").fill("6")
    page.get_by_label("Minimum order value").fill("30")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spring six")
    coupon = tenant.get(COUPONS + "/SPRING5")
    assert coupon["discountAbsolute"] == {"amount": 6, "currency": "EUR"}
    assert coupon["restrictions"]["minOrderValue"] == {"amount": 30, "currency": "EUR"}
    assert coupon["mixins"] == {"campaign": {"id": "c-1"}}  # what the form does not show is kept
    assert coupon["metadata"]["version"] == 2

    page.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Spring six")
    tenant.api.patch(tenant.path(COUPONS + "/SPRING5"), json={"name": "Changed elsewhere"}).raise_for_status()
    page.get_by_label("Name", exact=True).fill("Spring seven")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("Someone else changed this coupon")
    page.get_by_role("button", name="Reload the coupon").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Changed elsewhere")


def test_the_list_shows_and_finds_coupons(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    segment_id = make_segment(tenant, "VIP")
    make_coupon(tenant, "SPRING10", "Spring sale", maxRedemptions=50)
    make_coupon(
        tenant,
        "VIP20",
        "VIP twenty",
        segmentRestricted=True,
        restrictions={"segments": [segment_id], "validUntil": "2099-12-31T23:59:59.999Z"},
    )
    make_coupon(tenant, "WINTER", "Winter sale")
    page.goto("/admin#/coupons")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(4)  # the header and three coupons
    vip = rows.filter(has_text="VIP20")
    expect(vip).to_contain_text("VIP twenty")
    expect(vip.get_by_role("link", name="VIP", exact=True)).to_be_visible()
    expect(vip).to_contain_text("0 of unlimited")
    expect(rows.filter(has_text="SPRING10")).to_contain_text("0 of 50")
    screenshot(page, "coupons")

    page.get_by_label("Contains").fill("sale")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(3)
    expect(page.get_by_role("table")).not_to_contain_text("VIP20")

    page.get_by_label("Search in").select_option("code")
    page.get_by_label("Contains").fill("win")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("WINTER")

    page.get_by_label("Contains").fill("nothing-like-this")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No coupon matches this search.")).to_be_visible()


def test_redemptions_are_listed_and_deleted(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    customer = tenant.post("/customer/{tenant}/customers", {"contactEmail": "ann@example.com"}).json()["id"]
    make_coupon(tenant, "THANKS", "Thank you")
    for order in ("O-1001", "O-1002"):
        tenant.post(
            COUPONS + "/THANKS/redemptions",
            {
                "orderCode": order,
                "customerNumber": customer,
                "orderTotal": {"amount": 80, "currency": "EUR"},
                "discount": {"amount": 5, "currency": "EUR"},
            },
        )
    page.goto("/admin#/coupons/THANKS")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
    expect(page.get_by_text("2 of unlimited")).to_be_visible()
    table = page.get_by_role("table", name="Redemptions of THANKS")
    expect(table.get_by_role("row")).to_have_count(3)
    first = table.get_by_role("row").filter(has_text="O-1001")
    expect(first.get_by_role("link", name=customer)).to_be_visible()
    expect(first).to_contain_text("80.00")
    screenshot(page, "coupon-redemptions")

    page.get_by_role("button", name="Delete the redemption of order O-1001").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("O-1001")
    dialog.get_by_role("button", name="Delete redemption").click()
    expect(page.get_by_role("status")).to_contain_text("Redemption of order O-1001 deleted")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(page.get_by_text("1 of unlimited")).to_be_visible()
    assert tenant.get(COUPONS + "/THANKS")["redemptionCount"] == 1


def test_a_coupon_is_deleted_after_a_confirmation(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    make_coupon(tenant, "GONE", "Soon gone")
    page.goto("/admin#/coupons/GONE")
    page.get_by_role("button", name="Delete coupon").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Delete coupon").click()
    dialog.get_by_role("button", name="Delete coupon").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Coupons")
    expect(page.get_by_role("status")).to_contain_text("Coupon GONE deleted.")
    expect(page.get_by_text("No coupons yet")).to_be_visible()
    assert tenant.api.get(tenant.path(COUPONS + "/GONE")).status_code == 404
