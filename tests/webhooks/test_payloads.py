"""Every catalogue event this service publishes, caused through the API and read from the outbox: its payload has
the catalogue's fields (webhooks/catalogue.json) and the right values; a bulk write publishes one event per item."""

from __future__ import annotations

from typing import Any

import pytest

from segment_service.settings import Settings
from segment_service.webhooks.catalogue import catalogue
from tests.factories import Api, run_sql
from tests.segments.item_assignment_helpers import add_category, add_product
from tests.webhooks.helpers import call, configure, dispatch, subscribe
from tests.webhooks.helpers import published_events as read_published

ALL_TYPES = [event.type for event in catalogue()]
#: Fields a payload leaves out when the data has no value for them (documented in docs/webhooks.md#payloads).
OPTIONAL = {
    "legalEntity",
    "legalEntityId",
    "mixins",
    "description",
    "validity",
    "previousStatus",
    "metadata",
    "parentId",
    "slug",
    "triggeredBy",
    "email",
    "updatedBy",
    "title",
    "firstName",
    "lastName",
    "middleName",
    "company",
    "preferredSite",
    "preferredCurrency",
    "preferredLanguage",
    "accounts",
    "contactPhone",
    "contactEmail",
    "onHold",
    "b2b",
    "type",
    "defaultAddress",
    "addresses",
    "productType",
    "taxClasses",
    "template",
    "media",
    "bundledProducts",
    "relatedItems",
    "classificationMixins",
    "classificationMixinsBefore",
    "classificationMixinsAfter",
    "customerNumber",
}


@pytest.fixture
def published(api: Api) -> Api:
    """The test's tenant receives every catalogue event (nothing delivers: the outbox keeps them)."""
    configure(api, "http://127.0.0.1:9/")
    subscribe(api, *ALL_TYPES)
    return api


def _check_schema(event_type: str, payload: dict[str, Any]) -> None:
    schema = next(e.event_schema for e in catalogue() if e.type == event_type)
    assert set(payload) <= set(schema), f"{event_type}: {set(payload) - set(schema)} are not in the catalogue"
    missing = set(schema) - set(payload) - OPTIONAL
    assert not missing, f"{event_type} lacks {missing}: {payload}"


def test_every_catalogue_event_has_its_fields(published: Api, database_url: str, settings: Settings) -> None:
    api = published
    tenant = api.tenant
    # Products, categories and a category assignment.
    add_product(api, "p1")
    call(api, "PATCH", "/product/{tenant}/products/p1", json={"name": {"en": "Coffee"}})
    add_category(database_url, api, "tools")
    add_category(database_url, api, "hammers", parent_id="tools")
    renamed = call(
        api,
        "PATCH",
        "/category/{tenant}/categories/hammers",
        json={"localizedName": {"en": "Big hammers"}, "metadata": {"version": 1}},
    )
    assert renamed.status_code == 204, renamed.text
    assignment = call(
        api, "POST", "/category/{tenant}/categories/hammers/assignments", json={"ref": {"id": "p1", "type": "PRODUCT"}}
    )
    assert assignment.status_code == 201, assignment.text
    # A segment, a customer in it, a product in it.
    segment_id = api.create_segment(status="ACTIVE")
    response = call(
        api,
        "POST",
        "/customer/{tenant}/customers",
        json={"contactEmail": "jane@example.com", "firstName": "Jane", "lastName": "Doe"},
    )
    assert response.status_code == 201, response.text
    customer_id = response.json()["id"]
    call(api, "PATCH", f"/customer/{{tenant}}/customers/{customer_id}", json={"lastName": "Roe"})
    member = f"/customer-segment/{{tenant}}/segments/{segment_id}/customers/{customer_id}"
    assert call(api, "PUT", member, json={}).status_code in (201, 204)
    assert call(api, "PUT", member, json={"mixins": {"x": {"y": 1}}}).status_code in (201, 204)
    item = f"/customer-segment/{{tenant}}/segments/{segment_id}/items/PRODUCT/p1"
    assert call(api, "PUT", item, json={}).status_code in (201, 204)
    assert call(api, "PUT", item, json={}).status_code in (201, 204)
    patch = [{"op": "replace", "path": "/status", "value": "INACTIVE"}]
    assert call(api, "PATCH", f"/customer-segment/{{tenant}}/segments/{segment_id}", json=patch).status_code == 204
    assert call(api, "DELETE", member).status_code == 204
    assert call(api, "DELETE", item).status_code == 204
    assert call(api, "DELETE", f"/customer-segment/{{tenant}}/segments/{segment_id}").status_code == 204
    assert call(api, "DELETE", f"/customer/{{tenant}}/customers/{customer_id}").status_code in (202, 204)
    assert call(api, "DELETE", "/category/{tenant}/categories/hammers").status_code == 204
    assert call(api, "DELETE", "/product/{tenant}/products/p1").status_code == 204

    published_events = read_published(database_url, tenant, settings)
    seen = {event_type for event_type, _ in published_events}
    # Order events have a test of their own (test_order_payloads.py).
    wanted = {t for t in ALL_TYPES if not t.startswith("order.")}
    assert seen == wanted, f"not published: {wanted - seen}"
    for event_type, payload in published_events:
        _check_schema(event_type, payload)
        if "tenant" in payload:
            assert payload["tenant"] == tenant
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event_type, payload in published_events:
        by_type.setdefault(event_type, []).append(payload)
    assert by_type["customer-segment.segment-updated"][0]["previousStatus"] == "ACTIVE"
    assert by_type["customer-segment.segment-updated"][0]["status"] == "INACTIVE"
    created = by_type["customer-segment.customer-assignment-created"][0]
    assert created["customer"] == {
        "id": customer_id,
        "firstName": "Jane",
        "lastName": "Roe",
        "email": "jane@example.com",
    }
    assert created["assignmentType"] == "MANUAL"
    assert created["segmentId"] == segment_id
    assert by_type["customer-segment.customer-assignment-updated"][0]["mixins"] == {"x": {"y": 1}}
    assert by_type["customer-segment.customer-assignment-deleted"][0] == {
        "customerId": customer_id,
        "segmentId": segment_id,
        "tenant": tenant,
    }
    item_created = by_type["customer-segment.item-assignment-created"][0]
    assert item_created["item"] == {"id": "p1", "code": "code-p1", "name": {"en": "Coffee"}}
    assert item_created["type"] == "PRODUCT"
    assert by_type["customer-segment.item-assignment-deleted"][0] == {
        "itemId": "p1",
        "segmentId": segment_id,
        "tenant": tenant,
        "type": "PRODUCT",
    }
    assert by_type["customer.deleted"][0] == {
        "customerNumber": customer_id,
        "email": "jane@example.com",
        "tenant": tenant,
    }
    assert by_type["category.updated"][0]["name"] == {"en": "Big hammers"}
    assert by_type["category.deleted"][0] == {"id": "hammers", "parentId": "tools"}
    assert by_type["assignment.created"][0]["assignment"]["ref"] == {"id": "p1", "type": "PRODUCT"}
    # Deleting the category took its product assignment: announced before the category's own deletion.
    (unassigned,) = by_type["assignment.deleted"]
    assert unassigned["categoryId"] == "hammers"
    assert unassigned["assignments"][0]["ref"]["id"] == "p1"
    assert by_type["product.deleted"] == [{"id": "p1"}]


