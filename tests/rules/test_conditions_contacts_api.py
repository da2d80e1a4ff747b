"""CONTACT rules (legalEntity.*, contact.*, purchases per legal entity), inSegment in both subjects, and preview
counts, over HTTP (docs/rules.md#conditions, #other-segments, #api)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rules.condition_helpers import add_contact, add_order, assign, matched, matched_contacts
from tests.rules.helpers import RuleApi, attr

EVERY_CONTACT = {("k1", "L1"), ("k2", "L1"), ("k2", "L2"), ("k3", "L3")}


@pytest.fixture
def companies(rules: RuleApi) -> None:
    """L1 "Alpha GmbH" (COMPANY, DE, registered 2000-01-01), L2 "Beta SA" (SUBSIDIARY of L1, FR), L3 "Gamma"
    (COMPANY, no legal info); contacts k1@L1 (PRIMARY, primary), k2@L1 (CONTACT), k2@L2 (BILLING), k3@L3 (CONTACT,
    primary); k4 is no contact. k1 bought B2C, k2 for L2."""
    for customer in ("k1", "k2", "k3", "k4"):
        rules.create_customer(customer)
    rules.create_legal_entity(
        "L1",
        name="Alpha GmbH",
        legalInfo={"countryOfRegistration": "DE", "registrationDate": "2000-01-01T00:00:00.000Z"},
    )
    rules.create_legal_entity(
        "L2", name="Beta SA", type="SUBSIDIARY", parentId="L1", legalInfo={"countryOfRegistration": "FR"}
    )
    rules.create_legal_entity("L3", name="Gamma")
    add_contact(rules, "L1", "k1", "PRIMARY", primary=True)
    add_contact(rules, "L1", "k2", "CONTACT", primary=False)
    add_contact(rules, "L2", "k2", "BILLING", primary=False)
    add_contact(rules, "L3", "k3", "CONTACT", primary=True)
    add_order(rules, "k1", [("p1", 40)])
    add_order(rules, "k2", [("p1", 60)], legalEntityId="L2")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (attr("legalEntity.type", "eq", "COMPANY"), {("k1", "L1"), ("k2", "L1"), ("k3", "L3")}),
        (attr("legalEntity.type", "ne", "COMPANY"), {("k2", "L2")}),
        (attr("legalEntity.name", "startsWith", "Be"), {("k2", "L2")}),
        (attr("legalEntity.name", "in", ["Alpha GmbH", "Gamma"]), {("k1", "L1"), ("k2", "L1"), ("k3", "L3")}),
        (attr("legalEntity.id", "eq", "L3"), {("k3", "L3")}),
        (attr("legalEntity.parentId", "eq", "L1"), {("k2", "L2")}),
        (attr("legalEntity.parentId", "missing"), {("k1", "L1"), ("k2", "L1"), ("k3", "L3")}),
        (attr("legalEntity.legalInfo.countryOfRegistration", "eq", "DE"), {("k1", "L1"), ("k2", "L1")}),
        (attr("legalEntity.legalInfo.countryOfRegistration", "ne", "DE"), {("k2", "L2")}),
        (
            {"not": attr("legalEntity.legalInfo.countryOfRegistration", "eq", "DE")},
            {("k2", "L2"), ("k3", "L3")},
        ),
        (attr("legalEntity.legalInfo.countryOfRegistration", "missing"), {("k3", "L3")}),
        (attr("legalEntity.legalInfo.registrationDate", "olderThan", "P365D"), {("k1", "L1"), ("k2", "L1")}),
        (attr("contact.type", "in", ["PRIMARY", "BILLING"]), {("k1", "L1"), ("k2", "L2")}),
        (attr("contact.type", "eq", "CONTACT"), {("k2", "L1"), ("k3", "L3")}),
        (attr("contact.primary", "eq", True), {("k1", "L1"), ("k3", "L3")}),
        (attr("contact.primary", "ne", True), {("k2", "L1"), ("k2", "L2")}),
        (attr("contact.id", "exists"), EVERY_CONTACT),
        (attr("customer.id", "eq", "k2"), {("k2", "L1"), ("k2", "L2")}),
        (
            {"all": [attr("legalEntity.type", "eq", "COMPANY"), attr("contact.primary", "eq", True)]},
            {("k1", "L1"), ("k3", "L3")},
        ),
        (
            {
                "all": [
                    attr("legalEntity.type", "eq", "COMPANY"),
                    attr("legalEntity.legalInfo.countryOfRegistration", "eq", "DE"),
                    attr("contact.type", "in", ["PRIMARY", "CONTACT"]),
                ]
            },
            {("k1", "L1"), ("k2", "L1")},
        ),
        ({"orders": {}, "measure": "count", "op": "gte", "value": 1}, {("k2", "L2")}),
        ({"orders": {}, "measure": "count", "op": "eq", "value": 0}, {("k1", "L1"), ("k2", "L1"), ("k3", "L3")}),
        ({"orders": {"product": "p1"}, "measure": "total", "op": "eq", "value": 60}, {("k2", "L2")}),
    ],
)
def test_contact_rules(
    rules: RuleApi, companies: None, condition: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    assert matched_contacts(rules, condition) == expected


def test_a_customer_rule_reads_all_of_a_customers_orders(rules: RuleApi, companies: None) -> None:
    assert matched(rules, {"orders": {}, "measure": "count", "op": "gte", "value": 1}) == {"k1", "k2"}


def test_a_legal_entity_change_moves_its_contacts(rules: RuleApi, companies: None) -> None:
    segment = rules.create_segment()
    rules.save_rule(segment, attr("legalEntity.legalInfo.countryOfRegistration", "eq", "DE"), subject="CONTACT")
    rules.create_legal_entity("L3", name="Gamma", legalInfo={"countryOfRegistration": "DE"})
    assert set(rules.members(segment)) == {("k1", "L1"), ("k2", "L1"), ("k3", "L3")}


def test_in_segment_in_a_customer_rule_counts_any_context(rules: RuleApi, companies: None) -> None:
    source = rules.create_segment()
    assign(rules, source, "k4")
    assign(rules, source, "k2", "L1")
    reader = rules.create_segment()
    rules.save_rule(reader, {"inSegment": source})
    assert rules.members(reader) == {("k2", None): "AUTOMATIC", ("k4", None): "AUTOMATIC"}
    assert matched(rules, {"not": {"inSegment": source}}) == {"k1", "k3"}
    assign(rules, source, "k1")
    assert rules.member_ids(reader) == {"k1", "k2", "k4"}
    assert rules.request("PUT", f"/segments/{source}/exclusions/k4").status_code == 201
    assert rules.member_ids(reader) == {"k1", "k2"}


def test_in_segment_reads_rule_members(rules: RuleApi, companies: None) -> None:
    source = rules.create_segment()
    rules.save_rule(source, attr("customer.id", "in", ["k3", "k4"]))
    assert matched(rules, {"all": [{"inSegment": source}, attr("customer.id", "ne", "k4")]}) == {"k3"}


def test_in_segment_in_a_contact_rule_needs_the_same_legal_entity(rules: RuleApi, companies: None) -> None:
    source = rules.create_segment()
    assign(rules, source, "k2", "L1")
    assign(rules, source, "k1")
    reader = rules.create_segment()
    rules.save_rule(reader, {"inSegment": source}, subject="CONTACT")
    assert rules.members(reader) == {("k2", "L1"): "AUTOMATIC"}
    assert matched_contacts(rules, {"not": {"inSegment": source}}) == {("k1", "L1"), ("k2", "L2"), ("k3", "L3")}


def test_preview_counts_customer_rules(rules: RuleApi, companies: None) -> None:
    segment = rules.create_segment()
    assign(rules, segment, "k1")
    first = attr("customer.id", "in", ["k2", "k3"])
    assert rules.preview(segment, first) == {
        "matchCount": 2,
        "memberCount": 3,
        "added": {"count": 2, "sample": [{"customerId": "k2"}, {"customerId": "k3"}]},
        "removed": {"count": 0, "sample": []},
    }
    assert rules.members(segment) == {("k1", None): "MANUAL"}
    rules.save_rule(segment, first)
    assert rules.preview(segment, attr("customer.id", "eq", "k3")) == {
        "matchCount": 1,
        "memberCount": 2,
        "added": {"count": 0, "sample": []},
        "removed": {"count": 1, "sample": [{"customerId": "k2"}]},
    }
    assert rules.request("PUT", f"/segments/{segment}/exclusions/k3").status_code == 201
    assert rules.preview(segment, attr("customer.id", "in", ["k1", "k2", "k3", "k4"])) == {
        "matchCount": 4,
        "memberCount": 3,
        "added": {"count": 1, "sample": [{"customerId": "k4"}]},
        "removed": {"count": 0, "sample": []},
    }
    assert rules.members(segment) == {("k1", None): "MANUAL", ("k2", None): "AUTOMATIC"}


def test_preview_counts_contact_rules(rules: RuleApi, companies: None) -> None:
    segment = rules.create_segment()
    assert rules.preview(segment, attr("contact.primary", "eq", True), subject="CONTACT") == {
        "matchCount": 2,
        "memberCount": 2,
        "added": {
            "count": 2,
            "sample": [{"customerId": "k1", "legalEntityId": "L1"}, {"customerId": "k3", "legalEntityId": "L3"}],
        },
        "removed": {"count": 0, "sample": []},
    }
    assert rules.members(segment) == {}


def test_preview_samples_twenty_in_id_order(rules: RuleApi) -> None:
    for n in range(25, 0, -1):
        rules.create_customer(f"m{n:02d}", firstName="Many")
    segment = rules.create_segment()
    preview = rules.preview(segment, attr("customer.firstName", "eq", "Many"))
    assert (preview["matchCount"], preview["memberCount"], preview["added"]["count"]) == (25, 25, 25)
    assert preview["added"]["sample"] == [{"customerId": f"m{n:02d}"} for n in range(1, 21)]
    assert preview["removed"] == {"count": 0, "sample": []}


def test_explain_of_a_contact(rules: RuleApi, companies: None) -> None:
    segment = rules.create_segment()
    rule = {"all": [attr("legalEntity.type", "eq", "COMPANY"), attr("contact.primary", "eq", True)]}
    rules.save_rule(segment, rule, subject="CONTACT")
    assert rules.explain(segment, "k1", "L1") == {
        "member": True,
        "because": "RULE",
        "condition": {
            "result": True,
            "all": [
                {**attr("legalEntity.type", "eq", "COMPANY"), "actual": "COMPANY", "result": True},
                {**attr("contact.primary", "eq", True), "actual": True, "result": True},
            ],
        },
    }
    answer = rules.explain(segment, "k2", "L1")
    assert (answer["member"], answer["because"]) == (False, "NO_MATCH")
    assert [leaf["result"] for leaf in answer["condition"]["all"]] == [True, False]
