"""`segment-service import orders`: the batch path checks each row as POST /salesorders does (with the same
messages), replaces an order whose id exists as PUT does, keeps the purchase facts with each batch, and leaves other
tenants alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segment_service.settings import Settings
from tests.factories import Api, run_sql
from tests.orders.helpers import entry, order_body
from tests.transfer.helpers import call, errors, run_import, write_ndjson


def _customers(api: Api, *ids: str) -> None:
    for customer_id in ids:
        response = call(
            api, "POST", "/customer/{t}/customers", {"id": customer_id, "contactEmail": f"{customer_id}@x.io"}
        )
        assert response.status_code == 201, response.text


def test_rows_are_checked_as_the_api_checks_them(settings: Settings, api: Api, tmp_path: Path) -> None:
    _customers(api, "c1")
    rows: list[Any] = [
        order_body("c1", id="o1"),
        "{not json",
        order_body("nobody", id="o2"),
        order_body("c1", id="o3", entries=[]),
        order_body("c1", id="o4", legalEntityId="acme"),
        order_body(id="o5"),
        order_body("c1", id="o1", siteCode="replaced"),
    ]
    summary = run_import(settings, "orders", write_ndjson(tmp_path / "orders.ndjson", rows), api.tenant)
    api_answers = [call(api, "POST", "/order-v2/{t}/salesorders", rows[i]).json() for i in (2, 3, 4)]
    assert [(line, status) for line, status, _ in errors(summary)] == [(2, 400), (3, 400), (4, 400), (5, 400)]
    assert [message for _, _, message in errors(summary)[1:]] == [a["message"] for a in api_answers]
    assert (summary.rows, summary.created, summary.updated) == (7, 2, 1)
    assert call(api, "GET", "/order-v2/{t}/salesorders/o1").json()["siteCode"] == "replaced"
    assert call(api, "GET", "/order-v2/{t}/salesorders/o5").json()["customer"]["id"] == "ANONYMOUS"


def test_facts_follow_each_batch_and_a_second_import_replaces(settings: Settings, api: Api, tmp_path: Path) -> None:
    _customers(api, "c1", "c2")
    rows = [
        order_body(
            f"c{1 + n % 2}", entry(f"p{n % 3}", 1, 10.0), id=f"o{n}", created=f"2024-01-{1 + n % 28:02d}T00:00:00Z"
        )
        for n in range(40)
    ]
    path = write_ndjson(tmp_path / "orders.ndjson", rows)
    first = run_import(settings, "orders", path, api.tenant)
    assert (first.created, first.updated, first.failed) == (40, 0, 0)
    summary = call(api, "GET", "/order-v2/{t}/purchase-facts/c1").json()["currencies"]
    assert [(c["orderCount"], c["total"]) for c in summary] == [(20, 200.0)]
    lines = run_sql(
        settings.database_url or "",
        "SELECT sum(cardinality(product_ids)) FROM orders WHERE tenant = $1 AND customer_id IS NOT NULL",
        api.tenant,
    )
    assert lines[0][0] == 40
    second = run_import(settings, "orders", path, api.tenant)
    assert (second.created, second.updated, second.failed) == (0, 40, 0)
    summary = call(api, "GET", "/order-v2/{t}/purchase-facts/c1").json()["currencies"]
    assert [(c["orderCount"], c["total"]) for c in summary] == [(20, 200.0)]


def test_other_tenants_are_untouched(settings: Settings, api: Api, tmp_path: Path) -> None:
    _customers(api, "c1")
    other = "o" + api.tenant[1:]
    summary = run_import(settings, "orders", write_ndjson(tmp_path / "o.ndjson", [order_body("c1")]), other)
    assert summary.failed == 1  # c1 is a customer of the test's tenant, not of the other one
    assert call(api, "GET", "/order-v2/{t}/salesorders").json() == []


def test_a_batch_the_database_refuses_is_written_row_by_row_once(settings: Settings, api: Api, tmp_path: Path) -> None:
    """A NUL character fails the batch statement; the other rows then go one at a time, each exactly once."""
    _customers(api, "c1")
    rows = [order_body("c1"), order_body("c1", id="named"), order_body("c1", mixins={"note": "bad\u0000x"})]
    summary = run_import(settings, "orders", write_ndjson(tmp_path / "orders.ndjson", rows), api.tenant)
    assert (summary.created, summary.updated, [(line, status) for line, status, _ in errors(summary)]) == (
        2,
        0,
        [(3, 400)],
    )
    orders = call(api, "GET", "/order-v2/{t}/salesorders").json()
    assert len(orders) == 2
    assert all(o["metadata"]["version"] == 1 for o in orders)
    facts = call(api, "GET", "/order-v2/{t}/purchase-facts/c1").json()["currencies"]
    assert facts[0]["orderCount"] == 2
