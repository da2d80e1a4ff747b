"""DELETE /legal-entities/{legalEntityId}, and companies with their subsidiaries: `parentId` must name an existing
legal entity of the tenant and must not close a cycle; deleting a legal entity removes its subsidiaries and their
contact assignments (legal-entity.yml, DELETE)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import AUTH_FAILURES, Tokens, assert_refused
from tests.legal_entities.helpers import LE_MANAGE, LE_READ_BOTH, Management, customer_token, error


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Management:
    return Management(client, tokens, tenant)


@pytest.fixture
def tree(api: Management) -> Management:
    """root <- a <- a1 <- a11, root <- b; and an unrelated company `other`."""
    api.create_legal_entity(id="root")
    api.create_legal_entity(id="a", type="SUBSIDIARY", parentId="root")
    api.create_legal_entity(id="a1", type="SUBSIDIARY", parentId="a")
    api.create_legal_entity(id="a11", type="SUBSIDIARY", parentId="a1")
    api.create_legal_entity(id="b", type="SUBSIDIARY", parentId="root")
    api.create_legal_entity(id="other")
    return api


def not_found(legal_entity_id: str) -> dict[str, object]:
    return error(404, f"The legal entity with id '{legal_entity_id}' does not exist.", resource_id=legal_entity_id)


def put(api: Management, legal_entity_id: str, parent_id: str | None) -> tuple[int, object]:
    body: dict[str, object] = {"name": legal_entity_id, "type": "SUBSIDIARY"}
    if parent_id is not None:
        body["parentId"] = parent_id
    response = api.request("PUT", f"/legal-entities/{legal_entity_id}", json=body)
    return response.status_code, (response.json() if response.content else None)


def parent_missing(parent_id: str) -> dict[str, object]:
    return error(400, f"The parent legal entity '{parent_id}' does not exist.", field="parentId")


def cycle(parent_id: str, legal_entity_id: str) -> dict[str, object]:
    return error(
        400,
        f"Invalid parentId '{parent_id}': it is a subsidiary of '{legal_entity_id}' (directly or "
        "further down), so the hierarchy would become a cycle.",
        field="parentId",
    )


class TestParent:
    def test_subsidiary_of_an_existing_company(self, api: Management) -> None:
        api.create_legal_entity(id="627e06ecf0452c2d6c0b81391", name="ABC Company")
        sub = api.create_legal_entity(name="ABC Subsidiary", type="SUBSIDIARY", parentId="627e06ecf0452c2d6c0b81391")
        doc = api.get_legal_entity(sub)
        assert (doc["type"], doc["parentId"]) == ("SUBSIDIARY", "627e06ecf0452c2d6c0b81391")
        assert list(doc)[:4] == ["id", "name", "type", "parentId"]

    def test_unknown_parent_on_create_is_400(self, api: Management) -> None:
        response = api.request("POST", "/legal-entities", json={"id": "s", "name": "S", "parentId": "nope"})
        assert response.status_code == 400
        assert response.json() == parent_missing("nope")
        assert api.request("GET", "/legal-entities/s").status_code == 404

    def test_own_id_as_parent_on_create_is_400(self, api: Management) -> None:
        response = api.request("POST", "/legal-entities", json={"id": "s", "name": "S", "parentId": "s"})
        assert response.status_code == 400
        assert response.json() == error(
            400, "Invalid parentId 's': a legal entity cannot be its own parent.", field="parentId"
        )

    def test_parent_of_another_tenant_is_400(
        self, api: Management, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        other = Management(client, tokens, "o" + api.tenant[1:])
        other.create_legal_entity(id="theirs")
        response = api.request("POST", "/legal-entities", json={"name": "S", "parentId": "theirs"})
        assert response.status_code == 400
        assert response.json() == parent_missing("theirs")

    def test_parent_ids_are_case_sensitive(self, tree: Management) -> None:
        response = tree.request("POST", "/legal-entities", json={"name": "S", "parentId": "ROOT"})
        assert response.status_code == 400
        assert response.json() == parent_missing("ROOT")

    def test_unknown_parent_on_put_is_400_and_nothing_changes(self, tree: Management) -> None:
        assert put(tree, "a", "nope") == (400, parent_missing("nope"))
        doc = tree.get_legal_entity("a")
        assert (doc["parentId"], doc["metadata"]["version"]) == ("root", 1)

    def test_unknown_parent_on_put_creating_is_400(self, api: Management) -> None:
        assert put(api, "new", "nope") == (400, parent_missing("nope"))
        assert api.request("GET", "/legal-entities/new").status_code == 404

    def test_own_parent_on_put_is_400(self, tree: Management) -> None:
        assert put(tree, "a", "a") == (
            400,
            error(400, "Invalid parentId 'a': a legal entity cannot be its own parent.", field="parentId"),
        )

    @pytest.mark.parametrize(
        ("legal_entity_id", "parent_id"),
        [
            ("root", "a"),
            ("root", "a11"),
            ("root", "b"),
            ("a", "a1"),
            ("a", "a11"),
            ("a1", "a11"),
        ],
    )
    def test_a_descendant_as_parent_is_400(self, tree: Management, legal_entity_id: str, parent_id: str) -> None:
        assert put(tree, legal_entity_id, parent_id) == (400, cycle(parent_id, legal_entity_id))
        assert tree.get_legal_entity(legal_entity_id)["metadata"]["version"] == 1

    @pytest.mark.parametrize(
        ("legal_entity_id", "parent_id"),
        [
            ("a1", "b"),
            ("a11", "root"),
            ("b", "a11"),
            ("root", "other"),
            ("a", "other"),
            ("a1", "a"),
        ],
    )
    def test_moving_below_a_non_descendant_is_fine(
        self, tree: Management, legal_entity_id: str, parent_id: str
    ) -> None:
        assert put(tree, legal_entity_id, parent_id) == (204, None)
        assert tree.get_legal_entity(legal_entity_id)["parentId"] == parent_id

    def test_leaving_the_parent_out_makes_it_a_root(self, tree: Management) -> None:
        assert put(tree, "a1", None) == (204, None)
        assert "parentId" not in tree.get_legal_entity("a1")
        # a11 no longer lies below root or a, so both may now move below it; a1 still may not.
        assert put(tree, "a1", "a11") == (400, cycle("a11", "a1"))
        assert put(tree, "a", "a11") == (204, None)

    def test_the_hierarchy_holds_after_a_move(self, tree: Management) -> None:
        assert put(tree, "a1", "b") == (204, None)
        # a11 now lies below b: b cannot move below it, but a can.
        assert put(tree, "b", "a11") == (400, cycle("a11", "b"))
        assert put(tree, "a", "a11") == (204, None)


class TestDeleteLegalEntity:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_deleted(self, api: Management, case: str) -> None:
        api.create_legal_entity(id="le")
        assert_refused(api, case, "DELETE", "/legal-entities/le", valid_scopes=LE_READ_BOTH, required=LE_MANAGE)
        assert api.request("GET", "/legal-entities/le").status_code == 200

    def test_customer_token_cannot_delete(self, api: Management, app: Litestar) -> None:
        api.create_legal_entity(id="le")
        response = api.request("DELETE", "/legal-entities/le", token=customer_token(app, api.tenant, "c1"))
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): customermanagement.legalentity_manage.")
        assert api.request("GET", "/legal-entities/le").status_code == 200

    def test_deletes(self, api: Management) -> None:
        api.create_legal_entity(id="le")
        api.create_legal_entity(id="keep")
        response = api.request("DELETE", "/legal-entities/le")
        assert response.status_code == 204
        assert response.content == b""
        assert api.request("GET", "/legal-entities/le").json() == not_found("le")
        assert api.ids("/legal-entities") == ["keep"]

    def test_missing_is_404(self, api: Management) -> None:
        # legal-entity.yml declares 404 for this DELETE.
        response = api.request("DELETE", "/legal-entities/missing")
        assert response.status_code == 404
        assert response.json() == not_found("missing")

    def test_twice_is_404_the_second_time(self, api: Management) -> None:
        api.create_legal_entity(id="le")
        assert api.request("DELETE", "/legal-entities/le").status_code == 204
        assert api.request("DELETE", "/legal-entities/le").status_code == 404

    def test_recreate_after_delete_starts_at_version_1(self, api: Management) -> None:
        api.create_legal_entity(id="le")
        api.request("PUT", "/legal-entities/le", json={"name": "N", "type": "COMPANY"})
        api.request("DELETE", "/legal-entities/le")
        api.create_legal_entity(id="le")
        assert api.get_legal_entity("le")["metadata"]["version"] == 1


class TestDeleteCascade:
    def test_deleting_a_parent_removes_its_subtree_only(self, tree: Management) -> None:
        assert tree.request("DELETE", "/legal-entities/a").status_code == 204
        assert tree.ids("/legal-entities", params={"sort": "id"}) == ["b", "other", "root"]

    def test_deleting_a_leaf_keeps_its_parent(self, tree: Management) -> None:
        assert tree.request("DELETE", "/legal-entities/a11").status_code == 204
        assert tree.ids("/legal-entities", params={"sort": "id"}) == ["a", "a1", "b", "other", "root"]

    def test_deleting_the_root_removes_every_subsidiary(self, tree: Management) -> None:
        assert tree.request("DELETE", "/legal-entities/root").status_code == 204
        assert tree.ids("/legal-entities") == ["other"]

    def test_contact_assignments_of_the_subtree_go_too(self, tree: Management) -> None:
        tree.create_customer("c1")
        for legal_entity_id in ("a", "a11", "b"):
            tree.create_contact(legal_entity_id, "c1", id=f"ca-{legal_entity_id}")
        assert tree.request("DELETE", "/legal-entities/a").status_code == 204
        assert tree.ids("/contact-assignments") == ["ca-b"]
        assert tree.request("GET", "/contact-assignments/ca-a11").status_code == 404
        # The customer itself stays.
        response = tree.client.get(
            f"/customer/{tree.tenant}/customers/c1", headers={"Authorization": f"Bearer {tree.token}"}
        )
        assert response.status_code == 200
