"""Routes resolve their synchronous dependencies one after another (core/deps.py `resolve_in_order`), without a task
per dependency, and still get every one of them."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get
from litestar.di import Provide
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from segment_service.core.deps import resolve_in_order
from segment_service.core.fastlane import FastLane


def _batches(app: Litestar) -> list[list[set[Any]]]:
    return [
        list(model.dependency_batches)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for _, model in route.route_handler_map.values()
    ]


def test_every_route_of_the_service_resolves_one_dependency_at_a_time(app: FastLane) -> None:
    batches = _batches(app.app)
    assert any(len(route) > 1 for route in batches), "routes with several dependencies exist"
    assert all(len(batch) == 1 for route in batches for batch in route)


async def _async_a() -> str:
    return "a"


async def _async_b() -> str:
    return "b"


def _sync_c() -> str:
    return "c"


def _sync_d() -> str:
    return "d"


def _sync_e() -> str:
    return "e"


def _sync_f() -> str:
    return "f"


@get("/both", sync_to_thread=False)
def both(a: str, b: str, c: str, d: str) -> str:
    return a + b + c + d


def test_a_level_with_an_async_dependency_keeps_resolving_concurrently_and_answers_alike() -> None:
    app = Litestar(
        [both],
        dependencies={
            "a": Provide(_async_a),
            "b": Provide(_async_b),
            "c": Provide(_sync_c, sync_to_thread=False),
            "d": Provide(_sync_d, sync_to_thread=False),
        },
    )
    before = _batches(app)
    resolve_in_order(app)
    assert _batches(app) == before  # one level, two of its dependencies async: left as Litestar made it
    with TestClient(app) as client:
        assert client.get("/both").text == "abcd"


def test_a_level_of_sync_dependencies_is_split_and_answers_alike() -> None:
    app = Litestar(
        [both],
        dependencies={
            "a": Provide(_sync_e, sync_to_thread=False),
            "b": Provide(_sync_f, sync_to_thread=False),
            "c": Provide(_sync_c, sync_to_thread=False),
            "d": Provide(_sync_d, sync_to_thread=False),
        },
    )
    resolve_in_order(app)
    assert [len(batch) for batch in max(_batches(app), key=len)] == [1, 1, 1, 1]
    with TestClient(app) as client:
        assert client.get("/both").text == "efcd"
