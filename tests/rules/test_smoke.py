from __future__ import annotations

from tests.rules.helpers import RuleApi, attr


def test_an_attribute_rule_makes_automatic_members(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Bob")
    segment = rules.create_segment()
    doc = rules.save_rule(segment, attr("customer.firstName", "eq", "Ann"))
    assert doc["memberCount"] == 1
    assert rules.members(segment) == {("c1", None): "AUTOMATIC"}
    rules.update_customer("c2", firstName="Ann")
    assert rules.members(segment) == {("c1", None): "AUTOMATIC", ("c2", None): "AUTOMATIC"}
    ex = rules.explain(segment, "c1")
    assert ex["because"] == "RULE", ex
    p = rules.preview(segment, attr("customer.firstName", "eq", "Bob"))
    assert p["matchCount"] == 0, p
    assert p["removed"]["count"] == 2, p
