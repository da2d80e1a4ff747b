"""Adversarial: writes committing while reads run in other processes. A write's response has returned, so every read
started afterwards, in any worker of a served `serve`, must see it; reads in flight during the writes must not leave
an old answer kept under a key later reads find."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from segment_service.settings import Settings
from tests.answers.attack_support import remote_serve
from tests.answers.support import Shop
from tests.ops.servers import ServeProcess

ITERATIONS = 200


@pytest.fixture(scope="module")
def remote(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder: Path = tmp_path_factory.mktemp("attack-serve")
    with remote_serve(settings, folder) as serve:
        yield serve


class Remote:
    """The shop's cached reads through a served process (a connection kept per client)."""

    def __init__(self, shop: Shop, serve: ServeProcess) -> None:
        self.shop, self.http = shop, httpx.Client(base_url=serve.base_url, timeout=10)
        self.customer = {"Authorization": f"Bearer {shop.customer_token('c1')}"}
        self.service = {"Authorization": f"Bearer {shop.token}"}
        self.base = f"/customer-segment/{shop.tenant}"

    def items(self) -> list[str]:
        response = self.http.get(f"{self.base}/segments/items", params={"pageSize": 1000}, headers=self.customer)
        assert response.status_code == 200, response.text
        return sorted(d["item"]["id"] for d in response.json())

    def trees(self) -> list[str]:
        response = self.http.get(f"{self.base}/segments/items/category-trees", headers=self.customer)
        assert response.status_code == 200, response.text
        return sorted(n["id"] for n in response.json())

    def match(self) -> list[str]:
        body = {"siteCode": "main", "items": [{"id": "p1"}, {"id": "p2"}], "segmentIds": ["s"]}
        response = self.http.post(f"{self.base}/segments/match", json=body, headers=self.service)
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()]

    def assigned(self) -> list[str]:
        path = f"/category/{self.shop.tenant}/categories/tools/assignments"
        response = self.http.get(path, params={"segmentsIds": "s"}, headers=self.service)
        assert response.status_code == 200, response.text
        return sorted(d["ref"]["id"] for d in response.json())

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def world(shop: Shop) -> Shop:
    """Segment s holds the category tools and c1; products p1, p2; p2 goes in and out of tools, p1 in and out of s."""
    shop.category("tools")
    shop.category("other")
    shop.product("p1")
    shop.product("p2")
    shop.create_customer("c1")
    shop.segment("s")
    shop.put_item("s", "tools", "CATEGORY")
    shop.member("s", "c1")
    return shop


def _expect(on: bool) -> tuple[list[str], list[str], list[str], list[str]]:
    """(items, trees, match, assignments) when p1 is in s and p2 in tools (`on`), or neither."""
    items = ["p1", "tools"] if on else ["tools"]
    match = ["p1", "p2"] if on else []
    return items, ["tools"], match, (["p2"] if on else [])


def test_no_read_after_a_write_returns_the_old_answer_while_readers_hammer(world: Shop, remote: ServeProcess) -> None:
    """200 writes through the in-process app, each followed at once by reads through the served process's workers,
    while two threads read the same answers through it without pause."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def hammer() -> None:
        reader = Remote(world, remote)
        try:
            while not stop.is_set():
                reader.items()
                reader.match()
                reader.assigned()
                reader.trees()
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            reader.close()

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for thread in threads:
        thread.start()
    checker = Remote(world, remote)
    stale: list[tuple[int, str, Any, Any]] = []
    try:
        for i in range(ITERATIONS):
            on = i % 2 == 0
            if on:
                world.put_item("s", "p1")
                world.assign("tools", "p2")
            else:
                world.delete_item("s", "p1")
                world.unassign("tools", "p2")
            items, trees, match, assigned = _expect(on)
            for name, got, want in (
                ("items", checker.items(), items),
                ("match", checker.match(), match),
                ("assignments", checker.assigned(), assigned),
                ("trees", checker.trees(), trees),
            ):
                if got != want:
                    stale.append((i, name, got, want))
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        checker.close()
    assert not failures, failures
    assert not stale, stale[:10]


def test_reads_in_flight_do_not_poison_later_reads(world: Shop, remote: ServeProcess) -> None:
    """After the writers stop, every worker (new connections land on any) answers the final state, many times."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def hammer() -> None:
        reader = Remote(world, remote)
        try:
            while not stop.is_set():
                reader.items()
                reader.match()
                reader.assigned()
        except BaseException as error:
            failures.append(error)
        finally:
            reader.close()

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for i in range(60):
            if i % 2 == 0:
                world.put_item("s", "p1")
                world.assign("tools", "p2")
            else:
                world.delete_item("s", "p1")
                world.unassign("tools", "p2")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not failures, failures
    want = _expect(False)
    for _ in range(30):
        fresh = Remote(world, remote)  # a new connection: any worker
        try:
            assert (fresh.items(), fresh.trees(), fresh.match(), fresh.assigned()) == want
        finally:
            fresh.close()


def test_a_bulk_write_cancelled_by_its_client_leaves_no_wrong_answer(world: Shop, remote: ServeProcess) -> None:
    """A bulk PUT of 200 items whose client gives up after a few milliseconds: whatever the server did with it
    (all of it or nothing), every worker's answers equal the database's afterwards."""
    for n in range(200):
        world.product(f"b{n}")
    reader = Remote(world, remote)
    try:
        assert reader.items() == ["tools"]
        body = [{"id": f"b{n}"} for n in range(200)]
        path = f"{remote.base_url}/customer-segment/{world.tenant}/segments/s/items/PRODUCT/bulk"
        headers = {"Authorization": f"Bearer {world.token}"}
        for attempt in range(5):
            timeout = httpx.Timeout(0.002 * (attempt + 1))
            with contextlib.suppress(httpx.TimeoutException):
                httpx.put(path, json=body, headers=headers, timeout=timeout)
            # The server goes on with a request its client gave up on: let it finish (or roll back) first. Then what
            # the database holds (the service token's read of the segment's items, which is never cached).
            time.sleep(1.0)
            truth_response = world.ok(
                "GET", "/customer-segment/{tenant}/segments/s/items", 200, params={"pageSize": 1000}
            )
            truth = sorted(d["item"]["id"] for d in truth_response.json())
            for _ in range(6):
                fresh = Remote(world, remote)
                try:
                    assert fresh.items() == truth
                finally:
                    fresh.close()
            if attempt % 2 == 0:
                world.ok(
                    "DELETE",
                    "/customer-segment/{tenant}/segments/s/items/PRODUCT/bulk",
                    207,
                    json=[f"b{n}" for n in range(200)],
                )
    finally:
        reader.close()
