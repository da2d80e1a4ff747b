"""Rule memberships follow every write in the write's own transaction (docs/rules.md#freshness): each check below
reads the members right after the write's response, never waiting. Changes that can move anyone (counted order
statuses, a category's products, a segment another rule reads being deleted) queue a full evaluation instead: those
checks wait for the rule to be READY again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from segment_service.rules import evaluation, incremental
from tests.factories import run_sql
from tests.rules.helpers import RuleApi, attr
from tests.rules.support import (
    HeldTransaction,
    assign,
    call,
    eventually,
    exclude,
    in_segment,
    ok,
    orders_leaf,
    unassign,
    unexclude,
)
from tests.segments.item_assignment_helpers import add_category, add_product

ANN = attr("customer.firstName", "eq", "Ann")


def ruled(rules: RuleApi, condition: dict[str, Any], subject: str = "CUSTOMER") -> str:
    segment = rules.create_segment()
    rules.save_rule(segment, condition, subject)
    return segment


def b2c(*customers: str) -> dict[tuple[str, str | None], str]:
    return {(c, None): "AUTOMATIC" for c in customers}


def decline(rules: RuleApi, order_id: str) -> None:
    body = {"status": "DECLINED"}
    ok(call(rules, "POST", f"/order-v2/{{tenant}}/salesorders/{order_id}/transitions", json=body), 204)


def test_a_created_customer_is_a_member_when_the_post_answers(rules: RuleApi) -> None:
    segment = ruled(rules, ANN)
    rules.create_customer("c1", firstName="Ann")
    assert rules.members(segment) == b2c("c1")
    rules.create_customer("c2", firstName="Bob")
    assert rules.members(segment) == b2c("c1")


def test_a_profile_patch_moves_the_customer(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Bob")
    segment = ruled(rules, ANN)
    inactive = ruled(rules, attr("customer.active", "eq", False))
    assert rules.members(segment) == {}
    rules.update_customer("c1", firstName="Ann")
    assert rules.members(segment) == b2c("c1")
    rules.update_customer("c1", firstName=None)
    assert rules.members(segment) == {}
    rules.update_customer("c1", active=False)
    assert rules.members(inactive) == b2c("c1")
    rules.update_customer("c1", active=True)
    assert rules.members(inactive) == {}


def test_a_put_of_the_whole_profile_moves_the_customer(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Bob")
    segment = ruled(rules, ANN)
    body = {"contactEmail": "c1@example.com", "firstName": "Ann"}
    ok(call(rules, "PUT", "/customer/{tenant}/customers/c1", json=body), 200, 204)
    assert rules.members(segment) == b2c("c1")


def test_a_mixins_patch_moves_the_customer(rules: RuleApi) -> None:
    rules.create_customer("c1", mixins={"loyalty": {"tier": "silver"}})
    gold = ruled(rules, attr("customer.mixins.loyalty.tier", "eq", "gold"))
    assert rules.members(gold) == {}
    rules.update_customer("c1", mixins={"loyalty": {"tier": "gold"}})
    assert rules.members(gold) == b2c("c1")
    rules.update_customer("c1", mixins={"loyalty": {"tier": None}})
    assert rules.members(gold) == {}


def test_a_legal_entity_update_moves_its_contacts(rules: RuleApi) -> None:
    for customer in ("c1", "c2", "c3"):
        rules.create_customer(customer)
    rules.create_legal_entity("L1", name="Initech")
    rules.create_legal_entity("L2", name="Globex")
    rules.create_contact("L1", "c1")
    rules.create_contact("L1", "c2")
    rules.create_contact("L2", "c3")
    segment = ruled(rules, attr("legalEntity.name", "eq", "Acme"), "CONTACT")
    assert rules.members(segment) == {}
    rules.create_legal_entity("L1", name="Acme")
    assert rules.members(segment) == {("c1", "L1"): "AUTOMATIC", ("c2", "L1"): "AUTOMATIC"}
    rules.create_legal_entity("L1", name="Acme Inc.")
    assert rules.members(segment) == {}


def test_a_contact_assignment_created_or_changed_moves_the_contact(rules: RuleApi) -> None:
    rules.create_customer("c1")
    rules.create_legal_entity("L1")
    rules.create_legal_entity("L2")
    contacts = ruled(rules, attr("legalEntity.type", "eq", "COMPANY"), "CONTACT")
    primaries = ruled(rules, attr("contact.type", "eq", "PRIMARY"), "CONTACT")
    assignment = rules.create_contact("L1", "c1")
    assert rules.members(contacts) == {("c1", "L1"): "AUTOMATIC"}
    assert rules.members(primaries) == {}
    body = {"legalEntity": {"id": "L1"}, "customer": {"id": "c1"}, "type": "PRIMARY"}
    ok(call(rules, "PUT", f"/customer-management/{{tenant}}/contact-assignments/{assignment}", json=body), 204)
    assert rules.members(primaries) == {("c1", "L1"): "AUTOMATIC"}
    rules.create_contact("L2", "c1")
    assert rules.members(contacts) == {("c1", "L1"): "AUTOMATIC", ("c1", "L2"): "AUTOMATIC"}
    ok(call(rules, "DELETE", f"/customer-management/{{tenant}}/contact-assignments/{assignment}"), 204)
    assert rules.members(contacts) == {("c1", "L2"): "AUTOMATIC"}
    assert rules.members(primaries) == {}


def test_orders_created_deleted_and_declined_move_the_customer(rules: RuleApi) -> None:
    rules.create_customer("c1")
    segment = ruled(rules, orders_leaf("count", "gte", 2))
    spenders = ruled(rules, orders_leaf("total", "gte", 100))
    first = rules.create_order("c1", gross=60)
    assert rules.members(segment) == {}
    second = rules.create_order("c1", gross=60)
    assert rules.members(segment) == b2c("c1")
    assert rules.members(spenders) == b2c("c1")
    ok(call(rules, "DELETE", f"/order-v2/{{tenant}}/salesorders/{second}"), 204)
    assert rules.members(segment) == {}
    assert rules.members(spenders) == {}
    third = rules.create_order("c1", gross=60)
    assert rules.members(segment) == b2c("c1")
    decline(rules, third)
    assert rules.members(segment) == {}
    patch = {"calculatedPrice": {"finalPrice": {"grossValue": 150, "netValue": 150, "taxValue": 0}}}
    ok(call(rules, "PATCH", f"/order-v2/{{tenant}}/salesorders/{first}", json=patch), 204)
    assert rules.members(spenders) == b2c("c1")


def test_a_customer_with_more_orders_than_a_write_reads_is_re_evaluated_by_sql(
    rules: RuleApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past incremental.MAX_ORDERS orders among its customers, a write's re-evaluation adds them up with set-based
    statements instead of reading them (here the bound is lowered to 2); the memberships come out the same."""
    monkeypatch.setattr(incremental, "MAX_ORDERS", 2)
    statements: list[int] = []
    original = evaluation.apply_rules

    async def counted(*args: Any, **kwargs: Any) -> Any:
        statements.append(1)
        return await original(*args, **kwargs)

    monkeypatch.setattr(evaluation, "apply_rules", counted)
    rules.create_customer("c1")
    segment = ruled(rules, orders_leaf("count", "gte", 3))
    spenders = ruled(rules, {"all": [orders_leaf("total", "gte", 25), attr("customer.id", "eq", "c1")]})
    rules.create_order("c1", gross=10)
    rules.create_order("c1", gross=10)
    assert (rules.members(segment), rules.members(spenders), statements) == ({}, {}, [])
    third = rules.create_order("c1", gross=10)
    assert (rules.members(segment), rules.members(spenders)) == (b2c("c1"), b2c("c1"))
    assert statements
    ok(call(rules, "DELETE", f"/order-v2/{{tenant}}/salesorders/{third}"), 204)
    assert (rules.members(segment), rules.members(spenders)) == ({}, {})


