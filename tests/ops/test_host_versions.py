"""SEGMENT_SERVICE_ANSWER_VERSIONS=host (docs/answers.md#versions-kept-on-the-host): a cached storefront read asks
the database nothing, and still no process ever answers from before a write whose response was sent, whichever
process on the host wrote it. Two `serve` processes stand for the workers of a host."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.answers.support import Shop, served
from tests.factories import Tokens
from tests.ops.serving import FAST_HASHES, Served, command_env, served_pair

ASKED = ["p1", "p2", "p-hammer", "p-sledge"]


def build_world(shop: Shop) -> Shop:
    """tools > hammers (p-hammer) > sledges (p-sledge); products p1, p2. Segment s holds p1 and the category
    hammers; c1 is its member; segment s2 (no member) holds p2; c2 is in no segment."""
    for category, parent in [("tools", None), ("hammers", "tools"), ("sledges", "hammers")]:
        shop.category(category, parent)
    for product in ASKED:
        shop.product(product)
    shop.assign("hammers", "p-hammer")
    shop.assign("sledges", "p-sledge")
    shop.create_customer("c1")
    shop.create_customer("c2")
    shop.segment("s")
    shop.segment("s2")
    shop.put_item("s", "p1")
    shop.put_item("s", "hammers", "CATEGORY")
    shop.put_item("s2", "p2")
    shop.member("s", "c1")
    return shop


def reads(shop: Shop) -> dict[str, Callable[[], Any]]:
    return {
        "items": lambda: shop.item_ids("c1"),
        "items, whole": lambda: shop.item_ids("c1", sort="segmentId,item.id"),
        "trees": lambda: shop.outline("c1"),
        "match": lambda: shop.match(ASKED, ["s", "s2"]),
        "match s2": lambda: shop.match(ASKED, ["s2"]),
        "no segment": lambda: shop.item_ids("c2"),
        "assignments": lambda: shop.assigned("tools", withSubcategories="true", segmentsIds="s"),
        "segment": lambda: shop.ok("GET", "/customer-segment/{tenant}/segments/s2").json(),
        "segment, shaped": lambda: shop.ok(
            "GET", "/customer-segment/{tenant}/segments/s2?fields=id,name,status", headers={"Accept-Language": "de"}
        ).json(),
    }


@pytest.fixture(scope="module")
def host_app(settings: Settings) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    with served(settings, answer_versions="host") as pair:
        yield pair


@pytest.fixture(scope="module")
def database_app(settings: Settings) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    with served(settings) as pair:
        yield pair


class _RefusingPool:
    """A pool that fails every borrow: a read that borrows no connection does not notice it."""

    async def acquire(self) -> None:
        raise AssertionError("the database was asked")


def _without_database(app: FastLane, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.db, "pool", _RefusingPool())


class TestNoStatement:
    def test_a_warm_read_asks_the_database_nothing(
        self,
        host_app: tuple[FastLane, TestClient[FastLane]],
        tokens: Tokens,
        tenant: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        app, client = host_app
        shop = build_world(Shop(client, tokens, tenant))
        # A customer's first read learns its segments; the next one their versions too (each needs a ticket taken
        # before its statement); from then on nothing is asked.
        answers = {name: [read() for _ in range(3)][-1] for name, read in reads(shop).items()}
        assert answers["items"] == [("s", "hammers"), ("s", "p1")]
        assert answers["match"] == ["p1", "p2", "p-hammer", "p-sledge"]
        assert answers["no segment"] == []
        with monkeypatch.context() as patched:
            _without_database(app, patched)
            for name, read in reads(shop).items():
                assert read() == answers[name], name

    def test_the_database_mode_asks_every_time(
        self,
        database_app: tuple[FastLane, TestClient[FastLane]],
        tokens: Tokens,
        tenant: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The control: with the versions read from the database, the same warm read needs it (so the test above
        would see a statement if one were made)."""
        app, client = database_app
        shop = build_world(Shop(client, tokens, tenant))
        for _ in range(3):
            shop.item_ids("c1")
        with monkeypatch.context() as patched:
            _without_database(app, patched)
            assert shop.items_response("c1").status_code >= 500

    def test_a_legal_entity_named_in_the_request_is_checked_every_time(
        self,
        host_app: tuple[FastLane, TestClient[FastLane]],
        tokens: Tokens,
        tenant: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Whether the customer is a contact of the legal entity it names is the database's to say, each time."""
        app, client = host_app
        shop = build_world(Shop(client, tokens, tenant))
        for _ in range(3):
            assert shop.items_response("c1", legalEntityId="le-unknown").status_code == 403
        with monkeypatch.context() as patched:
            _without_database(app, patched)
            assert shop.items_response("c1", legalEntityId="le-unknown").status_code >= 500


@pytest.fixture(scope="module")
def two_processes(database_url: str, settings: Settings) -> Iterator[tuple[Served, Served]]:
    env = command_env(
        DATABASE_URL=database_url,
        SEGMENT_SERVICE_SIGNING_KEY=str(settings.signing_key),
        SEGMENT_SERVICE_ANSWER_VERSIONS="host",
        **FAST_HASHES,
    )
    with served_pair(env) as processes:
        yield processes


def test_every_write_in_one_process_reaches_the_next_read_in_another(
    two_processes: tuple[Served, Served], tokens: Tokens, tenant: str
) -> None:
    a_process, b_process = two_processes
    with httpx.Client(base_url=a_process.base_url) as a_client, httpx.Client(base_url=b_process.base_url) as b_client:
        a = build_world(Shop(a_client, tokens, tenant))  # type: ignore[arg-type]  # an httpx client to a process
        b = a.on(b_client)  # type: ignore[arg-type]
        b_reads = reads(b)

        def warm() -> dict[str, Any]:
            return {name: [read() for _ in range(3)][-1] for name, read in b_reads.items()}

        before = warm()
        assert before["items"] == [("s", "hammers"), ("s", "p1")]
        assert before["assignments"] == ["p-hammer", "p-sledge"]
        a.put_item("s", "p2")  # an item: the segment's version
        assert b_reads["items"]() == [("s", "hammers"), ("s", "p1"), ("s", "p2")]
        assert b_reads["items, whole"]() == [("s", "hammers"), ("s", "p1"), ("s", "p2")]
        warm()
        a.member("s2", "c1")  # a membership: the member's scope
        assert b_reads["items"]() == [("s", "hammers"), ("s", "p1"), ("s", "p2"), ("s2", "p2")]
        warm()
        a.unmember("s2", "c1")
        assert b_reads["items"]() == [("s", "hammers"), ("s", "p1"), ("s", "p2")]
        a.member("s", "c2")
        assert b_reads["no segment"]() == [("s", "hammers"), ("s", "p1"), ("s", "p2")]
        warm()
        a.patch_category("sledges", parentId=None)  # the catalogue
        assert b_reads["trees"]() == [("tools", False, [("hammers", True, [])])]
        assert b_reads["match"]() == ["p1", "p2", "p-hammer"]
        warm()
        assert b_reads["assignments"]() == ["p-hammer"]
        a.unassign("hammers", "p-hammer")
        assert b_reads["match"]() == ["p1", "p2"]
        assert b_reads["assignments"]() == []
        warm()
        a.patch_segment("s2", "/status", "INACTIVE")  # a segment's definition
        assert b_reads["match s2"]() == []
        assert b_reads["segment"]()["status"] == "INACTIVE"
        assert b_reads["segment, shaped"]()["status"] == "INACTIVE"
        assert b_reads["match"]() == ["p1", "p2"]  # s holds p2 too
        warm()
        a.patch_segment("s", "/status", "INACTIVE")
        assert b_reads["items"]() == []
        assert b_reads["trees"]() == []
        assert b_reads["match"]() == []
        warm()
        b.patch_segment("s", "/status", "ACTIVE")  # and the other way round
        assert reads(a)["items"]() == [("s", "hammers"), ("s", "p1"), ("s", "p2")]
        assert b_reads["items"]() == [("s", "hammers"), ("s", "p1"), ("s", "p2")]
        a.delete_segment("s2")
        assert b.call("GET", "/customer-segment/{tenant}/segments/s2").status_code == 404
