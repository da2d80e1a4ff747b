"""POST /coupons, GET/PUT/PATCH/DELETE /coupons/{code}: codes, versions, merge patches and soft deletion."""

from __future__ import annotations

import re

from tests.coupons.helpers import CouponApi, coupon_body, coupon_error, current_window, invalid, not_found


class TestCreate:
    def test_codes_are_stored_upper_case(self, coupons: CouponApi) -> None:
        response = coupons.request("POST", "/coupons", json=coupon_body(code="winter-Sale_1"))
        assert response.status_code == 201
        assert response.json() == {"id": "WINTER-SALE_1"}
        assert coupons.get("winter-sale_1")["code"] == "WINTER-SALE_1"

    def test_a_code_is_generated_when_none_is_given(self, coupons: CouponApi) -> None:
        first, second = coupons.create(), coupons.create(code=None)
        assert re.fullmatch(r"[A-Z2-9]{8}", first)
        assert re.fullmatch(r"[A-Z2-9]{8}", second)
        assert first != second
        assert coupons.get(first)["name"] == "Five off"

    def test_defaults(self, coupons: CouponApi) -> None:
        code = coupons.create(discountType=None)
        assert coupons.get(code) == {
            "code": code,
            "name": "Five off",
            "discountType": "ABSOLUTE",
            "discountAbsolute": {"amount": 5.0, "currency": "USD"},
            "allowAnonymous": False,
            "maxRedemptions": -1,
            "maxRedemptionsPerCustomer": -1,
            "discountCalculationType": "SUBTOTAL",
            "categoryRestricted": False,
            "segmentRestricted": False,
            "restrictions": {"validFor": []},
            "metadata": {"version": 1},
            "status": "VALID",
            "redemptionCount": 0,
            "referralCoupon": False,
            "deleted": False,
        }

    def test_a_duplicate_code_is_409_in_any_case(self, coupons: CouponApi) -> None:
        coupons.create(code="DUP")
        response = coupons.request("POST", "/coupons", json=coupon_body(code="dup"))
        assert response.status_code == 409
        assert response.json() == coupon_error(
            409,
            f"Duplicate Coupon 'DUP' on tenant '{coupons.tenant}'",
            type="conflict_resource",
            field="code",
            detail_type="duplicate_value",
        )

    def test_the_code_of_a_deleted_coupon_stays_taken(self, coupons: CouponApi) -> None:
        coupons.create(code="GONE")
        assert coupons.request("DELETE", "/coupons/GONE").status_code == 204
        assert coupons.request("POST", "/coupons", json=coupon_body(code="GONE")).status_code == 409

    def test_codes_that_cannot_be_a_path_segment_are_400(self, coupons: CouponApi) -> None:
        for code in ("", "a/b", "with space", "x" * 67):
            response = coupons.request("POST", "/coupons", json=coupon_body(code=code))
            assert response.status_code == 400, code
            assert response.json()["details"][0]["field"] == "code"

    def test_codes_are_checked_before_they_are_upper_cased(self, coupons: CouponApi) -> None:
        # str.upper would make STRASSE of straße and a valid code of the dotless i (U+0131).
        for code in ("straße", "\u0131d", "\ufb00"):
            response = coupons.request("POST", "/coupons", json=coupon_body(code=code))
            assert response.status_code == 400, code
            assert response.json()["details"][0]["field"] == "code"
        assert coupons.request("GET", "/coupons").json() == []

    def test_path_codes_upper_case_ascii_letters_only(self, coupons: CouponApi) -> None:
        coupons.create(code="STRASSE")
        coupons.create(code="ID")
        for path_code, looked_up in (("straße", "STRAßE"), ("\u0131d", "\u0131D")):
            response = coupons.request("GET", f"/coupons/{path_code}")
            assert response.json() == not_found(looked_up), path_code
        assert coupons.get("strasse")["code"] == "STRASSE"

    def test_unknown_members_of_restrictions_are_400(self, coupons: CouponApi) -> None:
        body = coupon_body(restrictions={"validFor": [], "categories": ["shoes"]})
        response = coupons.request("POST", "/coupons", json=body)
        assert response.status_code == 400
        error = response.json()
        assert error["type"] == "validation_violation"
        assert "`categories`" in error["message"]
        assert error["details"][0]["field"].startswith("restrictions")
        code = coupons.create()
        for method in ("PUT", "PATCH"):
            refused = coupons.request(method, f"/coupons/{code}", json=body)
            assert refused.status_code == 400, method
            assert "`categories`" in refused.json()["message"]
        assert coupons.get(code)["restrictions"] == {"validFor": []}

    def test_malformed_bodies_are_400(self, coupons: CouponApi) -> None:
        cases = [
            ({"discountType": "ABSOLUTE"}, "name"),
            (coupon_body(discountType="HALF"), "discountType"),
            (coupon_body(discountPercentage=101, discountType="PERCENT"), "discountPercentage"),
            (coupon_body(discountAbsolute={"amount": -1, "currency": "USD"}), "discountAbsolute.amount"),
            (coupon_body(discountAbsolute={"amount": 1, "currency": "usd"}), "discountAbsolute.currency"),
            (coupon_body(maxRedemptions=-2), "maxRedemptions"),
            (coupon_body(restrictions={"validFrom": "yesterday"}), "restrictions.validFrom"),
            (coupon_body(metadata={"version": 1, "other": 1}), "metadata"),
        ]
        for body, field in cases:
            response = coupons.request("POST", "/coupons", json=body)
            assert response.status_code == 400, body
            assert response.json()["type"] == "validation_violation"
            assert response.json()["details"][0]["field"].startswith(field), response.json()
        for raw in (b"not json", b"[]", b""):
            response = coupons.request("POST", "/coupons", content=raw, headers={"Content-Type": "application/json"})
            assert response.status_code == 400, raw

    def test_read_only_members_are_ignored_on_write(self, coupons: CouponApi) -> None:
        code = coupons.create(
            status="EXPIRED",
            redemptionCount=7,
            deleted=True,
            referralCoupon=True,
            legalEntityRedemptions=[{"legalEntityId": "L", "count": 3}],
        )
        stored = coupons.get(code)
        assert (stored["status"], stored["redemptionCount"], stored["deleted"], stored["referralCoupon"]) == (
            "VALID",
            0,
            False,
            False,
        )
        assert "legalEntityRedemptions" not in stored


