"""Segment customer assignments in bulk: PUT and DELETE …/customers/bulk (operations 20-21)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.factories import Api, make_contact, run_sql, segment_error
from tests.segments.test_customer_assignments_api import make_customer

URL = "/segments/seg/customers/bulk"


@pytest.fixture
def world(api: Api, database_url: str) -> Api:
    api.create_segment(id="seg")
    for c in ("c1", "c2"):
        make_customer(database_url, api.tenant, c)
    make_contact(database_url, api.tenant, "L1", "c1")
    return api


def listed(api: Api) -> list[tuple[str, str | None, int]]:
    docs = api.request("GET", "/segments/seg/customers").json()
    return [(d["customer"]["id"], d.get("legalEntity", {}).get("id"), d["metadata"]["version"]) for d in docs]


class TestBulkUpsert:
    def test_each_item_on_its_own(self, world: Api) -> None:
        items: list[Any] = [
            {"customerId": "c1", "mixins": {"a": {"b": 1}}},
            {"customerId": "c1", "legalEntityId": "L1"},
            {"customerId": "ghost"},
            {"customerId": "c2", "legalEntityId": "L1"},
            {"customerId": "c1", "legalEntityId": "LX"},
            {"legalEntityId": "L1"},
            {"customerId": "bulk"},
            "nonsense",
        ]
        response = world.request("PUT", URL, json=items)
        assert response.status_code == 207
        body = response.json()
        assert body[:2] == [
            {"index": 0, "code": 201, "status": "Created"},
            {"index": 1, "code": 201, "status": "Created"},
        ]
        assert body[2:7] == [
            {"index": 2, "code": 400, "status": "Bad Request", "message": "The customer ghost does not exist."},
            {
                "index": 3,
                "code": 400,
                "status": "Bad Request",
                "message": "The customer c2 is not a contact of the legal entity L1.",
            },
            {"index": 4, "code": 400, "status": "Bad Request", "message": "The legal entity LX does not exist."},
            {
                "index": 5,
                "code": 400,
                "status": "Bad Request",
                "message": "Validation problem with request body: customerId is required.",
            },
            {"index": 6, "code": 400, "status": "Bad Request", "message": "'bulk' is not a valid customer id."},
        ]
        assert body[7]["index"] == 7
        assert body[7]["code"] == 400
        assert listed(world) == [("c1", None, 1), ("c1", "L1", 1)]
        again = world.request(
            "PUT",
            URL,
            json=[
                {"customerId": "c1", "metadata": {"version": 1}},
                {"customerId": "c1", "legalEntityId": "L1", "metadata": {"version": 5}},
            ],
        )
        assert again.json() == [
            {"index": 0, "code": 204, "status": "OK"},
            {
                "index": 1,
                "code": 409,
                "status": "Conflict",
                "message": "The resource you are attempting to access has changed.",
            },
        ]
        assert listed(world) == [("c1", None, 2), ("c1", "L1", 1)]

    def test_two_hundred_items_with_one_bad_one(self, world: Api, database_url: str) -> None:
        for i in range(199):
            make_customer(database_url, world.tenant, f"k{i:03d}")
        items = [{"customerId": f"k{i:03d}"} for i in range(199)] + [{"customerId": "ghost"}]
        body = world.request("PUT", URL, json=items).json()
        assert [r["code"] for r in body] == [201] * 199 + [400]
        count = run_sql(
            database_url, "SELECT count(*) AS n FROM segment_customer_assignments WHERE tenant = $1", world.tenant
        )
        assert count[0]["n"] == 199

    def test_too_many_items_is_400(self, world: Api) -> None:
        response = world.request("PUT", URL, json=[{"customerId": "c1"}] * 201)
        assert response.status_code == 400
        assert response.json() == segment_error(400, "A bulk request may hold at most 200 items; this one holds 201.")

    def test_unknown_segment_is_404(self, world: Api) -> None:
        response = world.request("PUT", "/segments/nope/customers/bulk", json=[{"customerId": "c1"}])
        assert response.status_code == 404
        assert response.json() == segment_error(
            404, "The resource with id nope has not been found.", resource_id="nope"
        )


class TestBulkDelete:
    def test_each_item_on_its_own(self, world: Api) -> None:
        world.request(
            "PUT", URL, json=[{"customerId": "c1"}, {"customerId": "c1", "legalEntityId": "L1"}, {"customerId": "c2"}]
        )
        response = world.request(
            "DELETE",
            URL,
            json=[{"customerId": "c1", "legalEntityId": "L1"}, {"customerId": "c2"}, {"customerId": "c9"}, "x"],
        )
        assert response.status_code == 207
        body = response.json()
        assert body[:3] == [{"index": i, "code": 204, "status": "OK"} for i in range(3)]
        assert body[3]["index"] == 3
        assert body[3]["code"] == 400
        assert listed(world) == [("c1", None, 1)]
