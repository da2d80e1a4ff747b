"""Who may call the rule operations, what an unknown segment, rule, customer or legal entity answers, another tenant's
segment, and the rule's versions (docs/rules.md#api)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.factories import ISO_MILLIS, SERVICE_TOKEN_FAILURES, Tokens, assert_refused, segment_error
from tests.rules.condition_helpers import assign
from tests.rules.helpers import MANAGE, READ, RuleApi, attr

ANN = attr("customer.firstName", "eq", "Ann")
BODY = {"subject": "CUSTOMER", "condition": ANN}

#: (method, path under the segment, the scopes a refused token holds, the scopes the operation needs, body)
OPERATIONS: list[tuple[str, str, tuple[str, ...], tuple[str, ...], dict[str, Any]]] = [
    ("PUT", "/rule", READ, MANAGE, {"json": BODY}),
    ("GET", "/rule", MANAGE, READ, {}),
    ("DELETE", "/rule", READ, MANAGE, {}),
    ("POST", "/rule/preview", READ, MANAGE, {"json": BODY}),
    ("GET", "/explain", MANAGE, READ, {"params": {"customerId": "c1"}}),
    ("GET", "/exclusions", MANAGE, READ, {}),
    ("PUT", "/exclusions/c1", READ, MANAGE, {}),
    ("DELETE", "/exclusions/c1", READ, MANAGE, {}),
    ("PUT", "/exclusions/c1/L1", READ, MANAGE, {}),
    ("DELETE", "/exclusions/c1/L1", READ, MANAGE, {}),
]


@pytest.fixture
def world(rules: RuleApi) -> RuleApi:
    """Segment `seg` with a rule matching c1 (Ann), an exclusion of c2, and c1 a contact of L1."""
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Ann")
    rules.create_legal_entity("L1")
    rules.create_contact("L1", "c1")
    rules.create_segment(id="seg")
    rules.save_rule("seg", ANN)
    assert rules.request("PUT", "/segments/seg/exclusions/c2").status_code == 201
    return rules


def unchanged(world: RuleApi) -> None:
    """`seg` as the world fixture left it."""
    rule = world.get_rule("seg")
    assert (rule["condition"], rule["metadata"]["version"]) == (ANN, 1)
    assert world.members("seg") == {("c1", None): "AUTOMATIC"}
    exclusions = world.request("GET", "/segments/seg/exclusions").json()
    assert [(e["customerId"], e["legalEntityId"]) for e in exclusions] == [("c2", None)]


@pytest.mark.parametrize("case", SERVICE_TOKEN_FAILURES)
@pytest.mark.parametrize(("method", "path", "valid", "required", "kwargs"), OPERATIONS)
def test_refused(
    world: RuleApi,
    case: str,
    method: str,
    path: str,
    valid: tuple[str, ...],
    required: tuple[str, ...],
    kwargs: dict[str, Any],
) -> None:
    assert_refused(world, case, method, f"/segments/seg{path}", valid_scopes=valid, required=required, **kwargs)
    unchanged(world)


@pytest.mark.parametrize(("method", "path", "valid", "required", "kwargs"), OPERATIONS)
def test_unknown_segment_is_404(
    world: RuleApi,
    method: str,
    path: str,
    valid: tuple[str, ...],
    required: tuple[str, ...],
    kwargs: dict[str, Any],
) -> None:
    response = world.request(method, f"/segments/nope{path}", **kwargs)
    assert response.status_code == 404, response.text
    assert response.json() == segment_error(404, "The segment nope does not exist.", resource_id="nope")


@pytest.mark.parametrize(("method", "path", "valid", "required", "kwargs"), OPERATIONS)
def test_another_tenants_segment_is_unknown(
    world: RuleApi,
    client: TestClient[Litestar],
    tokens: Tokens,
    method: str,
    path: str,
    valid: tuple[str, ...],
    required: tuple[str, ...],
    kwargs: dict[str, Any],
) -> None:
    other = RuleApi(client, tokens, "o" + world.tenant[1:])
    other.create_customer("c1", firstName="Ann")
    other.create_legal_entity("L1")
    other.create_contact("L1", "c1")
    response = other.request(method, f"/segments/seg{path}", **kwargs)
    assert response.status_code == 404, response.text
    assert response.json() == segment_error(404, "The segment seg does not exist.", resource_id="seg")
    unchanged(world)


@pytest.mark.parametrize(("method", "path"), [("GET", "/rule"), ("DELETE", "/rule")])
def test_a_segment_without_a_rule_is_404(rules: RuleApi, method: str, path: str) -> None:
    segment = rules.create_segment()
    response = rules.request(method, f"/segments/{segment}{path}")
    assert response.status_code == 404, response.text
    assert response.json() == segment_error(404, f"The segment {segment} has no rule.", resource_id=segment)


def test_explain_of_an_unknown_customer_or_legal_entity_is_404(world: RuleApi) -> None:
    response = world.request("GET", "/segments/seg/explain", params={"customerId": "ghost"})
    assert response.status_code == 404, response.text
    assert response.json() == segment_error(404, "The customer ghost does not exist.", resource_id="ghost")
    response = world.request("GET", "/segments/seg/explain", params={"customerId": "c1", "legalEntityId": "LX"})
    assert response.status_code == 404, response.text
    assert response.json() == segment_error(404, "The legal entity LX does not exist.", resource_id="LX")
    assert world.explain("seg", "c1") == {
        "member": True,
        "because": "RULE",
        "condition": {**ANN, "actual": "Ann", "result": True},
    }
    assert world.explain("seg", "c2")["because"] == "EXCLUDED"


def test_created_replaced_and_stale_versions(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Bob")
    segment = rules.create_segment()
    created = rules.put_rule(segment, ANN)
    assert (created.status_code, created.content) == (201, b"")
    first = rules.wait_ready(segment)
    assert first == {
        "segmentId": segment,
        "subject": "CUSTOMER",
        "condition": ANN,
        "state": "READY",
        "evaluatedAt": ISO_MILLIS,
        "memberCount": 1,
        "error": None,
        "metadata": {"version": 1, "createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS},
    }
    bob = attr("customer.firstName", "eq", "Bob")
    replaced = rules.put_rule(segment, bob, metadata={"version": 1})
    assert (replaced.status_code, replaced.content) == (204, b"")
    second = rules.wait_ready(segment)
    assert (second["condition"], second["metadata"]["version"], second["memberCount"]) == (bob, 2, 1)
    assert second["metadata"]["createdAt"] == first["metadata"]["createdAt"]
    assert rules.member_ids(segment) == {"c2"}

    stale = rules.put_rule(segment, ANN, metadata={"version": 1})
    assert stale.status_code == 409, stale.text
    assert stale.json() == segment_error(
        409, f"The rule of segment {segment} is at version 2, not 1.", resource_id=segment
    )
    ahead = rules.put_rule(segment, ANN, metadata={"version": 3})
    assert ahead.status_code == 409, ahead.text
    assert rules.wait_ready(segment)["condition"] == bob
    assert rules.member_ids(segment) == {"c2"}

    overwritten = rules.put_rule(segment, ANN)
    assert overwritten.status_code == 204, overwritten.text
    assert rules.wait_ready(segment)["metadata"]["version"] == 3
    assert rules.put_rule(segment, ANN, metadata={}).status_code == 204
    assert rules.wait_ready(segment)["metadata"]["version"] == 4
    assert rules.member_ids(segment) == {"c1"}


def test_delete_rule_keeps_manual_members_then_404(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    rules.create_customer("c2", firstName="Bob")
    segment = rules.create_segment()
    assign(rules, segment, "c2")
    rules.save_rule(segment, ANN)
    assert rules.members(segment) == {("c1", None): "AUTOMATIC", ("c2", None): "MANUAL"}
    deleted = rules.request("DELETE", f"/segments/{segment}/rule")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert rules.members(segment) == {("c2", None): "MANUAL"}
    assert rules.request("GET", f"/segments/{segment}/rule").status_code == 404
    again = rules.request("DELETE", f"/segments/{segment}/rule")
    assert again.status_code == 404, again.text
    assert again.json() == segment_error(404, f"The segment {segment} has no rule.", resource_id=segment)
    assert rules.put_rule(segment, ANN).status_code == 201
