"""The rule page: the condition builder with its live preview, saving (evaluation state, AUTOMATIC members), the
API's 400 at the condition it names, a version conflict, and "why (not) in this segment?"."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.conftest import Tenant, screenshot

SEGMENTS = "/customer-segment/{tenant}/segments"
CUSTOMERS = "/customer/{tenant}/customers"


def _segment(tenant: Tenant, segment_id: str = "vip", name: str = "VIP") -> None:
    tenant.put(f"{SEGMENTS}/{segment_id}", {"name": {"en": name}, "siteCode": "main", "status": "ACTIVE"})


def _customer(tenant: Tenant, customer_id: str, first: str, last: str, company: str) -> None:
    body = {"firstName": first, "lastName": last, "company": company, "contactEmail": f"{customer_id}@example.com"}
    tenant.put(f"{CUSTOMERS}/{customer_id}", body)


def _rule(tenant: Tenant, condition: dict[str, object], segment_id: str = "vip") -> None:
    tenant.put(f"{SEGMENTS}/{segment_id}/rule", {"subject": "CUSTOMER", "condition": condition})


def test_the_preview_follows_each_change_and_saving_makes_automatic_members(signed_in: Page, tenant: Tenant) -> None:
    _segment(tenant)
    _customer(tenant, "ann", "Ann", "Lee", "Acme")
    _customer(tenant, "bob", "Bob", "Ray", "Acme")
    _customer(tenant, "cid", "Cid", "Moe", "Other")
    page = signed_in
    page.goto("/admin#/segments/vip/rule")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rule of VIP")
    expect(page.get_by_text("No conditions yet")).to_be_visible()
    page.get_by_role("button", name="Add a customer field condition to the rule").click()
    page.get_by_label("Field of condition 1").select_option(label="Company")
    page.get_by_label("Value of condition 1").fill("Acme")
    matches = page.get_by_label("Matches", exact=True)
    expect(matches).to_have_text("2")
    expect(page.get_by_label("Would join")).to_have_text("2")
    expect(page.get_by_role("link", name="Ann Lee")).to_be_visible()
    page.get_by_label("Value of condition 1").fill("Other")
    expect(matches).to_have_text("1")
    expect(page.get_by_role("link", name="Cid Moe")).to_be_visible()
    page.get_by_label("Comparison of condition 1").select_option(label="is not")
    expect(matches).to_have_text("2")
    screenshot(page, "rule-builder")

    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("status").filter(has_text="Rule saved")).to_be_visible()
    expect(page.get_by_text("READY")).to_be_visible()
    members = page.get_by_role("table", name="Members")
    expect(members.get_by_role("row")).to_have_count(3)
    expect(members.get_by_role("row", name="Ann Lee")).to_contain_text("AUTOMATIC")
    rule = tenant.get(f"{SEGMENTS}/vip/rule")
    assert rule["condition"] == {"all": [{"attribute": "customer.company", "op": "ne", "value": "Other"}]}
    assert rule["state"] == "READY"
    assert rule["memberCount"] == 2
    # Once evaluated, nobody would join any more.
    expect(page.get_by_label("Would join")).to_have_text("0")


def test_an_invalid_condition_shows_the_api_message_at_the_condition(signed_in: Page, tenant: Tenant) -> None:
    _segment(tenant)
    page = signed_in
    page.goto("/admin#/segments/vip/rule")
    page.get_by_role("button", name="Add a customer field condition to the rule").click()
    page.get_by_role("button", name="Add an order condition to the rule").click()
    page.get_by_label("Comparison of condition 2").select_option(label="is between")
    page.get_by_label("Value of condition 2: from").fill("10")
    page.get_by_label("Value of condition 2: to").fill("2")
    condition = page.locator("[data-condition='2']")
    expect(condition.get_by_role("alert")).to_contain_text("'between' takes [low, high] with low <= high")
    expect(page.locator("[data-condition='1']").get_by_role("alert")).to_have_count(0)
    expect(page.get_by_text("The rule cannot be previewed")).to_be_visible()
    page.get_by_label("Value of condition 2: to").fill("20")
    expect(condition.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_label("Matches", exact=True)).to_have_text("0")


def test_a_version_conflict_on_save_offers_to_reload(signed_in: Page, tenant: Tenant) -> None:
    _segment(tenant)
    _rule(tenant, {"all": [{"attribute": "customer.company", "op": "eq", "value": "Acme"}]})
    page = signed_in
    page.goto("/admin#/segments/vip/rule")
    expect(page.get_by_label("Value of condition 1")).to_have_value("Acme")
    page.get_by_label("Value of condition 1").fill("Initech")
    _rule(tenant, {"all": [{"attribute": "customer.company", "op": "eq", "value": "Globex"}]})
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("alert").filter(has_text="Someone else changed this rule")).to_be_visible()
    page.get_by_role("button", name="Reload the rule").click()
    expect(page.get_by_label("Value of condition 1")).to_have_value("Globex")
    expect(page.get_by_text("Someone else changed this rule")).to_have_count(0)


def test_explain_shows_the_evaluated_tree_with_actual_values(signed_in: Page, tenant: Tenant) -> None:
    _segment(tenant)
    _customer(tenant, "ann", "Ann", "Lee", "Acme")
    _customer(tenant, "bob", "Bob", "Ray", "Globex")
    _rule(
        tenant,
        {
            "all": [
                {"attribute": "customer.company", "op": "eq", "value": "Acme"},
                {"orders": {"within": "P90D"}, "measure": "count", "op": "eq", "value": 0},
            ]
        },
    )
    page = signed_in
    page.goto("/admin#/segments/vip/rule")
    page.get_by_label("Customer to explain").fill("bob")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Explain Bob Ray").click()
    explain = page.get_by_role("region", name="Why (not) in this segment?")
    expect(explain.get_by_text("Not a member, because the rule does not match.")).to_be_visible()
    company = explain.locator(".explain-leaf").nth(0)
    expect(company).to_contain_text("Company is Acme")
    expect(company).to_contain_text("actual: Globex")
    expect(company).to_contain_text("false")
    orders = explain.locator(".explain-leaf").nth(1)
    expect(orders).to_contain_text("Number of orders in the last 90 days is 0")
    expect(orders).to_contain_text("actual: 0")
    expect(orders).to_contain_text("true")
    page.get_by_label("Customer to explain").fill("Lee")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Explain Ann Lee").click()
    expect(explain.get_by_text("Member, because the rule matches.")).to_be_visible()
    screenshot(page, "explain")
