"""Attacks on a write's re-evaluation of a few customers (rules/incremental.py, rules/matcher.py) and on the batched
full evaluation (rules/compiler.py `compile_shared`, rules/evaluator.py): after every write, the members must be what
a full evaluation of the same rules gives (the rule saved again), and a batch must fail only the rule at fault."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

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

Members = dict[tuple[str, str | None], str]


def ruled(rules: RuleApi, condition: dict[str, Any], subject: str = "CUSTOMER") -> str:
    segment = rules.create_segment()
    rules.save_rule(segment, condition, subject)
    return segment


def resaved(rules: RuleApi, segment: str, condition: dict[str, Any], subject: str = "CUSTOMER") -> Members:
    """The members a full evaluation of the rule gives (the rule saved again)."""
    rules.save_rule(segment, condition, subject)
    return rules.members(segment)


# Deleting one of two contact assignments of one (customer, legal entity) re-evaluates the pair: the membership that
# only the deleted contact type matched goes (legal_entities/contacts.py `_after_contact_left` emits ContactAssigned).
def test_deleting_one_of_two_contact_types_re_evaluates_the_pair(rules: RuleApi) -> None:
    rules.create_customer("c1")
    rules.create_legal_entity("L1")
    primary = rules.create_contact("L1", "c1", "PRIMARY")
    rules.create_contact("L1", "c1", "BILLING")
    condition = attr("contact.type", "eq", "PRIMARY")
    segment = ruled(rules, condition, "CONTACT")
    assert rules.members(segment) == {("c1", "L1"): "AUTOMATIC"}
    ok(call(rules, "DELETE", f"/customer-management/{{tenant}}/contact-assignments/{primary}"), 204)
    after_write = rules.members(segment)
    assert after_write == resaved(rules, segment, condition, "CONTACT") == {}, after_write


# A mixin text that PostgreSQL reads as a timestamp outside Python's datetime range (years 1-9999 in UTC) must not
# break the writes that re-evaluate the customer while a rule reads that field with withinLast/olderThan
# (rules/snapshot_store.py `timestamps` clamps such moments to the years this process represents).
@pytest.mark.parametrize("text", ["0001-01-01 BC", "9999-12-31T23:59:59-14:00", "0044-03-15 BC"])
@pytest.mark.parametrize("op", ["withinLast", "olderThan"])
def test_a_date_text_beyond_pythons_range_does_not_break_writes(rules: RuleApi, text: str, op: str) -> None:
    condition = attr("customer.mixins.loyalty.since", op, "P30D")
    segment = ruled(rules, condition)
    response = rules.client.post(
        f"/customer/{rules.tenant}/customers",
        json={"id": "c1", "mixins": {"loyalty": {"since": text}}},
        headers=rules.auth(),
    )
    assert response.status_code == 201, (response.status_code, response.text)
    assert rules.members(segment) == resaved(rules, segment, condition)


MEMBERSHIP_LOCK = "SELECT pg_advisory_xact_lock_shared(7412500, hashtext($1))"
REFUSE = """
CREATE OR REPLACE FUNCTION attack_refuse_segment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tenant = TG_ARGV[0] AND NEW.segment_id = TG_ARGV[1] THEN
        RAISE EXCEPTION 'attack: segment % refuses members', NEW.segment_id;
    END IF;
    RETURN NEW;