class TestGet:
    def test_unknown_code_is_404(self, coupons: CouponApi) -> None:
        response = coupons.request("GET", "/coupons/NOPE")
        assert response.status_code == 404
        assert response.json() == not_found("NOPE")

    def test_status_follows_validity_and_use(self, coupons: CouponApi) -> None:
        from tests.coupons.helpers import iso_in

        later = coupons.create(restrictions={"validFrom": iso_in(1)})
        past = coupons.create(restrictions={"validUntil": iso_in(-1)})
        used = coupons.create(maxRedemptions=1, restrictions=current_window())
        customer = coupons.create_customer(contactEmail="c@example.com")
        assert coupons.redeem(used, token=coupons.customer_token(customer)).status_code == 201
        assert [coupons.get(c)["status"] for c in (later, past, used)] == ["INACTIVE", "EXPIRED", "USED"]
        assert coupons.get(used)["redemptionCount"] == 1

    def test_customers_see_no_seller_only_members(self, coupons: CouponApi) -> None:
        code = coupons.create(issuedTo="C1", maxRedemptions=5)
        for token in (
            coupons.customer_token("C1"),
            coupons.tokens.anonymous(coupons.tenant),
            coupons.service_token("coupon.coupon_redeem_on_behalf"),
        ):
            response = coupons.request("GET", f"/coupons/{code}", token=token)
            assert response.status_code == 200, response.text
            assert not {"maxRedemptions", "redemptionCount", "issuedTo", "deleted"} & set(response.json())
        reader = coupons.request("GET", f"/coupons/{code}", token=coupons.service_token("coupon.coupon_read"))
        assert reader.json()["maxRedemptions"] == 5
        assert reader.json()["issuedTo"] == "C1"

    def test_customer_number_of_someone_else_needs_on_behalf(self, coupons: CouponApi) -> None:
        code = coupons.create()
        own = coupons.request(
            "GET", f"/coupons/{code}", params={"customerNumber": "C1"}, token=coupons.customer_token("C1")
        )
        assert own.status_code == 200
        other = coupons.request(
            "GET", f"/coupons/{code}", params={"customerNumber": "C2"}, token=coupons.customer_token("C1")
        )
        assert other.status_code == 403
        assert other.json()["type"] == "insufficient_permissions"
        on_behalf = coupons.request("GET", f"/coupons/{code}", params={"customerNumber": "C2"})
        assert on_behalf.status_code == 200
        assert "maxRedemptions" not in on_behalf.json()


