"""What the condition tests share: moments relative to now as the API writes them, who a rule makes members, and
the writes the rule helpers lack (contacts with `primary`, orders with several entries, manual assignments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.orders.helpers import entry, order_body
from tests.rules.helpers import RuleApi


def iso(moment: datetime) -> str:
    """`2026-01-31T00:00:00.000Z`: a date-time as the API writes it (UTC, milliseconds)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ago(days: float) -> str:
    """The moment `days` before now."""
    return iso(datetime.now(UTC) - timedelta(days=days))


def matched(rules: RuleApi, condition: dict[str, Any]) -> set[str]:
    """The customers a CUSTOMER rule makes members of a new segment, once its evaluation ended."""
    segment = rules.create_segment()
    doc = rules.save_rule(segment, condition)
    members = rules.members(segment)
    assert set(members.values()) <= {"AUTOMATIC"}, members
    assert all(legal_entity is None for _, legal_entity in members), members
    assert doc["memberCount"] == len(members), doc
    return {customer for customer, _ in members}


def matched_contacts(rules: RuleApi, condition: dict[str, Any]) -> set[tuple[str, str]]:
    """The (customer, legal entity) memberships a CONTACT rule makes in a new segment."""
    segment = rules.create_segment()
    doc = rules.save_rule(segment, condition, subject="CONTACT")
    members = rules.members(segment)
    assert set(members.values()) <= {"AUTOMATIC"}, members
    assert doc["memberCount"] == len(members), doc
    contacts: set[tuple[str, str]] = set()
    for customer, legal_entity in members:
        assert legal_entity is not None, members
        contacts.add((customer, legal_entity))
    return contacts


def add_contact(rules: RuleApi, legal_entity_id: str, customer_id: str, contact_type: str, primary: bool) -> None:
    """A contact assignment with its `primary` flag, through the Customer Management API."""
    response = rules.client.post(
        f"/customer-management/{rules.tenant}/contact-assignments",
        json={
            "legalEntity": {"id": legal_entity_id},
            "customer": {"id": customer_id},
            "type": contact_type,
            "primary": primary,
        },
        headers=rules.auth(),
    )
    assert response.status_code == 201, response.text


def add_order(rules: RuleApi, customer_id: str, lines: list[tuple[str, float]], **overrides: Any) -> None:
    """An order of several entries (product id, gross amount); its total is theirs."""
    body = order_body(customer_id, *(entry(product, gross=gross) for product, gross in lines), **overrides)
    response = rules.client.post(f"/order-v2/{rules.tenant}/salesorders", json=body, headers=rules.auth())
    assert response.status_code == 201, response.text


def assign(rules: RuleApi, segment_id: str, customer_id: str, legal_entity_id: str | None = None) -> None:
    """A manual assignment (B2C, or B2B with a legal entity)."""
    path = f"/segments/{segment_id}/customers/{customer_id}" + (f"/{legal_entity_id}" if legal_entity_id else "")
    response = rules.request("PUT", path)
    assert response.status_code == 201, response.text
