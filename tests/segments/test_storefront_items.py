"""GET /segments/items (operation 23): the items of the caller's segments."""

from __future__ import annotations

from typing import Any

import pytest
from tests.factories import AUTH_FAILURES, ISO_MILLIS, Api, assert_refused, assign_customer, assign_item, segment_error
from tests.segments.storefront_helpers import build_shop, item_ids

READ = ("customersegment.segment_read", "customersegment.segment_read_own")


@pytest.fixture
def shop(api: Api, database_url: str) -> Api:
    build_shop(api, database_url)
    return api


def my_items(api: Api, token: str, **params: Any) -> list[str]:
    response = api.request("GET", "/segments/items", token=token, params=params)
    assert response.status_code == 200, response.text
    return item_ids(response.json())


class TestCustomer:
    def test_b2c_token_sees_every_active_membership(self, shop: Api) -> None:
        # gold (B2C), other-site (B2C), acme-only and globex-only (B2B): without a context, every assignment counts.
        token = shop.tokens.customer(shop.tenant, "c1")
        assert sorted(my_items(shop, token)) == ["cat-a", "p1", "p2", "p7", "p8", "p9"]

    def test_inactive_expired_and_future_segments_never_count(self, shop: Api) -> None:
        token = shop.tokens.customer(shop.tenant, "c1")
        assert not {"p4", "p5", "p6"} & set(my_items(shop, token, onlyActive="false"))

    def test_site_code_filters_on_the_segment(self, shop: Api) -> None:
        token = shop.tokens.customer(shop.tenant, "c1")
        assert sorted(my_items(shop, token, siteCode="main")) == ["cat-a", "p1", "p2", "p8", "p9"]
        assert my_items(shop, token, siteCode="other") == ["p7"]
        assert my_items(shop, token, siteCode="nowhere") == []

    def test_b2b_token_sees_its_legal_entity_and_b2c_memberships(self, shop: Api) -> None:
        token = shop.tokens.customer(shop.tenant, "c1", legal_entity_id="acme")
        assert sorted(my_items(shop, token)) == ["cat-a", "p1", "p2", "p7", "p8"]

    def test_legal_entity_parameter_comes_before_the_token(self, shop: Api) -> None:
        token = shop.tokens.customer(shop.tenant, "c1", legal_entity_id="acme")
        assert sorted(my_items(shop, token, legalEntityId="globex")) == ["cat-a", "p1", "p2", "p7", "p9"]

    @pytest.mark.parametrize("legal_entity_id", ["initech", "nope"])
    def test_legal_entity_of_someone_else_is_403(self, shop: Api, legal_entity_id: str) -> None:
        token = shop.tokens.customer(shop.tenant, "c1", legal_entity_id="acme")
        response = shop.request("GET", "/segments/items", token=token, params={"legalEntityId": legal_entity_id})
        assert response.status_code == 403
        assert response.json() == segment_error(
            403, f"The customer is not a contact of legal entity {legal_entity_id}."
        )

    def test_another_customer_sees_only_its_own(self, shop: Api) -> None:
        assert my_items(shop, shop.tokens.customer(shop.tenant, "c2")) == ["p3"]
        assert my_items(shop, shop.tokens.customer(shop.tenant, "stranger")) == []

    def test_another_tenants_memberships_are_invisible(self, shop: Api, database_url: str) -> None:
        other = Api(shop.client, shop.tokens, "o" + shop.tenant[1:])
        other.create_segment(id="gold", validity=None)
        assign_item(database_url, other.tenant, "gold", "secret")
        assign_customer(database_url, other.tenant, "gold", "c2")
        assert my_items(shop, shop.tokens.customer(shop.tenant, "c2")) == ["p3"]

    def test_q_sort_fields_paging_and_total(self, shop: Api) -> None:
        token = shop.tokens.customer(shop.tenant, "c1")
        assert my_items(shop, token, q="type:CATEGORY") == ["cat-a"]
        assert my_items(shop, token, q="type:PRODUCT", sort="item.id:DESC", siteCode="main") == ["p9", "p8", "p2", "p1"]
        response = shop.request(
            "GET",
            "/segments/items",
            token=token,
            headers={"X-Total-Count": "true"},
            params={"q": "type:PRODUCT", "pageSize": "2", "pageNumber": "2", "sort": "item.id", "fields": "item.id"},
        )
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "5"
        assert response.json() == [{"item": {"id": "p7"}}, {"item": {"id": "p8"}}]

    def test_whole_document_with_the_item_in_the_accepted_language(self, api: Api, database_url: str) -> None:
        response = api.client.post(
            f"/product/{api.tenant}/products",
            headers={"Authorization": f"Bearer {api.token}"},
            json={"id": "p1", "code": "P-1", "name": {"en": "Coffee", "de": "Kaffee"}},
        )
        assert response.status_code == 201, response.text
        api.create_segment(id="gold", validity=None)
        response = api.request(
            "PUT",
            "/segments/gold/items/product/p1",
            json={"mixins": {"a": {"b": 1}}, "metadata": {"mixins": {"a": "https://x/a.json"}}},
        )
        assert response.status_code == 201, response.text
        assign_customer(database_url, api.tenant, "gold", "c1")
        response = api.request(
            "GET", "/segments/items", token=api.tokens.customer(api.tenant, "c1"), headers={"Accept-Language": "de"}
        )
        assert response.json() == [
            {
                "segmentId": "gold",
                "item": {"id": "p1", "code": "P-1", "name": {"de": "Kaffee"}},
                "type": "PRODUCT",
                "mixins": {"a": {"b": 1}},
                "metadata": {
                    "createdAt": ISO_MILLIS,
                    "modifiedAt": ISO_MILLIS,
                    "version": 1,
                    "mixins": {"a": "https://x/a.json"},
                },
            }
        ]

    def test_an_item_in_two_segments_comes_once_per_segment(self, shop: Api, database_url: str) -> None:
        assign_item(database_url, shop.tenant, "silver", "p1")
        assign_customer(database_url, shop.tenant, "silver", "c1")
        response = shop.request(
            "GET", "/segments/items", token=shop.tokens.customer(shop.tenant, "c1"), params={"q": "item.id:p1"}
        )
        assert [(d["segmentId"], d["item"]["id"]) for d in response.json()] == [("gold", "p1"), ("silver", "p1")]


