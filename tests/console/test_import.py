"""The Import page: a CSV uploaded as an import job, its progress to the end, its counts and the line that failed, in
the API's words; the recent jobs; an upload the API refuses, said in words."""

from __future__ import annotations

from playwright.sync_api import FilePayload, Page, expect

from tests.console.conftest import Tenant, screenshot


def test_a_csv_with_a_bad_line_is_imported_with_progress_counts_and_the_lines_error(
    signed_in: Page, tenant: Tenant
) -> None:
    tenant.put("/customer-segment/{tenant}/segments/gold", {"name": "Gold", "siteCode": "main"})
    tenant.post("/product/{tenant}/products", {"id": "p1", "code": "p1", "name": {"en": "Coffee"}})
    tenant.post("/product/{tenant}/products", {"id": "p2", "code": "p2", "name": {"en": "Tea"}})
    page = signed_in
    page.goto("/admin#/import")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import")
    page.get_by_label("Kind").select_option(label="Item assignments (products and categories of segments)")
    page.get_by_text("What a file of item assignments").click()
    expect(page.get_by_text("segmentId,type,id,mixins.note")).to_be_visible()
    csv = "segmentId,type,id\ngold,PRODUCT,p1\ngold,PRODUCT,nope\ngold,PRODUCT,p2\n"
    page.get_by_label("File", exact=True).set_input_files(
        files=[FilePayload(name="items.csv", mimeType="text/csv", buffer=csv.encode())]
    )
    page.get_by_role("button", name="Upload").click()

    job = page.locator("section.import-job")
    expect(job.get_by_text("3 of 3 rows")).to_be_visible()
    expect(job.get_by_role("progressbar")).to_have_attribute("value", "3")
    expect(job.get_by_role("heading", level=2)).to_have_text("Import of items.csv DONE")
    counts = job.get_by_label("Counts")
    expect(counts).to_contain_text("Imported2")
    expect(counts).to_contain_text("Created2")
    expect(counts).to_contain_text("Updated0")
    expect(counts).to_contain_text("Failed1")
    errors = job.get_by_role("table", name="Rows that were not imported")
    row = errors.get_by_role("row").nth(1)
    expect(row.get_by_role("cell").nth(0)).to_have_text("3")
    expect(row.get_by_role("cell").nth(1)).to_have_text("400")
    expect(row.get_by_role("cell").nth(2)).to_have_text("The product nope does not exist in this tenant.")
    recent = page.get_by_role("table", name="Recent imports")
    expect(recent.get_by_role("row").nth(1)).to_contain_text("items.csv")
    expect(recent.get_by_role("row").nth(1)).to_contain_text("DONE")
    screenshot(page, "import")

    items = tenant.get("/customer-segment/{tenant}/segments/gold/items")
    assert sorted(i["item"]["id"] for i in items) == ["p1", "p2"]


def test_a_file_the_api_refuses_is_said_in_words(signed_in: Page) -> None:
    page = signed_in
    page.goto("/admin#/import")
    page.get_by_label("Kind").select_option(label="Segments")
    page.get_by_label("File", exact=True).set_input_files(
        files=[FilePayload(name="segments.csv", mimeType="text/csv", buffer=b"id,name,name.en\ns1,One,One\n")]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The file cannot be read, so nothing was imported: line 1: the columns 'name' and 'name.en' name the same "
        "field twice."
    )
    expect(page.get_by_text("No imports yet.")).to_be_visible()


def test_a_slow_upload_shows_the_bytes_sent(signed_in: Page, tenant: Tenant) -> None:
    tenant.put("/customer-segment/{tenant}/segments/gold", {"name": "Gold", "siteCode": "main"})
    page = signed_in
    page.goto("/admin#/import")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import")
    page.get_by_label("Kind").select_option(label="Item assignments (products and categories of segments)")
    rows = "".join(f"gold,PRODUCT,missing-{n:07d}\n" for n in range(40_000))  # about 1 MB
    page.get_by_label("File", exact=True).set_input_files(
        files=[FilePayload(name="big.csv", mimeType="text/csv", buffer=("segmentId,type,id\n" + rows).encode())]
    )
    # A network slower than the loopback, so the upload lasts long enough to be watched (Chromium's throttling).
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 300_000},
    )
    page.get_by_role("button", name="Upload").click()
    bar = page.locator("progress#import-upload-bar[value]")
    expect(bar).to_be_visible()
    expect(page.get_by_text("Uploading big.csv:")).to_contain_text(" of ")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    expect(page.locator("section.import-job").get_by_text("40000 of 40000 rows")).to_be_visible(timeout=60_000)
