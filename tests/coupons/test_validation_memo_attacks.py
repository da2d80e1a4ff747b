"""Coupon validation answered from the host's memo, attacked (docs/answers.md#versions-kept-on-the-host;
src/segment_service/coupons/validation_memo.py): writes that fail, validity windows of segments and coupons that open
or close while remembered, a write whose transaction is still open in the database when its marks are gone, and the
proof that a warm validation borrows no connection. The world is tests/coupons/memo_world.py's."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from tests.answers.attack_support import snapshot
from tests.answers.support import Shop, iso, sleep_past, whole_seconds_ahead
from tests.answers.test_host_attacks import memo_of, no_marks_held, without_database
from tests.coupons.helpers import coupon_body
from tests.coupons.memo_world import (
    COUPONS,
    ORDER,
    Served,
    Snapshot,
    build_world,
    coupon,
    kept_answers,
    kept_part,
    redeem,
    same_as_the_truth,
    segment_restricted,
    status_of,
    token_of,
    validate,
    warm,
)

from segment_service.core import host_versions


def test_writes_that_fail_leave_the_validations_right(shop: Shop, oracle: Shop, host_app: Served) -> None:
    """A second redemption for one order and a PUT at a stale version answer 409, with nothing applied: the warm
    validations still answer the truth, and still without a statement."""
    build_world(shop)
    redeem(shop, "PLAIN", "c1", orderCode="o1")
    before = warm(host_app[0], shop)
    response = shop.call(
        "POST", f"{COUPONS}/PLAIN/redemptions", json={**ORDER, "orderCode": "o1"}, token=token_of(shop, "c2")
    )
    assert response.status_code == 409, response.text
    stale = {**coupon_body(**segment_restricted("u")), "metadata": {"version": 7}}
    assert shop.call("PUT", f"{COUPONS}/SEG", json=stale).status_code == 409
    no_marks_held(host_app[0])
    after = same_as_the_truth(shop, oracle)
    assert after == before
    assert without_database(host_app[0], lambda: kept_answers(shop)) == kept_part(after)


# --- validity windows that open or close while remembered ------------------------------------------------------------


def _window(start: datetime | None, end: datetime | None, *, keys: tuple[str, str]) -> dict[str, str]:
    window = {}
    if start is not None:
        window[keys[0]] = iso(start)
    if end is not None:
        window[keys[1]] = iso(end)
    return window


@pytest.mark.parametrize("kind", ["segments", "coupons"])
def test_windows_that_open_and_close_while_remembered(kind: str, shop: Shop, oracle: Shop, host_app: Served) -> None:
    """Segments whose validity ends (w) or starts (f), or coupons whose window ends (CE) or starts (CS), a few
    seconds from now: remembered before (proven warm), answered anew once the moment has passed."""
    build_world(shop)
    moment = whole_seconds_ahead(2)
    if kind == "segments":
        shop.segment("w", validity=_window(None, moment, keys=("from", "to")))
        shop.segment("f", validity=_window(moment, None, keys=("from", "to")))
        shop.member("w", "c1")
        shop.member("f", "c1", "L")
        coupon(shop, "ENDS", **segment_restricted("w"))
        coupon(shop, "STARTS", **segment_restricted("f"))
        names = {"ENDS": "c1", "STARTS": "c1 in L"}
    else:
        coupon(shop, "ENDS", restrictions=_window(None, moment, keys=("validFrom", "validUntil")))
        coupon(shop, "STARTS", restrictions=_window(moment, None, keys=("validFrom", "validUntil")))
        names = {"ENDS": "c1", "STARTS": "c2"}

    def timed() -> dict[str, Snapshot]:
        return {code: snapshot(validate(shop, code, caller)) for code, caller in names.items()}

    timed()
    before = timed()
    assert {code: answer[0] for code, answer in before.items()} == {"ENDS": 200, "STARTS": 400}
    assert without_database(host_app[0], timed) == before
    sleep_past(moment)
    after = timed()
    assert after == {code: snapshot(validate(oracle, code, caller)) for code, caller in names.items()}
    assert {code: answer[0] for code, answer in after.items()} == {"ENDS": 400, "STARTS": 200}
    assert without_database(host_app[0], timed) == after


# --- a write whose transaction is still open in the database --------------------------------------------------------


class OpenTransaction:
    """A transaction of the test's own (on a loop of its own), left open until `commit`."""

    def __init__(self, database_url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection = self._loop.run_until_complete(asyncpg.connect(database_url))
        self.run("BEGIN")

    def run(self, sql: str, *args: Any) -> None:
        self._loop.run_until_complete(self._conn.execute(sql, *args))

    def commit(self) -> None:
        self.run("COMMIT")
        self.close()

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._conn.close())
            self._loop.close()


def test_a_write_still_committing_in_the_database_is_not_learnt(
    shop: Shop, oracle: Shop, host_app: Served, database_url: str
) -> None:
    """What a writer killed during its COMMIT leaves behind: its marks on the host are gone (its generations were
    raised before), but its transaction still holds the coupon's slot in the database. A validation meanwhile answers
    the old truth and must not remember it: once the transaction has committed, the next one answers the new."""
    build_world(shop)
    writer = OpenTransaction(database_url)
    try:
        writer.run("UPDATE coupons SET max_redemptions = 1 WHERE tenant = $1 AND code = 'LIMIT'", shop.tenant)
        writer.run(
            "SELECT pg_advisory_xact_lock_shared($1, $2)",
            host_versions.ADVISORY_CLASS,
            host_versions.slot(shop.tenant, host_versions.coupon_scope("LIMIT")),
        )
        for _ in range(2):
            assert validate(shop, "LIMIT", "c1").status_code == 200
        writer.commit()
    finally:
        writer.close()
    after = snapshot(validate(shop, "LIMIT", "c1"))
    assert after == snapshot(validate(oracle, "LIMIT", "c1"))
    assert status_of({"v": after}, "v") == (400, "max_redemptions_reached")


def test_a_warm_validation_borrows_no_connection(shop: Shop, host_app: Served) -> None:
    """The point of it all: with the answers warm, a validation asks the database nothing (the pool refuses every
    borrow), while one that must ask (a body naming a legal entity) does."""
    build_world(shop)
    warm(host_app[0], shop)
    assert len(memo_of(host_app[0])) > 0
    assert without_database(host_app[0], lambda: {"v": snapshot(validate(shop, "SEG", "c1"))})["v"][0] == 200
    asking = without_database(host_app[0], lambda: {"v": snapshot(validate(shop, "CTX", "c1", legalEntityId="L"))})
    assert asking["v"][0] >= 500
