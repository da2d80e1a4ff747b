"""Attacks on rule-based segments (docs/rules.md): strange and oversized input, rules at the limits, other tenants,
and concurrent writes. Every answer must be the service's own body (a 4xx with `code`, `status` and `message`, never
a 500), every rule within the limits must work, and after any race the memberships must be what a fresh full
evaluation of the same rule gives."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.factories import Tokens
from tests.orders.helpers import entry, order_body
from tests.rules.helpers import RuleApi, attr
from tests.rules.support import assign, call, exclude, in_segment, ok, orders_leaf

ANN = attr("customer.firstName", "eq", "Ann")


def assert_error(response: httpx.Response, status: int) -> None:
    """The service's error body with `status`: never a 500, never a trace."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert (body["code"], body["status"]) == (status, response.reason_phrase), body
    assert isinstance(body["message"], str), body
    assert "Traceback" not in response.text, body


def send(rules: RuleApi, method: str, segment: str, text: str) -> httpx.Response:
    operation = "rule" if method == "PUT" else "rule/preview"
    headers = {"Content-Type": "application/json"}
    return rules.request(method, f"/segments/{segment}/{operation}", content=text.encode(), headers=headers)


def body(condition: str, subject: str = '"CUSTOMER"', extra: str = "") -> str:
    return f'{{"subject": {subject}, "condition": {condition}{extra}}}'


LEAF = '{"attribute": "customer.firstName", "op": "eq", "value": "Ann"}'
VERSION = '{"attribute": "customer.metadata.version", "op": "eq", "value": %s}'
STRANGE = {
    "number beyond a double": body(VERSION % "1e309"),
    "integer of 5000 digits": body(VERSION % ("9" * 5000)),
    "NUL in a value": body('{"attribute": "customer.firstName", "op": "eq", "value": "a\\u0000b"}'),
    "NUL in a mixin path": body('{"attribute": "customer.mixins.a\\u0000b", "op": "eq", "value": "x"}'),
    "NUL as a key": body('{"attribute": "customer.firstName", "op": "eq", "value": "x", "\\u0000": 1}'),
    "NUL in inSegment": body('{"inSegment": "s\\u0000"}'),
    "NUL in the subject": body(LEAF, subject='"CUSTOMER\\u0000"'),
    "null subject and condition": body("null", subject="null"),
    "null in a group": body('{"all": [null]}'),
    "nulls in a leaf": body('{"attribute": null, "op": null, "value": null}'),
    "null purchase filter": body('{"orders": null, "measure": "count", "op": "eq", "value": 0}'),
    "null status": body('{"orders": {"statuses": [null]}, "measure": "count", "op": "eq", "value": 0}'),
    "condition as a list": body("[]"),
    "5000 nested nots": body('{"not": ' * 5000 + LEAF + "}" * 5000),
    "not JSON": "{{{",
    "an array": "[]",
    "a string": '"rule"',
    "JSON null": "null",
    "empty": "",
}


@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize("case", list(STRANGE))
def test_strange_json_answers_400_and_saves_nothing(rules: RuleApi, method: str, case: str) -> None:
    segment = rules.create_segment()
    assert_error(send(rules, method, segment, STRANGE[case]), 400)
    assert_error(rules.request("GET", f"/segments/{segment}/rule"), 404)


def test_an_oversized_body_answers_413(rules: RuleApi) -> None:
    segment = rules.create_segment()
    text = body('{"attribute": "customer.firstName", "op": "eq", "value": "%s"}' % ("a" * (11 * 1024 * 1024)))
    assert_error(send(rules, "PUT", segment, text), 413)


def test_minus_zero_and_long_integers_compare_as_numbers(rules: RuleApi) -> None:
    rules.create_customer("c1", mixins={"score": 0, "big": 10**30})
    segment = rules.create_segment()
    rules.save_rule(
        segment, {"all": [attr("customer.mixins.score", "eq", -0.0), attr("customer.mixins.big", "gt", 10**29)]}
    )
    assert rules.member_ids(segment) == {"c1"}


#: Conditions that parse but whose values PostgreSQL cannot hold: now - D before year 1, date-times beyond its range.
UNREPRESENTABLE = {
    "withinLast P3000Y": attr("customer.metadata.createdAt", "withinLast", "P3000Y"),
    "olderThan P1100000D": attr("customer.metadata.createdAt", "olderThan", "P1100000D"),
    "order window P3000Y": orders_leaf("count", "eq", 0, within="P3000Y"),
    "before year 1 in UTC": attr("customer.metadata.createdAt", "gt", "0001-01-01T00:00:00+14:00"),
    "after year 9999 in UTC": attr("customer.metadata.modifiedAt", "lt", "9999-12-31T23:59:59-14:00"),
}


