"""The validity window of coupons and of the segments they are restricted to: the ends of the date-time range, and
bounds that lie right at the moment of the request."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import asyncpg
import msgspec
import pytest
from tests.coupons.helpers import CouponApi, iso_in, not_redeemable
from tests.factories import assign_customer, run_sql

from segment_service.coupons import redemptions, store
from segment_service.coupons.models import CurrencyAmount, RedemptionCreation
from segment_service.coupons.redemptions import NotRedeemable, Redeemer

EARLIEST = "0001-01-01T00:00:00Z"
LATEST = "9999-12-31T23:59:59.999999Z"


def set_window(database_url: str, tenant: str, code: str, valid_from: str, valid_until: str) -> None:
    """Set the stored window with SQL expressions evaluated by the database (NULL leaves a bound open)."""
    run_sql(
        database_url,
        f"UPDATE coupons SET valid_from = {valid_from}, valid_until = {valid_until} WHERE tenant = $1 AND code = $2",
        tenant,
        code,
    )


class TestExtremes:
    @pytest.mark.parametrize(
        ("member", "value", "written"),
        [
            ("validFrom", EARLIEST, "0001-01-01T00:00:00+00:00"),
            ("validUntil", LATEST, "9999-12-31T23:59:59.999999+00:00"),
            ("validUntil", "9999-12-31T23:59:59.999999", "9999-12-31T23:59:59.999999+00:00"),
        ],
    )
    def test_the_extreme_instants_are_400(self, coupons: CouponApi, member: str, value: str, written: str) -> None:
        message = (
            f"Invalid date-time {written}: in UTC it must lie after 0001-01-01T00:00:00Z and before "
            "9999-12-31T23:59:59.999999Z."
        )
        expected = {
            "status": 400,
            "type": "validation_violation",
            "message": message,
            "details": [{"field": f"restrictions.{member}", "type": "invalid_value", "message": message}],
        }
        created = coupons.request(
            "POST", "/coupons", json={"name": "x", "discountType": "FREE_SHIPPING", "restrictions": {member: value}}
        )
        assert created.json() == expected
        code = coupons.create()
        for method in ("PUT", "PATCH"):
            body = {"name": "x", "discountType": "FREE_SHIPPING", "restrictions": {member: value}}
            assert coupons.request(method, f"/coupons/{code}", json=body).json() == expected
        assert coupons.get(code)["metadata"]["version"] == 1
        assert coupons.request("GET", "/coupons").status_code == 200

    def test_the_instants_next_to_them_are_kept_and_work(self, coupons: CouponApi) -> None:
        window = {"validFrom": "0001-01-01T00:00:00.001Z", "validUntil": "9999-12-31T23:59:59.999Z"}
        code = coupons.create(restrictions=window)
        assert coupons.get(code)["restrictions"] == {"validFor": [], **window}
        assert coupons.get(code)["status"] == "VALID"
        assert [c["restrictions"] for c in coupons.request("GET", "/coupons").json()] == [{"validFor": [], **window}]
        assert coupons.validate(code, token=coupons.customer_token("C1")).status_code == 200
        assert coupons.request("PATCH", f"/coupons/{code}", json={"name": "Renamed"}).status_code == 200


class TestBoundsAtTheMomentOfTheRequest:
    def test_a_window_that_opens_now_is_open(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create()
        set_window(database_url, coupons.tenant, code, "clock_timestamp()", "NULL")
        assert coupons.get(code)["status"] == "VALID"
        assert coupons.validate(code, token=coupons.customer_token("C1")).status_code == 200
        set_window(database_url, coupons.tenant, code, "clock_timestamp() + interval '1 hour'", "NULL")
        not_redeemable(coupons.validate(code, token=coupons.customer_token("C1")), "coupon_not_yet_valid")

    def test_a_window_that_closes_in_a_moment_is_open_until_then(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create()
        set_window(database_url, coupons.tenant, code, "NULL", "clock_timestamp() + interval '1 second'")
        token = coupons.customer_token("C1")
        assert coupons.get(code)["status"] == "VALID"
        assert coupons.validate(code, token=token).status_code == 200
        time.sleep(1.1)
        assert coupons.get(code)["status"] == "EXPIRED"
        not_redeemable(coupons.validate(code, token=token), "coupon_expired")
        not_redeemable(coupons.redeem(code, token=token), "coupon_expired")

    def test_status_counts_both_bounds_as_inside(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create()
        # One statement: now() is the same instant in the update and in the status read after it.
        rows = run_sql(
            database_url,
            f"""
            WITH c AS (UPDATE coupons SET valid_from = now(), valid_until = now()
                       WHERE tenant = $1 AND code = $2 RETURNING *)
            SELECT {store.STATUS_SQL} AS status FROM c""",
            coupons.tenant,
            code,
        )
        assert [r["status"] for r in rows] == ["VALID"]

    @pytest.mark.parametrize("bound", ["valid_from", "valid_until"])
    def test_the_checks_count_both_bounds_as_inside(self, coupons: CouponApi, database_url: str, bound: str) -> None:
        """The database's clock of the read is pinned to the bound itself, then to a microsecond outside the
        window."""
        code = coupons.create(restrictions={"validFrom": iso_in(-1), "validUntil": iso_in(1)})
        body = RedemptionCreation(order_total=CurrencyAmount(100, "USD"), discount=CurrencyAmount(5, "USD"))
        outside = timedelta(microseconds=-1 if bound == "valid_from" else 1)

        async def check(at_bound: bool) -> None:
            conn = await asyncpg.connect(database_url)
            try:
                read = await store.fetch_redeemable(conn, coupons.tenant, code, "C1", None)
                assert read is not None
                moment: datetime = getattr(read, bound) + (timedelta() if at_bound else outside)
                coupon = msgspec.structs.replace(read, checked_at=moment)
                await redemptions.check_redeemable(conn, coupons.tenant, coupon, body, Redeemer("C1", None))
            finally:
                await conn.close()

        asyncio.run(check(at_bound=True))
        with pytest.raises(NotRedeemable):
            asyncio.run(check(at_bound=False))


class TestSegmentValidity:
    def test_a_segment_whose_validity_just_ended_no_longer_admits(self, coupons: CouponApi, database_url: str) -> None:
        segment = coupons.create_segment()
        code = coupons.create(segmentRestricted=True, restrictions={"segments": [segment]})
        assign_customer(database_url, coupons.tenant, segment, "C1")
        token = coupons.customer_token("C1")
        assert coupons.validate(code, token=token).status_code == 200
        run_sql(
            database_url,
            "UPDATE segments SET valid_to = clock_timestamp() WHERE tenant = $1 AND id = $2",
            coupons.tenant,
            segment,
        )
        not_redeemable(coupons.validate(code, token=token), "segment_not_eligible")
        not_redeemable(coupons.redeem(code, token=token), "segment_not_eligible")

    def test_a_segment_whose_validity_just_began_admits(self, coupons: CouponApi, database_url: str) -> None:
        segment = coupons.create_segment()
        code = coupons.create(segmentRestricted=True, restrictions={"segments": [segment]})
        assign_customer(database_url, coupons.tenant, segment, "C1")
        run_sql(
            database_url,
            "UPDATE segments SET valid_from = clock_timestamp(), valid_to = NULL WHERE tenant = $1 AND id = $2",
            coupons.tenant,
            segment,
        )
        assert coupons.redeem(code, token=coupons.customer_token("C1")).status_code == 201