class TestServiceToken:
    def test_every_segment_of_the_tenant(self, shop: Api) -> None:
        assert sorted(my_items(shop, shop.token)) == ["cat-a", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"]

    def test_only_active_and_site(self, shop: Api) -> None:
        assert sorted(my_items(shop, shop.token, onlyActive="true")) == ["cat-a", "p1", "p2", "p3", "p7", "p8", "p9"]
        assert my_items(shop, shop.token, onlyActive="true", siteCode="other") == ["p7"]
        assert my_items(shop, shop.token, siteCode="main", q="item.id:(p4,p5)") == ["p5", "p4"]  # expired < inactive

    def test_order_is_segment_then_type_then_item(self, shop: Api) -> None:
        response = shop.request("GET", "/segments/items", params={"siteCode": "main", "onlyActive": "true"})
        assert [(d["segmentId"], d["type"], d["item"]["id"]) for d in response.json()] == [
            ("acme-only", "PRODUCT", "p8"),
            ("globex-only", "PRODUCT", "p9"),
            ("gold", "CATEGORY", "cat-a"),
            ("gold", "PRODUCT", "p1"),
            ("gold", "PRODUCT", "p2"),
            ("silver", "PRODUCT", "p3"),
        ]


class TestServiceTokenForACustomer:
    """`customerId` with segment_read: exactly what that customer's storefront gets (an extension the console uses)."""

    @pytest.mark.parametrize(
        ("legal_entity_id", "params"),
        [(None, {}), ("acme", {}), (None, {"legalEntityId": "globex"}), (None, {"siteCode": "other"})],
    )
    def test_the_same_items_as_the_customers_own_token(
        self, shop: Api, legal_entity_id: str | None, params: dict[str, str]
    ) -> None:
        own = shop.tokens.customer(shop.tenant, "c1", legal_entity_id=legal_entity_id)
        as_service = {"customerId": "c1", **params}
        if legal_entity_id is not None:
            as_service["legalEntityId"] = legal_entity_id
        assert my_items(shop, shop.token, **as_service) == my_items(shop, own, **params)

    def test_another_customer_and_an_unknown_one(self, shop: Api) -> None:
        assert my_items(shop, shop.token, customerId="c2") == ["p3"]
        assert my_items(shop, shop.token, customerId="nobody") == []

    def test_a_customer_token_may_name_only_itself(self, shop: Api) -> None:
        own = shop.tokens.customer(shop.tenant, "c2")
        assert my_items(shop, own, customerId="c2") == ["p3"]
        response = shop.request("GET", "/segments/items", token=own, params={"customerId": "c1"})
        assert response.status_code == 403
        assert "customerId" in response.json()["message"]


class TestRefusals:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Api, case: str) -> None:
        assert_refused(
            api, case, "GET", "/segments/items", valid_scopes=("customersegment.segment_manage",), required=READ
        )

    def test_guest_token_is_403(self, api: Api) -> None:
        response = api.request("GET", "/segments/items", token=api.tokens.anonymous(api.tenant))
        assert response.status_code == 403

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"q": "nope:1"}, "Unknown field 'nope'; known fields: item.id"),
            ({"q": "type:(PRODUCT"}, ""),
            ({"pageSize": "0"}, "pageSize"),
            ({"sort": "nope"}, "nope"),
            ({"onlyActive": "maybe"}, "onlyActive"),
        ],
    )
    def test_bad_parameters_are_400(self, shop: Api, params: dict[str, str], message: str) -> None:
        response = shop.request("GET", "/segments/items", token=shop.tokens.customer(shop.tenant, "c1"), params=params)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["code"] == 400
        assert body["status"] == "Bad Request"
        assert message in body["message"]
