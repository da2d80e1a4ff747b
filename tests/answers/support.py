"""What the answer-cache tests share: a client of one tenant that writes through the API (segments, items,
memberships, customers, legal entities, products, categories, category assignments, rules), the four cached reads,
and the served app's answer cache with its counts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from litestar.testing import TestClient

from segment_service.app import create_served_app
from segment_service.core.answer_cache import AnswerCache
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.factories import Tokens
from tests.rules.helpers import RuleApi

T = TypeVar("T")

#: The kinds of cached answers (core/answer_cache.py counts).
ITEMS, TREES, MATCH, ASSIGNMENTS = "items", "trees", "match", "category-assignments"
#: A customer's items are kept whole ("items": with `q` or `sort`) or, in the default order, put together from each
#: segment's kept assignments ("segment-items", a hit or a miss per segment).
KINDS = {ITEMS: ("items", "segment-items"), TREES: (TREES,), MATCH: (MATCH,), ASSIGNMENTS: (ASSIGNMENTS,)}
#: The sort that asks for the default order in words: the same answer, kept whole.
WHOLE_SET_SORT = "segmentId,type,item.id"
PATCH_JSON = {"Content-Type": "application/json-patch+json"}


def answers_of(app: FastLane) -> AnswerCache:
    """The served app's answer cache."""
    cache: AnswerCache = app.state.db.answers
    return cache


def counted(app: FastLane, kind: str) -> tuple[int, int]:
    """Hits and misses of `kind` so far."""
    hits = misses = 0
    for name in KINDS[kind]:
        counts = answers_of(app).counts.get(name)
        if counts is not None:
            hits, misses = hits + counts.hits, misses + counts.misses
    return hits, misses


def hits(app: FastLane, kind: str) -> int:
    return counted(app, kind)[0]


def misses(app: FastLane, kind: str) -> int:
    return counted(app, kind)[1]


def _uncounted(kind: str, value: object) -> bool:
    """A customer of no active segment: its items, in the default order, are put together from nothing kept."""
    return kind == ITEMS and value == []


def hit(app: FastLane, kind: str, read: Callable[[], T]) -> T:
    """`read()`, which must be answered from the cache: a hit (one per segment for the items), no miss."""
    before = counted(app, kind)
    value = read()
    after = counted(app, kind)
    assert after[1] == before[1], f"{kind}: a cache miss"
    assert after[0] > before[0] or _uncounted(kind, value), f"{kind}: not a cache hit"
    if kind != ITEMS:
        assert after[0] == before[0] + 1, f"{kind}: {after[0] - before[0]} hits"
    return value


def missed(app: FastLane, kind: str, read: Callable[[], T]) -> T:
    """`read()`, which must not be answered from what was kept before: a miss. A customer's items put together from
    each segment's may rightly be all hits (a segment left the set, the others' are as they were): for the items,
    the answer alone is the proof."""
    before = counted(app, kind)
    value = read()
    after = counted(app, kind)
    if kind != ITEMS:
        assert after == (before[0], before[1] + 1), f"{kind}: not a cache miss ({after} after {before})"
    return value


