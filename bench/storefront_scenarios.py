"""The storefront scenarios: their requests (wrk Lua scripts), the check that every request answers what it must
before anything is timed, and the targets the report holds them to.

Customer requests carry a customer token per customer, minted with the service's signing key for the customer's
live session row (bench/storefront.py writes it), exactly as the login would mint it; the match carries the run's
service token, whose segment_manage scope that operation needs.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import load, servers
from bench.dataset import TENANT
from bench.load import BenchError, ScriptedRequest
from bench.report import Report
from bench.storefront import MY_ITEMS, StorefrontLoadResult
from bench.storefront_probes import MATCH_SITE, PAGE_SIZE, CategoryFilterProbe, Shopper, TreeProbe
from segment_service.core.auth import CUSTOMER_SCOPES, TokenKind, TokenService

#: Scenario keys (for --scenarios) and their report names, in run order.
SCENARIOS = {
    "my-items": "items of my segments",
    "my-category-tree": "category tree of my segments",
    "match": "match 20 products",
    "category-segments": "category assignments by segments",
    "category-segments-subtree": "category subtree by segments",
    "my-items-churn": "items of my segments, 50 writes/s",
}
#: By report name: the least share of the floor's req/s, and the most p99 in ms (None: no p99 target).
TARGETS: dict[str, tuple[float, float | None]] = {
    SCENARIOS["my-items"]: (0.50, 20.0),
    SCENARIOS["my-category-tree"]: (0.40, None),
    SCENARIOS["match"]: (0.40, None),
    SCENARIOS["category-segments"]: (0.40, None),
    SCENARIOS["category-segments-subtree"]: (0.40, None),
    SCENARIOS["my-items-churn"]: (0.50, None),
}
#: The storefront reads measured again on a service with the answer cache off (bench/__main__.py), by report name.
COLD_TWINS = {
    SCENARIOS[key]: f"{SCENARIOS[key]} (cache off)"
    for key in ("my-items", "my-category-tree", "match", "category-segments", "category-segments-subtree")
}
SEGMENTS_PATH = f"/customer-segment/{TENANT}/segments"
TOKEN_TTL_SECONDS = 4 * 3600

Scenario = tuple[str, str, str, Path | None]
Check = Callable[[int, Any], str | None]


def customer_tokens(signing_key: str, shoppers: list[Shopper]) -> dict[str, str]:
    """A customer token per shopper (by customer id), as POST /customer/{tenant}/login would issue it."""
    tokens = TokenService(signing_key)
    return {
        s.customer_id: tokens.issue(
            tenant=TENANT,
            kind=TokenKind.CUSTOMER,
            subject=s.customer_id,
            scopes=CUSTOMER_SCOPES,
            ttl_seconds=TOKEN_TTL_SECONDS,
            customer_id=s.customer_id,
            session_id=s.session_id,
        )
        for s in shoppers
    }


def category_path(category_id: str, segment_ids: tuple[str, ...], *, with_subcategories: bool) -> str:
    """GET /categories/{id}/assignments of the category, filtered by the segments, first page of PAGE_SIZE."""
    query = {
        "assignmentType": "PRODUCT",
        "segmentsIds": ",".join(segment_ids),
        "pageNumber": "1",
        "pageSize": str(PAGE_SIZE),
    }
    if with_subcategories:
        query["withSubcategories"] = "true"
    return f"/category/{TENANT}/categories/{category_id}/assignments?{urllib.parse.urlencode(query)}"


def _items_check(expected: frozenset[tuple[str, str, str]]) -> Check:
    def check(status: int, body: Any) -> str | None:
        if status != 200 or not isinstance(body, list):
            return f"answered {status}: {str(body)[:300]}"
        got = {(a.get("segmentId"), a.get("type"), (a.get("item") or {}).get("id")) for a in body}
        if len(body) != len(expected) or got != expected:
            return (
                f"returned {len(body)} assignments, expected the {len(expected)} of the customer's active "
                f"segments ({len(got - expected)} unexpected, {len(expected - got)} missing)"
            )
        return None

    return check


def _tree_nodes(nodes: Any, seen: dict[str, bool]) -> None:
    for node in nodes if isinstance(nodes, list) else []:
        seen[str(node.get("id"))] = bool(node.get("isSegmentAssigned"))
        _tree_nodes(node.get("subcategories"), seen)


def _tree_check(probe: TreeProbe) -> Check:
    def check(status: int, body: Any) -> str | None:
        if status != 200 or not isinstance(body, list) or not body:
            return f"answered {status}: {str(body)[:300]}"
        seen: dict[str, bool] = {}
        _tree_nodes(body, seen)
        flagged = {c for c, is_assigned in seen.items() if is_assigned}
        if set(seen) != probe.nodes:
            return (
                f"returned {len(seen)} categories, expected {len(probe.nodes)}: {len(set(seen) - probe.nodes)} "
                f"unexpected, {len(probe.nodes - set(seen))} missing"
            )
        if not probe.assigned <= flagged <= probe.covered:
            return (
                f"flagged {len(flagged)} categories as assigned: {len(probe.assigned - flagged)} of the "
                f"{len(probe.assigned)} assigned ones not, {len(flagged - probe.covered)} ancestors wrongly"
            )
        return None

    return check


def _match_check(expected: frozenset[str]) -> Check:
    def check(status: int, body: Any) -> str | None:
        if status != 200 or not isinstance(body, list):
            return f"answered {status}: {str(body)[:300]}"
        got = {m.get("id") for m in body}
        if got != expected:
            return f"matched {sorted(got)}, expected {sorted(expected)}"
        return None

    return check


def _category_check(probe: CategoryFilterProbe) -> Check:
    """A page of either reading of segmentsIds (CategoryFilterProbe), every assignment of that reading's
    categories."""
    readings = ((probe.strict, probe.strict_total), (probe.inherited, probe.inherited_total))

    def check(status: int, body: Any) -> str | None:
        if status != 200 or not isinstance(body, list) or not body:
            return f"answered {status}: {str(body)[:300]}"
        if any(not (a.get("ref") or {}).get("id") for a in body):
            return f"returned assignments without ref.id: {str(body[0])[:300]}"
        categories = {a.get("categoryId") for a in body}
        if not any(len(body) == min(PAGE_SIZE, total) and categories <= allowed for allowed, total in readings):
            return (
                f"returned {len(body)} assignments of {len(categories)} categories; expected a page of the "
                f"{probe.strict_total} assignments of the {len(probe.strict)} asked categories the segments "
                f"name, or of the {probe.inherited_total} of the {len(probe.inherited)} that they name or lie "
                "below one they name"
            )
        return None

    return check


def _empty_check(status: int, body: Any) -> str | None:
    return None if status == 200 and body == [] else f"answered {status} with {str(body)[:300]}, expected []"


def _category_requests(probes: list[CategoryFilterProbe], tokens: list[str]) -> list[tuple[ScriptedRequest, Check]]:
    return [
        (
            ScriptedRequest(
                "GET",
                category_path(p.category_id, p.segment_ids, with_subcategories=p.with_subcategories),
                tokens[n % len(tokens)],
            ),
            _category_check(p),
        )
        for n, p in enumerate(probes)
    ]


def _category_control(probes: list[CategoryFilterProbe], token: str) -> list[tuple[ScriptedRequest, Check]]:
    """The first request once more, naming only a segment with no category in or above the asked ones: it must
    answer an empty page, or the filter is not applied at all (and the scenario would measure something else)."""
    probe = next((p for p in probes if p.unrelated_segment_id is not None), None)
    if probe is None or probe.unrelated_segment_id is None:
        return []
    path = category_path(probe.category_id, (probe.unrelated_segment_id,), with_subcategories=probe.with_subcategories)
    return [(ScriptedRequest("GET", path, token), _empty_check)]


def _verify(service_url: str, name: str, requests: list[tuple[ScriptedRequest, Check]]) -> None:
    """Send each request once; raise naming the failures when any answers wrongly or empty."""
    failures = []
    for request, check in requests:
        body = json.loads(request.body) if request.body is not None else None
        try:
            status, answer = servers.request(
                service_url + request.path, method=request.method, body=body, token=request.token, timeout=30.0
            )
        except (OSError, ValueError) as exc:
            failures.append(f"{request.method} {request.path}: {exc}")
            continue
        problem = check(status, answer)
        if problem is not None:
            failures.append(f"{request.method} {request.path} {problem}")
    if failures:
        raise BenchError(
            f"{name}: {len(failures)} of {len(requests)} requests did not answer what they must, "
            "so there is nothing worth measuring:\n  " + "\n  ".join(failures[:3])
        )


def scenarios(
    keys: tuple[str, ...],
    service_url: str,
    service_token: str,
    signing_key: str,
    data: StorefrontLoadResult,
    workdir: Path,
) -> list[Scenario]:
    """(name, description, url, Lua script) of the selected storefront scenarios, each request checked first."""
    tokens = customer_tokens(signing_key, [p.shopper for p in data.items] + [p.shopper for p in data.trees])
    tree_tokens = [tokens[p.shopper.customer_id] for p in data.trees]
    requests: dict[str, list[tuple[ScriptedRequest, Check]]] = {
        "my-items": [
            (ScriptedRequest("GET", f"{SEGMENTS_PATH}/items", tokens[p.shopper.customer_id]), _items_check(p.expected))
            for p in data.items
        ],
        "my-category-tree": [
            (
                ScriptedRequest(
                    "GET", f"{SEGMENTS_PATH}/items/category-trees?siteCode={MATCH_SITE}", tokens[p.shopper.customer_id]
                ),
                _tree_check(p),
            )
            for p in data.trees
        ],
        "match": [
            (
                ScriptedRequest(
                    "POST",
                    f"{SEGMENTS_PATH}/match",
                    service_token,
                    json.dumps(
                        {
                            "siteCode": MATCH_SITE,
                            "items": [{"id": i} for i in p.product_ids],
                            "segmentIds": list(p.segment_ids),
                        },
                        separators=(",", ":"),
                    ),
                ),
                _match_check(p.expected),
            )
            for p in data.matches
        ],
        "category-segments": _category_requests(data.category_filters, tree_tokens),
        # The my-items requests, with writes and checked reads beside them (bench/churn.py).
        "my-items-churn": [
            (ScriptedRequest("GET", f"{SEGMENTS_PATH}/items", tokens[p.shopper.customer_id]), _items_check(p.expected))
            for p in data.items
        ],
        "category-segments-subtree": _category_requests(data.subtree_filters, tree_tokens),
    }
    controls = {
        "category-segments": _category_control(data.category_filters, tree_tokens[0]),
        "category-segments-subtree": _category_control(data.subtree_filters, tree_tokens[0]),
    }
    result: list[Scenario] = []
    for key in keys:
        _verify(service_url, SCENARIOS[key], requests[key] + controls.get(key, []))
        script = workdir / f"{key}.lua"
        script.write_text(load.requests_script([r for r, _ in requests[key]]), encoding="utf-8")
        result.append((SCENARIOS[key], describe(key, data), f"{service_url}{SEGMENTS_PATH}/x", script))
    return result


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def describe(key: str, data: StorefrontLoadResult) -> str:
    """What a scenario requests, for the report."""
    if key == "my-items":
        return (
            f"GET {SEGMENTS_PATH}/items with a customer token (customersegment.segment_read_own), the customer "
            f"drawn at random from {len(data.items)} B2C customers, each a member of 2 or 3 active segments that "
            f"hold exactly {MY_ITEMS} item assignments between them, and of one segment that is not active; "
            "default page (60)"
        )
    if key == "my-category-tree":
        return (
            f"GET {SEGMENTS_PATH}/items/category-trees?siteCode={MATCH_SITE} with a customer token, the customer "
            f"drawn at random from {len(data.trees)} B2C customers with typical memberships whose active segments "
            f"of the site have categories as items (about {_mean([len(p.assigned) for p in data.trees]):.0f} "
            f"assigned categories, {_mean([len(p.nodes) for p in data.trees]):.0f} tree nodes with their "
            "ancestors and descendants)"
        )
    if key == "match":
        return (
            f"POST {SEGMENTS_PATH}/match with the service token, the body drawn at random from "
            f"{len(data.matches)}: siteCode {MATCH_SITE}, 20 product ids (some the segments have as items, some "
            f"under a category they have as an item, the rest at random) and "
            f"{_mean([len(p.segment_ids) for p in data.matches]):.1f} segment ids on average (a quarter also name "
            f"one that is not active on {MATCH_SITE}); {_mean([len(p.expected) for p in data.matches]):.1f} "
            "products match"
        )
    if key == "my-items-churn":
        return (
            f"the requests of {SCENARIOS['my-items']}, while 25 writers add and remove memberships of those "
            "customers and items of their segments at 50 writes/s in all, each write followed by a read of the "
            "customer's items checked against the database (bench/churn.py)"
        )
    probes = data.category_filters if key == "category-segments" else data.subtree_filters
    what = (
        "a category with at least a page of products that one of the segments has as an item"
        if key == "category-segments"
        else "a level-2 category with withSubcategories=true, and the segments "
        "that have categories of its subtree as items"
    )
    return (
        f"GET /category/{TENANT}/categories/{{id}}/assignments?assignmentType=PRODUCT&segmentsIds=…&pageNumber=1"
        f"&pageSize=60 with a customer token, drawn at random from {len(probes)} requests: {what} "
        f"({_mean([len(p.segment_ids) for p in probes]):.1f} segments on average, "
        f"{_mean([p.strict_total for p in probes]):,.0f} assignments of categories the segments name)"
    )


def target_notes(report: Report) -> list[str]:
    """One line per measured storefront scenario: its share of the floor and p99 against the targets."""
    notes = []
    for scenario in report.scenarios:
        if scenario.name not in TARGETS:
            continue
        least, p99_limit = TARGETS[scenario.name]
        ratio = report.ratio(scenario)
        if ratio is None:
            continue
        parts = [f"{ratio:.2f} of the floor (target at least {least:.2f}: {'met' if ratio >= least else 'MISSED'})"]
        if p99_limit is not None:
            met = scenario.result.p99_ms <= p99_limit
            parts.append(
                f"p99 {scenario.result.p99_ms:.1f} ms (target at most {p99_limit:.0f} ms: {'met' if met else 'MISSED'})"
            )
        notes.append(f"target, {scenario.name}: " + ", ".join(parts))
    return notes


def with_cache_off_twins(scenarios: list[Scenario], service_url: str, cold_url: str) -> list[Scenario]:
    """`scenarios` with each storefront read's twin on the service without the answer cache (`cold_url`) right after
    it, before the churn scenario changes the data."""
    paired: list[Scenario] = []
    for name, description, url, script in scenarios:
        paired.append((name, description, url, script))
        if name in COLD_TWINS:
            paired.append(
                (COLD_TWINS[name], f"{description}; the answer cache off", url.replace(service_url, cold_url), script)
            )
    return paired
