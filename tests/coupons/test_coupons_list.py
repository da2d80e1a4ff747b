"""GET /coupons: q, sort, paging (16 a page), totalCount with Items-Count, showDeleted."""

from __future__ import annotations

from tests.coupons.helpers import CouponApi, coupon_error, iso_in


def codes(coupons: CouponApi, **params: str) -> list[str]:
    response = coupons.request("GET", "/coupons", params=params)
    assert response.status_code == 200, response.text
    return [c["code"] for c in response.json()]


def test_pages_hold_16_by_default_and_items_count_comes_on_request(coupons: CouponApi) -> None:
    made = sorted(coupons.create(code=f"C{n:02d}") for n in range(20))
    first = coupons.request("GET", "/coupons")
    assert [c["code"] for c in first.json()] == made[:16]
    assert "items-count" not in first.headers
    second = coupons.request("GET", "/coupons", params={"pageNumber": "2", "totalCount": "true"})
    assert [c["code"] for c in second.json()] == made[16:]
    assert second.headers["Items-Count"] == "20"
    sized = coupons.request("GET", "/coupons", params={"pageSize": "5", "pageNumber": "4", "totalCount": "true"})
    assert [c["code"] for c in sized.json()] == made[15:]
    assert sized.headers["Items-Count"] == "20"


def test_q_filters_on_members_status_and_mixins(coupons: CouponApi) -> None:
    coupons.create(code="PCT", discountType="PERCENT", discountPercentage=10, mixins={"campaign": {"name": "winter"}})
    coupons.create(code="OLD", restrictions={"validUntil": iso_in(-1)})
    coupons.create(code="BIG", discountAbsolute={"amount": 50, "currency": "EUR"})
    assert codes(coupons, q="discountType:PERCENT") == ["PCT"]
    assert codes(coupons, q="status:EXPIRED") == ["OLD"]
    assert codes(coupons, q="status:VALID", sort="code:DESC") == ["PCT", "BIG"]
    assert codes(coupons, q="discountAbsolute.amount:>10") == ["BIG"]
    assert codes(coupons, q="mixins.campaign.name:winter") == ["PCT"]
    assert codes(coupons, q="code:~^B") == ["BIG"]


def test_sort_by_any_member(coupons: CouponApi) -> None:
    coupons.create(code="A", name="zulu")
    coupons.create(code="B", name="alpha")
    assert codes(coupons, sort="name") == ["B", "A"]
    assert codes(coupons, sort="name:desc") == ["A", "B"]


def test_deleted_coupons_only_with_show_deleted(coupons: CouponApi) -> None:
    coupons.create(code="KEEP")
    coupons.create(code="DROP")
    coupons.request("DELETE", "/coupons/DROP")
    assert codes(coupons) == ["KEEP"]
    assert codes(coupons, showDeleted="true") == ["DROP", "KEEP"]
    assert codes(coupons, q="deleted:true", showDeleted="true") == ["DROP"]


def test_bad_list_parameters_are_400(coupons: CouponApi) -> None:
    for params, field in (
        ({"q": "nope:1"}, "q"),
        ({"q": "code:(a"}, "q"),
        ({"sort": "nope"}, "sort"),
        ({"pageSize": "0"}, "pageSize"),
        ({"pageNumber": "x"}, "pageNumber"),
        ({"totalCount": "perhaps"}, "totalCount"),
        ({"showDeleted": "2x"}, "showDeleted"),
    ):
        response = coupons.request("GET", "/coupons", params=params)
        assert response.status_code == 400, params
        assert response.json()["details"][0]["field"] == field, response.json()


def test_an_unknown_field_in_q_is_named(coupons: CouponApi) -> None:
    response = coupons.request("GET", "/coupons", params={"q": "colour:red"})
    body = response.json()
    assert body["status"] == 400
    assert body["type"] == "validation_violation"
    assert body["details"][0]["type"] == "invalid_query_parameter"
    assert body["message"].startswith("Unknown field 'colour'")


def test_other_tenants_coupons_are_not_listed(coupons: CouponApi) -> None:
    other = CouponApi(coupons.client, coupons.tokens, "o" + coupons.tenant[1:])
    other.create(code="THEIRS")
    assert codes(coupons) == []
    response = coupons.request("GET", "/coupons/THEIRS")
    assert response.json() == coupon_error(404, "Coupon with code THEIRS not found.", type="resource_not_found")


def test_q_finds_coupons_by_the_segments_and_customers_they_are_restricted_to(coupons: CouponApi) -> None:
    gold, silver = coupons.create_segment("gold"), coupons.create_segment("silver")
    coupons.create(code="GOLD", segmentRestricted=True, restrictions={"segments": [gold]})
    coupons.create(code="BOTH", segmentRestricted=True, restrictions={"segments": [silver, gold]})
    coupons.create(code="ANN", restrictions={"validFor": ["ann", "bob"]})
    coupons.create(code="OPEN")
    assert codes(coupons, q="restrictions.segments:gold") == ["BOTH", "GOLD"]
    assert codes(coupons, q="restrictions.segments:(silver,nope)") == ["BOTH"]
    assert codes(coupons, q="restrictions.segments:missing") == ["ANN", "OPEN"]
    assert codes(coupons, q="restrictions.validFor:bob") == ["ANN"]
    assert codes(coupons, q="restrictions.validFor:~^a") == ["ANN"]
    assert codes(coupons, q="restrictions.validFor:exists") == ["ANN"]