class TestReplace:
    def test_put_replaces_everything_and_raises_the_version(self, coupons: CouponApi) -> None:
        code = coupons.create(description="first", mixins={"a": {"b": 1}})
        body = {"name": "Seven percent", "discountType": "PERCENT", "discountPercentage": 7, "metadata": {"version": 1}}
        response = coupons.request("PUT", f"/coupons/{code}", params={"partial": "false"}, json=body)
        assert response.status_code == 200
        assert response.content == b""
        stored = coupons.get(code)
        assert stored["name"] == "Seven percent"
        assert stored["discountPercentage"] == 7
        assert "description" not in stored
        assert "mixins" not in stored
        assert "discountAbsolute" not in stored
        assert stored["metadata"] == {"version": 2}

    def test_partial_may_be_left_out(self, coupons: CouponApi) -> None:
        code = coupons.create()
        response = coupons.request("PUT", f"/coupons/{code}", json=coupon_body(name="Renamed"))
        assert response.status_code == 200
        assert coupons.get(code)["name"] == "Renamed"

    def test_partial_true_merges_like_patch(self, coupons: CouponApi) -> None:
        code = coupons.create(description="kept")
        response = coupons.request("PUT", f"/coupons/{code}", params={"partial": "true"}, json={"name": "New"})
        assert response.status_code == 200
        stored = coupons.get(code)
        assert (stored["name"], stored["description"]) == ("New", "kept")

    def test_partial_false_without_name_is_400(self, coupons: CouponApi) -> None:
        code = coupons.create()
        response = coupons.request("PUT", f"/coupons/{code}", params={"partial": "false"}, json={"description": "x"})
        assert response.json() == invalid("name is required.", "name", "missing_value")

    def test_a_stale_version_is_409(self, coupons: CouponApi) -> None:
        code = coupons.create()
        response = coupons.request("PUT", f"/coupons/{code}", json=coupon_body(metadata={"version": 5}))
        assert response.status_code == 409
        assert response.json() == coupon_error(
            409, f"The coupon {code} is at version 1, not 5.", type="conflict_resource"
        )

    def test_unknown_and_deleted_coupons_are_404(self, coupons: CouponApi) -> None:
        code = coupons.create()
        coupons.request("DELETE", f"/coupons/{code}")
        for path in ("/coupons/NOPE", f"/coupons/{code}"):
            for method in ("PUT", "PATCH"):
                response = coupons.request(method, path, json=coupon_body())
                assert response.status_code == 404, (method, path)

    def test_malformed_bodies_are_400_and_change_nothing(self, coupons: CouponApi) -> None:
        code = coupons.create()
        for raw in (b"not json", b"[]", b'[{"name": "x"}]', b'"x"', b""):
            for partial in ("false", "true"):
                response = coupons.request(
                    "PUT",
                    f"/coupons/{code}",
                    params={"partial": partial},
                    content=raw,
                    headers={"Content-Type": "application/json"},
                )
                assert response.status_code == 400, raw
                assert response.json()["status"] == 400
        for body in (coupon_body(discountType="HALF"), {"description": "no name"}, coupon_body(maxRedemptions="many")):
            assert coupons.request("PUT", f"/coupons/{code}", json=body).status_code == 400, body
        stored = coupons.get(code)
        assert (stored["name"], stored["metadata"]) == ("Five off", {"version": 1})

    def test_a_stale_version_with_partial_true_is_409(self, coupons: CouponApi) -> None:
        code = coupons.create()
        assert coupons.request("PATCH", f"/coupons/{code}", json={"name": "Once"}).status_code == 200
        response = coupons.request(
            "PUT", f"/coupons/{code}", params={"partial": "true"}, json={"name": "Twice", "metadata": {"version": 1}}
        )
        assert response.status_code == 409
        assert response.json() == coupon_error(
            409, f"The coupon {code} is at version 2, not 1.", type="conflict_resource"
        )
        stored = coupons.get(code)
        assert (stored["name"], stored["metadata"]) == ("Once", {"version": 2})
        current = coupons.request(
            "PUT", f"/coupons/{code}", params={"partial": "true"}, json={"name": "Twice", "metadata": {"version": 2}}
        )
        assert current.status_code == 200
        assert coupons.get(code)["metadata"] == {"version": 3}

    def test_bad_partial_is_400(self, coupons: CouponApi) -> None:
        code = coupons.create()
        response = coupons.request("PUT", f"/coupons/{code}", params={"partial": "maybe"}, json=coupon_body())
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "partial"


