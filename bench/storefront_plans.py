"""The SQL behind the storefront scenarios, recorded from the service's own functions called as their routes call
them (bench/plans.py: the stand-in database records each statement instead of running it, and explains them later).

Each scenario's statements are recorded for one typical request of it: the customer or body in the middle of its
pool by size.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bench.dataset import TENANT
from bench.plans import Statement, record
from bench.storefront import StorefrontLoadResult
from bench.storefront_probes import MATCH_SITE, PAGE_SIZE, CategoryFilterProbe, Shopper
from bench.storefront_scenarios import SCENARIOS
from segment_service.core.auth import CUSTOMER_SCOPES, SERVICE_SCOPES, Caller, TokenKind
from segment_service.core.db import Database
from segment_service.core.paging import Page

P = TypeVar("P")


def _customer(shopper: Shopper) -> Caller:
    return Caller(
        tenant=TENANT,
        kind=TokenKind.CUSTOMER,
        subject=shopper.customer_id,
        scopes=frozenset(CUSTOMER_SCOPES),
        expires_at=int(time.time()) + 3600,
        customer_id=shopper.customer_id,
        session_id=shopper.session_id,
    )


def _service() -> Caller:
    return Caller(
        tenant=TENANT,
        kind=TokenKind.SERVICE,
        subject="bench",
        scopes=frozenset(SERVICE_SCOPES),
        expires_at=int(time.time()) + 3600,
    )


def _middle(probes: list[P], size: Callable[[P], int]) -> P:
    return sorted(probes, key=size)[len(probes) // 2]


async def statements(keys: tuple[str, ...], data: StorefrontLoadResult, notes: list[str]) -> dict[str, list[Statement]]:
    """The statements each selected storefront scenario's typical request sends, by scenario name; a function that
    cannot be called as expected (it is being changed) gets a note instead of a plan."""
    from segment_service.categories import assignments as category_service
    from segment_service.segments import storefront as service

    page = Page(1, PAGE_SIZE)
    tree = _middle(data.trees, lambda p: len(p.nodes))
    match = _middle(data.matches, lambda p: len(p.expected))

    def category_call(probe: CategoryFilterProbe) -> Callable[[Database], Awaitable[object]]:
        filters = category_service.AssignmentFilters(
            with_subcategories=probe.with_subcategories,
            show_unpublished=False,
            hide_unpublished_products=False,
            product_id=None,
            name_contains=None,
            segment_ids=probe.segment_ids,
        )
        return lambda db: category_service.category_assignments_answer(
            db,
            _customer(tree.shopper),
            probe.category_id,
            filters=filters,
            page=page,
            sort=None,
            with_total=False,
            languages=None,
            default_language="en",
            variant=None,
            render=lambda page: (b"", {}),
        )

    calls: dict[str, tuple[Callable[[Database], Awaitable[object]], int | None]] = {
        "my-items": (
            lambda db: service.items_answer(
                db,
                _customer(data.items[0].shopper),
                q=None,
                page=page,
                sort=None,
                with_total=False,
                legal_entity_id=None,
                site_code=None,
                only_active=False,
                variant=None,
                shape=lambda doc: doc,
            ),
            None,
        ),
        "my-category-tree": (
            lambda db: service.category_trees_answer(
                db,
                _customer(tree.shopper),
                legal_entity_id=None,
                site_code=MATCH_SITE,
                languages=None,
                default_language="en",
                render=lambda forest: (b"", {}),
            ),
            None,
        ),
        "match": (
            lambda db: service.match_answer(
                db,
                _service(),
                product_ids=match.product_ids,
                segment_ids=match.segment_ids,
                site=None,
                site_code=MATCH_SITE,
            ),
            None,
        ),
        # Only the page: with rows the service sends nothing else (the stand-in's empty answer provokes the 404
        # check of an empty page).
        "category-segments": (category_call(_middle(data.category_filters, lambda p: p.strict_total)), 1),
        "category-segments-subtree": (category_call(_middle(data.subtree_filters, lambda p: p.strict_total)), 1),
    }
    result: dict[str, list[Statement]] = {}
    for key in keys:
        if key not in calls:
            continue  # the churn scenario sends the my-items requests
        call, keep = calls[key]
        try:
            result[SCENARIOS[key]] = (await record(call, fetchval_result=True))[:keep]
        except (TypeError, AttributeError, RuntimeError) as exc:
            notes.append(
                f"{SCENARIOS[key]}: the service's statements could not be recorded "
                f"({type(exc).__name__}: {exc}); no plan for it"
            )
    return result
