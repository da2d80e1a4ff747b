"""GET /coupons/{code}/redemptions, GET/DELETE /coupons/{code}/redemptions/{id}."""

from __future__ import annotations

from typing import Any

from tests.coupons.helpers import CouponApi, coupon_error, not_found
from tests.factories import ISO_MILLIS


def redeem(coupons: CouponApi, code: str, customer: str, **extra: Any) -> str:
    body = {"orderTotal": {"amount": 100, "currency": "USD"}, "discount": {"amount": 5, "currency": "USD"}, **extra}
    response = coupons.redeem(code, body, token=coupons.customer_token(customer))
    assert response.status_code == 201, response.text
    redemption_id: str = response.json()["id"]
    return redemption_id


def test_a_redemption_reads_back_as_it_was_made(coupons: CouponApi, database_url: str) -> None:
    from tests.factories import make_contact

    make_contact(database_url, coupons.tenant, "L1", "C1")
    code = coupons.create(code="10-off")
    redemption_id = redeem(coupons, code, "C1", orderCode="O-7", legalEntityId="L1")
    response = coupons.request("GET", f"/coupons/{code}/redemptions/{redemption_id}")
    assert response.status_code == 200
    assert response.json() == {
        "id": redemption_id,
        "code": "10-OFF",
        "orderCode": "O-7",
        "customerNumber": "C1",
        "legalEntityId": "L1",
        "orderTotal": {"amount": 100.0, "currency": "USD"},
        "discount": {"amount": 5.0, "currency": "USD"},
        "redeemedAt": ISO_MILLIS,
    }


def test_list_pages_filters_and_counts(coupons: CouponApi) -> None:
    code = coupons.create()
    made = [redeem(coupons, code, f"C{n}", orderCode=f"O-{n}") for n in range(18)]
    first = coupons.request("GET", f"/coupons/{code}/redemptions", params={"totalCount": "true"})
    assert first.status_code == 200
    assert [r["id"] for r in first.json()] == made[:16]  # oldest first
    assert first.headers["Items-Count"] == "18"
    mine = coupons.request("GET", f"/coupons/{code}/redemptions", params={"q": "customerNumber:C3"}).json()
    assert [r["orderCode"] for r in mine] == ["O-3"]
    newest = coupons.request(
        "GET", f"/coupons/{code}/redemptions", params={"sort": "redeemedAt:desc", "pageSize": "1"}
    ).json()
    assert [r["id"] for r in newest] == [made[-1]]
    bad = coupons.request("GET", f"/coupons/{code}/redemptions", params={"q": "colour:red"})
    assert bad.status_code == 400
    assert bad.json()["details"][0]["field"] == "q"
    assert coupons.request("GET", "/coupons/NOPE/redemptions").json() == not_found("NOPE")


def test_customers_read_only_their_own_redemptions(coupons: CouponApi) -> None:
    code = coupons.create()
    own = redeem(coupons, code, "C1")
    other = redeem(coupons, code, "C2")
    token = coupons.customer_token("C1")
    assert coupons.request("GET", f"/coupons/{code}/redemptions/{own}", token=token).status_code == 200
    hidden = coupons.request("GET", f"/coupons/{code}/redemptions/{other}", token=token)
    assert hidden.status_code == 404
    assert hidden.json() == coupon_error(
        404, f"Redemption {other} of coupon {code} not found.", type="resource_not_found"
    )
    refused = coupons.request(
        "GET", f"/coupons/{code}/redemptions/{other}", params={"customerNumber": "C2"}, token=token
    )
    assert refused.status_code == 403
    on_behalf = coupons.service_token("coupon.coupon_redeem_on_behalf")
    for customer, visible in (("C2", 200), ("C1", 404)):
        response = coupons.request(
            "GET", f"/coupons/{code}/redemptions/{other}", params={"customerNumber": customer}, token=on_behalf
        )
        assert response.status_code == visible
    assert coupons.request("GET", f"/coupons/{code}/redemptions/{other}", token=on_behalf).status_code == 404
    manager = coupons.service_token("coupon.coupon_manage")
    response = coupons.request(
        "GET", f"/coupons/{code}/redemptions/{other}", params={"customerNumber": "C1"}, token=manager
    )
    assert response.status_code == 200  # coupon_manage reads any redemption
    assert coupons.request("GET", f"/coupons/{code}/redemptions", token=token).status_code == 403


def test_deleting_a_redemption_gives_the_use_back(coupons: CouponApi) -> None:
    code = coupons.create(maxRedemptions=1)
    redemption_id = redeem(coupons, code, "C1")
    assert coupons.get(code)["status"] == "USED"
    response = coupons.request("DELETE", f"/coupons/{code}/redemptions/{redemption_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert coupons.get(code)["redemptionCount"] == 0
    assert coupons.get(code)["status"] == "VALID"
    assert coupons.request("GET", f"/coupons/{code}/redemptions/{redemption_id}").status_code == 404
    again = coupons.request("DELETE", f"/coupons/{code}/redemptions/{redemption_id}")
    assert again.status_code == 404
    assert coupons.request("DELETE", f"/coupons/NOPE/redemptions/{redemption_id}").json() == not_found("NOPE")
    redeem(coupons, code, "C2")


def test_a_deleted_coupons_redemptions_stay_readable(coupons: CouponApi) -> None:
    code = coupons.create()
    redemption_id = redeem(coupons, code, "C1")
    coupons.request("DELETE", f"/coupons/{code}")
    listed = coupons.request("GET", f"/coupons/{code}/redemptions").json()
    assert [r["id"] for r in listed] == [redemption_id]


def test_redemptions_of_another_coupon_or_tenant_are_not_found(coupons: CouponApi) -> None:
    first, second = coupons.create(), coupons.create()
    redemption_id = redeem(coupons, first, "C1")
    assert coupons.request("GET", f"/coupons/{second}/redemptions/{redemption_id}").status_code == 404
    other = CouponApi(coupons.client, coupons.tokens, "o" + coupons.tenant[1:])
    other.create(code=first)
    assert other.request("GET", f"/coupons/{first}/redemptions/{redemption_id}").status_code == 404
    assert other.request("GET", f"/coupons/{first}/redemptions").json() == []
