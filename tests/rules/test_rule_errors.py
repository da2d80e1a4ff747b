"""Rules the service refuses (docs/rules.md#conditions, #limits, #other-segments): each a 400 whose message starts
with the JSON path of what is wrong and whose details.field names it, on PUT …/rule and POST …/rule/preview alike,
with nothing saved."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import segment_error
from tests.rules.helpers import RuleApi, attr

OK = attr("customer.firstName", "eq", "Ann")
#: PUT …/rule and POST …/rule/preview check a rule alike.
OPERATIONS = [("PUT", "rule"), ("POST", "rule/preview")]


def assert_rule_error(response: httpx.Response, path: str, *fragments: str, type: str = "invalid_value") -> None:
    """A 400 in the service's usual body, naming `path` in details.field and at the start of the message."""
    assert response.status_code == 400, response.text
    body = response.json()
    message = body.get("message", "")
    assert message.startswith(f"{path}: "), body
    for fragment in fragments:
        assert fragment in message, body
    expected = segment_error(400, message, field=path, type=type)
    if "resourceId" in body:
        expected["resourceId"] = body["resourceId"]
    assert body == expected


def send(rules: RuleApi, method: str, operation: str, segment: str, body: Any) -> httpx.Response:
    return rules.request(method, f"/segments/{segment}/{operation}", json=body)


def nested(depth: int) -> dict[str, Any]:
    """A condition `depth` levels deep: nots around a leaf."""
    condition: dict[str, Any] = OK
    for _ in range(depth - 1):
        condition = {"not": condition}
    return condition


@pytest.mark.parametrize(("method", "operation"), OPERATIONS)
@pytest.mark.parametrize(
    ("condition", "path", "fragments"),
    [
        # unknown operators, and operators that do not apply to the field's kind
        (attr("customer.firstName", "like", "A"), "condition.op", ["'like'"]),
        ({"attribute": "customer.firstName", "value": "A"}, "condition.op", ["None"]),
        (attr("customer.active", "gt", True), "condition.op", ["'gt'", "customer.active"]),
        (attr("customer.active", "in", [True]), "condition.op", ["'in'"]),
        (attr("customer.metadata.version", "contains", 1), "condition.op", ["'contains'"]),
        (attr("customer.metadata.version", "withinLast", "P1D"), "condition.op", ["'withinLast'"]),
        (attr("customer.metadata.createdAt", "startsWith", "2026"), "condition.op", ["'startsWith'"]),
        ({"orders": {}, "measure": "count", "op": "withinLast", "value": "P1D"}, "condition.op", ["count"]),
        ({"orders": {}, "measure": "lastOrderAt", "op": "contains", "value": "x"}, "condition.op", ["lastOrderAt"]),
        ({"all": [OK, OK, attr("customer.active", "lte", False)]}, "condition.all[2].op", ["'lte'"]),
        # values of the wrong type
        ({"all": [OK, OK, attr("customer.metadata.version", "eq", "ten")]}, "condition.all[2].value", ["'ten'"]),
        (attr("customer.title", "eq", 5), "condition.value", ["5"]),
        (attr("customer.active", "eq", "yes"), "condition.value", ["'yes'"]),
        (attr("customer.metadata.createdAt", "gt", "yesterday"), "condition.value", ["'yesterday'"]),
        (attr("customer.title", "in", ["MR", 3]), "condition.value[1]", ["3"]),
        (attr("customer.title", "in", []), "condition.value", ["'in'"]),
        (attr("customer.title", "nin", "MR"), "condition.value", ["'nin'"]),
        (attr("customer.mixins.a", "in", ["x", 1]), "condition.value", ["one type"]),
        (attr("customer.mixins.a", "gt", True), "condition.value", ["'gt'"]),
        (attr("customer.mixins.a", "eq", {"b": 1}), "condition.value", []),
        (attr("customer.title", "exists", "MR"), "condition.value", ["'exists'"]),
        (attr("customer.title", "eq"), "condition.value", ["'eq'"]),
        (attr("customer.title", "eq", "x" * 10_001), "condition.value", ["10000"]),
        ({"orders": {}, "measure": "count", "op": "gte", "value": "5"}, "condition.value", ["'5'"]),
        # durations
        (attr("customer.metadata.createdAt", "withinLast", "30 days"), "condition.value", ["'30 days'"]),
        (attr("customer.metadata.createdAt", "olderThan", "P"), "condition.value", ["'P'"]),
        (attr("customer.metadata.createdAt", "olderThan", "PT"), "condition.value", ["'PT'"]),
        (attr("customer.metadata.createdAt", "olderThan", 30), "condition.value", ["30"]),
        ({"orders": {"within": "1 year"}, "measure": "count", "op": "eq", "value": 0}, "condition.orders.within", []),
        # between
        (attr("customer.metadata.version", "between", [5, 1]), "condition.value", ["low <= high"]),
        (attr("customer.firstName", "between", ["b", "a"]), "condition.value", ["low <= high"]),
        (attr("customer.metadata.version", "between", [1]), "condition.value", ["[low, high]"]),
        (attr("customer.metadata.version", "between", [1, 2, 3]), "condition.value", ["[low, high]"]),
        (attr("customer.metadata.version", "between", 1), "condition.value", ["[low, high]"]),
        (attr("customer.mixins.a", "between", [False, True]), "condition.value", ["one comparable type"]),
        (attr("customer.mixins.a", "between", ["a", 1]), "condition.value", ["one comparable type"]),
        # groups
        ({"all": []}, "condition.all", ["non-empty"]),
        ({"any": []}, "condition.any", ["non-empty"]),
        ({"all": [{"any": []}]}, "condition.all[0].any", ["non-empty"]),
        ({"all": OK}, "condition.all", ["non-empty"]),
        ({"all": [OK, 5]}, "condition.all[1]", ["condition object"]),
        ({}, "condition", []),
        ({"all": [OK], "foo": 1}, "condition", ["foo"]),
        ({"not": OK, "any": [OK]}, "condition", ["not"]),
        ({**OK, "extra": 1}, "condition", ["extra"]),
        ({"inSegment": "s", "op": "eq"}, "condition", ["op"]),
        # attributes and purchase filters
        (attr("customer.shoeSize", "eq", "44"), "condition.attribute", ["customer.shoeSize"]),
        (attr("customer", "exists"), "condition.attribute", ["'customer'"]),
        (attr("order.id", "eq", "o1"), "condition.attribute", ["'order'"]),
        (attr("legalEntity.name", "eq", "Acme"), "condition.attribute", ["legalEntity"]),
        ({"any": [OK, attr("contact.type", "eq", "PRIMARY")]}, "condition.any[1].attribute", ["contact"]),
        ({"orders": {"color": "red"}, "measure": "count", "op": "eq", "value": 0}, "condition.orders", ["color"]),
        ({"orders": [], "measure": "count", "op": "eq", "value": 0}, "condition.orders", []),
        (
            {"orders": {"statuses": ["LOST"]}, "measure": "count", "op": "eq", "value": 0},
            "condition.orders.statuses",
            [],
        ),
        ({"orders": {"product": ""}, "measure": "count", "op": "eq", "value": 0}, "condition.orders.product", []),
        ({"orders": {}, "measure": "average", "op": "eq", "value": 0}, "condition.measure", ["'average'"]),
        ({"inSegment": "a b"}, "condition.inSegment", ["'a b'"]),
    ],
)
def test_bad_conditions(
    rules: RuleApi, method: str, operation: str, condition: dict[str, Any], path: str, fragments: list[str]
) -> None:
    segment = rules.create_segment()
    response = send(rules, method, operation, segment, {"subject": "CUSTOMER", "condition": condition})
    assert_rule_error(response, path, *fragments)
    assert rules.request("GET", f"/segments/{segment}/rule").status_code == 404