@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize("case", list(UNREPRESENTABLE))
def test_a_value_beyond_what_can_be_compared_is_a_400(rules: RuleApi, method: str, case: str) -> None:
    segment = rules.create_segment()
    text = json.dumps({"subject": "CUSTOMER", "condition": UNREPRESENTABLE[case]})
    assert_error(send(rules, method, segment, text), 400)


@pytest.mark.parametrize("case", list(UNREPRESENTABLE))
def test_a_saved_rule_with_such_a_value_does_not_break_the_tenants_writes(rules: RuleApi, case: str) -> None:
    rules.create_customer("c1")
    segment = rules.create_segment()
    if rules.put_rule(segment, UNREPRESENTABLE[case]).status_code == 400:
        return  # refused when saved: nothing can break
    rules.wait_ready(segment)
    created = call(rules, "POST", "/customer/{tenant}/customers", json={"id": "c2", "contactEmail": "c2@example.com"})
    assert created.status_code == 201, created.text
    order = call(rules, "POST", "/order-v2/{tenant}/salesorders", json=order_body("c1", entry("p1", gross=5)))
    assert order.status_code == 201, order.text
    assert rules.request("GET", f"/segments/{segment}/explain", params={"customerId": "c1"}).status_code == 200


def test_mixin_keys_with_quotes_brackets_and_braces_are_plain_keys(rules: RuleApi) -> None:
    rules.create_customer("c1", mixins={'we"ird': {"[0]": "x"}, "{a,b}": 3, "it's": True})
    rules.create_customer("c2", mixins={"we": {"ird": "x"}, "a": 3})
    segment = rules.create_segment()
    condition = {
        "all": [
            attr('customer.mixins.we"ird.[0]', "eq", "x"),
            attr("customer.mixins.{a,b}", "eq", 3),
            attr("customer.mixins.it's", "eq", True),
        ]
    }
    rules.save_rule(segment, condition)
    assert rules.member_ids(segment) == {"c1"}
    explained = rules.explain(segment, "c1")
    assert [leaf["actual"] for leaf in explained["condition"]["all"]] == ["x", 3, True]