END $$
"""


def saved_together(rules: RuleApi, database_url: str, saves: list[tuple[str, dict[str, Any], str]]) -> None:
    """PUT the rules while a write of the tenant holds the membership lock, so one full evaluation takes them all."""
    held = HeldTransaction(database_url)
    try:
        held.fetch(MEMBERSHIP_LOCK, rules.tenant)
        for segment, condition, subject in saves:
            ok(rules.put_rule(segment, condition, subject), 201, 204)
    finally:
        held.close()


@pytest.mark.parametrize("faulty_subject", ["CUSTOMER", "CONTACT"])
def test_a_rule_failing_in_a_batch_fails_alone(rules: RuleApi, database_url: str, faulty_subject: str) -> None:
    """Three rules saved together, one of whose segment refuses rows (a trigger stands in for any error of its
    statement): only that one is FAILED; the others are READY with their members."""
    rules.create_customer("c1", firstName="Ann")
    rules.create_legal_entity("L1")
    rules.create_contact("L1", "c1")
    good_customer, good_contact, faulty = rules.create_segment(), rules.create_segment(), rules.create_segment()
    trigger = f"attack_refuse_{rules.tenant}"
    run_sql(database_url, REFUSE)
    run_sql(
        database_url,
        f'CREATE TRIGGER "{trigger}" BEFORE INSERT ON segment_customer_assignments FOR EACH ROW'
        f" EXECUTE FUNCTION attack_refuse_segment('{rules.tenant}', '{faulty}')",
    )
    try:
        ann = attr("customer.firstName", "eq", "Ann")
        saved_together(
            rules,
            database_url,
            [(good_customer, ann, "CUSTOMER"), (faulty, ann, faulty_subject), (good_contact, ann, "CONTACT")],
        )
        states = {s: rules.wait_ready(s)["state"] for s in (good_customer, faulty, good_contact)}
    finally:
        run_sql(database_url, f'DROP TRIGGER "{trigger}" ON segment_customer_assignments')
    assert states == {good_customer: "READY", faulty: "FAILED", good_contact: "READY"}, states
    assert rules.get_rule(faulty)["error"], rules.get_rule(faulty)
    assert rules.members(good_customer) == {("c1", None): "AUTOMATIC"}
    assert rules.members(good_contact) == {("c1", "L1"): "AUTOMATIC"}
    assert rules.members(faulty) == {}


# A customer deleted while a write's re-evaluation of it is under way keeps no membership. A legal entity's rename
# re-evaluates its contacts c1 and d1: it inserts c1's AUTOMATIC row, then is held up on d1's row (as by any
# concurrent lock). The deletion of c1 must wait for it (the re-evaluation read c1 FOR KEY SHARE), so that its
# removal of c1's memberships sees that row.
def test_a_customer_deleted_during_its_re_evaluation_keeps_no_membership(rules: RuleApi, database_url: str) -> None:
    rules.create_customer("c1", firstName="Cy")
    rules.create_customer("d1", firstName="Dee")
    rules.create_legal_entity("L1", name="Old")
    rules.create_contact("L1", "c1")
    rules.create_contact("L1", "d1")
    joining = {"all": [attr("legalEntity.name", "eq", "New"), attr("customer.firstName", "eq", "Cy")]}
    leaving = {"all": [attr("legalEntity.name", "eq", "Old"), attr("customer.firstName", "eq", "Dee")]}
    joined, left = ruled(rules, joining, "CONTACT"), ruled(rules, leaving, "CONTACT")
    assert (rules.members(joined), rules.members(left)) == ({}, {("d1", "L1"): "AUTOMATIC"})
    held = HeldTransaction(database_url)
    try:
        held.fetch(
            "SELECT 1 FROM segment_customer_assignments WHERE tenant = $1 AND segment_id = $2 AND customer_id = 'd1'"
            " FOR UPDATE",
            rules.tenant,
            left,
        )
        with ThreadPoolExecutor(2) as pool:
            body = {"name": "New", "type": "COMPANY"}
            renamed = pool.submit(call, rules, "PUT", "/customer-management/{tenant}/legal-entities/L1", json=body)
            blocked = (
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%DELETE FROM segment_customer_assignments a USING unnest%'"
            )
            eventually(lambda: run_sql(database_url, blocked)[0][0], lambda n: n >= 1)
            deleting = pool.submit(call, rules, "DELETE", "/customer/{tenant}/customers/c1")
            # The deletion waits for the rename's re-evaluation, which read c1 FOR KEY SHARE (rules/snapshot_store.py).
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            eventually(lambda: run_sql(database_url, waiting)[0][0], lambda n: n >= 2)
            assert not deleting.done()
            held.close()
            ok(renamed.result(), 204)
            deleted = deleting.result()
        ok(deleted, 202, 204)
    finally:
        held.close()
    orphans = run_sql(
        database_url,
        "SELECT segment_id FROM segment_customer_assignments WHERE tenant = $1 AND customer_id = 'c1'",
        rules.tenant,
    )
    assert [r[0] for r in orphans] == [], "a deleted customer is a member"
    assert rules.members(joined) == resaved(rules, joined, joining, "CONTACT")


def test_a_chain_across_subjects_follows_one_write_as_a_full_evaluation_does(rules: RuleApi) -> None:
    """CONTACT rule -> CUSTOMER rule reading it -> CONTACT rule reading both, with a manual member and an exclusion
    on the way: after each write, the members equal those of every rule saved again (a full evaluation)."""
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Bob")
    rules.create_legal_entity("L1")
    rules.create_legal_entity("L2", type="SUBSIDIARY", parentId="L1")
    rules.create_contact("L1", "c1", "PRIMARY")
    rules.create_contact("L1", "c1", "BILLING")
    rules.create_contact("L2", "c1")
    rules.create_contact("L2", "c2", "PRIMARY")
    first = ruled(rules, attr("contact.type", "eq", "PRIMARY"), "CONTACT")
    chain: list[tuple[str, dict[str, Any], str]] = [(first, attr("contact.type", "eq", "PRIMARY"), "CONTACT")]
    second_rule = {"all": [in_segment(first), attr("customer.firstName", "ne", "Cy")]}
    second = ruled(rules, second_rule)
    chain.append((second, second_rule, "CUSTOMER"))
    third_rule = {"any": [{"not": in_segment(first)}, {"all": [in_segment(second), orders_leaf("count", "gte", 1)]}]}
    third = ruled(rules, third_rule, "CONTACT")
    chain.append((third, third_rule, "CONTACT"))

    def check() -> None:
        now = {segment: rules.members(segment) for segment, _, _ in chain}
        again = {segment: resaved(rules, segment, condition, subject) for segment, condition, subject in chain}
        assert now == again

    check()
    rules.update_customer("c1", firstName="Cy")
    check()
    rules.create_order("c2", legalEntityId="L2")
    check()
    ok(exclude(rules, first, "c2", "L2"), 201)
    check()
    ok(assign(rules, first, "c1", "L2"), 201, 204)
    check()
    rules.update_customer("c1", firstName="Ann")
    check()
    ok(unexclude(rules, first, "c2", "L2"), 204)
    check()
    ok(unassign(rules, first, "c1", "L2"), 204)
    check()
    ok(call(rules, "DELETE", "/customer-management/{tenant}/legal-entities/L2"), 204)
    check()


def test_concurrent_orders_of_one_customer_each_supplying_half_of_a_count(rules: RuleApi) -> None:
    """Two orders of one customer created at once, each alone below the rule's count: whichever re-evaluates second
    sees both."""
    condition = orders_leaf("count", "gte", 2)
    segment = ruled(rules, condition)
    for n in range(4):
        customer = rules.create_customer(f"c{n}")
        with ThreadPoolExecutor(2) as pool:
            done = [pool.submit(rules.create_order, customer) for _ in range(2)]
            [future.result() for future in done]
        assert (customer, None) in rules.members(segment), n
    assert rules.members(segment) == resaved(rules, segment, condition)


def test_concurrent_profile_writes_of_one_customer_end_as_the_last_one_says(rules: RuleApi) -> None:
    condition = attr("customer.firstName", "eq", "Ann")
    segment = ruled(rules, condition)
    rules.create_customer("c1", firstName="Bob")
    with ThreadPoolExecutor(4) as pool:
        names = ["Ann", "Bob"] * 6
        [f.result() for f in [pool.submit(rules.update_customer, "c1", firstName=name) for name in names]]
    assert rules.members(segment) == resaved(rules, segment, condition)