@pytest.mark.parametrize(("method", "operation"), OPERATIONS)
def test_limits(rules: RuleApi, method: str, operation: str) -> None:
    segment = rules.create_segment()

    def refused(condition: dict[str, Any], path: str, limit: str) -> None:
        response = send(rules, method, operation, segment, {"subject": "CUSTOMER", "condition": condition})
        assert_rule_error(response, path, limit)

    refused(nested(33), "condition" + ".not" * 32, "32")
    refused({"any": [OK] * 1001}, "condition.any[1000]", "1000")
    refused({"all": [{"any": [OK] * 500}, {"any": [OK] * 501}]}, "condition.all[1].any[500]", "1000")
    refused(attr("customer.firstName", "in", [f"n{i}" for i in range(10_001)]), "condition.value", "10000")
    assert rules.request("GET", f"/segments/{segment}/rule").status_code == 404


def test_the_limits_themselves_are_accepted(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    segment = rules.create_segment()
    assert rules.put_rule(segment, nested(32)).status_code == 201
    assert rules.wait_ready(segment)["state"] == "READY"
    assert rules.put_rule(segment, {"any": [OK] * 1000}).status_code == 204
    assert rules.wait_ready(segment)["state"] == "READY"
    names = ["Ann", *(f"n{i}" for i in range(9_999))]
    assert rules.put_rule(segment, attr("customer.firstName", "in", names)).status_code == 204
    assert rules.wait_ready(segment)["memberCount"] == 1
    assert rules.members(segment) == {("c1", None): "AUTOMATIC"}
    assert rules.preview(segment, {"all": [OK] * 1000})["matchCount"] == 1


def test_in_segment_of_an_unknown_segment(rules: RuleApi) -> None:
    segment = rules.create_segment()
    for method, operation in OPERATIONS:
        condition = {"all": [OK, {"inSegment": "nope"}]}
        response = send(rules, method, operation, segment, {"subject": "CUSTOMER", "condition": condition})
        assert response.status_code == 400, response.text
        body = response.json()
        assert (body["resourceId"], body["details"]["type"]) == ("nope", "missing_reference"), body
        assert body["details"]["field"].startswith("condition"), body
        assert "nope" in body["message"], body
    assert rules.request("GET", f"/segments/{segment}/rule").status_code == 404


def test_in_segment_of_the_segment_itself(rules: RuleApi) -> None:
    segment = rules.create_segment()
    for method, operation in OPERATIONS:
        condition = {"any": [OK, {"inSegment": segment}]}
        response = send(rules, method, operation, segment, {"subject": "CUSTOMER", "condition": condition})
        assert_rule_error(response, "condition.any[1].inSegment", "itself")


def test_a_cycle_of_rules(rules: RuleApi) -> None:
    a, b, c = rules.create_segment(), rules.create_segment(), rules.create_segment()
    rules.save_rule(a, {"inSegment": b})
    rules.save_rule(b, {"inSegment": c})
    for method, operation in OPERATIONS:
        response = send(rules, method, operation, c, {"subject": "CUSTOMER", "condition": {"inSegment": a}})
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["details"]["field"].startswith("condition"), body
        assert all(part in body["message"] for part in ("cycle", a, b, c)), body
    assert rules.request("GET", f"/segments/{c}/rule").status_code == 404
    response = send(rules, "PUT", "rule", b, {"subject": "CUSTOMER", "condition": {"not": {"inSegment": a}}})
    assert response.status_code == 400, response.text
    assert "cycle" in response.json()["message"]
    assert rules.get_rule(b)["condition"] == {"inSegment": c}


def test_unknown_segments_and_cycles_name_the_path_of_their_leaf(rules: RuleApi) -> None:
    """Like every other 400 about a rule, these name the leaf that is wrong, not just `condition`."""
    a, b = rules.create_segment(), rules.create_segment()
    condition = {"all": [OK, {"inSegment": "nope"}]}
    response = send(rules, "PUT", "rule", a, {"subject": "CUSTOMER", "condition": condition})
    assert_rule_error(response, "condition.all[1].inSegment", "nope", type="missing_reference")
    assert response.json()["resourceId"] == "nope"
    rules.save_rule(a, {"inSegment": b})
    response = send(rules, "PUT", "rule", b, {"subject": "CUSTOMER", "condition": {"any": [OK, {"inSegment": a}]}})
    assert_rule_error(response, "condition.any[1].inSegment", "cycle")


@pytest.mark.parametrize(("method", "operation"), OPERATIONS)
@pytest.mark.parametrize("subject", ["X", "customer", 1, None])
def test_bad_subject(rules: RuleApi, method: str, operation: str, subject: Any) -> None:
    segment = rules.create_segment()
    response = send(rules, method, operation, segment, {"subject": subject, "condition": OK})
    assert response.status_code == 400, response.text
    assert response.json()["details"]["field"] == "subject"
    if isinstance(subject, str):
        assert_rule_error(response, "subject", repr(subject))


@pytest.mark.parametrize(("method", "operation"), OPERATIONS)
@pytest.mark.parametrize("field", ["subject", "condition"])
def test_missing_member(rules: RuleApi, method: str, operation: str, field: str) -> None:
    segment = rules.create_segment()
    body = {"subject": "CUSTOMER", "condition": OK}
    del body[field]
    response = send(rules, method, operation, segment, body)
    assert response.status_code == 400, response.text
    assert response.json() == segment_error(
        400,
        f"Validation problem with request body: Object missing required field `{field}`.",
        field=field,
        type="invalid_value",
    )


@pytest.mark.parametrize(("method", "operation"), OPERATIONS)
def test_malformed_json(rules: RuleApi, method: str, operation: str) -> None:
    segment = rules.create_segment()
    response = rules.request(
        method,
        f"/segments/{segment}/{operation}",
        content=b'{"subject": "CUSTOMER", "condition": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json() == segment_error(400, "Input data was truncated")
    assert rules.request("GET", f"/segments/{segment}/rule").status_code == 404


@pytest.mark.parametrize(("method", "operation"), OPERATIONS)
def test_a_condition_that_is_not_an_object(rules: RuleApi, method: str, operation: str) -> None:
    segment = rules.create_segment()
    response = send(rules, method, operation, segment, {"subject": "CUSTOMER", "condition": [OK]})
    assert response.status_code == 400, response.text
    assert response.json()["details"]["field"] == "condition"
