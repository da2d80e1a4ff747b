"""`segment-service import`: every KIND from NDJSON and CSV, per-row errors with line numbers and the API's messages,
rows imported whole or not at all, other tenants untouched, and the command's --json summary and exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from segment_service.settings import Settings
from segment_service.transfer import importer
from tests.factories import Api
from tests.transfer.helpers import call, errors, run_import, write_csv, write_ndjson

NDJSON_ROWS: dict[str, list[Any]] = {
    "segments": [{"id": "gold", "name": {"en": "Gold"}, "siteCode": "main", "status": "ACTIVE"}],
    "customers": [{"id": "c1", "contactEmail": "c1@example.com", "firstName": "Ann", "active": True}],
    "legal-entities": [{"id": "acme", "name": "Acme Inc.", "type": "COMPANY"}],
    "contacts": [{"id": "ca1", "legalEntity": {"id": "acme"}, "customer": {"id": "c1"}, "type": "CONTACT"}],
    "products": [{"id": "p1", "code": "p1", "name": {"en": "Coffee"}, "published": True}],
    "categories": [{"id": "tools", "code": "tools", "localizedName": {"en": "Tools"}, "published": True}],
    "customer-assignments": [
        {"segmentId": "gold", "customerId": "c1", "mixins": {"rank": 3}},
        {"segmentId": "gold", "customerId": "c1", "legalEntityId": "acme"},
    ],
    "item-assignments": [
        {"segmentId": "gold", "type": "PRODUCT", "id": "p1", "mixins": {"rank": 3}},
        {"segmentId": "gold", "type": "CATEGORY", "id": "tools"},
    ],
    "orders": [
        {
            "id": "EON1",
            "customer": {"id": "c1"},
            "legalEntityId": "acme",
            "currency": "EUR",
            "status": "COMPLETED",
            "created": "2024-05-14T12:00:00Z",
            "entries": [{"id": "p1", "amount": 2, "calculatedPrice": {"finalPrice": {"grossValue": 9.5}}}],
        }
    ],
}

CSV_ROWS: dict[str, tuple[list[str], list[list[str]]]] = {
    "segments": (["id", "name.en", "siteCode", "status"], [["gold", "Gold", "main", "ACTIVE"]]),
    "customers": (["id", "contactEmail", "firstName", "active"], [["c1", "c1@example.com", "Ann", "true"]]),
    "legal-entities": (["id", "name", "type"], [["acme", "Acme Inc.", "COMPANY"]]),
    "contacts": (
        ["id", "legalEntity.id", "customer.id", "type", "primary"],
        [["ca1", "acme", "c1", "CONTACT", "false"]],
    ),
    "products": (["id", "code", "name.en", "published"], [["p1", "p1", "Coffee", "true"]]),
    "categories": (["id", "code", "localizedName.en", "published"], [["tools", "tools", "Tools", "true"]]),
    "customer-assignments": (
        ["segmentId", "customerId", "legalEntityId", "mixins"],
        [["gold", "c1", "", '{"rank": 3}'], ["gold", "c1", "acme", ""]],
    ),
    "item-assignments": (
        ["segmentId", "type", "id", "mixins.rank"],
        [["gold", "PRODUCT", "p1", "3"], ["gold", "CATEGORY", "tools", ""]],
    ),
    "orders": (
        ["id", "customer.id", "legalEntityId", "currency", "status", "created", "entries"],
        [
            [
                "EON1",
                "c1",
                "acme",
                "EUR",
                "COMPLETED",
                "2024-05-14T12:00:00Z",
                '[{"id": "p1", "amount": 2, "calculatedPrice": {"finalPrice": {"grossValue": 9.5}}}]',
            ]
        ],
    ),
}


def _import_every_kind(settings: Settings, tmp_path: Path, tenant: str, form: str) -> None:
    for kind in NDJSON_ROWS:
        if form == "ndjson":
            path = write_ndjson(tmp_path / f"{kind}.ndjson", list(NDJSON_ROWS[kind]))
        else:
            path = write_csv(tmp_path / f"{kind}.csv", *CSV_ROWS[kind])
        summary = run_import(settings, kind, path, tenant)
        assert errors(summary) == []
        assert (summary.rows, summary.created, summary.updated) == (len(NDJSON_ROWS[kind]),) * 2 + (0,), kind


@pytest.mark.parametrize("form", ["ndjson", "csv"])
def test_every_kind_is_imported_and_the_api_serves_it(settings: Settings, api: Api, tmp_path: Path, form: str) -> None:
    _import_every_kind(settings, tmp_path, api.tenant, form)

    segment = call(api, "GET", "/customer-segment/{t}/segments/gold").json()
    assert (segment["name"], segment["status"], segment["siteCode"]) == ({"en": "Gold"}, "ACTIVE", "main")
    customer = call(api, "GET", "/customer/{t}/customers/c1").json()
    assert (customer["contactEmail"], customer["firstName"], customer["active"]) == ("c1@example.com", "Ann", True)
    assert call(api, "GET", "/customer-management/{t}/legal-entities/acme").json()["name"] == "Acme Inc."
    contact = call(api, "GET", "/customer-management/{t}/contact-assignments/ca1").json()
    assert (contact["legalEntity"]["id"], contact["customer"]["id"], contact["primary"]) == ("acme", "c1", False)
    product = call(api, "GET", "/product/{t}/products/p1").json()
    assert (product["name"], product["published"]) == ({"en": "Coffee"}, True)
    assert call(api, "GET", "/category/{t}/categories/tools").json()["localizedName"] == {"en": "Tools"}
    members = call(api, "GET", "/customer-segment/{t}/segments/gold/customers").json()
    # CSV cells are text: a JSON cell keeps its number, a dotted mixins column of free-form JSON stays a string.
    assert sorted((m.get("legalEntity", {}).get("id", ""), m.get("mixins")) for m in members) == [
        ("", {"rank": 3}),
        ("acme", None),
    ]
    order = call(api, "GET", "/order-v2/{t}/salesorders/EON1").json()
    assert (order["customer"], order["legalEntityId"], order["status"], order["created"]) == (
        {"id": "c1"},
        "acme",
        "COMPLETED",
        "2024-05-14T12:00:00.000Z",
    )
    facts = call(api, "GET", "/order-v2/{t}/purchase-facts/c1").json()
    assert facts["currencies"] == [
        {
            "currency": "EUR",
            "orderCount": 1,
            "total": 9.5,
            "firstOrderAt": "2024-05-14T12:00:00.000Z",
            "lastOrderAt": "2024-05-14T12:00:00.000Z",
        }
    ]
    items = call(api, "GET", "/customer-segment/{t}/segments/gold/items").json()
    assert sorted((i["type"], i["item"]["id"], i.get("mixins")) for i in items) == [
        ("CATEGORY", "tools", None),
        ("PRODUCT", "p1", {"rank": "3"} if form == "csv" else {"rank": 3}),
    ]


def test_row_errors_name_their_line_and_carry_the_api_message(settings: Settings, api: Api, tmp_path: Path) -> None:
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Gold", "siteCode": "main"})
    call(api, "POST", "/product/{t}/products", {"id": "p1", "code": "p1", "name": {"en": "Coffee"}})
    missing_name = {"id": "s2", "siteCode": "main"}
    summary = run_import(
        settings,
        "segments",
        write_ndjson(
            tmp_path / "segments.ndjson",
            [
                {"id": "s1", "name": "One", "siteCode": "main"},
                "{not json",
                missing_name,
                "",
                {"id": "s3", "name": "Three", "siteCode": "main", "status": "BOGUS"},
            ],
        ),
        api.tenant,
    )
    api_answer = call(api, "POST", "/customer-segment/{t}/segments", missing_name)
    assert api_answer.status_code == 400
    assert [(line, status) for line, status, _ in errors(summary)] == [(2, 400), (3, 400), (5, 400)]
    assert errors(summary)[0][2].startswith("The request body is not valid JSON: ")
    assert errors(summary)[1][2] == api_answer.json()["message"]
    assert errors(summary)[2][2] == "Validation problem with request body: Invalid enum value 'BOGUS' (at 'status')."
    assert (summary.rows, summary.created) == (4, 1)

    unknown = run_import(
        settings,
        "item-assignments",
        write_ndjson(
            tmp_path / "items.ndjson",
            [
                {"segmentId": "gold", "type": "PRODUCT", "id": "p1"},
                {"segmentId": "gold", "type": "PRODUCT", "id": "nope"},
                {"segmentId": "nosuch", "type": "PRODUCT", "id": "p1"},
                {"segmentId": "gold", "type": "THING", "id": "p1"},
                {"type": "PRODUCT", "id": "p1"},
            ],
        ),
        api.tenant,
    )
    nope = call(api, "PUT", "/customer-segment/{t}/segments/gold/items/PRODUCT/nope", {})
    nosuch = call(api, "PUT", "/customer-segment/{t}/segments/nosuch/items/PRODUCT/p1", {})
    thing = call(api, "PUT", "/customer-segment/{t}/segments/gold/items/THING/p1", {})
    assert errors(unknown) == [
        (2, 400, nope.json()["message"]),
        (3, 404, nosuch.json()["message"]),
        (4, 400, thing.json()["message"]),
        (5, 400, "Validation problem with request body: Object missing required field `segmentId`."),
    ]
    assert nope.json()["message"] == "The product nope does not exist in this tenant."

    duplicate = run_import(
        settings,
        "customers",
        write_ndjson(
            tmp_path / "customers.ndjson", [{"contactEmail": "ann@example.com"}, {"contactEmail": "ann@example.com"}]
        ),
        api.tenant,
    )
    again = call(api, "POST", "/customer/{t}/customers", {"contactEmail": "ann@example.com"})
    assert again.status_code == 409
    assert errors(duplicate) == [(2, 409, again.json()["message"])]


@pytest.mark.parametrize("form", ["ndjson", "csv"])
def test_a_row_nested_too_deeply_is_that_row_s_error(settings: Settings, api: Api, tmp_path: Path, form: str) -> None:
    """A row nested deeper than the JSON decoder goes fails alone with the API's answer to such a body, rather than
    ending the import with a traceback."""
    deep = "[" * 5000 + "]" * 5000
    if form == "ndjson":
        path = write_ndjson(tmp_path / "segments.ndjson", [deep, {"id": "s2", "name": "Two", "siteCode": "main"}])
    else:
        path = write_csv(
            tmp_path / "segments.csv",
            ["id", "name.en", "siteCode", "mixins"],
            [["s1", "One", "main", deep], ["s2", "Two", "main", ""]],
        )
    too_deep = api.client.post(
        f"/customer-segment/{api.tenant}/segments",
        content=deep,
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert too_deep.status_code == 400
    summary = run_import(settings, "segments", path, api.tenant)
    assert errors(summary) == [(2 if form == "csv" else 1, 400, too_deep.json()["message"])]
    assert (summary.rows, summary.created) == (2, 1)
    assert call(api, "GET", "/customer-segment/{t}/segments/s2").status_code == 200


def test_a_csv_cell_may_be_as_long_as_an_api_body_allows(settings: Settings, api: Api, tmp_path: Path) -> None:
    """Python's csv module stops at 128 KiB per cell by default; the API takes bodies up to 10 MB, so a long
    description imports from CSV as it does from NDJSON."""
    description = "Fine coffee. " * 20_000  # 260 KB
    path = write_csv(
        tmp_path / "products.csv",
        ["id", "code", "name.en", "description.en"],
        [["p1", "p1", "Coffee", description], ["p2", "p2", "Tea", "short"]],
    )
    summary = run_import(settings, "products", path, api.tenant)
    assert (errors(summary), summary.created) == ([], 2)
    assert call(api, "GET", "/product/{t}/products/p1").json()["description"] == {"en": description}


def test_a_row_is_imported_whole_or_not_at_all(settings: Settings, api: Api, tmp_path: Path) -> None:
    call(api, "POST", "/customer/{t}/customers", {"id": "c1", "contactEmail": "c1@example.com"})
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Gold", "siteCode": "main"})
    contacts = run_import(
        settings,
        "contacts",
        write_ndjson(
            tmp_path / "contacts.ndjson", [{"id": "ca1", "legalEntity": {"id": "ghost"}, "customer": {"id": "c1"}}]
        ),
        api.tenant,
    )
    assert [(line, status) for line, status, _ in errors(contacts)] == [(1, 400)]
    assert call(api, "GET", "/customer-management/{t}/contact-assignments/ca1").status_code == 404
    categories = run_import(
        settings,
        "categories",
        write_ndjson(
            tmp_path / "categories.ndjson",
            [{"id": "hammers", "code": "hammers", "parentId": "ghost", "localizedName": {"en": "Hammers"}}],
        ),
        api.tenant,
    )
    assert [(line, status) for line, status, _ in errors(categories)] == [(1, 400)]
    assert call(api, "GET", "/category/{t}/categories/hammers?showUnpublished=true").status_code == 404

    # A NUL character makes the batch's one statement fail: the rows then go one by one, and only that row fails.
    call(api, "POST", "/customer/{t}/customers", {"id": "c2", "contactEmail": "c2@example.com"})
    rows = [
        {"segmentId": "gold", "customerId": "c1", "mixins": {"note": "a\u0000b"}},
        {"segmentId": "gold", "customerId": "c1", "legalEntityId": "nobody"},
        {"segmentId": "gold", "customerId": "c2", "mixins": {"note": "fine"}},
    ]
    nul = run_import(settings, "customer-assignments", write_ndjson(tmp_path / "members.ndjson", rows), api.tenant)
    assert errors(nul) == [
        (1, 400, "Invalid input: text cannot contain the NUL character (\\u0000)."),
        (2, 400, "The legal entity nobody does not exist."),
    ]
    members = call(api, "GET", "/customer-segment/{t}/segments/gold/customers").json()
    assert [(m["customer"]["id"], m["mixins"]) for m in members] == [("c2", {"note": "fine"})]


def test_existing_rows_are_replaced_and_assignments_upserted(settings: Settings, api: Api, tmp_path: Path) -> None:
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Old", "siteCode": "main"})
    call(api, "POST", "/product/{t}/products", {"id": "p1", "code": "p1", "name": {"en": "Coffee"}})
    summary = run_import(
        settings,
        "segments",
        write_ndjson(
            tmp_path / "segments.ndjson",
            [
                {"id": "gold", "name": "New", "siteCode": "main"},
                {"id": "gold", "name": "Stale", "siteCode": "main", "metadata": {"version": 1}},
            ],
        ),
        api.tenant,
    )
    assert (summary.created, summary.updated) == (0, 1)
    assert errors(summary) == [(2, 409, "The resource you are attempting to access has changed.")]
    assert call(api, "GET", "/customer-segment/{t}/segments/gold").json()["name"] == {"en": "New"}

    rows = [{"segmentId": "gold", "type": "PRODUCT", "id": "p1", "mixins": {"n": n}} for n in (1, 2)]
    first = run_import(settings, "item-assignments", write_ndjson(tmp_path / "items.ndjson", rows), api.tenant)
    assert (first.created, first.updated, first.failed) == (1, 1, 0)
    second = run_import(settings, "item-assignments", write_ndjson(tmp_path / "items.ndjson", rows[1:]), api.tenant)
    assert (second.created, second.updated, second.failed) == (0, 1, 0)
    item = call(api, "GET", "/customer-segment/{t}/segments/gold/items/PRODUCT/p1").json()
    assert (item["mixins"], item["metadata"]["version"]) == ({"n": 2}, 3)


def test_other_tenants_are_untouched(settings: Settings, api: Api, tmp_path: Path) -> None:
    other = api.tenant + "x"
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Theirs", "siteCode": "main"}, tenant=other)
    call(api, "POST", "/product/{t}/products", {"id": "p1", "code": "p1", "name": "Theirs"}, tenant=other)
    _import_every_kind(settings, tmp_path, api.tenant, "ndjson")
    assert call(api, "GET", "/customer-segment/{t}/segments/gold", tenant=other).json()["name"] == {"en": "Theirs"}
    assert call(api, "GET", "/customer-segment/{t}/segments/gold/items", tenant=other).json() == []
    assert call(api, "GET", "/customer-segment/{t}/segments/gold/customers", tenant=other).json() == []
    assert call(api, "GET", "/customer/{t}/customers/c1", tenant=other).status_code == 404


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "segment_service", "import", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_command_prints_a_json_summary_and_exits_1_when_a_row_failed(
    database_url: str, api: Api, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "segments.csv",
        ["id", "name.en", "siteCode"],
        [["gold", "Gold", "main"], ["bad", "Bad", ""], ["silver", "Silver", "main"]],
    )
    result = _cli(database_url, "segments", str(path), "--tenant", api.tenant, "--json")
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""  # no progress bar when stderr is no terminal
    summary = json.loads(result.stdout)
    api_answer = call(api, "POST", "/customer-segment/{t}/segments", {"id": "bad", "name": {"en": "Bad"}})
    assert {k: v for k, v in summary.items() if k not in ("seconds", "rowsPerSecond")} == {
        "kind": "segments",
        "file": str(path),
        "tenant": api.tenant,
        "rows": 3,
        "imported": 2,
        "created": 2,
        "updated": 0,
        "failed": 1,
        "errors": [{"line": 3, "status": 400, "message": api_answer.json()["message"]}],
    }

    plain = _cli(database_url, "segments", str(path), "--tenant", api.tenant)
    assert plain.returncode == 1
    assert plain.stdout.startswith(f"3 row(s) of segments for tenant {api.tenant}: 0 created, 2 replaced, 1 failed")
    assert plain.stderr == f"{path}:3: 400 {api_answer.json()['message']}\n"

    good = write_ndjson(tmp_path / "good.ndjson", [{"id": "bronze", "name": "Bronze", "siteCode": "main"}])
    assert _cli(database_url, "segments", str(good), "--tenant", api.tenant).returncode == 0

    other = tmp_path / "rows.txt"
    other.write_text("{}\n")
    refused = _cli(database_url, "segments", str(other), "--tenant", api.tenant)
    assert (refused.returncode, refused.stderr) == (
        2,
        "error: rows.txt: unknown file type; use a .ndjson or a .csv file\n",
    )
    bad_tenant = _cli(database_url, "segments", str(good), "--tenant", "Bad Tenant")
    assert bad_tenant.returncode == 2
    assert bad_tenant.stderr == (
        "error: Invalid tenant 'Bad Tenant': use 3-16 lowercase letters and digits, starting with a letter.\n"
    )


def test_a_terminal_gets_a_progress_bar(database_url: str, api: Api, tmp_path: Path) -> None:
    path = write_ndjson(
        tmp_path / "segments.ndjson", [{"id": f"s{n}", "name": "S", "siteCode": "main"} for n in range(120)]
    )
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "segment_service", "import", "segments", str(path), "--tenant", api.tenant],
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            env={**os.environ, "DATABASE_URL": database_url},
            timeout=120,
            check=False,
        )
        os.close(terminal)
        shown = b""
        with contextlib.suppress(OSError):  # the terminal is closed once everything is read
            while chunk := os.read(controller, 4096):
                shown += chunk
    finally:
        os.close(controller)
    assert result.returncode == 0
    assert b"Importing segments" in shown
    assert b"100%" in shown
    assert result.stdout.startswith("120 row(s) of segments")


def test_batches_are_written_in_the_files_order(
    settings: Settings, api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "ASSIGNMENT_BATCH", 4)
    monkeypatch.setattr(importer, "YIELD_EVERY", 1)
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Gold", "siteCode": "main"})
    for n in range(10):
        call(api, "POST", "/product/{t}/products", {"id": f"p{n}", "code": f"p{n}", "name": "P"})
    rows: list[object] = [
        {"segmentId": "gold", "type": "PRODUCT", "id": f"p{n % 10}", "mixins": {"row": n}} for n in range(23)
    ]
    rows[6] = {"segmentId": "gold", "type": "PRODUCT", "id": "missing"}
    summary = run_import(settings, "item-assignments", write_ndjson(tmp_path / "items.ndjson", rows), api.tenant)
    assert errors(summary) == [(7, 400, "The product missing does not exist in this tenant.")]
    assert (summary.rows, summary.created, summary.updated) == (23, 10, 12)
    items = call(api, "GET", "/customer-segment/{t}/segments/gold/items?sort=item.id").json()
    # The last row of each product wins, as the file's order says.
    assert [(i["item"]["id"], i["mixins"]["row"]) for i in items] == [
        (f"p{n}", n + 20 if n < 3 else n + 10) for n in range(10)
    ]


BAD_BODIES: dict[str, tuple[str, list[Any]]] = {
    "segments": (
        "/customer-segment/{t}/segments",
        [
            {"id": "s4", "name": "x", "siteCode": "main", "metadata": {"version": "one"}},
            {"id": "s5", "name": {"en": 5}, "siteCode": "main"},
            {"id": "s6", "name": "x", "siteCode": "main", "validity": {"from": "nope"}},
            [1, 2],
            {"id": 7, "name": "x", "siteCode": "main"},
            {"id": "bulk", "name": "x", "siteCode": "main"},
        ],
    ),
    "products": ("/product/{t}/products", [{"id": "p1", "code": 5}, {"id": "p2", "published": "yes"}]),
    "legal-entities": ("/customer-management/{t}/legal-entities", [{"id": "le1"}, {"name": "X", "type": "PERSON"}]),
    "customers": ("/customer/{t}/customers", [{"contactEmail": "not an email"}, {"password": "x"}]),
}


@pytest.mark.parametrize("kind", list(BAD_BODIES))
def test_row_messages_are_the_apis(settings: Settings, api: Api, tmp_path: Path, kind: str) -> None:
    path, bodies = BAD_BODIES[kind]
    summary = run_import(settings, kind, write_ndjson(tmp_path / "rows.ndjson", list(bodies)), api.tenant)
    answers = [call(api, "POST", path, body) for body in bodies]
    assert errors(summary) == [(n, a.status_code, a.json()["message"]) for n, a in enumerate(answers, start=1)]
    assert all(a.status_code == 400 for a in answers)


def test_assignment_rows_fail_as_their_put_does(settings: Settings, api: Api, tmp_path: Path) -> None:
    call(api, "PUT", "/customer-segment/{t}/segments/gold", {"name": "Gold", "siteCode": "main"})
    call(api, "POST", "/product/{t}/products", {"id": "p1", "code": "p1", "name": "P"})
    call(api, "PUT", "/customer-segment/{t}/segments/gold/items/PRODUCT/p1", {})
    deep: dict[str, Any] = {}
    for _ in range(40):
        deep = {"d": deep}
    rows = [
        ({"segmentId": "gold", "type": "PRODUCT", "id": "p1", "mixins": deep}, "gold", "p1"),
        ({"segmentId": "ghost", "type": "PRODUCT", "id": "p1", "mixins": deep}, "ghost", "p1"),
        ({"segmentId": "gold", "type": "PRODUCT", "id": "p1", "metadata": {"version": 9}}, "gold", "p1"),
    ]
    summary = run_import(
        settings, "item-assignments", write_ndjson(tmp_path / "items.ndjson", [r for r, _, _ in rows]), api.tenant
    )
    answers = [
        call(
            api,
            "PUT",
            f"/customer-segment/{{t}}/segments/{segment}/items/PRODUCT/{item}",
            {k: v for k, v in row.items() if k in ("mixins", "metadata")},
        )
        for row, segment, item in rows
    ]
    assert [a.status_code for a in answers] == [400, 404, 409]
    assert errors(summary) == [(n, a.status_code, a.json()["message"]) for n, a in enumerate(answers, start=1)]
