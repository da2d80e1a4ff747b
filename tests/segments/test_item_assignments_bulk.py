"""PUT and DELETE /segments/{segmentId}/items/{type}/bulk (operations 29-30): at most 200 items, 207 with one result
per item, each item committed or rejected on its own; references checked for the batch at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from tests.factories import AUTH_FAILURES, Api, assert_refused, segment_error
from tests.segments.item_assignment_helpers import (
    MANAGE,
    READ,
    add_category,
    add_product,
    add_products,
    bad_type,
    get_item,
    listed,
    put_item,
)

TOO_MANY = segment_error(400, "A bulk request may hold at most 200 items; this one holds 201.")


def results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 207, response.text
    body: list[dict[str, Any]] = response.json()
    assert [r["index"] for r in body] == list(range(len(body)))
    return body


def result(index: int, code: int, message: str | None = None) -> dict[str, Any]:
    status = {201: "Created", 204: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict"}[code]
    out: dict[str, Any] = {"index": index, "code": code, "status": status}
    if message is not None:
        out["message"] = message
    return out


@pytest.fixture
def seg(api: Api) -> str:
    return api.create_segment(id="seg1")


class TestBulkUpsert:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Api, seg: str, case: str) -> None:
        add_product(api, "p1")
        assert_refused(
            api,
            case,
            "PUT",
            f"/segments/{seg}/items/PRODUCT/bulk",
            valid_scopes=READ,
            required=MANAGE,
            json=[{"id": "p1"}],
        )
        assert listed(api, seg) == []

    def test_seed_tutorial_request(self, api: Api, seg: str) -> None:
        add_product(api, "p1")
        assert results(api.request("PUT", f"/segments/{seg}/items/PRODUCT/bulk", json=[{"id": "p1"}])) == [
            result(0, 201)
        ]
        assert results(
            api.request("PUT", f"/segments/{seg}/items/product/bulk", json=[{"id": "p1", "mixins": {"a": 1}}])
        ) == [result(0, 204)]
        doc = get_item(api, seg, "PRODUCT", "p1")
        assert doc["mixins"] == {"a": 1}
        assert doc["metadata"]["version"] == 2

    def test_each_item_on_its_own(self, api: Api, database_url: str, seg: str) -> None:
        add_category(database_url, api, "c1")
        add_category(database_url, api, "c2")
        put_item(api, seg, "CATEGORY", "c2")
        body: list[Any] = [
            {"id": "c1"},
            {"id": "missing"},
            {"id": "c2", "metadata": {"version": 7}},
            {"mixins": {}},
            "c1",
            {"id": "bulk"},
            {"id": "c2", "metadata": {"version": 1}},
        ]
        assert results(api.request("PUT", f"/segments/{seg}/items/CATEGORY/bulk", json=body)) == [
            result(0, 201),
            result(1, 400, "The category missing does not exist in this tenant."),
            result(2, 409, "The resource you are attempting to access has changed."),
            result(3, 400, "Validation problem with request body: Object missing required field `id`."),
            result(4, 400, "Validation problem with request body: Expected `object`, got `str`."),
            result(5, 400, "Invalid item id 'bulk': it is a reserved word."),
            result(6, 204),
        ]
        assert listed(api, seg) == ["CATEGORY:c1", "CATEGORY:c2"]
        assert get_item(api, seg, "CATEGORY", "c2")["metadata"]["version"] == 2

    def test_200_items_with_one_bad_one(self, api: Api, database_url: str, seg: str) -> None:
        ids = [f"p{i:03d}" for i in range(200)]
        add_products(database_url, api, ids[:-1])
        response = api.request("PUT", f"/segments/{seg}/items/PRODUCT/bulk", json=[{"id": i} for i in ids])
        expected = [result(i, 201) for i in range(199)]
        expected.append(result(199, 400, "The product p199 does not exist in this tenant."))
        assert results(response) == expected
        assert len(listed(api, seg, pageSize="1000")) == 199

    def test_201_items_is_400_for_the_whole_request(self, api: Api, seg: str) -> None:
        response = api.request("PUT", f"/segments/{seg}/items/PRODUCT/bulk", json=[{"id": f"p{i}"} for i in range(201)])
        assert response.status_code == 400
        assert response.json() == TOO_MANY

    def test_unknown_segment_is_404_per_item(self, api: Api) -> None:
        add_product(api, "p1")
        response = api.request("PUT", "/segments/nope/items/PRODUCT/bulk", json=[{"id": "p1"}, {"id": "p1"}])
        message = "The resource with id nope has not been found."
        assert results(response) == [result(0, 404, message), result(1, 404, message)]

    def test_unknown_type_is_400(self, api: Api, seg: str) -> None:
        response = api.request("PUT", f"/segments/{seg}/items/thing/bulk", json=[{"id": "p1"}])
        assert response.status_code == 400
        assert response.json() == bad_type("thing")

    def test_overlapping_bulk_upserts_both_answer_207(self, api: Api, database_url: str, seg: str) -> None:
        ids = [f"p{i:03d}" for i in range(60)]
        add_products(database_url, api, ids)
        bodies = [[{"id": i} for i in ids], [{"id": i} for i in reversed(ids)]]
        with ThreadPoolExecutor(max_workers=2) as pool:
            responses = list(
                pool.map(lambda body: api.request("PUT", f"/segments/{seg}/items/PRODUCT/bulk", json=body), bodies)
            )
        assert [r.status_code for r in responses] == [207, 207], [r.text[:200] for r in responses]
        codes = [item["code"] for r in responses for item in r.json()]
        assert sorted(codes) == [201] * 60 + [204] * 60
        assert len(listed(api, seg, pageSize="1000")) == 60


class TestBulkDelete:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_removed(self, api: Api, seg: str, case: str) -> None:
        add_product(api, "p1")
        put_item(api, seg, "PRODUCT", "p1")
        assert_refused(
            api, case, "DELETE", f"/segments/{seg}/items/PRODUCT/bulk", valid_scopes=READ, required=MANAGE, json=["p1"]
        )
        assert listed(api, seg) == ["PRODUCT:p1"]

    def test_each_item_on_its_own(self, api: Api, seg: str) -> None:
        for product_id in ("p1", "p2"):
            add_product(api, product_id)
            put_item(api, seg, "PRODUCT", product_id)
        response = api.request("DELETE", f"/segments/{seg}/items/product/bulk", json=["p1", 5, "nothing"])
        assert results(response) == [
            result(0, 204),
            result(1, 400, "Each item of a bulk delete must be an item id string."),
            result(2, 204),
        ]
        assert listed(api, seg) == ["PRODUCT:p2"]

    def test_201_items_is_400_for_the_whole_request(self, api: Api, seg: str) -> None:
        response = api.request("DELETE", f"/segments/{seg}/items/PRODUCT/bulk", json=[f"p{i}" for i in range(201)])
        assert response.status_code == 400
        assert response.json() == TOO_MANY

    def test_unknown_type_is_400(self, api: Api, seg: str) -> None:
        response = api.request("DELETE", f"/segments/{seg}/items/thing/bulk", json=["p1"])
        assert response.status_code == 400
        assert response.json() == bad_type("thing")


class TestBulkUpsertInOneStatement:
    """The common bulk (no versions, no repeated ids) is one statement; it must answer as item by item would."""

    def test_mixed_items_without_versions(self, api: Api, database_url: str, seg: str) -> None:
        add_category(database_url, api, "c1")
        add_category(database_url, api, "c2")
        put_item(api, seg, "CATEGORY", "c2")
        body: list[Any] = [{"id": "c2", "mixins": {"m": {"a": 1}}}, {"id": "missing"}, "c1", {"id": "c1"}]
        assert results(api.request("PUT", f"/segments/{seg}/items/CATEGORY/bulk", json=body)) == [
            result(0, 204),
            result(1, 400, "The category missing does not exist in this tenant."),
            result(2, 400, "Validation problem with request body: Expected `object`, got `str`."),
            result(3, 201),
        ]
        stored = get_item(api, seg, "CATEGORY", "c2")
        assert (stored["metadata"]["version"], stored["mixins"]) == (2, {"m": {"a": 1}})

    def test_a_repeated_id_is_applied_in_order(self, api: Api, database_url: str, seg: str) -> None:
        add_category(database_url, api, "c1")
        body = [{"id": "c1", "mixins": {"m": {"n": 1}}}, {"id": "c1", "mixins": {"m": {"n": 2}}}]
        assert results(api.request("PUT", f"/segments/{seg}/items/CATEGORY/bulk", json=body)) == [
            result(0, 201),
            result(1, 204),
        ]
        assert get_item(api, seg, "CATEGORY", "c1")["mixins"] == {"m": {"n": 2}}

    def test_a_value_the_database_refuses_fails_only_its_item(self, api: Api, database_url: str, seg: str) -> None:
        add_category(database_url, api, "c1")
        add_category(database_url, api, "c2")
        body = [{"id": "c1"}, {"id": "c2", "mixins": {"m": {"text": "nul\u0000"}}}]
        answer = results(api.request("PUT", f"/segments/{seg}/items/CATEGORY/bulk", json=body))
        assert [r["code"] for r in answer] == [201, 400]
        assert listed(api, seg) == ["CATEGORY:c1"]
