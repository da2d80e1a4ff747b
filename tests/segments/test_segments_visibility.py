"""Who sees which segments: segment_read_own customers, the customerId and legalEntityId parameters, and tenants."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import Api, Tokens, assign_customer, make_contact, segment_body, segment_error

ALWAYS = {"from": "2020-01-01T00:00:00.000Z", "to": "2100-01-01T00:00:00.000Z"}
READ = ("customersegment.segment_read",)
READ_OWN = ("customersegment.segment_read_own",)
CUSTOMER_ID_FORBIDDEN = segment_error(
    403, "The customerId parameter can only be used with the customersegment.segment_read scope."
)
C1_ALL = ["act", "ends", "future", "inact", "le1", "le2", "open", "past"]


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [doc["id"] for doc in response.json()]


def listed(api: Api, token: str, via: str = "GET", **params: str) -> list[str]:
    if via == "GET":
        return ids(api.request("GET", "/segments", token=token, params={"sort": "id", **params}))
    return ids(api.request("POST", "/segments/search", token=token, params={"sort": "id", **params}, json={}))


def not_found(segment_id: str) -> dict[str, Any]:
    return segment_error(404, f"The resource with id {segment_id} has not been found.", resource_id=segment_id)


@pytest.fixture
def members(api: Api, database_url: str) -> Api:
    """Segments of customer c1 in every state, B2C and for legal entities L1 and L2; one of c2; one of nobody."""
    segments: dict[str, dict[str, Any]] = {
        "act": {"validity": ALWAYS},
        "open": {"validity": None},
        "inact": {"validity": ALWAYS, "status": "INACTIVE"},
        "past": {"validity": {"from": "2020-01-01T00:00:00Z", "to": "2021-01-01T00:00:00Z"}},
        "ends": {"validity": {"to": "2020-01-01T00:00:00Z"}},
        "future": {"validity": {"from": "2099-01-01T00:00:00Z"}},
        "other": {"validity": None},
        "nobody": {"validity": None},
        "le1": {"validity": ALWAYS},
        "le2": {"validity": ALWAYS},
    }
    for segment_id, overrides in segments.items():
        api.create_segment(id=segment_id, **overrides)
    for segment_id in ("act", "open", "inact", "past", "ends", "future"):
        assign_customer(database_url, api.tenant, segment_id, "c1")
    assign_customer(database_url, api.tenant, "le1", "c1", "L1")
    assign_customer(database_url, api.tenant, "le2", "c1", "L2")
    assign_customer(database_url, api.tenant, "other", "c2")
    make_contact(database_url, api.tenant, "L1", "c1")
    make_contact(database_url, api.tenant, "L2", "c1")
    return api


@pytest.mark.parametrize("via", ["GET", "POST"])
class TestOwnSegments:
    def test_customer_sees_only_active_current_memberships(self, members: Api, via: str) -> None:
        token = members.tokens.customer(members.tenant, "c1")
        assert listed(members, token, via) == ["act", "le1", "le2", "open"]

    def test_other_customers(self, members: Api, via: str) -> None:
        assert listed(members, members.tokens.customer(members.tenant, "c2"), via) == ["other"]
        assert listed(members, members.tokens.customer(members.tenant, "c3"), via) == []

    def test_token_legal_entity_limits_to_it_and_b2c(self, members: Api, via: str) -> None:
        token = members.tokens.customer(members.tenant, "c1", "L1")
        assert listed(members, token, via) == ["act", "le1", "open"]

    def test_a_legal_entity_the_customer_is_not_a_contact_of_is_403(self, members: Api, via: str) -> None:
        token = members.tokens.customer(members.tenant, "c2")
        params = {"legalEntityId": "L1"}
        response = (
            members.request("GET", "/segments", token=token, params=params)
            if via == "GET"
            else members.request("POST", "/segments/search", token=token, params=params, json={})
        )
        assert response.status_code == 403
        assert response.json() == segment_error(403, "The customer is not a contact of legal entity L1.")
        single = members.request("GET", "/segments/other", token=token, params=params)
        assert single.status_code == 403

    @pytest.mark.parametrize("token_legal_entity", [None, "L1"])
    def test_legal_entity_parameter_wins(self, members: Api, via: str, token_legal_entity: str | None) -> None:
        token = members.tokens.customer(members.tenant, "c1", token_legal_entity)
        assert listed(members, token, via, legalEntityId="L2") == ["act", "le2", "open"]

    def test_total_counts_only_visible(self, members: Api, via: str) -> None:
        token = members.tokens.customer(members.tenant, "c1")
        if via == "GET":
            response = members.request("GET", "/segments", token=token, headers={"X-Total-Count": "true"})
        else:
            response = members.request(
                "POST", "/segments/search", token=token, json={}, headers={"X-Total-Count": "true"}
            )
        assert response.headers["X-Total-Count"] == "4"

    def test_q_narrows_within_visible(self, members: Api, via: str) -> None:
        token = members.tokens.customer(members.tenant, "c1")
        q = "id:(act,inact,other,nobody,open)"
        if via == "GET":
            response = members.request("GET", "/segments", token=token, params={"q": q, "sort": "id"})
        else:
            response = members.request("POST", "/segments/search", token=token, params={"sort": "id"}, json={"q": q})
        assert ids(response) == ["act", "open"]

    @pytest.mark.parametrize("customer_id", ["c2", "c3"])
    def test_customer_id_needs_read_scope(self, members: Api, via: str, customer_id: str) -> None:
        token = members.tokens.customer(members.tenant, "c1")
        if via == "GET":
            response = members.request("GET", "/segments", token=token, params={"customerId": customer_id})
        else:
            response = members.request(
                "POST", "/segments/search", token=token, params={"customerId": customer_id}, json={}
            )
        assert response.status_code == 403
        assert response.json() == CUSTOMER_ID_FORBIDDEN

    def test_service_token_with_customer_id_sees_all_of_its_segments(self, members: Api, via: str) -> None:
        token = members.tokens.service(members.tenant, READ)
        assert listed(members, token, via, customerId="c1") == C1_ALL
        assert listed(members, token, via, customerId="c2") == ["other"]
        assert listed(members, token, via, customerId="nobody-at-all") == []

    def test_service_token_with_customer_and_legal_entity(self, members: Api, via: str) -> None:
        token = members.tokens.service(members.tenant, READ)
        assert listed(members, token, via, customerId="c1", legalEntityId="L1") == [
            "act",
            "ends",
            "future",
            "inact",
            "le1",
            "open",
            "past",
        ]

    def test_service_token_without_customer_sees_everything(self, members: Api, via: str) -> None:
        token = members.tokens.service(members.tenant, READ)
        assert len(listed(members, token, via)) == 10
        assert len(listed(members, token, via, legalEntityId="L1")) == 10

    def test_read_and_read_own_together_count_as_read(self, members: Api, via: str) -> None:
        token = members.tokens.service(members.tenant, READ + READ_OWN)
        assert len(listed(members, token, via)) == 10

    def test_read_own_without_a_customer_sees_nothing(self, members: Api, via: str) -> None:
        assert listed(members, members.tokens.service(members.tenant, READ_OWN), via) == []

    def test_segment_that_stops_being_active_disappears(self, members: Api, via: str) -> None:
        patch = [{"op": "replace", "path": "/status", "value": "INACTIVE"}]
        assert members.request("PATCH", "/segments/act", json=patch).status_code == 204
        token = members.tokens.customer(members.tenant, "c1")
        assert listed(members, token, via) == ["le1", "le2", "open"]


class TestGetOwnSegment:
    @pytest.mark.parametrize("segment_id", ["act", "open", "le1", "le2"])
    def test_member_of_active_segment(self, members: Api, segment_id: str) -> None:
        token = members.tokens.customer(members.tenant, "c1")
        response = members.request("GET", f"/segments/{segment_id}", token=token)
        assert response.status_code == 200
        assert response.json() == members.request("GET", f"/segments/{segment_id}").json()

    @pytest.mark.parametrize("segment_id", ["inact", "past", "ends", "future", "other", "nobody", "missing"])
    def test_not_a_visible_member_is_404(self, members: Api, segment_id: str) -> None:
        token = members.tokens.customer(members.tenant, "c1")
        response = members.request("GET", f"/segments/{segment_id}", token=token)
        assert response.status_code == 404
        assert response.json() == not_found(segment_id)

    def test_legal_entity_context(self, members: Api) -> None:
        token = members.tokens.customer(members.tenant, "c1", "L1")
        assert members.request("GET", "/segments/le2", token=token).json() == not_found("le2")
        assert members.request("GET", "/segments/le1", token=token).status_code == 200
        assert members.request("GET", "/segments/act", token=token).status_code == 200
        assert members.request("GET", "/segments/le2", token=token, params={"legalEntityId": "L2"}).status_code == 200
        assert members.request("GET", "/segments/le1", token=token, params={"legalEntityId": "L2"}).status_code == 404

    def test_read_scope_sees_any_segment(self, members: Api) -> None:
        token = members.tokens.service(members.tenant, READ)
        for segment_id in ("inact", "nobody", "future"):
            assert members.request("GET", f"/segments/{segment_id}", token=token).status_code == 200

    def test_read_own_without_a_customer_is_404(self, members: Api) -> None:
        token = members.tokens.service(members.tenant, READ_OWN)
        assert members.request("GET", "/segments/act", token=token).json() == not_found("act")


@pytest.fixture
def other(client: TestClient[Litestar], tokens: Tokens) -> Api:
    """A second tenant, with its own back-office client."""
    return Api(client, tokens, "t" + secrets.token_hex(6))


class TestTenantIsolation:
    def test_segment_of_another_tenant_is_not_found(self, api: Api, other: Api) -> None:
        api.create_segment(id="s")
        assert other.request("GET", "/segments/s").json() == not_found("s")
        assert other.request("GET", "/segments").json() == []
        assert other.request("POST", "/segments/search", json={"q": "id:s"}).json() == []
        response = other.request("PATCH", "/segments/s", json=[{"op": "replace", "path": "/status", "value": "X"}])
        assert response.json() == not_found("s")

    def test_same_custom_id_in_two_tenants(self, api: Api, other: Api) -> None:
        api.create_segment(id="s", name={"en": "A"})
        response = other.request("POST", "/segments", json=segment_body(id="s", name={"en": "B"}))
        assert response.status_code == 201, response.text
        assert api.request("GET", "/segments/s").json()["name"] == {"en": "A"}
        assert other.request("GET", "/segments/s").json()["name"] == {"en": "B"}

    def test_put_in_another_tenant_creates_there(self, api: Api, other: Api) -> None:
        api.create_segment(id="s", name={"en": "A"})
        assert other.request("PUT", "/segments/s", json=segment_body(name={"en": "B"})).status_code == 201
        a = api.request("GET", "/segments/s").json()
        assert (a["name"], a["metadata"]["version"]) == ({"en": "A"}, 1)

    def test_delete_in_another_tenant_leaves_it(self, api: Api, other: Api, database_url: str) -> None:
        api.create_segment(id="s")
        assign_customer(database_url, api.tenant, "s", "c1")
        assert other.request("DELETE", "/segments/s").status_code == 204
        assert other.request("DELETE", "/segments/s?forceDelete=true").status_code == 204
        response = other.request("DELETE", "/segments/bulk", json=["s"], params={"forceDelete": "true"})
        assert response.json() == [{"index": 0, "code": 204, "status": "OK", "id": "s"}]
        assert api.request("GET", "/segments/s").status_code == 200

    def test_customer_of_another_tenant_sees_nothing(self, api: Api, other: Api, database_url: str) -> None:
        api.create_segment(id="s", validity=ALWAYS)
        assign_customer(database_url, api.tenant, "s", "c1")
        token = other.tokens.customer(other.tenant, "c1")
        assert other.request("GET", "/segments", token=token).json() == []
        assert other.request("GET", "/segments/s", token=token).status_code == 404
        assert ids(api.request("GET", "/segments", token=api.tokens.customer(api.tenant, "c1"))) == ["s"]

    def test_token_of_one_tenant_on_the_others_path_is_403(self, api: Api, other: Api) -> None:
        api.create_segment(id="s")
        response = api.client.get(other.url("/segments/s"), headers={"Authorization": f"Bearer {api.token}"})
        assert response.status_code == 403
        assert response.json() == segment_error(
            403, f"The token belongs to tenant '{api.tenant}', not to tenant '{other.tenant}'."
        )
