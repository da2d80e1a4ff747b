"""Inputs shaped to hurt: deep nesting, concurrent bulk requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.factories import Api, segment_body


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


class TestNesting:
    def test_mixins_deeper_than_32_levels_are_400(self, api: Api) -> None:
        response = api.request("POST", "/segments", json=segment_body(mixins=nested(40)))
        assert response.status_code == 400
        assert response.json()["message"] == "Invalid mixins: it nests deeper than 32 levels."
        assert api.request("POST", "/segments", json=segment_body(mixins=nested(30))).status_code == 201

    def test_metadata_mixins_are_limited_too(self, api: Api) -> None:
        response = api.request("POST", "/segments", json=segment_body(metadata={"mixins": nested(40)}))
        assert response.status_code == 400
        assert response.json()["details"]["field"] == "metadata.mixins"

    def test_a_body_nested_thousands_deep_is_400(self, api: Api) -> None:
        body = '{"name":{"en":"x"},"siteCode":"main","mixins":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
        response = api.request("POST", "/segments", content=body.encode(), headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        search = api.request(
            "POST",
            "/segments/search",
            content=("[" * 5000 + "]" * 5000).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert search.status_code == 400


class TestConcurrentBulk:
    def test_overlapping_bulk_upserts_both_answer_207_with_every_item_stored(self, api: Api) -> None:
        """Two bulk requests over the same ids in opposite orders must not deadlock each other into a 500."""
        ids = [f"s{i:03d}" for i in range(60)]
        bodies = [[segment_body(id=i) for i in ids], [segment_body(id=i) for i in reversed(ids)]]
        for _ in range(3):
            with ThreadPoolExecutor(max_workers=2) as pool:
                responses = list(pool.map(lambda body: api.request("PUT", "/segments/bulk", json=body), bodies))
            assert [r.status_code for r in responses] == [207, 207], [r.text[:200] for r in responses]
            for response in responses:
                assert {item["code"] for item in response.json()} <= {201, 204}
        listed = api.request("GET", "/segments", params={"pageSize": "100"}).json()
        assert sorted(s["id"] for s in listed) == ids
