"""Manual assignments, rule matches and exclusions together (docs/rules.md#manual-overrides): which one wins, what
explain says about it, what deleting a rule leaves, and where rule members show."""

from __future__ import annotations

from typing import Any

from tests.coupons.helpers import CouponApi, not_redeemable
from tests.factories import assign_item
from tests.rules.helpers import RuleApi, attr
from tests.rules.support import assign, exclude, in_segment, ok, orders_leaf, unassign, unexclude

ANN = attr("customer.firstName", "eq", "Ann")
COMPANY = attr("legalEntity.type", "eq", "COMPANY")


def ann_segment(rules: RuleApi, *customers: tuple[str, str]) -> str:
    """A segment whose rule takes the customers named Ann; `customers` are (id, firstName) made first."""
    for customer_id, name in customers:
        rules.create_customer(customer_id, firstName=name)
    segment = rules.create_segment()
    rules.save_rule(segment, ANN)
    return segment


class TestManualAndRule:
    def test_a_manual_put_of_a_rule_member_makes_it_manual_and_it_stays(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"), ("c2", "Ann"))
        assert rules.members(segment) == {("c1", None): "AUTOMATIC", ("c2", None): "AUTOMATIC"}
        ok(assign(rules, segment, "c1"), 204)
        assert rules.members(segment) == {("c1", None): "MANUAL", ("c2", None): "AUTOMATIC"}
        rules.update_customer("c1", firstName="Bob")
        rules.update_customer("c2", firstName="Bob")
        assert rules.members(segment) == {("c1", None): "MANUAL"}
        explained = rules.explain(segment, "c1")
        assert (explained["member"], explained["because"]) == (True, "MANUAL")
        assert explained["condition"]["result"] is False
        assert explained["condition"]["actual"] == "Bob"

    def test_deleting_the_manual_assignment_hands_a_matching_customer_back_to_the_rule(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"))
        ok(assign(rules, segment, "c1"), 204)
        ok(unassign(rules, segment, "c1"), 204)
        assert rules.members(segment) == {("c1", None): "AUTOMATIC"}
        assert rules.explain(segment, "c1")["because"] == "RULE"

    def test_deleting_the_manual_assignment_of_a_customer_the_rule_no_longer_matches(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"), ("c2", "Bob"))
        ok(assign(rules, segment, "c1"), 204)
        ok(assign(rules, segment, "c2"), 201)
        rules.update_customer("c1", firstName="Cid")
        ok(unassign(rules, segment, "c1"), 204)
        ok(unassign(rules, segment, "c2"), 204)
        assert rules.members(segment) == {}
        assert rules.explain(segment, "c1") == {"member": False, "because": "NO_MATCH", "condition": _ann_tree("Cid")}

    def test_deleting_an_automatic_assignment_is_400_pointing_to_exclusions(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"))
        response = unassign(rules, segment, "c1")
        assert response.status_code == 400, response.text
        message = response.json()["message"]
        assert f"/segments/{segment}/exclusions/c1" in message, message
        assert "AUTOMATIC" in message
        assert rules.members(segment) == {("c1", None): "AUTOMATIC"}

    def test_deleting_an_automatic_contact_assignment_is_400_pointing_to_its_exclusion(self, rules: RuleApi) -> None:
        rules.create_customer("c1")
        rules.create_legal_entity("L1")
        rules.create_contact("L1", "c1")
        segment = rules.create_segment()
        rules.save_rule(segment, COMPANY, "CONTACT")
        response = unassign(rules, segment, "c1", "L1")
        assert response.status_code == 400, response.text
        assert f"/segments/{segment}/exclusions/c1/L1" in response.json()["message"]
        assert rules.members(segment) == {("c1", "L1"): "AUTOMATIC"}

    def test_bulk_writes_override_and_hand_back_like_single_ones(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"), ("c2", "Ann"))
        bulk = f"/segments/{segment}/customers/bulk"
        ok(rules.request("PUT", bulk, json=[{"customerId": "c1"}, {"customerId": "c2"}]), 207)
        assert rules.members(segment) == {("c1", None): "MANUAL", ("c2", None): "MANUAL"}
        rules.update_customer("c2", firstName="Bob")
        response = ok(rules.request("DELETE", bulk, json=[{"customerId": "c1"}, {"customerId": "c2"}]), 207)
        assert [item["code"] for item in response.json()] == [204, 204]
        assert rules.members(segment) == {("c1", None): "AUTOMATIC"}

    def test_the_bulk_delete_refuses_automatic_items_one_by_one(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"), ("c2", "Bob"), ("c3", "Ann"))
        ok(assign(rules, segment, "c2"), 201)
        items = [{"customerId": "c1"}, {"customerId": "c2"}, {"customerId": "c3"}, {"customerId": "c4"}]
        response = rules.request("DELETE", f"/segments/{segment}/customers/bulk", json=items)
        assert response.status_code == 207, response.text
        body = response.json()
        assert [(item["index"], item["code"]) for item in body] == [(0, 400), (1, 204), (2, 400), (3, 204)]
        assert "/exclusions/c1" in body[0]["message"]
        assert "/exclusions/c3" in body[2]["message"]
        assert rules.members(segment) == {("c1", None): "AUTOMATIC", ("c3", None): "AUTOMATIC"}


def _ann_tree(actual: Any) -> dict[str, Any]:
    return {**ANN, "actual": actual, "result": actual == "Ann"}


class TestExclusions:
    def test_an_excluded_rule_member_leaves_and_stays_out(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"), ("c2", "Ann"))
        assert ok(exclude(rules, segment, "c1"), 201).content == b""
        assert rules.members(segment) == {("c2", None): "AUTOMATIC"}
        ok(exclude(rules, segment, "c1"), 204)
        rules.update_customer("c1", firstName="Bob")
        rules.update_customer("c1", firstName="Ann")
        assert rules.members(segment) == {("c2", None): "AUTOMATIC"}
        assert rules.explain(segment, "c1") == {"member": False, "because": "EXCLUDED", "condition": _ann_tree("Ann")}
        rules.save_rule(segment, ANN)  # a full evaluation respects it too
        assert rules.members(segment) == {("c2", None): "AUTOMATIC"}

    def test_excluding_a_manual_member_removes_the_manual_assignment(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Bob"), ("c2", "Ann"))
        ok(assign(rules, segment, "c1"), 201)
        ok(assign(rules, segment, "c2"), 204)
        ok(exclude(rules, segment, "c1"), 201)
        ok(exclude(rules, segment, "c2"), 201)
        assert rules.members(segment) == {}
        assert rules.explain(segment, "c2")["because"] == "EXCLUDED"

    def test_excluding_in_a_segment_without_a_rule_removes_the_manual_member(self, rules: RuleApi) -> None:
        rules.create_customer("c1")
        segment = rules.create_segment()
        ok(assign(rules, segment, "c1"), 201)
        ok(exclude(rules, segment, "c1"), 201)
        assert rules.members(segment) == {}
        assert rules.explain(segment, "c1") == {"member": False, "because": "EXCLUDED"}

    def test_assigning_an_excluded_customer_by_hand_is_409(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Bob"))
        rules.create_legal_entity("L1")
        rules.create_contact("L1", "c1")
        ok(exclude(rules, segment, "c1"), 201)
        for legal_entity in (None, "L1"):
            response = assign(rules, segment, "c1", legal_entity)
            assert response.status_code == 409, response.text
            assert "exclusion" in response.json()["message"]
        bulk = rules.request("PUT", f"/segments/{segment}/customers/bulk", json=[{"customerId": "c1"}])
        assert [item["code"] for item in ok(bulk, 207).json()] == [409]
        assert rules.members(segment) == {}
        ok(unexclude(rules, segment, "c1"), 204)
        ok(assign(rules, segment, "c1"), 201)
        assert rules.members(segment) == {("c1", None): "MANUAL"}

    def test_lifting_the_exclusion_brings_a_matching_customer_back_at_once(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"), ("c2", "Bob"))
        ok(exclude(rules, segment, "c1"), 201)
        ok(exclude(rules, segment, "c2"), 201)
        assert ok(unexclude(rules, segment, "c1"), 204).content == b""
        ok(unexclude(rules, segment, "c2"), 204)
        assert rules.members(segment) == {("c1", None): "AUTOMATIC"}
        ok(unexclude(rules, segment, "c1"), 204)  # there is none left: still 204
        assert rules.members(segment) == {("c1", None): "AUTOMATIC"}

    def test_the_b2c_form_excludes_every_context_the_b2b_form_one(self, rules: RuleApi) -> None:
        rules.create_customer("c1")
        rules.create_customer("c2")
        for legal_entity in ("L1", "L2"):
            rules.create_legal_entity(legal_entity)
            rules.create_contact(legal_entity, "c1")
        rules.create_contact("L1", "c2")
        segment = rules.create_segment()
        rules.save_rule(segment, COMPANY, "CONTACT")
        everyone: dict[tuple[str, str | None], str] = {
            ("c1", "L1"): "AUTOMATIC",
            ("c1", "L2"): "AUTOMATIC",
            ("c2", "L1"): "AUTOMATIC",
        }
        assert rules.members(segment) == everyone
        ok(exclude(rules, segment, "c1", "L1"), 201)
        assert rules.members(segment) == {("c1", "L2"): "AUTOMATIC", ("c2", "L1"): "AUTOMATIC"}
        assert rules.explain(segment, "c1", "L1")["because"] == "EXCLUDED"
        assert rules.explain(segment, "c1", "L2")["because"] == "RULE"
        ok(exclude(rules, segment, "c1"), 201)
        assert rules.members(segment) == {("c2", "L1"): "AUTOMATIC"}
        assert rules.explain(segment, "c1", "L2")["because"] == "EXCLUDED"
        rules.create_legal_entity("L1", name="renamed")  # a write that re-evaluates c1 in every context
        assert rules.members(segment) == {("c2", "L1"): "AUTOMATIC"}
        ok(unexclude(rules, segment, "c1", "L1"), 204)  # the exclusion in every context still holds
        assert rules.members(segment) == {("c2", "L1"): "AUTOMATIC"}
        ok(exclude(rules, segment, "c1", "L1"), 201)
        ok(assign(rules, segment, "c1", "L1"), 409)
        ok(unexclude(rules, segment, "c1"), 204)
        assert rules.members(segment) == {("c1", "L2"): "AUTOMATIC", ("c2", "L1"): "AUTOMATIC"}
        ok(assign(rules, segment, "c1"), 201)  # only L1 is excluded: B2C and L2 may be assigned by hand
        ok(assign(rules, segment, "c1", "L2"), 204)
        ok(unexclude(rules, segment, "c1", "L1"), 204)
        assert rules.members(segment) == {**everyone, ("c1", None): "MANUAL", ("c1", "L2"): "MANUAL"}
        ok(exclude(rules, segment, "c1"), 201)
        assert rules.members(segment) == {("c2", "L1"): "AUTOMATIC"}

    def test_exclusions_are_listed_by_customer_in_pages(self, rules: RuleApi) -> None:
        segment = rules.create_segment()
        rules.create_legal_entity("L1")
        for n in range(5):
            rules.create_customer(f"c{n}")
        rules.create_contact("L1", "c2")
        for n in (4, 0, 3, 1):
            ok(exclude(rules, segment, f"c{n}"), 201)
        ok(exclude(rules, segment, "c2", "L1"), 201)
        path = f"/segments/{segment}/exclusions"

        def page(number: int, total: bool = False) -> tuple[list[tuple[str, str | None]], str | None]:
            headers = {"X-Total-Count": "true"} if total else None
            response = ok(
                rules.request("GET", path, params={"pageSize": 2, "pageNumber": number}, headers=headers), 200
            )
            return [(d["customerId"], d.get("legalEntityId")) for d in response.json()], response.headers.get(
                "X-Total-Count"
            )

        assert page(1, total=True) == ([("c0", None), ("c1", None)], "5")
        assert page(2, total=True) == ([("c2", "L1"), ("c3", None)], "5")
        assert page(3) == ([("c4", None)], None)
        assert page(4, total=True) == ([], "5")
        (first,) = ok(rules.request("GET", path, params={"pageSize": 1}), 200).json()
        assert set(first) >= {"customerId", "createdAt"}
        assert rules.request("GET", "/segments/nope/exclusions").status_code == 404
        for response in (
            exclude(rules, segment, "ghost"),
            exclude(rules, segment, "c0", "ghost"),
            exclude(rules, "nope", "c0"),
            unexclude(rules, "nope", "c0"),
        ):
            assert response.status_code == 404, response.text


class TestExplain:
    def test_no_rule(self, rules: RuleApi) -> None:
        rules.create_customer("c1")
        rules.create_customer("c2")
        segment = rules.create_segment()
        ok(assign(rules, segment, "c2"), 201)
        assert rules.explain(segment, "c1") == {"member": False, "because": "NO_RULE"}
        assert rules.explain(segment, "c2") == {"member": True, "because": "MANUAL"}

    def test_rule_and_no_match_annotate_every_node(self, rules: RuleApi) -> None:
        other = rules.create_segment()
        rules.create_customer("c1", firstName="Ann")
        rules.create_customer("c2", firstName="Bob")
        rules.create_order("c1")
        rules.create_order("c1")
        ok(assign(rules, other, "c2"), 201)
        condition = {
            "all": [
                ANN,
                orders_leaf("count", "gte", 2),
                {"not": in_segment(other)},
                {"any": [attr("customer.mixins.loyalty.tier", "missing"), attr("customer.lastName", "exists")]},
            ]
        }
        segment = rules.create_segment()
        rules.save_rule(segment, condition)
        assert rules.members(segment) == {("c1", None): "AUTOMATIC"}

        def tree(name: str, count: int, in_other: bool) -> dict[str, Any]:
            items = condition["all"]
            return {
                "all": [
                    {**items[0], "actual": name, "result": name == "Ann"},
                    {**items[1], "actual": count, "result": count >= 2},
                    {"not": {**items[2]["not"], "actual": in_other, "result": in_other}, "result": not in_other},
                    {
                        "any": [
                            {**items[3]["any"][0], "actual": None, "result": True},
                            {**items[3]["any"][1], "actual": None, "result": False},
                        ],
                        "result": True,
                    },
                ],
                "result": name == "Ann" and count >= 2 and not in_other,
            }

        assert rules.explain(segment, "c1") == {"member": True, "because": "RULE", "condition": tree("Ann", 2, False)}
        assert rules.explain(segment, "c2") == {
            "member": False,
            "because": "NO_MATCH",
            "condition": tree("Bob", 0, True),
        }

    def test_a_contact_rule_explains_one_legal_entity(self, rules: RuleApi) -> None:
        rules.create_customer("c1")
        rules.create_legal_entity("L1")
        rules.create_legal_entity("L2", type="SUBSIDIARY")
        rules.create_contact("L1", "c1")
        rules.create_contact("L2", "c1")
        segment = rules.create_segment()
        rules.save_rule(segment, COMPANY, "CONTACT")
        assert rules.explain(segment, "c1", "L1") == {
            "member": True,
            "because": "RULE",
            "condition": {**COMPANY, "actual": "COMPANY", "result": True},
        }
        assert rules.explain(segment, "c1", "L2") == {
            "member": False,
            "because": "NO_MATCH",
            "condition": {**COMPANY, "actual": "SUBSIDIARY", "result": False},
        }

    def test_unknown_segment_customer_or_legal_entity_is_404(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"))
        for path, params in [
            ("/segments/nope/explain", {"customerId": "c1"}),
            (f"/segments/{segment}/explain", {"customerId": "ghost"}),
            (f"/segments/{segment}/explain", {"customerId": "c1", "legalEntityId": "ghost"}),
        ]:
            response = rules.request("GET", path, params=params)
            assert response.status_code == 404, (path, params, response.text)


class TestRuleMembersEverywhere:
    def test_deleting_the_rule_removes_automatic_members_and_keeps_manual_ones(self, rules: RuleApi) -> None:
        segment = ann_segment(rules, ("c1", "Ann"), ("c2", "Ann"), ("c3", "Bob"))
        ok(assign(rules, segment, "c2"), 204)
        ok(assign(rules, segment, "c3"), 201)
        assert ok(rules.request("DELETE", f"/segments/{segment}/rule"), 204).content == b""
        assert rules.members(segment) == {("c2", None): "MANUAL", ("c3", None): "MANUAL"}
        assert rules.request("GET", f"/segments/{segment}/rule").status_code == 404
        assert rules.request("DELETE", f"/segments/{segment}/rule").status_code == 404
        assert rules.explain(segment, "c1") == {"member": False, "because": "NO_RULE"}
        rules.update_customer("c1", firstName="Ann")  # no rule left to take it
        assert rules.members(segment) == {("c2", None): "MANUAL", ("c3", None): "MANUAL"}

    def test_rule_members_show_in_the_lists_and_the_storefront(self, rules: RuleApi, database_url: str) -> None:
        segment = ann_segment(rules, ("c1", "Ann"), ("c2", "Bob"))
        ok(rules.request("PATCH", f"/segments/{segment}", json=[{"op": "remove", "path": "/validity"}]), 204)
        assign_item(database_url, rules.tenant, segment, "p1")
        (doc,) = ok(rules.request("GET", f"/segments/{segment}/customers"), 200).json()
        assert doc["customer"] == {"id": "c1", "firstName": "Ann", "email": "c1@example.com"}
        assert doc["assignmentType"] == "AUTOMATIC"
        assert doc["metadata"]["version"] == 1
        one = ok(rules.request("GET", f"/segments/{segment}/customers/c1"), 200).json()
        assert one["assignmentType"] == "AUTOMATIC"
        listed = ok(rules.request("GET", "/segments", params={"customerId": "c1"}), 200).json()
        assert [s["id"] for s in listed] == [segment]
        assert ok(rules.request("GET", "/segments", params={"customerId": "c2"}), 200).json() == []
        for customer, expected in (("c1", ["p1"]), ("c2", [])):
            token = rules.tokens.customer(rules.tenant, customer)
            items = ok(rules.request("GET", "/segments/items", token=token), 200).json()
            assert [(d["segmentId"], d["item"]["id"]) for d in items] == [(s, "p1") for s in [segment] if expected]

    def test_a_rule_member_redeems_a_segment_restricted_coupon(self, rules: RuleApi) -> None:
        coupons = CouponApi(rules.client, rules.tokens, rules.tenant)
        rules.create_customer("c1", firstName="Ann")
        rules.create_customer("c2", firstName="Bob")
        segment = coupons.create_segment()
        rules.save_rule(segment, ANN)
        code = coupons.create(segmentRestricted=True, restrictions={"segments": [segment]})
        assert coupons.validate(code, token=coupons.customer_token("c1")).status_code == 200
        not_redeemable(coupons.validate(code, token=coupons.customer_token("c2")), "segment_not_eligible")
        rules.update_customer("c2", firstName="Ann")
        assert coupons.validate(code, token=coupons.customer_token("c2")).status_code == 200

    def test_in_segment_of_a_customer_rule_counts_any_context_of_a_contact_rule_only_its_own(
        self, rules: RuleApi
    ) -> None:
        rules.create_customer("c1")
        rules.create_legal_entity("L1")
        rules.create_legal_entity("L2")
        rules.create_contact("L1", "c1")
        rules.create_contact("L2", "c1")
        staff = rules.create_segment()
        ok(assign(rules, staff, "c1", "L1"), 201)
        customers = rules.create_segment()
        rules.save_rule(customers, in_segment(staff))
        contacts = rules.create_segment()
        rules.save_rule(contacts, in_segment(staff), "CONTACT")
        assert rules.members(customers) == {("c1", None): "AUTOMATIC"}
        assert rules.members(contacts) == {("c1", "L1"): "AUTOMATIC"}
        ok(unassign(rules, staff, "c1", "L1"), 204)
        assert (rules.members(customers), rules.members(contacts)) == ({}, {})
