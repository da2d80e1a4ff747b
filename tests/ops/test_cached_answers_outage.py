"""A cached storefront answer while the database is away: the answer cache is asked only after the read's versions
statement (docs/answers.md), so a stopped PostgreSQL answers the service's 503, never a kept answer, and after it is
back the next read is made from the database again."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ops.test_database_outage import CATEGORY_BODY, SEGMENT_BODY, World


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    world = World(Path(tempfile.mkdtemp(prefix="ops-cached-outage-")))
    try:
        yield world
    finally:
        world.close()


def test_kept_answers_are_not_sent_while_the_database_is_away(world: World) -> None:
    serve, tenant = world.serve, world.tenant
    service = {"Authorization": f"Bearer {world.service_token}"}
    for path, body in (
        (f"/category/{tenant}/categories", {"id": "tools", "localizedName": {"en": "Tools"}, "published": True}),
        (f"/product/{tenant}/products", {"id": "p1", "code": "p1", "name": {"en": "Hammer"}, "published": True}),
        (
            f"/customer-segment/{tenant}/segments",
            {"id": "gold", "name": {"en": "Gold"}, "status": "ACTIVE", "siteCode": "main"},
        ),
    ):
        made = serve.post(path, json=body, headers=service)
        assert made.status_code == 201, made.text
    assigned = serve.post(
        f"/category/{tenant}/categories/tools/assignments",
        json={"ref": {"id": "p1", "type": "PRODUCT"}},
        headers=service,
    )
    assert assigned.status_code == 201, assigned.text
    assignments = f"/category/{tenant}/categories/tools/assignments?segmentsIds=gold"
    match = f"/customer-segment/{tenant}/segments/match"
    match_body = {"siteCode": "main", "items": [{"id": "p1"}], "segmentIds": ["gold"]}

    def read() -> tuple[int, int]:
        return (
            serve.get(assignments, headers=service).status_code,
            serve.post(match, json=match_body, headers=service).status_code,
        )

    assert read() == (200, 200)
    assert read() == (200, 200)  # now kept by the worker
    world.postgres.stop()
    try:
        for _ in range(3):
            down = serve.get(assignments, headers=service)
            assert (down.status_code, down.json()) == (503, CATEGORY_BODY)
            matched = serve.post(match, json=match_body, headers=service)
            assert (matched.status_code, matched.json()) == (503, SEGMENT_BODY)
    finally:
        world.postgres.start()
    deadline = time.monotonic() + 30
    while serve.get("/health").status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover within 30 s"
        time.sleep(0.2)
    # Back: a write while the answers were kept is seen at once (the versions are read again).
    item = f"{serve.base_url}/customer-segment/{tenant}/segments/gold/items/PRODUCT/p1"
    assert httpx.put(item, json={}, headers=service, timeout=10).status_code == 201
    answered = serve.post(match, json=match_body, headers=service)
    assert (answered.status_code, answered.json()) == (200, [{"id": "p1"}])
    assert "Traceback" not in serve.log()
