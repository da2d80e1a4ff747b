"""The console's segment pages: creating and editing a segment (field errors, the version conflict, deleting with its
assignments), and a segment's members (customers, contacts, exclusions, paging) and items (products, categories)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.console.conftest import Tenant, screenshot

SEGMENTS = "/customer-segment/{tenant}/segments"
CUSTOMERS = "/customer/{tenant}/customers"
#: The pager writes its ranges with an en dash.
DASH = "\N{EN DASH}"


def make_segment(tenant: Tenant, segment_id: str, name: str = "Gold", **extra: Any) -> None:
    tenant.post(SEGMENTS, {"id": segment_id, "name": {"en": name}, "siteCode": "main", "status": "ACTIVE", **extra})


def make_customer(tenant: Tenant, customer_id: str, first: str, last: str) -> None:
    tenant.post(
        CUSTOMERS,
        {"id": customer_id, "firstName": first, "lastName": last, "contactEmail": f"{customer_id}@example.com"},
    )


def test_a_segment_is_created_through_the_form_and_listed(signed_in: Page) -> None:
    page = signed_in
    page.get_by_role("button", name="New segment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New segment")
    page.get_by_label("Id (optional)").fill("vip")
    page.get_by_label("Name (en)").fill("Very important")
    page.get_by_role("button", name="Add a language (name)").click()
    page.get_by_label("Language of name 2").fill("de")
    page.get_by_label("Name (de)").fill("Sehr wichtig")
    page.get_by_label("Valid from").fill("2030-01-01T09:00")
    page.get_by_label("Status").select_option("INACTIVE")
    page.get_by_label("Site code").fill("eu")
    page.get_by_role("button", name="Create segment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Very important")
    expect(page.get_by_role("status")).to_contain_text("created")
    expect(page.get_by_text("No members yet")).to_be_visible()
    page.get_by_role("link", name="Segments", exact=True).first.click()
    row = page.get_by_role("row").filter(has_text="Very important")
    expect(row).to_contain_text("INACTIVE")
    expect(row).to_contain_text("eu")


def test_field_errors_are_shown_beside_their_fields(signed_in: Page) -> None:
    page = signed_in
    page.goto("/admin#/new-segment")
    page.get_by_label("Valid from").fill("2030-01-02T00:00")
    page.get_by_label("Valid until").fill("2030-01-01T00:00")
    page.get_by_role("button", name="Create segment").click()
    # The empty name is refused first; then, with a name, the validity.
    name_group = page.get_by_role("group", name="Name")
    expect(name_group).to_contain_text("needs at least one language")
    page.get_by_label("Name (en)").fill("Backwards")
    page.get_by_role("button", name="Create segment").click()
    until = page.get_by_label("Valid until")
    expect(until).to_have_attribute("aria-invalid", "true")
    expect(until).to_have_accessible_description(re.compile("later than validity.from"))
    screenshot(page, "segment-edit")


def test_an_edit_that_crosses_another_change_says_so(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    make_segment(tenant, "gold")
    page.goto("/admin#/segments/gold/edit")
    expect(page.get_by_label("Name (en)")).to_have_value("Gold")
    # Someone else saves meanwhile: the version the form holds is no longer the stored one.
    tenant.put(SEGMENTS + "/gold", {"name": {"en": "Gold (theirs)"}, "siteCode": "main"})
    page.get_by_label("Name (en)").fill("Gold (mine)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("changed by someone else")
    page.get_by_role("button", name="Reload the segment").click()
    expect(page.get_by_label("Name (en)")).to_have_value("Gold (theirs)")
    page.get_by_label("Name (en)").fill("Gold (mine)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gold (mine)")


def test_delete_says_what_goes_with_the_segment(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    make_segment(tenant, "gold")
    make_customer(tenant, "ada", "Ada", "Lovelace")
    make_customer(tenant, "bob", "Bob", "Builder")
    tenant.put(SEGMENTS + "/gold/customers/ada", {})
    tenant.put(SEGMENTS + "/gold/customers/bob", {})
    page.goto("/admin#/segments/gold")
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete the segment “Gold”?")
    expect(dialog).to_contain_text("2 customer assignments")
    expect(dialog).to_contain_text("0 item assignments")
    dialog.get_by_role("button", name="Delete segment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Segments")
    expect(page.get_by_role("status")).to_contain_text("deleted")
    assert tenant.api.get(tenant.path(SEGMENTS + "/gold")).status_code == 404


def test_items_are_added_from_a_product_search_and_the_category_tree(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    make_segment(tenant, "gold")
    tenant.post(
        "/product/{tenant}/products", {"id": "p1", "code": "TEA-1", "name": {"en": "Green tea"}, "published": True}
    )
    tenant.post("/category/{tenant}/categories", {"id": "drinks", "localizedName": {"en": "Drinks"}, "published": True})
    tenant.post(
        "/category/{tenant}/categories",
        {"id": "hot", "parentId": "drinks", "localizedName": {"en": "Hot drinks"}, "published": True},
    )
    page.goto("/admin#/segments/gold/items")
    expect(page.get_by_text("No items yet")).to_be_visible()
    page.get_by_label("Find a product").fill("green")
    page.get_by_role("button", name="Search").first.click()
    page.get_by_role("button", name="Add product Green tea").click()
    expect(page.get_by_role("status")).to_contain_text("“Green tea” added")
    expect(page.get_by_role("row").filter(has_text="Green tea")).to_contain_text("PRODUCT")
    page.get_by_role("button", name="Choose from the category trees").click()
    toggle = page.get_by_role("button", name="Drinks", exact=True)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.get_by_role("button", name="Add category Hot drinks").click()
    expect(page.get_by_role("row").filter(has_text="Hot drinks")).to_contain_text("CATEGORY")
    screenshot(page, "segment-items")
    page.get_by_role("button", name="Remove Green tea").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove item").click()
    expect(page.get_by_role("row").filter(has_text="Green tea")).to_have_count(0)
    items = tenant.get(SEGMENTS + "/gold/items")
    assert [(item["type"], item["item"]["id"]) for item in items] == [("CATEGORY", "hot")]


def test_members_are_added_excluded_and_removed(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    make_segment(tenant, "gold")
    make_customer(tenant, "ada", "Ada", "Lovelace")
    make_customer(tenant, "bob", "Bob", "Builder")
    tenant.post("/customer-management/{tenant}/legal-entities", {"id": "acme", "name": "Acme Corp"})
    tenant.post(
        "/customer-management/{tenant}/contact-assignments",
        {"legalEntity": {"id": "acme"}, "customer": {"id": "bob"}, "type": "CONTACT"},
    )
    page.goto("/admin#/segments/gold")
    expect(page.get_by_text("No members yet")).to_be_visible()
    expect(page.get_by_text("No one is excluded.")).to_be_visible()
    # A B2C customer, found by part of the name in another case.
    page.get_by_label("Find a customer").fill("lovel")
    page.get_by_role("search", name="Customer search").get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Add Ada Lovelace").click()
    expect(page.get_by_role("status")).to_contain_text("Ada Lovelace added")
    ada = page.get_by_role("row").filter(has_text="Ada Lovelace")
    expect(ada).to_contain_text("B2C")
    expect(ada).to_contain_text("MANUAL")
    # A contact of a legal entity.
    page.get_by_label("Find a legal entity").fill("acme")
    page.get_by_role("search", name="Legal entity search").get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Show the contacts of Acme Corp").click()
    page.get_by_role("button", name="Add Bob Builder as a contact of Acme Corp").click()
    expect(page.get_by_role("row").filter(has_text="Bob Builder")).to_contain_text("Acme Corp")
    screenshot(page, "segment-members")
    # Exclude the contact: it leaves the members and shows among the exclusions.
    page.get_by_role("button", name="Exclude Bob Builder").click()
    page.get_by_role("dialog").get_by_role("button", name="Exclude").click()
    exclusions = page.get_by_role("table", name="Exclusions from the segment")
    expect(exclusions).to_contain_text("Bob Builder")
    expect(exclusions).to_contain_text("Contact of Acme Corp")
    members = page.get_by_role("table", name="Members of the segment")
    expect(members).not_to_contain_text("Bob Builder")
    # Remove the B2C member.
    page.get_by_role("button", name="Remove Ada Lovelace").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove member").click()
    expect(page.get_by_text("No members yet")).to_be_visible()
    # Lift the exclusion.
    page.get_by_role("button", name="Lift the exclusion of Bob Builder").click()
    page.get_by_role("dialog").get_by_role("button", name="Lift exclusion").click()
    expect(page.get_by_text("No one is excluded.")).to_be_visible()
    assert tenant.get(SEGMENTS + "/gold/customers") == []


def test_members_page_and_search(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    make_segment(tenant, "gold")
    for number in range(23):
        make_customer(tenant, f"c{number:02d}", "Member", f"Number{number:02d}")
    bulk = [{"customerId": f"c{number:02d}"} for number in range(23)]
    response = tenant.api.put(tenant.path(SEGMENTS + "/gold/customers/bulk"), json=bulk)
    assert response.status_code == 207, response.text
    page.goto("/admin#/segments/gold/members")
    members = page.get_by_role("table", name="Members of the segment")
    pager = page.get_by_role("navigation", name="Member pages")
    expect(pager).to_contain_text(f"1{DASH}20 of 23")
    expect(members.get_by_role("row")).to_have_count(21)  # the header and 20
    pager.get_by_role("button", name="Next").click()
    expect(pager).to_contain_text(f"21{DASH}23 of 23")
    expect(members).to_contain_text("Member Number22")
    page.get_by_label("Search in").select_option(label="Last name")
    page.get_by_label("Contains").fill("number07")
    page.get_by_role("search", name="Find members").get_by_role("button", name="Search").click()
    expect(members.get_by_role("row")).to_have_count(2)
    expect(members).to_contain_text("Member Number07")


def test_the_coupons_tab_lists_the_segments_coupons(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    make_segment(tenant, "gold")
    make_segment(tenant, "silver", "Silver")
    for code, segment in (("GOLD10", "gold"), ("SILVER5", "silver")):
        tenant.post(
            "/coupon/{tenant}/coupons",
            {
                "code": code,
                "name": f"{code} off",
                "discountType": "PERCENT",
                "discountPercentage": 10,
                "segmentRestricted": True,
                "restrictions": {"segments": [segment]},
            },
        )
    page.goto("/admin#/segments/gold/coupons")
    table = page.get_by_role("table", name="Coupons restricted to the segment")
    expect(table.get_by_role("link", name="GOLD10")).to_have_attribute("href", "#/coupons/GOLD10")
    expect(table).not_to_contain_text("SILVER5")
    link = page.get_by_role("button", name="New coupon for this segment")
    expect(link).to_have_attribute("href", "#/new-coupon?segment=gold")


def test_an_empty_segment_is_deleted_from_its_edit_page(signed_in: Page, tenant: Tenant) -> None:
    page = signed_in
    make_segment(tenant, "empty", "Empty")
    page.goto("/admin#/segments/empty/edit")
    page.get_by_role("button", name="Delete segment").click()
    dialog = page.get_by_role("dialog", name="Delete the segment “Empty”?")
    expect(dialog).to_contain_text("It has no customer or item assignments.")
    dialog.get_by_role("button", name="Delete segment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Segments")
    assert tenant.api.get(tenant.path(SEGMENTS + "/empty")).status_code == 404
