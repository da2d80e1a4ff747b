"""Segment customer assignments: B2C and B2B get/upsert/delete, the list and search (operations 12-19)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.factories import (
    AUTH_FAILURES,
    ISO_MILLIS,
    Api,
    assert_refused,
    make_contact,
    run_sql,
    segment_error,
)

READ = ("customersegment.segment_read",)
MANAGE = ("customersegment.segment_manage",)
TUTORIAL_BODY = {
    "mixins": {"segmentAttributes": {"membershipStatus": "PREMIUM"}},
    "metadata": {
        "mixins": {
            "segmentAttributes": "https://res.cloudinary.com/saas-ag/raw/upload/emporix-docs/"
            "69537caeb3fd5d378296ae42_segmentAttributes.json"
        }
    },
}


def make_customer(database_url: str, tenant: str, customer_id: str) -> None:
    run_sql(
        database_url,
        "INSERT INTO customers (tenant, id, contact_email, first_name, last_name, created_at, modified_at)"
        " VALUES ($1, $2, $2 || '@example.com', 'First ' || $2, 'Last ' || $2, now(), now())",
        tenant,
        customer_id,
    )


def customer(customer_id: str) -> dict[str, str]:
    return {
        "id": customer_id,
        "firstName": f"First {customer_id}",
        "lastName": f"Last {customer_id}",
        "email": f"{customer_id}@example.com",
    }


def metadata(version: int = 1, **extra: Any) -> dict[str, Any]:
    return {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": version, **extra}


@pytest.fixture
def world(api: Api, database_url: str) -> Api:
    """Segment `seg`; customers c1, c2, c3; legal entity L1 with c1 as contact; legal entity L2 without contacts."""
    api.create_segment(id="seg")
    for c in ("c1", "c2", "c3"):
        make_customer(database_url, api.tenant, c)
    make_contact(database_url, api.tenant, "L1", "c1")
    run_sql(
        database_url,
        "INSERT INTO legal_entities (tenant, id, name, type, created_at, modified_at)"
        " VALUES ($1, 'L2', 'L2', 'COMPANY', now(), now())",
        api.tenant,
    )
    return api


B2C = "/segments/seg/customers/c1"
B2B = "/segments/seg/customers/c1/L1"


class TestRefusals:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    @pytest.mark.parametrize(
        ("method", "path", "valid", "required"),
        [
            ("GET", "/segments/seg/customers", MANAGE, (*READ, "customersegment.segment_read_own")),
            ("POST", "/segments/seg/customers/search", MANAGE, READ),
            ("GET", B2C, MANAGE, READ),
            ("PUT", B2C, READ, MANAGE),
            ("DELETE", B2C, READ, MANAGE),
            ("GET", B2B, MANAGE, READ),
            ("PUT", B2B, READ, MANAGE),
            ("DELETE", B2B, READ, MANAGE),
            ("PUT", "/segments/seg/customers/bulk", READ, MANAGE),
            ("DELETE", "/segments/seg/customers/bulk", READ, MANAGE),
        ],
    )
    def test_refused(
        self, world: Api, case: str, method: str, path: str, valid: tuple[str, ...], required: tuple[str, ...]
    ) -> None:
        kwargs: dict[str, Any] = {"json": []} if path.endswith("bulk") else {}
        assert_refused(world, case, method, path, valid_scopes=valid, required=required, **kwargs)

    def test_customer_token_cannot_search_or_read_one(self, world: Api) -> None:
        token = world.tokens.customer(world.tenant, "c1")
        forbidden = segment_error(403, "Required scope(s): customersegment.segment_read.")
        assert world.request("POST", "/segments/seg/customers/search", token=token, json={}).json() == forbidden
        assert world.request("GET", B2C, token=token).json() == forbidden


class TestUpsertAndGet:
    def test_tutorial_request_creates_then_updates_b2b(self, world: Api) -> None:
        created = world.request("PUT", B2B, json=TUTORIAL_BODY)
        assert created.status_code == 201
        assert created.content == b""
        response = world.request("GET", B2B)
        assert response.status_code == 200
        assert response.json() == {
            "customer": customer("c1"),
            "legalEntity": {"id": "L1", "name": "L1"},
            "assignmentType": "MANUAL",
            "mixins": TUTORIAL_BODY["mixins"],
            "metadata": metadata(1, mixins=TUTORIAL_BODY["metadata"]["mixins"]),
        }
        updated = world.request("PUT", B2B, json={"mixins": {"a": {"b": 1}}, "metadata": {"version": 1}})
        assert updated.status_code == 204
        assert updated.content == b""
        again = world.request("GET", B2B).json()
        assert again["mixins"] == {"a": {"b": 1}}
        assert again["metadata"] == metadata(2)

    def test_b2c_without_body_and_fields(self, world: Api) -> None:
        assert world.request("PUT", B2C).status_code == 201
        assert world.request("PUT", B2C, json={}).status_code == 204
        assert world.request("GET", B2C).json() == {
            "customer": customer("c1"),
            "assignmentType": "MANUAL",
            "metadata": metadata(2),
        }
        assert world.request("GET", B2C, params={"fields": "customer.id,metadata.version"}).json() == {
            "customer": {"id": "c1"},
            "metadata": {"version": 2},
        }

    def test_b2c_and_b2b_are_separate(self, world: Api) -> None:
        assert world.request("PUT", B2B).status_code == 201
        assert world.request("GET", B2C).json() == segment_error(
            404, "The customer c1 is not assigned to the segment seg.", resource_id="c1"
        )

    def test_stale_version_is_409(self, world: Api) -> None:
        world.request("PUT", B2C)
        world.request("PUT", B2C)
        response = world.request("PUT", B2C, json={"metadata": {"version": 1}})
        assert response.status_code == 409
        assert response.json() == segment_error(
            409, "The resource you are attempting to access has changed.", resource_id="c1"
        )

    def test_unknown_segment_is_404(self, world: Api) -> None:
        expected = segment_error(404, "The resource with id nope has not been found.", resource_id="nope")
        for method in ("PUT", "GET"):
            response = world.request(method, "/segments/nope/customers/c1/L1")
            assert response.status_code == 404
            assert response.json() == expected
        assert world.request("GET", "/segments/nope/customers").json() == expected

    def test_missing_assignment_b2b_is_404(self, world: Api) -> None:
        response = world.request("GET", B2B)
        assert response.status_code == 404
        assert response.json() == segment_error(
            404, "The customer c1 with legal entity L1 is not assigned to the segment seg.", resource_id="c1"
        )

    @pytest.mark.parametrize(
        ("path", "message", "field", "resource"),
        [
            ("/segments/seg/customers/ghost", "The customer ghost does not exist.", "customerId", "ghost"),
            ("/segments/seg/customers/ghost/L1", "The customer ghost does not exist.", "customerId", "ghost"),
            ("/segments/seg/customers/c1/LX", "The legal entity LX does not exist.", "legalEntityId", "LX"),
            (
                "/segments/seg/customers/c1/L2",
                "The customer c1 is not a contact of the legal entity L2.",
                "legalEntityId",
                "c1",
            ),
        ],
    )
    def test_missing_references_are_400(self, world: Api, path: str, message: str, field: str, resource: str) -> None:
        response = world.request("PUT", path, json=TUTORIAL_BODY)
        assert response.status_code == 400
        assert response.json() == segment_error(
            400, message, field=field, type="missing_reference", resource_id=resource
        )

    def test_bad_body_is_400(self, world: Api) -> None:
        response = world.request("PUT", B2C, json={"metadata": {"version": "x"}})
        assert response.status_code == 400
        assert response.json()["code"] == 400

    def test_concurrent_upserts_make_one_assignment_with_consistent_version(
        self, world: Api, database_url: str
    ) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda _: world.request("PUT", B2B, json=TUTORIAL_BODY).status_code, range(16)))
        assert sorted(codes) == [201] + [204] * 15
        rows = run_sql(database_url, "SELECT version FROM segment_customer_assignments WHERE tenant = $1", world.tenant)
        assert [r["version"] for r in rows] == [16]


class TestDelete:
    def test_delete_b2c_and_b2b_are_idempotent(self, world: Api) -> None:
        world.request("PUT", B2C)
        world.request("PUT", B2B)
        for path in (B2C, B2B, B2C, "/segments/nope/customers/c1/L1"):
            response = world.request("DELETE", path)
            assert response.status_code == 204
            assert response.content == b""
        assert world.request("GET", "/segments/seg/customers").json() == []

    def test_deleting_the_customer_or_legal_entity_removes_assignments(self, world: Api, database_url: str) -> None:
        make_contact(database_url, world.tenant, "L1", "c2")
        world.request("PUT", B2C)
        world.request("PUT", B2B)
        world.request("PUT", "/segments/seg/customers/c2/L1")
        world.request("PUT", "/segments/seg/customers/c2")
        assert (
            world.client.delete(
                f"/customer/{world.tenant}/customers/c1", headers={"Authorization": f"Bearer {world.token}"}
            ).status_code
            == 202
        )
        listed = world.request("GET", "/segments/seg/customers").json()
        assert [(a["customer"]["id"], a.get("legalEntity", {}).get("id")) for a in listed] == [
            ("c2", None),
            ("c2", "L1"),
        ]
        assert (
            world.client.delete(
                f"/customer-management/{world.tenant}/legal-entities/L1",
                headers={"Authorization": f"Bearer {world.token}"},
            ).status_code
            == 204
        )
        listed = world.request("GET", "/segments/seg/customers").json()
        assert [(a["customer"]["id"], a.get("legalEntity")) for a in listed] == [("c2", None)]


class TestList:
    @pytest.fixture
    def listed(self, world: Api, database_url: str) -> Api:
        make_contact(database_url, world.tenant, "L2", "c2")
        for path in ("c1", "c1/L1", "c2/L2", "c3"):
            assert (
                world.request(
                    "PUT", f"/segments/seg/customers/{path}", json={"mixins": {"tier": {"level": path[:2]}}}
                ).status_code
                == 201
            )
        return world

    @staticmethod
    def keys(docs: list[dict[str, Any]]) -> list[str]:
        return [d["customer"]["id"] + ("/" + d["legalEntity"]["id"] if "legalEntity" in d else "") for d in docs]

    def test_list_shapes_and_order(self, listed: Api) -> None:
        response = listed.request("GET", "/segments/seg/customers", headers={"X-Total-Count": "true"})
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "4"
        docs = response.json()
        assert self.keys(docs) == ["c1", "c1/L1", "c2/L2", "c3"]
        assert docs[1] == {
            "customer": customer("c1"),
            "legalEntity": {"id": "L1", "name": "L1"},
            "assignmentType": "MANUAL",
            "mixins": {"tier": {"level": "c1"}},
            "metadata": metadata(),
        }

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("customer.id:c1", ["c1", "c1/L1"]),
            ("legalEntity.id:L2", ["c2/L2"]),
            ("legalEntity.id:null", ["c1", "c3"]),
            ("assignmentType:MANUAL", ["c1", "c1/L1", "c2/L2", "c3"]),
            ("assignmentType:AUTOMATIC", []),
            ("mixins.tier.level:c3", ["c3"]),
            (
                "metadata.createdAt:>2000-01-01T00:00:00Z metadata.modifiedAt:<2999-01-01T00:00:00Z",
                ["c1", "c1/L1", "c2/L2", "c3"],
            ),
        ],
    )
    def test_q_on_get_and_search(self, listed: Api, q: str, expected: list[str]) -> None:
        assert self.keys(listed.request("GET", "/segments/seg/customers", params={"q": q}).json()) == expected
        searched = listed.request("POST", "/segments/seg/customers/search", json={"q": q})
        assert searched.status_code == 200
        assert self.keys(searched.json()) == expected

    def test_paging_sort_fields(self, listed: Api) -> None:
        response = listed.request(
            "GET",
            "/segments/seg/customers",
            params={"sort": "customer.id:DESC", "pageSize": "2", "pageNumber": "2", "fields": "customer.id"},
        )
        assert response.json() == [{"customer": {"id": "c1"}}, {"customer": {"id": "c1"}}]

    def test_bad_q_and_sort_are_400(self, listed: Api) -> None:
        response = listed.request("GET", "/segments/seg/customers", params={"q": "nope:1"})
        assert response.status_code == 400
        assert response.json()["details"]["field"] == "q"
        response = listed.request("GET", "/segments/seg/customers", params={"sort": "nope"})
        assert response.status_code == 400
        assert response.json()["details"]["field"] == "sort"

    def test_customer_token_sees_only_its_own(self, listed: Api) -> None:
        token = listed.tokens.customer(listed.tenant, "c1")
        response = listed.request("GET", "/segments/seg/customers", token=token)
        assert response.status_code == 200
        assert self.keys(response.json()) == ["c1", "c1/L1"]
        other = listed.tokens.customer(listed.tenant, "c9")
        assert listed.request("GET", "/segments/seg/customers", token=other).json() == []