def cached(app: FastLane, kind: str, read: Callable[[], T]) -> T:
    """Read twice: the second answer is a hit and equals the first. The answer."""
    first = read()
    assert hit(app, kind, read) == first
    return first


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def whole_seconds_ahead(seconds: float) -> datetime:
    """The first whole second at least `seconds` from now (UTC)."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def sleep_past(moment: datetime, margin: float = 0.15) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds() + margin))


class Shop(RuleApi):
    """One tenant, written and read through the HTTP API of the app behind `client` (a service token holding every
    scope; customer tokens for the storefront reads). `whole_set`: a customer's items are asked for in the default
    order named by `sort`, so that they are kept whole rather than put together from each segment's."""

    whole_set = False

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """A request to a full path in which `{tenant}` is replaced."""
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return self.client.request(method, path.replace("{tenant}", self.tenant), headers=headers, **kwargs)

    def ok(self, method: str, path: str, *statuses: int, **kwargs: Any) -> httpx.Response:
        response = self.call(method, path, **kwargs)
        assert response.status_code in (statuses or (200, 201, 204)), f"{method} {path}: {response.text}"
        return response

    def on(self, client: TestClient[FastLane]) -> Shop:
        """The same tenant through another app."""
        other = Shop(client, self.tokens, self.tenant)
        other.whole_set = self.whole_set
        return other

    # --- segments, items, memberships ---------------------------------------------------------------------------

    def segment(self, segment_id: str, **overrides: Any) -> str:
        return self.create_segment(**{"id": segment_id, "validity": None, **overrides})

    def patch_segment(self, segment_id: str, path: str, value: Any) -> None:
        operations = [{"op": "replace", "path": path, "value": value}]
        self.ok("PATCH", f"/customer-segment/{{tenant}}/segments/{segment_id}", 204, json=operations)

    def delete_segment(self, segment_id: str) -> None:
        self.ok("DELETE", f"/customer-segment/{{tenant}}/segments/{segment_id}?forceDelete=true", 204)

    def put_item(self, segment_id: str, item_id: str, item_type: str = "PRODUCT", body: Any = None) -> int:
        path = f"/customer-segment/{{tenant}}/segments/{segment_id}/items/{item_type}/{item_id}"
        return self.ok("PUT", path, 201, 204, json={} if body is None else body).status_code

    def delete_item(self, segment_id: str, item_id: str, item_type: str = "PRODUCT") -> None:
        self.ok("DELETE", f"/customer-segment/{{tenant}}/segments/{segment_id}/items/{item_type}/{item_id}", 204)

    def member(self, segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> None:
        tail = customer_id if legal_entity_id is None else f"{customer_id}/{legal_entity_id}"
        self.ok("PUT", f"/customer-segment/{{tenant}}/segments/{segment_id}/customers/{tail}", 201, 204)

    def unmember(self, segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> None:
        tail = customer_id if legal_entity_id is None else f"{customer_id}/{legal_entity_id}"
        self.ok("DELETE", f"/customer-segment/{{tenant}}/segments/{segment_id}/customers/{tail}", 204)

    # --- catalogue ----------------------------------------------------------------------------------------------

    def product(self, product_id: str, *, published: bool = True, name: str | None = None) -> str:
        body = {
            "id": product_id,
            "code": f"code-{product_id}",
            "name": {"en": name or f"Product {product_id}"},
            "published": published,
        }
        self.ok("POST", "/product/{tenant}/products", 201, json=body)
        return product_id

    def patch_product(self, product_id: str, **changes: Any) -> None:
        self.ok("PATCH", f"/product/{{tenant}}/products/{product_id}", 204, json=changes)

    def delete_product(self, product_id: str) -> None:
        self.ok("DELETE", f"/product/{{tenant}}/products/{product_id}", 204)

    def category(self, category_id: str, parent_id: str | None = None, *, published: bool = True) -> str:
        body: dict[str, Any] = {
            "id": category_id,
            "code": f"cat-{category_id}",
            "localizedName": {"en": f"Category {category_id}"},
            "published": published,
        }
        if parent_id is not None:
            body["parentId"] = parent_id
        self.ok("POST", "/category/{tenant}/categories", 201, json=body)
        return category_id

    def patch_category(self, category_id: str, **changes: Any) -> None:
        """PATCH with the category's current version (read first)."""
        current = self.ok("GET", f"/category/{{tenant}}/categories/{category_id}?showUnpublished=true", 200).json()
        body = {**changes, "metadata": {"version": current["metadata"]["version"]}}
        self.ok("PATCH", f"/category/{{tenant}}/categories/{category_id}", 204, json=body)

    def assign(self, category_id: str, product_id: str) -> None:
        body = {"ref": {"id": product_id, "type": "PRODUCT"}}
        self.ok("POST", f"/category/{{tenant}}/categories/{category_id}/assignments", 201, json=body)

    def unassign(self, category_id: str, product_id: str) -> None:
        self.ok("DELETE", f"/category/{{tenant}}/categories/{category_id}/assignments/references/{product_id}", 204)

    # --- the cached reads ---------------------------------------------------------------------------------------

    def customer_token(self, customer_id: str, legal_entity_id: str | None = None) -> str:
        return self.tokens.customer(self.tenant, customer_id, legal_entity_id)

    def items_response(self, customer_id: str, legal_entity_id: str | None = None, **params: Any) -> httpx.Response:
        token = self.customer_token(customer_id, legal_entity_id)
        if self.whole_set:
            params.setdefault("sort", WHOLE_SET_SORT)
        return self.call("GET", "/customer-segment/{tenant}/segments/items", token=token, params=params)

    def items(self, customer_id: str, legal_entity_id: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """GET /segments/items as the customer: the whole answer."""
        response = self.items_response(customer_id, legal_entity_id, **params)
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body

    def item_ids(self, customer_id: str, legal_entity_id: str | None = None, **params: Any) -> list[tuple[str, str]]:
        """(segment, item id) of each item of the customer's answer, in its order."""
        return [(d["segmentId"], d["item"]["id"]) for d in self.items(customer_id, legal_entity_id, **params)]

    def trees_response(
        self, customer_id: str, legal_entity_id: str | None = None, headers: dict[str, str] | None = None, **params: Any
    ) -> httpx.Response:
        token = self.customer_token(customer_id, legal_entity_id)
        path = "/customer-segment/{tenant}/segments/items/category-trees"
        return self.call("GET", path, token=token, params=params, headers=headers or {})

    def trees(self, customer_id: str, legal_entity_id: str | None = None, **params: Any) -> list[dict[str, Any]]:
        response = self.trees_response(customer_id, legal_entity_id, **params)
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body

    def outline(self, customer_id: str, legal_entity_id: str | None = None, **params: Any) -> list[Any]:
        """The customer's trees as nested (id, isSegmentAssigned, [children])."""
        return outline(self.trees(customer_id, legal_entity_id, **params))

    def match_response(self, products: list[str], segments: list[str], site: str = "main") -> httpx.Response:
        body = {"siteCode": site, "items": [{"id": p} for p in products], "segmentIds": segments}
        return self.call("POST", "/customer-segment/{tenant}/segments/match", json=body)

    def match(self, products: list[str], segments: list[str], site: str = "main") -> list[str]:
        response = self.match_response(products, segments, site)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()]

    def assignments_response(self, category_id: str, token: str | None = None, **params: Any) -> httpx.Response:
        return self.call(
            "GET", f"/category/{{tenant}}/categories/{category_id}/assignments", token=token, params=params
        )

    def assigned(self, category_id: str, token: str | None = None, **params: Any) -> list[str]:
        """The product ids of a category's assignments, in the answer's order."""
        response = self.assignments_response(category_id, token, **params)
        assert response.status_code == 200, response.text
        return [doc["ref"]["id"] for doc in response.json()]


def outline(forest: list[dict[str, Any]]) -> list[Any]:
    return [(n["id"], n["isSegmentAssigned"], outline(n.get("subcategories", []))) for n in forest]


@contextmanager
def served(settings: Settings, **changes: Any) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    """Another process's app on the same database: its own pool and its own answer cache."""
    app = create_served_app(replace(settings, **changes))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client


def shop_of(client: TestClient[Any], tokens: Tokens, tenant: str) -> Shop:
    return Shop(client, tokens, tenant)