def test_a_bulk_upsert_publishes_one_event_per_item(published: Api, database_url: str, settings: Settings) -> None:
    api = published
    for n in range(5):
        add_product(api, f"b{n}")
    segment_id = api.create_segment()
    bulk = f"/customer-segment/{{tenant}}/segments/{segment_id}/items/PRODUCT/bulk"
    response = call(api, "PUT", bulk, json=[{"id": f"b{n}"} for n in range(5)])
    assert [r["code"] for r in response.json()] == [201] * 5
    response = call(api, "PUT", bulk, json=[{"id": "b0"}, {"id": "b1"}])
    assert [r["code"] for r in response.json()] == [204, 204]
    items = [
        (t, p["item"]["id"]) for t, p in read_published(database_url, api.tenant, settings) if "item-assignment" in t
    ]
    assert items == [("customer-segment.item-assignment-created", f"b{n}") for n in range(5)] + [
        ("customer-segment.item-assignment-updated", "b0"),
        ("customer-segment.item-assignment-updated", "b1"),
    ]


def test_force_delete_publishes_the_assignments_it_takes_first(
    published: Api, database_url: str, settings: Settings
) -> None:
    api = published
    add_product(api, "f1")
    segment_id = api.create_segment()
    assert (
        call(api, "PUT", f"/customer-segment/{{tenant}}/segments/{segment_id}/items/PRODUCT/f1", json={}).status_code
        == 201
    )
    assert call(
        api, "PUT", f"/customer-segment/{{tenant}}/segments/{segment_id}/customers/c-unknown", json={}
    ).status_code in (201, 400)
    dispatch(settings, api.tenant)
    run_sql(database_url, "DELETE FROM webhook_events WHERE tenant = $1", api.tenant)
    response = call(api, "DELETE", f"/customer-segment/{{tenant}}/segments/{segment_id}?forceDelete=true")
    assert response.status_code == 204, response.text
    types = [t for t, _ in read_published(database_url, api.tenant, settings)]
    assert types[-1] == "customer-segment.segment-deleted"
    assert "customer-segment.item-assignment-deleted" in types[:-1]


def test_deleting_a_product_publishes_its_category_assignments(
    published: Api, database_url: str, settings: Settings
) -> None:
    api = published
    add_product(api, "d1")
    add_category(database_url, api, "shelf")
    call(api, "POST", "/category/{tenant}/categories/shelf/assignments", json={"ref": {"id": "d1", "type": "PRODUCT"}})
    dispatch(settings, api.tenant)
    run_sql(database_url, "DELETE FROM webhook_events WHERE tenant = $1", api.tenant)
    assert call(api, "DELETE", "/product/{tenant}/products/d1").status_code == 204
    published_events = read_published(database_url, api.tenant, settings)
    assert [t for t, _ in published_events] == ["assignment.deleted", "product.deleted"]
    assert published_events[0][1]["categoryId"] == "shelf"


def test_nothing_is_written_for_events_nobody_receives(api: Api, database_url: str, settings: Settings) -> None:
    configure(api, "http://127.0.0.1:9/")
    subscribe(api, "product.created")
    api.create_segment()
    assert read_published(database_url, api.tenant, settings) == []
    subscribe(api, "product.created", action="UNSUBSCRIBE")
    add_product(api, "n1")
    assert read_published(database_url, api.tenant, settings) == []
