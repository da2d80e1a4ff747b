"""Who sees which legal entities: customer tokens with `legalentity_read_own` see those they are a contact of
(legal-entity.yml, GET /legal-entities and search), service tokens see their tenant's, and tenants never meet."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import INVALID_TOKEN, Tokens
from tests.legal_entities.helpers import LE_READ_BOTH, LE_READ_OWN, Management, customer_token, error

from segment_service.core.auth import Scope


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Management:
    return Management(client, tokens, tenant)


@pytest.fixture
def contacts(api: Management) -> Management:
    """c1 is a contact of L1 (twice, with two types) and L2; c2 of L3; nobody of L4 (L2's parent) or L5."""
    for legal_entity_id in ("L1", "L4", "L3", "L5"):
        api.create_legal_entity(id=legal_entity_id, name=f"Company {legal_entity_id}")
    api.create_legal_entity(id="L2", name="Subsidiary L2", type="SUBSIDIARY", parentId="L4")
    for customer_id in ("c1", "c2", "c3"):
        api.create_customer(customer_id)
    api.create_contact("L1", "c1", type="BILLING")
    api.create_contact("L1", "c1", type="LOGISTICS")
    api.create_contact("L2", "c1")
    api.create_contact("L3", "c2")
    return api


def listed(api: Management, token: str, via: str = "GET", **params: str) -> httpx.Response:
    if via == "GET":
        return api.request("GET", "/legal-entities", token=token, params={"sort": "id", **params})
    q = params.pop("q", None)
    return api.request("POST", "/legal-entities/search", token=token, params={"sort": "id", **params}, json={"q": q})


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [doc["id"] for doc in response.json()]


@pytest.mark.parametrize("via", ["GET", "POST"])
class TestOwnLegalEntities:
    def test_a_customer_sees_what_it_is_a_contact_of(self, contacts: Management, app: Litestar, via: str) -> None:
        token = customer_token(app, contacts.tenant, "c1")
        assert ids(listed(contacts, token, via)) == ["L1", "L2"]
        assert ids(listed(contacts, customer_token(app, contacts.tenant, "c2"), via)) == ["L3"]

    def test_documents_are_whole(self, contacts: Management, app: Litestar, via: str) -> None:
        response = listed(contacts, customer_token(app, contacts.tenant, "c2"), via)
        assert response.json() == [contacts.get_legal_entity("L3")]

    def test_no_contact_sees_nothing(self, contacts: Management, app: Litestar, via: str) -> None:
        assert ids(listed(contacts, customer_token(app, contacts.tenant, "c3"), via)) == []

    def test_a_customer_token_without_customer_is_refused(self, contacts: Management, app: Litestar, via: str) -> None:
        """The service never issues one: a customer token that names no customer is malformed, a 401."""
        response = listed(contacts, customer_token(app, contacts.tenant, None), via)
        assert (response.status_code, response.json()) == (401, INVALID_TOKEN)

    def test_q_filters_and_totals_apply_within_its_own(self, contacts: Management, app: Litestar, via: str) -> None:
        token = customer_token(app, contacts.tenant, "c1")
        assert ids(listed(contacts, token, via, q="type:SUBSIDIARY")) == ["L2"]
        assert ids(listed(contacts, token, via, q="id:(L1,L3,L5)")) == ["L1"]
        assert ids(listed(contacts, token, via, name="company")) == ["L1"]
        response = contacts.request(
            "GET", "/legal-entities", token=token, headers={"X-Total-Count": "true"}, params={"pageSize": "1"}
        )
        assert (ids(response), response.headers["X-Total-Count"]) == (["L1"], "2")

    def test_a_removed_contact_no_longer_sees_it(self, contacts: Management, app: Litestar, via: str) -> None:
        token = customer_token(app, contacts.tenant, "c2")
        (assignment,) = contacts.request("GET", "/contact-assignments", params={"customer.id": "c2"}).json()
        assert contacts.request("DELETE", f"/contact-assignments/{assignment['id']}").status_code == 204
        assert ids(listed(contacts, token, via)) == []

    def test_a_token_with_read_and_read_own_sees_everything(self, contacts: Management, via: str) -> None:
        token = contacts.tokens.service(contacts.tenant, LE_READ_BOTH)
        assert ids(listed(contacts, token, via)) == ["L1", "L2", "L3", "L4", "L5"]

    def test_a_service_token_with_read_own_only_sees_nothing(self, contacts: Management, via: str) -> None:
        # read_own is about the caller's own customer; a service token has none.
        assert ids(listed(contacts, contacts.tokens.service(contacts.tenant, LE_READ_OWN), via)) == []

    def test_a_customer_token_without_the_scope_is_403(self, contacts: Management, app: Litestar, via: str) -> None:
        token = customer_token(app, contacts.tenant, "c1", scopes=(Scope.SEGMENT_READ_OWN.value,))
        response = listed(contacts, token, via)
        assert response.status_code == 403
        assert response.json() == error(
            403, "Required scope(s): customermanagement.legalentity_read, customermanagement.legalentity_read_own."
        )

    def test_an_anonymous_token_is_403(self, contacts: Management, via: str) -> None:
        response = listed(contacts, contacts.tokens.anonymous(contacts.tenant), via)
        assert response.status_code == 403
        assert response.json() == error(
            403, "Required scope(s): customermanagement.legalentity_read, customermanagement.legalentity_read_own."
        )

    def test_a_customer_of_another_tenant_is_403(self, contacts: Management, app: Litestar, via: str) -> None:
        other = "o" + contacts.tenant[1:]
        response = listed(contacts, customer_token(app, other, "c1"), via)
        assert response.status_code == 403
        assert response.json() == error(
            403, f"The token belongs to tenant '{other}', not to tenant '{contacts.tenant}'."
        )


class TestTenants:
    def test_tenants_never_see_each_other(self, api: Management, client: TestClient[Litestar], tokens: Tokens) -> None:
        other = Management(client, tokens, "o" + api.tenant[1:])
        api.create_legal_entity(id="same", name="Mine")
        other.create_legal_entity(id="same", name="Theirs")
        other.create_legal_entity(id="only-theirs")
        assert api.ids("/legal-entities") == ["same"]
        assert api.get_legal_entity("same")["name"] == "Mine"
        assert api.request("GET", "/legal-entities/only-theirs").status_code == 404
        assert api.request("DELETE", "/legal-entities/only-theirs").status_code == 404
        assert other.get_legal_entity("only-theirs")["name"] == "only-theirs"
        response = api.request("PUT", "/legal-entities/same", json={"name": "Renamed", "type": "COMPANY"})
        assert response.status_code == 204
        theirs = other.get_legal_entity("same")
        assert (theirs["name"], theirs["metadata"]["version"]) == ("Theirs", 1)