def test_a_manual_membership_moves_the_rules_that_read_its_segment(rules: RuleApi) -> None:
    rules.create_customer("c1")
    rules.create_customer("c2")
    staff = rules.create_segment()
    readers = ruled(rules, in_segment(staff))
    others = ruled(rules, {"not": in_segment(staff)})
    assert rules.members(others) == b2c("c1", "c2")
    ok(assign(rules, staff, "c1"), 201)
    assert rules.members(readers) == b2c("c1")
    assert rules.members(others) == b2c("c2")
    ok(unassign(rules, staff, "c1"), 204)
    assert rules.members(readers) == {}
    assert rules.members(others) == b2c("c1", "c2")


def test_a_chain_of_rules_follows_in_one_write(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Bob")
    rules.create_customer("c2", firstName="Bob")
    c = ruled(rules, ANN)
    b = ruled(rules, in_segment(c))
    a = ruled(rules, {"all": [in_segment(b), attr("customer.id", "ne", "c2")]})
    rules.update_customer("c1", firstName="Ann")
    assert (rules.members(c), rules.members(b), rules.members(a)) == (b2c("c1"), b2c("c1"), b2c("c1"))
    ok(assign(rules, c, "c2"), 201)
    assert rules.members(b) == b2c("c1", "c2")
    assert rules.members(a) == b2c("c1")
    ok(assign(rules, b, "c1"), 204)  # c1 stays in b by hand when c leaves it
    rules.update_customer("c1", firstName="Bob")
    assert (rules.members(c), rules.members(b), rules.members(a)) == (
        {("c2", None): "MANUAL"},
        {("c1", None): "MANUAL", ("c2", None): "AUTOMATIC"},
        b2c("c1"),
    )
    ok(unassign(rules, b, "c1"), 204)
    assert (rules.members(b), rules.members(a)) == (b2c("c2"), {})


def test_a_deleted_customer_leaves_every_rule_segment(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    segment = ruled(rules, ANN)
    readers = ruled(rules, in_segment(segment))
    ok(call(rules, "DELETE", "/customer/{tenant}/customers/c1"), 202, 204)
    assert (rules.members(segment), rules.members(readers)) == ({}, {})


def test_counted_statuses_queue_the_purchase_rules(rules: RuleApi) -> None:
    rules.create_customer("c1")
    rules.create_customer("c2")
    declined = rules.create_order("c1")
    decline(rules, declined)
    rules.create_order("c2")
    buyers = ruled(rules, orders_leaf("count", "gte", 1))
    names = ruled(rules, attr("customer.id", "exists"))
    assert rules.members(buyers) == b2c("c2")
    names_before = rules.get_rule(names)
    settings = {"countedStatuses": ["CREATED", "CONFIRMED", "SHIPPED", "COMPLETED", "DECLINED"]}
    ok(call(rules, "PUT", "/order-v2/{tenant}/purchase-settings", json=settings), 204)
    doc = rules.wait_ready(buyers)
    assert doc["state"] == "READY", doc
    assert doc["memberCount"] == 2
    assert rules.members(buyers) == b2c("c1", "c2")
    assert rules.get_rule(names) == names_before  # reads no purchases: not queued
    ok(call(rules, "PUT", "/order-v2/{tenant}/purchase-settings", json={"countedStatuses": ["COMPLETED"]}), 204)
    assert rules.wait_ready(buyers)["state"] == "READY"
    assert rules.members(buyers) == {}


def test_a_category_change_queues_the_rules_that_read_it(rules: RuleApi, database_url: str) -> None:
    rules.create_customer("c1")
    add_product(rules, "p1")
    add_category(database_url, rules, "tools")
    rules.create_order("c1", product="p1")
    segment = ruled(rules, orders_leaf("count", "gte", 1, category="tools"))
    assert rules.members(segment) == {}
    body = {"ref": {"id": "p1", "type": "PRODUCT"}}
    ok(call(rules, "POST", "/category/{tenant}/categories/tools/assignments", json=body), 201)
    assert rules.wait_ready(segment)["state"] == "READY"
    assert rules.members(segment) == b2c("c1")


def test_deleting_a_segment_another_rule_reads(rules: RuleApi) -> None:
    rules.create_customer("c1")
    rules.create_customer("c2")
    staff = rules.create_segment()
    ok(assign(rules, staff, "c1"), 201)
    readers = ruled(rules, in_segment(staff))
    others = ruled(rules, {"not": in_segment(staff)})
    assert (rules.members(readers), rules.members(others)) == (b2c("c1"), b2c("c2"))
    ok(rules.request("DELETE", f"/segments/{staff}", params={"forceDelete": "true"}), 204)
    assert rules.wait_ready(readers)["state"] == "READY"
    assert rules.wait_ready(others)["state"] == "READY"
    assert (rules.members(readers), rules.members(others)) == ({}, b2c("c1", "c2"))


def test_an_order_moved_to_another_customer_moves_both(rules: RuleApi) -> None:
    rules.create_customer("c1")
    rules.create_customer("c2")
    segment = ruled(rules, orders_leaf("count", "gte", 1))
    order = rules.create_order("c1")
    assert rules.members(segment) == b2c("c1")
    ok(call(rules, "PATCH", f"/order-v2/{{tenant}}/salesorders/{order}", json={"customer": {"id": "c2"}}), 204)
    assert rules.members(segment) == b2c("c2")


def test_a_contact_rule_counts_the_orders_of_its_legal_entity(rules: RuleApi) -> None:
    rules.create_customer("c1")
    for legal_entity in ("L1", "L2"):
        rules.create_legal_entity(legal_entity)
        rules.create_contact(legal_entity, "c1")
    segment = ruled(rules, orders_leaf("count", "gte", 1), "CONTACT")
    rules.create_order("c1", legalEntityId="L1")
    assert rules.members(segment) == {("c1", "L1"): "AUTOMATIC"}
    rules.create_order("c1")  # a B2C order: no legal entity's
    assert rules.members(segment) == {("c1", "L1"): "AUTOMATIC"}


def test_a_contact_moved_or_its_legal_entity_deleted(rules: RuleApi) -> None:
    rules.create_customer("c1")
    rules.create_legal_entity("L1")
    rules.create_legal_entity("L2")
    assignment = rules.create_contact("L1", "c1")
    segment = ruled(rules, attr("legalEntity.type", "eq", "COMPANY"), "CONTACT")
    assert rules.members(segment) == {("c1", "L1"): "AUTOMATIC"}
    body = {"legalEntity": {"id": "L2"}, "customer": {"id": "c1"}, "type": "CONTACT"}
    ok(call(rules, "PUT", f"/customer-management/{{tenant}}/contact-assignments/{assignment}", json=body), 204)
    assert rules.members(segment) == {("c1", "L2"): "AUTOMATIC"}
    ok(call(rules, "DELETE", "/customer-management/{tenant}/legal-entities/L2"), 204)
    assert rules.members(segment) == {}


def test_deleting_or_replacing_a_rule_moves_the_rules_that_read_it(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Bob")
    source = ruled(rules, ANN)
    readers = ruled(rules, in_segment(source))
    assert rules.members(readers) == b2c("c1")
    rules.save_rule(source, attr("customer.firstName", "eq", "Bob"))
    assert (rules.members(source), rules.members(readers)) == (b2c("c2"), b2c("c2"))
    ok(rules.request("DELETE", f"/segments/{source}/rule"), 204)
    assert (rules.members(source), rules.members(readers)) == ({}, {})


def test_two_concurrent_writes_that_each_supply_half_of_a_match(rules: RuleApi, database_url: str) -> None:
    """An order moves from c9 to c1 while c1 is assigned to `staff` by hand; the rule wants both. The order's
    re-evaluation (its removal of c9's membership) is held up by a lock on c9's membership row (as a concurrent write
    of that row holds it) while the assignment is sent. Whichever decides second must see the other's change:
    afterwards c1 has the order and the staff membership, and the rule holds."""
    rules.create_customer("c1")
    rules.create_customer("c9")
    staff = rules.create_segment()
    ok(assign(rules, staff, "c9"), 201)
    order = rules.create_order("c9")
    segment = ruled(rules, {"all": [in_segment(staff), orders_leaf("count", "gte", 1)]})
    assert rules.members(segment) == b2c("c9")
    held = HeldTransaction(database_url)
    try:
        held.fetch(
            "SELECT 1 FROM segment_customer_assignments WHERE tenant = $1 AND segment_id = $2 AND customer_id = 'c9'"
            " FOR UPDATE",
            rules.tenant,
            segment,
        )
        with ThreadPoolExecutor(2) as pool:
            path = f"/order-v2/{{tenant}}/salesorders/{order}"
            moved = pool.submit(call, rules, "PATCH", path, json={"customer": {"id": "c1"}})
            blocked = (
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%DELETE FROM segment_customer_assignments a USING unnest%'"
            )
            eventually(lambda: run_sql(database_url, blocked)[0][0], lambda n: n >= 1)
            assigned = pool.submit(assign, rules, staff, "c1")
            # The assignment's own re-evaluation of c1 waits for the order's (same customer); let both go.
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            eventually(lambda: run_sql(database_url, waiting)[0][0], lambda n: n >= 2)
            held.close()
            ok(moved.result(), 204)
            ok(assigned.result(), 201)
    finally:
        held.close()
    explained = rules.explain(segment, "c1")
    assert (explained["condition"]["result"], explained["because"]) == (True, "RULE"), explained
    assert explained["member"] is True, explained
    assert rules.members(segment) == b2c("c1")


def test_exclusions_move_the_rules_that_read_the_segment(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Bob")
    source = ruled(rules, ANN)
    ok(assign(rules, source, "c2"), 201)
    readers = ruled(rules, in_segment(source))
    assert rules.members(readers) == b2c("c1", "c2")
    ok(exclude(rules, source, "c1"), 201)
    ok(exclude(rules, source, "c2"), 201)
    assert rules.members(readers) == {}
    ok(unexclude(rules, source, "c1"), 204)
    assert rules.members(readers) == b2c("c1")


def test_a_contact_handed_back_to_its_rule(rules: RuleApi) -> None:
    rules.create_customer("c1")
    rules.create_legal_entity("L1")
    rules.create_contact("L1", "c1")
    segment = ruled(rules, attr("legalEntity.type", "eq", "COMPANY"), "CONTACT")
    ok(assign(rules, segment, "c1", "L1"), 204)
    assert rules.members(segment) == {("c1", "L1"): "MANUAL"}
    ok(unassign(rules, segment, "c1", "L1"), 204)
    assert rules.members(segment) == {("c1", "L1"): "AUTOMATIC"}
