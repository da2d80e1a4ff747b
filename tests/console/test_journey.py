"""A main flow of the console with the keyboard alone: after `page.goto` opens the console, every step is a key press
(Tab, Shift+Tab, Enter, Space, Escape, the arrow keys) or typing, never a click. Sign in, create a segment (a failed
save first, which puts the focus on the field to fix), add a product to it, add a member, and open the question for
removing that member only to cancel it with Escape. At every step the focus must be where the reader expects it and
visibly so."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.console.conftest import Tenant, screenshot

SEGMENTS = "/customer-segment/{tenant}/segments"
#: How many presses of Tab may pass before a control counts as unreachable.
MAX_TABS = 60


def focused_description(page: Page) -> str:
    description: str = page.evaluate(
        """() => {
            const el = document.activeElement;
            if (!el || el === document.body) return "nothing";
            const name = el.getAttribute("aria-label") || el.labels?.[0]?.textContent || el.textContent || "";
            return `<${el.tagName.toLowerCase()}> ${name.trim().slice(0, 60)}`;
        }"""
    )
    return description


def tab_to(page: Page, target: Locator, *, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab backwards) until `target` has the focus; fails when it is not reached in MAX_TABS."""
    key = "Shift+Tab" if backwards else "Tab"
    passed: list[str] = []
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if target.evaluate("element => element === document.activeElement"):
            assert_focus_visible(page)
            return
        passed.append(focused_description(page))
    raise AssertionError(f"{target} not reached with {key}; the focus went through: {passed}")


#: Whether the focused element shows its focus: it matches :focus-visible and draws an outline or a ring.
FOCUS_SHOWN = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    const ring = style.boxShadow !== "none" && !/^rgba\\(0, 0, 0, 0\\) 0px 0px 0px( 0px)?$/.test(style.boxShadow);
    return el.matches(":focus-visible") && (outline || ring);
}"""


def assert_focus_visible(page: Page) -> None:
    """The focused element shows that it has the focus (Pico's rings fade in, hence the wait)."""
    try:
        page.wait_for_function(FOCUS_SHOWN, timeout=2000)
    except PlaywrightTimeoutError:
        style = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement); return [s.outline, s.boxShadow]; }"
        )
        raise AssertionError(
            f"no visible focus on {focused_description(page)}: outline, box-shadow = {style}"
        ) from None


def heading_has_focus(page: Page, text: str) -> None:
    """A new page moved the focus to its heading (so a screen reader starts reading there)."""
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(text)
    expect(heading).to_be_focused()


def test_a_segment_is_made_and_filled_with_the_keyboard_alone(page: Page, tenant: Tenant) -> None:
    tenant.put(
        "/customer/{tenant}/customers/ada",
        {"firstName": "Ada", "lastName": "Lovelace", "contactEmail": "ada@example.com"},
    )
    tenant.post(
        "/product/{tenant}/products", {"id": "p1", "code": "TEA-1", "name": {"en": "Green tea"}, "published": True}
    )
    page.goto("/admin")

    # Sign in: the first Tab reaches the client id; Enter in the secret submits.
    client_id = page.get_by_label("Client id")
    expect(client_id).to_be_visible()
    tab_to(page, client_id)
    page.keyboard.type(tenant.client_id)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Client secret")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type(tenant.client_secret)
    page.keyboard.press("Enter")
    heading_has_focus(page, "Segments")

    # The skip link is the first stop of the page and takes the reader to the heading again.
    skip = page.get_by_role("link", name="Skip to content")
    tab_to(page, skip, backwards=True)
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_be_focused()

    # New segment: a save without a name puts the focus on the name, with its error.
    tab_to(page, page.get_by_role("button", name="New segment"))
    page.keyboard.press("Enter")
    heading_has_focus(page, "New segment")
    tab_to(page, page.get_by_label("Id (optional)"))
    page.keyboard.type("kbd")
    page.keyboard.press("Enter")
    name = page.get_by_label("Name (en)")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()
    expect(page.get_by_role("group", name="Name")).to_contain_text("needs at least one language")
    page.keyboard.type("Keyboard club")
    status = page.get_by_label("Status")
    tab_to(page, status)
    page.keyboard.press("ArrowDown")
    expect(status).to_have_value("INACTIVE")
    tab_to(page, page.get_by_role("button", name="Create segment"))
    screenshot(page, "journey-new-segment")
    page.keyboard.press("Enter")
    heading_has_focus(page, "Keyboard club")
    expect(page.get_by_role("status")).to_contain_text("created")

    # Items tab: find a product and add it with Space.
    tab_to(page, page.get_by_role("link", name="Items"))
    page.keyboard.press("Enter")
    heading_has_focus(page, "Keyboard club")
    expect(page.get_by_text("No items yet")).to_be_visible()
    tab_to(page, page.get_by_label("Find a product"))
    page.keyboard.type("tea")
    page.keyboard.press("Enter")
    add_tea = page.get_by_role("button", name="Add product Green tea")
    tab_to(page, add_tea)
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_contain_text("“Green tea” added")
    expect(page.get_by_role("table", name="Items of the segment")).to_contain_text("Green tea")

    # Members tab (back up the page to the tabs): find a customer and add her with Enter.
    tab_to(page, page.get_by_role("link", name="Members"), backwards=True)
    page.keyboard.press("Enter")
    heading_has_focus(page, "Keyboard club")
    tab_to(page, page.get_by_label("Find a customer"))
    page.keyboard.type("lovel")
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("button", name="Add Ada Lovelace"))
    page.keyboard.press("Enter")
    members = page.get_by_role("table", name="Members of the segment")
    expect(members.get_by_role("row", name="Ada Lovelace")).to_contain_text("MANUAL")

    # Removing her asks first; Escape cancels, and the focus goes back to the button that asked.
    remove = page.get_by_role("button", name="Remove Ada Lovelace")
    tab_to(page, remove, backwards=True)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Remove Ada Lovelace from the segment?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    assert_focus_visible(page)
    # Tab stays inside the modal dialog.
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Remove member")).to_be_focused()
    screenshot(page, "journey-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(remove).to_be_focused()
    assert_focus_visible(page)

    assert [m["customer"]["id"] for m in tenant.get(SEGMENTS + "/kbd/customers")] == ["ada"]
    assert [i["item"]["id"] for i in tenant.get(SEGMENTS + "/kbd/items")] == ["p1"]
    assert tenant.get(SEGMENTS + "/kbd")["status"] == "INACTIVE"