def test_explain_parameters(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    segment = rules.create_segment()
    rules.save_rule(segment, ANN)
    path = f"/segments/{segment}/explain"
    assert_error(rules.request("GET", path), 400)
    assert_error(rules.request("GET", path, params={"customerId": ""}), 404)
    assert_error(rules.request("GET", path, params={"customerId": "c1\u0000"}), 400)
    assert_error(rules.request("GET", path, params={"customerId": "c1", "legalEntityId": "\u0000"}), 400)
    assert_error(rules.request("GET", path, params={"customerId": "c1", "legalEntityId": "nope"}), 404)
    assert_error(rules.request("GET", path, params={"customerId": "x" * 12_000}), 414)
    assert_error(rules.request("GET", "/segments/nope/explain", params={"customerId": "c1"}), 404)
    assert rules.explain(segment, "c1", "")["because"] == "RULE"


def test_a_rule_just_within_every_limit_is_saved_evaluated_and_explained(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="n9999")
    names = [f"n{i}" for i in range(10_000)]
    deep: dict[str, Any] = attr("customer.firstName", "in", names)
    for _ in range(30):
        deep = {"not": deep}
    condition = {"any": [deep, attr("customer.lastName", "eq", "x" * 10_000)]}  # depth 32 at the list leaf
    segment = rules.create_segment()
    rules.save_rule(segment, condition)
    assert rules.member_ids(segment) == {"c2"}
    assert rules.explain(segment, "c2")["because"] == "RULE"
    assert rules.preview(segment, condition)["added"]["count"] == 0


def test_explain_works_for_a_rule_of_1000_leaves(rules: RuleApi) -> None:
    """1000 leaves is within the limits; explain selects two columns per node, beyond PostgreSQL's 1664."""
    rules.create_customer("c1")
    segment = rules.create_segment()
    rules.save_rule(segment, {"all": [attr(f"customer.mixins.k{i}", "missing") for i in range(1000)]})
    response = rules.request("GET", f"/segments/{segment}/explain", params={"customerId": "c1"})
    assert response.status_code == 200, response.text
    assert response.json()["because"] == "RULE"


def test_many_rules_within_the_limits_do_not_break_customer_writes(rules: RuleApi) -> None:
    """17 rules of 1000 mixin leaves (two bound values each) are one statement of 34,000 parameters on every customer
    write: asyncpg refuses more than 32,767."""
    rules.create_customer("c1")
    for _ in range(17):
        segment = rules.create_segment()
        ok(rules.put_rule(segment, {"all": [attr(f"customer.mixins.k{i}", "eq", "v") for i in range(1000)]}), 201)
    patched = call(rules, "PATCH", "/customer/{tenant}/customers/c1", json={"firstName": "Bob"})
    assert patched.status_code in (200, 204), patched.text
    created = call(rules, "POST", "/customer/{tenant}/customers", json={"id": "c2", "contactEmail": "c2@example.com"})
    assert created.status_code == 201, created.text


def test_rules_with_many_purchase_leaves_keep_order_writes_fast(rules: RuleApi) -> None:
    """Four rules of 32 purchase leaves each (the most a rule may have): an order write re-evaluates them in
    statements of a few aggregates each, not one statement whose planning grows with the square of the leaves."""
    rules.create_customer("c1")
    segment = rules.create_segment()
    too_many = [orders_leaf("count", "gte", 1, within=f"P{i + 1}D") for i in range(33)]
    refused = rules.put_rule(segment, {"any": too_many})
    assert refused.status_code == 400, refused.text
    assert refused.json()["details"]["field"] == "condition.any[32]"
    for _ in range(4):
        segment = rules.create_segment()
        windows = [orders_leaf("count", "gte", 1, within=f"P{i + 1}D") for i in range(32)]
        rules.save_rule(segment, {"any": windows})
    started = time.monotonic()
    response = call(rules, "POST", "/order-v2/{tenant}/salesorders", json=order_body("c1", entry("p1", gross=5)))
    took = time.monotonic() - started
    assert response.status_code == 201, response.text
    assert took < 2.0, f"an order write took {took:.1f} s"


def test_a_long_chain_of_rules_does_not_break_customer_writes(rules: RuleApi) -> None:
    """32 rules, each reading the one before (the longest chain allowed; a 33rd link is a 400 naming its leaf). Each
    rule's change is announced as an event whose reaction re-evaluates the rules downstream, inside the previous
    one's reaction: the nesting grows with the chain, bounded by the limit."""
    chain = [rules.create_segment() for _ in range(33)]
    ok(rules.put_rule(chain[0], ANN), 201)
    for reader, read in zip(chain[1:32], chain, strict=False):
        ok(rules.put_rule(reader, in_segment(read)), 201)
    refused = rules.put_rule(chain[32], in_segment(chain[31]))
    assert refused.status_code == 400, refused.text
    assert refused.json()["details"]["field"] == "condition.inSegment"
    rules.wait_ready(chain[31])
    created = call(rules, "POST", "/customer/{tenant}/customers", json={"id": "c1", "firstName": "Ann"})
    assert created.status_code == 201, created.text
    assert rules.member_ids(chain[31]) == {"c1"}


# ---------------------------------------------------------------------------------------------------- tenants


def test_rules_read_only_their_own_tenant(rules: RuleApi, tokens: Tokens) -> None:
    other = RuleApi(rules.client, tokens, rules.tenant + "x")
    for api in (rules, other):
        api.create_customer("c1", firstName="Ann")
        api.create_customer("c2")
        api.create_segment(id="vip")
    ok(assign(other, "vip", "c2"), 201)
    other.create_order("c2", gross=500)
    only_other = other.create_segment()
    condition = {"any": [in_segment("vip"), orders_leaf("count", "gte", 1)]}
    segment = rules.create_segment()
    rules.save_rule(segment, condition)
    assert rules.member_ids(segment) == set()
    explained = rules.explain(segment, "c2")
    assert [leaf["actual"] for leaf in explained["condition"]["any"]] == [False, 0]
    preview = rules.preview(segment, attr("customer.id", "exists"))
    assert (preview["matchCount"], preview["added"]["count"]) == (2, 2)
    refused = rules.put_rule(segment, in_segment(only_other))
    assert_error(refused, 400)
    assert_error(rules.request("GET", f"/segments/{only_other}/rule"), 404)
    assert_error(rules.request("GET", f"/segments/{segment}/explain", params={"customerId": "nobody"}), 404)
    other_rule = other.create_segment()
    other.save_rule(other_rule, in_segment("vip"))
    assert other.member_ids(other_rule) == {"c2"}
    assert rules.member_ids(segment) == set()


# ----------------------------------------------------------------------------------------------- concurrency


def test_rules_reading_each_other_cannot_both_be_saved_at_once(rules: RuleApi) -> None:
    """Each PUT checks for cycles against the committed rules only: two saved at once both pass."""
    rules.create_customer("ann", firstName="Ann")
    for _ in range(8):
        s, t = rules.create_segment(), rules.create_segment()
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(rules.put_rule, s, {"any": [in_segment(t), ANN]})
            second = pool.submit(rules.put_rule, t, {"any": [in_segment(s), ANN]})
            codes = sorted([first.result().status_code, second.result().status_code])
        assert codes == [201, 400], f"a cycle {s} <-> {t} was saved"


def test_a_manual_assignment_racing_an_exclusion_leaves_no_excluded_member(rules: RuleApi) -> None:
    """The assignment checks for an exclusion before the exclusion commits; the exclusion deletes the memberships
    before the assignment commits: neither waits for the other."""
    customers = [rules.create_customer(f"c{i}") for i in range(40)]
    for _ in range(3):
        segment = rules.create_segment()
        rules.save_rule(segment, ANN)
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(f, rules, segment, c) for c in customers for f in (assign, exclude)]
            codes = {future.result().status_code for future in futures}
        assert codes <= {201, 409}, codes
        excluded = rules.request("GET", f"/segments/{segment}/exclusions", params={"pageSize": 100}).json()
        assert {e["customerId"] for e in excluded} == set(customers)
        assert rules.members(segment) == {}, "excluded customers are members"