class TestPatch:
    def test_members_sent_replace_null_removes_objects_merge(self, coupons: CouponApi) -> None:
        code = coupons.create(
            description="old",
            mixins={"a": 1, "b": 2},
            restrictions={"validFor": ["C1"], "minOrderValue": {"amount": 10, "currency": "USD"}},
        )
        response = coupons.request(
            "PATCH",
            f"/coupons/{code}",
            json={
                "description": None,
                "mixins": {"b": None, "c": 3},
                "restrictions": {"validFor": ["C2", "C3"]},
                "metadata": {"version": 1},
            },
        )
        assert response.status_code == 200
        assert response.content == b""
        stored = coupons.get(code)
        assert "description" not in stored
        assert stored["mixins"] == {"a": 1, "c": 3}
        assert stored["restrictions"] == {"validFor": ["C2", "C3"], "minOrderValue": {"amount": 10, "currency": "USD"}}
        assert stored["metadata"]["version"] == 2

    def test_the_result_must_still_meet_the_rules(self, coupons: CouponApi) -> None:
        code = coupons.create()
        response = coupons.request("PATCH", f"/coupons/{code}", json={"discountType": "PERCENT"})
        assert response.json() == invalid(
            "discountPercentage is required when discountType is PERCENT.", "discountPercentage", "missing_value"
        )
        response = coupons.request("PATCH", f"/coupons/{code}", json={"name": None})
        assert response.json() == invalid("name is required.", "name", "missing_value")

    def test_a_stale_version_is_409(self, coupons: CouponApi) -> None:
        code = coupons.create()
        coupons.request("PATCH", f"/coupons/{code}", json={"name": "Once"})
        response = coupons.request("PATCH", f"/coupons/{code}", json={"name": "Twice", "metadata": {"version": 1}})
        assert response.status_code == 409
        assert coupons.get(code)["name"] == "Once"

    def test_a_body_that_is_not_an_object_is_400(self, coupons: CouponApi) -> None:
        code = coupons.create()
        for body in ([{"op": "replace", "path": "/name", "value": "x"}], "x", {"maxRedemptions": "many"}):
            response = coupons.request("PATCH", f"/coupons/{code}", json=body)
            assert response.status_code == 400, body


class TestDelete:
    def test_delete_is_soft(self, coupons: CouponApi) -> None:
        code = coupons.create(restrictions=current_window())
        response = coupons.request("DELETE", f"/coupons/{code}")
        assert response.status_code == 204
        assert response.content == b""
        assert coupons.request("GET", f"/coupons/{code}").json() == not_found(code)
        assert coupons.request("GET", "/coupons").json() == []
        listed = coupons.request("GET", "/coupons", params={"showDeleted": "true"}).json()
        assert [(c["code"], c["deleted"]) for c in listed] == [(code, True)]
        assert coupons.redeem(code, token=coupons.customer_token("C1")).json() == not_found(code)
        assert coupons.validate(code, token=coupons.customer_token("C1")).status_code == 404

    def test_deleting_twice_or_nothing_is_404(self, coupons: CouponApi) -> None:
        code = coupons.create()
        assert coupons.request("DELETE", f"/coupons/{code}").status_code == 204
        assert coupons.request("DELETE", f"/coupons/{code}").json() == not_found(code)
        assert coupons.request("DELETE", "/coupons/NOPE").status_code == 404
