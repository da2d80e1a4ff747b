"""What the storefront tests share: a shop of segments in every state, customers B2C and B2B, and their items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.factories import Api, assign_customer, assign_item, make_contact


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


NOW = datetime.now(UTC)
PAST = {"from": iso(NOW - timedelta(days=60)), "to": iso(NOW - timedelta(days=1))}
FUTURE = {"from": iso(NOW + timedelta(days=1))}
CURRENT = {"from": iso(NOW - timedelta(days=1)), "to": iso(NOW + timedelta(days=365))}

#: segment id -> (status, site, validity or None, its items as (type, id))
SEGMENTS: dict[str, tuple[str, str, dict[str, str] | None, list[tuple[str, str]]]] = {
    "gold": ("ACTIVE", "main", CURRENT, [("PRODUCT", "p1"), ("PRODUCT", "p2"), ("CATEGORY", "cat-a")]),
    "silver": ("ACTIVE", "main", None, [("PRODUCT", "p3")]),
    "inactive": ("INACTIVE", "main", None, [("PRODUCT", "p4")]),
    "expired": ("ACTIVE", "main", PAST, [("PRODUCT", "p5")]),
    "future": ("ACTIVE", "main", FUTURE, [("PRODUCT", "p6")]),
    "other-site": ("ACTIVE", "other", None, [("PRODUCT", "p7")]),
    "acme-only": ("ACTIVE", "main", None, [("PRODUCT", "p8")]),
    "globex-only": ("ACTIVE", "main", None, [("PRODUCT", "p9")]),
}

#: Who is a member of what: (segment, customer, legal entity or '' for B2C).
MEMBERSHIPS = [
    ("gold", "c1", ""),
    ("inactive", "c1", ""),
    ("expired", "c1", ""),
    ("future", "c1", ""),
    ("other-site", "c1", ""),
    ("acme-only", "c1", "acme"),
    ("globex-only", "c1", "globex"),
    ("silver", "c2", ""),
]


def build_shop(api: Api, database_url: str) -> None:
    """The segments above with their items, c1 a contact of acme and globex, c2 a B2C customer only."""
    for segment_id, (status, site, validity, items) in SEGMENTS.items():
        overrides: dict[str, Any] = {"id": segment_id, "status": status, "siteCode": site, "validity": validity}
        api.create_segment(**overrides)
        for item_type, item_id in items:
            assign_item(database_url, api.tenant, segment_id, item_id, item_type)
    make_contact(database_url, api.tenant, "acme", "c1")
    make_contact(database_url, api.tenant, "globex", "c1")
    make_contact(database_url, api.tenant, "initech", "c2")
    for segment_id, customer_id, legal_entity_id in MEMBERSHIPS:
        assign_customer(database_url, api.tenant, segment_id, customer_id, legal_entity_id)


def item_ids(docs: list[dict[str, Any]]) -> list[str]:
    return [d["item"]["id"] for d in docs]