def test_parallel_versioned_puts_of_one_rule_let_exactly_one_win(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Bob")
    segment = rules.create_segment()
    rules.save_rule(segment, ANN)
    names = [f"n{i}" for i in range(11)] + ["Bob"]
    with ThreadPoolExecutor(6) as pool:
        sent = [
            pool.submit(rules.put_rule, segment, attr("customer.firstName", "eq", name), metadata={"version": 1})
            for name in names
        ]
        codes = [future.result().status_code for future in sent]
    assert sorted(codes) == [204] + [409] * 11, codes
    doc = rules.wait_ready(segment)
    assert doc["metadata"]["version"] == 2
    winner = doc["condition"]["value"]
    assert rules.member_ids(segment) == ({"c2"} if winner == "Bob" else set())


def test_writes_racing_saves_end_where_a_full_evaluation_ends(rules: RuleApi) -> None:
    ids = [rules.create_customer(f"c{i:02d}", firstName="Ann" if i % 2 else "Bob") for i in range(24)]
    staff, buyers = rules.create_segment(), rules.create_segment()
    readers = rules.create_segment()
    buyers_rule = {"all": [orders_leaf("count", "gte", 2), ANN]}
    readers_rule = {"any": [in_segment(buyers), {"all": [in_segment(staff), {"not": ANN}]}]}

    def write(n: int) -> int:
        customer = ids[n % len(ids)]
        if n % 4 == 0:
            return rules.request("PUT", f"/segments/{staff}/customers/{customer}", json={}).status_code
        if n % 4 == 1:
            name = "Ann" if n % 8 == 1 else "Bob"
            return call(
                rules, "PATCH", f"/customer/{{tenant}}/customers/{customer}", json={"firstName": name}
            ).status_code
        body = order_body(customer, entry("p1", gross=5))
        return call(rules, "POST", "/order-v2/{tenant}/salesorders", json=body).status_code

    with ThreadPoolExecutor(6) as pool:
        writes = [pool.submit(write, n) for n in range(72)]
        saves = [pool.submit(rules.put_rule, buyers, buyers_rule), pool.submit(rules.put_rule, readers, readers_rule)]
        codes = {future.result() for future in writes} | {future.result().status_code for future in saves}
    assert codes <= {200, 201, 204}, codes
    for segment, condition in ((buyers, buyers_rule), (readers, readers_rule)):
        assert rules.wait_ready(segment)["state"] == "READY"
        preview = rules.preview(segment, condition)
        assert (preview["added"], preview["removed"]) == ({"count": 0, "sample": []}, {"count": 0, "sample": []})
    before = (rules.members(buyers), rules.members(readers))
    for segment, condition in ((buyers, buyers_rule), (readers, readers_rule)):
        rules.save_rule(segment, condition)
    assert (rules.members(buyers), rules.members(readers)) == before


def test_a_rule_deleted_and_saved_again_reads_its_new_condition(rules: RuleApi) -> None:
    """Parsed rules are cached by (tenant, segment, version), and a new rule starts again at version 1."""
    rules.create_customer("ann", firstName="Ann")
    rules.create_customer("bob", firstName="Bob")
    segment = rules.create_segment()
    rules.save_rule(segment, ANN)
    ok(rules.request("DELETE", f"/segments/{segment}/rule"), 204)
    rules.save_rule(segment, attr("customer.firstName", "eq", "Bob"))
    assert rules.member_ids(segment) == {"bob"}
    rules.create_customer("ann2", firstName="Ann")
    assert rules.member_ids(segment) == {"bob"}


def test_a_segment_deleted_and_made_again_reads_its_new_rule(rules: RuleApi) -> None:
    rules.create_customer("ann", firstName="Ann")
    rules.create_customer("bob", firstName="Bob")
    rules.create_segment(id="tier")
    rules.save_rule("tier", ANN)
    ok(rules.request("DELETE", "/segments/tier", params={"forceDelete": "true"}), 204)
    rules.create_segment(id="tier")
    rules.save_rule("tier", attr("customer.firstName", "eq", "Bob"))
    assert rules.member_ids("tier") == {"bob"}
