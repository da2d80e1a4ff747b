"""Segment item assignments over HTTP: GET/PUT/DELETE /segments/{segmentId}/items/{type}/{itemId} and the list and
search (operations 24-28). Bulk operations and concurrency are in test_item_assignments_bulk.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.factories import AUTH_FAILURES, ISO_MILLIS, Api, assert_refused, assign_customer, run_sql, segment_error
from tests.segments.item_assignment_helpers import (
    ALWAYS,
    MANAGE,
    READ,
    add_category,
    add_product,
    bad_type,
    get_item,
    listed,
    missing_item,
    put_item,
    segment_not_found,
)

MIXINS = {
    "mixins": {"segmentAttributes": {"membershipStatus": "PREMIUM"}},
    "metadata": {"mixins": {"segmentAttributes": "https://example.com/segmentAttributes.json"}},
}


@pytest.fixture
def seg(api: Api) -> str:
    return api.create_segment(id="seg1")


class TestUpsertItem:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Api, seg: str, case: str) -> None:
        add_product(api, "p1")
        assert_refused(
            api, case, "PUT", f"/segments/{seg}/items/PRODUCT/p1", valid_scopes=READ, required=MANAGE, json={}
        )
        assert listed(api, seg) == []

    def test_customer_token_cannot_assign(self, api: Api, seg: str) -> None:
        add_product(api, "p1")
        response = put_item(api, seg, "PRODUCT", "p1", token=api.tokens.customer(api.tenant, "c1"))
        assert response.status_code == 403
        assert response.json() == segment_error(403, "Required scope(s): customersegment.segment_manage.")

    def test_seed_tutorial_request_creates_then_updates(self, api: Api, seg: str) -> None:
        add_product(api, "12468504", {"en": "Hammer", "de": "Hammer DE"})
        created = put_item(api, seg, "PRODUCT", "12468504")
        assert created.status_code == 201, created.text
        assert created.content == b""
        assert get_item(api, seg, "PRODUCT", "12468504") == {
            "segmentId": seg,
            "item": {"id": "12468504", "code": "code-12468504", "name": {"en": "Hammer", "de": "Hammer DE"}},
            "type": "PRODUCT",
            "metadata": {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1},
        }
        updated = put_item(api, seg, "PRODUCT", "12468504", MIXINS)
        assert updated.status_code == 204, updated.text
        assert updated.content == b""
        doc = get_item(api, seg, "product", "12468504")
        assert doc["mixins"] == MIXINS["mixins"]
        assert doc["metadata"] == {
            "createdAt": ISO_MILLIS,
            "modifiedAt": ISO_MILLIS,
            "version": 2,
            "mixins": MIXINS["metadata"]["mixins"],
        }

    def test_type_in_any_case_is_stored_upper_case(self, api: Api, database_url: str, seg: str) -> None:
        add_category(database_url, api, "c1", name={"en": "Tools"})
        assert put_item(api, seg, "Category", "c1").status_code == 201
        assert get_item(api, seg, "CATEGORY", "c1") == {
            "segmentId": seg,
            "item": {"id": "c1", "code": "cat-c1", "name": {"en": "Tools"}},
            "type": "CATEGORY",
            "metadata": {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1},
        }
        assert put_item(api, seg, "category", "c1").status_code == 204

    @pytest.mark.parametrize("raw", ["CUSTOMER", "products", "x"])
    def test_unknown_type_is_400(self, api: Api, seg: str, raw: str) -> None:
        response = put_item(api, seg, raw, "p1")
        assert response.status_code == 400
        assert response.json() == bad_type(raw)

    def test_unknown_segment_is_404(self, api: Api) -> None:
        add_product(api, "p1")
        response = put_item(api, "nope", "PRODUCT", "p1")
        assert response.status_code == 404
        assert response.json() == segment_not_found("nope")

    def test_unknown_product_or_category_is_400_naming_it(self, api: Api, database_url: str, seg: str) -> None:
        add_product(api, "p1")
        add_category(database_url, api, "c1")
        response = put_item(api, seg, "PRODUCT", "c1")
        assert response.status_code == 400
        assert response.json() == missing_item("product", "c1")
        response = put_item(api, seg, "CATEGORY", "p1")
        assert response.status_code == 400
        assert response.json() == missing_item("category", "p1")
        assert listed(api, seg) == []

    def test_product_of_another_tenant_is_unknown(self, api: Api, client: Any, tokens: Any, seg: str) -> None:
        other = Api(client, tokens, "o" + api.tenant[1:])
        add_product(other, "p1")
        response = put_item(api, seg, "PRODUCT", "p1")
        assert response.status_code == 400
        assert response.json() == missing_item("product", "p1")

    def test_stale_version_is_409_and_changes_nothing(self, api: Api, seg: str) -> None:
        add_product(api, "p1")
        assert put_item(api, seg, "PRODUCT", "p1").status_code == 201
        assert put_item(api, seg, "PRODUCT", "p1", {"metadata": {"version": 1}}).status_code == 204
        response = put_item(api, seg, "PRODUCT", "p1", {"mixins": {"a": 1}, "metadata": {"version": 1}})
        assert response.status_code == 409
        assert response.json() == segment_error(
            409, "The resource you are attempting to access has changed.", resource_id="p1"
        )
        doc = get_item(api, seg, "PRODUCT", "p1")
        assert doc["metadata"]["version"] == 2
        assert "mixins" not in doc

    def test_bulk_is_not_an_item_id(self, api: Api, seg: str) -> None:
        # PUT …/items/PRODUCT/bulk is the bulk operation: a single object is not its body.
        response = put_item(api, seg, "PRODUCT", "bulk")
        assert response.status_code == 400

    def test_invalid_body_is_400(self, api: Api, seg: str) -> None:
        add_product(api, "p1")
        response = put_item(api, seg, "PRODUCT", "p1", {"mixins": "nope"})
        assert response.status_code == 400
        message = "Validation problem with request body: Expected `object | null`, got `str` (at 'mixins')."
        assert response.json() == segment_error(400, message, field="mixins", type="invalid_value")

    def test_concurrent_upserts_of_one_assignment_make_one_row(self, api: Api, database_url: str, seg: str) -> None:
        add_product(api, "p1")
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda _: put_item(api, seg, "PRODUCT", "p1").status_code, range(16)))
        assert sorted(codes) == [201] + [204] * 15
        rows = run_sql(database_url, "SELECT version FROM segment_item_assignments WHERE tenant = $1", api.tenant)
        assert [r["version"] for r in rows] == [16]


class TestGetItem:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Api, seg: str, case: str) -> None:
        assert_refused(
            api,
            case,
            "GET",
            f"/segments/{seg}/items/PRODUCT/p1",
            valid_scopes=("customersegment.segment_manage",),
            required=READ,
        )

    def test_not_assigned_is_404(self, api: Api, seg: str) -> None:
        response = api.request("GET", f"/segments/{seg}/items/PRODUCT/p1")
        assert response.status_code == 404
        assert response.json() == segment_error(
            404, "The product p1 is not assigned to segment seg1.", resource_id="p1"
        )

    def test_unknown_segment_is_404(self, api: Api) -> None:
        response = api.request("GET", "/segments/nope/items/PRODUCT/p1")
        assert response.status_code == 404
        assert response.json() == segment_not_found("nope")

    def test_unknown_type_is_400(self, api: Api, seg: str) -> None:
        response = api.request("GET", f"/segments/{seg}/items/thing/p1")
        assert response.status_code == 400
        assert response.json() == bad_type("thing")

    def test_accept_language_narrows_the_name_and_fields_project(self, api: Api, seg: str) -> None:
        add_product(api, "p1", {"en": "Hammer", "de": "Hammer DE"})
        put_item(api, seg, "PRODUCT", "p1")
        doc = get_item(api, seg, "PRODUCT", "p1", headers={"Accept-Language": "de"})
        assert doc["item"]["name"] == {"de": "Hammer DE"}
        assert get_item(api, seg, "PRODUCT", "p1", params={"fields": "item.id,type"}) == {
            "item": {"id": "p1"},
            "type": "PRODUCT",
        }

    def test_read_own_sees_only_active_segments_it_is_a_member_of(self, api: Api, database_url: str) -> None:
        api.create_segment(id="mine", validity=ALWAYS)
        api.create_segment(id="theirs", validity=ALWAYS)
        api.create_segment(id="inactive", validity=ALWAYS, status="INACTIVE")
        add_product(api, "p1")
        for segment_id in ("mine", "theirs", "inactive"):
            assert put_item(api, segment_id, "PRODUCT", "p1").status_code == 201
        assign_customer(database_url, api.tenant, "mine", "c1")
        assign_customer(database_url, api.tenant, "inactive", "c1")
        assign_customer(database_url, api.tenant, "theirs", "c2")
        token = api.tokens.customer(api.tenant, "c1")
        assert api.request("GET", "/segments/mine/items/PRODUCT/p1", token=token).status_code == 200
        for segment_id in ("theirs", "inactive"):
            response = api.request("GET", f"/segments/{segment_id}/items/PRODUCT/p1", token=token)
            assert response.status_code == 404
            assert response.json() == segment_not_found(segment_id)
            response = api.request("GET", f"/segments/{segment_id}/items", token=token)
            assert response.status_code == 404
            assert response.json() == segment_not_found(segment_id)
        response = api.request("GET", "/segments/mine/items", token=token)
        assert [d["item"]["id"] for d in response.json()] == ["p1"]


class TestDeleteItem:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_removed(self, api: Api, seg: str, case: str) -> None:
        add_product(api, "p1")
        put_item(api, seg, "PRODUCT", "p1")
        assert_refused(api, case, "DELETE", f"/segments/{seg}/items/PRODUCT/p1", valid_scopes=READ, required=MANAGE)
        assert listed(api, seg) == ["PRODUCT:p1"]

    def test_removes_and_is_idempotent(self, api: Api, seg: str) -> None:
        add_product(api, "p1")
        put_item(api, seg, "PRODUCT", "p1")
        for _ in range(2):
            response = api.request("DELETE", f"/segments/{seg}/items/product/p1")
            assert response.status_code == 204
            assert response.content == b""
        assert listed(api, seg) == []
        assert api.request("DELETE", "/segments/nope/items/PRODUCT/p1").status_code == 204

    def test_unknown_type_is_400(self, api: Api, seg: str) -> None:
        response = api.request("DELETE", f"/segments/{seg}/items/thing/p1")
        assert response.status_code == 400
        assert response.json() == bad_type("thing")


class TestDeletedItemsLeaveSegments:
    def test_deleting_a_product_removes_its_assignments(self, api: Api, seg: str) -> None:
        other = api.create_segment(id="seg2")
        add_product(api, "p1")
        add_product(api, "p2")
        for segment_id in (seg, other):
            put_item(api, segment_id, "PRODUCT", "p1")
        put_item(api, seg, "PRODUCT", "p2")
        response = api.client.delete(
            f"/product/{api.tenant}/products/p1", headers={"Authorization": f"Bearer {api.token}"}
        )
        assert response.status_code == 204, response.text
        assert listed(api, seg) == ["PRODUCT:p2"]
        assert listed(api, other) == []

    @pytest.mark.parametrize("with_subcategories", [True, False])
    def test_deleting_a_category_removes_its_assignments(
        self, api: Api, database_url: str, seg: str, with_subcategories: bool
    ) -> None:
        add_category(database_url, api, "top")  # not "root": the Category API reserves it as an id
        add_category(database_url, api, "child", "top")
        for category_id in ("top", "child"):
            put_item(api, seg, "CATEGORY", category_id)
        response = api.client.delete(
            f"/category/{api.tenant}/categories/top",
            params={"withSubcategories": str(with_subcategories).lower()},
            headers={"Authorization": f"Bearer {api.token}"},
        )
        assert response.status_code == 204, response.text
        assert listed(api, seg) == ([] if with_subcategories else ["CATEGORY:child"])


class TestListItems:
    @pytest.fixture
    def seeded(self, api: Api, database_url: str, seg: str) -> Api:
        for product_id in ("p1", "p2", "p3"):
            add_product(api, product_id, {"en": f"EN {product_id}", "fr": f"FR {product_id}"})
        add_category(database_url, api, "c1")
        put_item(api, seg, "PRODUCT", "p1", {"mixins": {"tier": "gold"}})
        put_item(api, seg, "PRODUCT", "p2")
        put_item(api, seg, "PRODUCT", "p3")
        put_item(api, seg, "CATEGORY", "c1")
        put_item(api, seg, "PRODUCT", "p2")  # version 2
        return api

    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Api, seg: str, case: str) -> None:
        assert_refused(api, case, "GET", f"/segments/{seg}/items", valid_scopes=MANAGE, required=READ)

    def test_all_in_type_then_id_order(self, seeded: Api, seg: str) -> None:
        assert listed(seeded, seg) == ["CATEGORY:c1", "PRODUCT:p1", "PRODUCT:p2", "PRODUCT:p3"]

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("type:PRODUCT", ["PRODUCT:p1", "PRODUCT:p2", "PRODUCT:p3"]),
            ("item.id:(p1,c1)", ["CATEGORY:c1", "PRODUCT:p1"]),
            ("segmentId:seg1 type:CATEGORY", ["CATEGORY:c1"]),
            ("mixins.tier:gold", ["PRODUCT:p1"]),
            ("metadata.version:2", ["PRODUCT:p2"]),
            ("metadata.createdAt:>2020-01-01T00:00:00Z type:CATEGORY", ["CATEGORY:c1"]),
        ],
    )
    def test_q(self, seeded: Api, seg: str, q: str, expected: list[str]) -> None:
        assert listed(seeded, seg, q=q) == expected
        response = seeded.request("POST", f"/segments/{seg}/items/search", json={"q": q})
        assert [f"{d['type']}:{d['item']['id']}" for d in response.json()] == expected

    def test_unknown_q_field_is_400(self, seeded: Api, seg: str) -> None:
        response = seeded.request("GET", f"/segments/{seg}/items", params={"q": "nope:1"})
        assert response.status_code == 400
        assert response.json()["details"]["field"] == "q"

    def test_paging_sort_total_language_and_fields(self, seeded: Api, seg: str) -> None:
        response = seeded.request(
            "GET",
            f"/segments/{seg}/items",
            params={"sort": "item.id:DESC", "pageSize": "2", "pageNumber": "1", "fields": "item.id,item.name"},
            headers={"X-Total-Count": "true", "Accept-Language": "fr"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["X-Total-Count"] == "4"
        assert response.json() == [
            {"item": {"id": "p3", "name": {"fr": "FR p3"}}},
            {"item": {"id": "p2", "name": {"fr": "FR p2"}}},
        ]

    def test_search_without_a_body(self, seeded: Api, seg: str) -> None:
        response = seeded.request("POST", f"/segments/{seg}/items/search")
        assert response.status_code == 200, response.text
        assert len(response.json()) == 4

    def test_unknown_segment_is_404(self, api: Api) -> None:
        response = api.request("GET", "/segments/nope/items")
        assert response.status_code == 404
        assert response.json() == segment_not_found("nope")

    def test_empty_segment_is_an_empty_list(self, api: Api, seg: str) -> None:
        assert listed(api, seg) == []
