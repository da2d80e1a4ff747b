"""The functions other services call inside their own transactions (legal_entities.service): is_contact,
legal_entity_ids_of_customer, fetch_legal_entities, legal_entity_exists and delete_contact_assignments_of_customer.
Data is made through HTTP; the functions run on a connection of the service's own pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import Tokens
from tests.legal_entities.helpers import Management

from segment_service.core.db import Connection, Database
from segment_service.legal_entities import service
from segment_service.settings import Settings

T = TypeVar("T")


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Management:
    """L1 (with c1 as BILLING and LOGISTICS contact) and its subsidiary L2 (with c1 and c2); L3 without contacts."""
    api = Management(client, tokens, tenant)
    api.create_legal_entity(id="L1", name="ABC Company", legalInfo={"legalName": "ABC GmbH"})
    api.create_legal_entity(id="L2", name="ABC Subsidiary", type="SUBSIDIARY", parentId="L1")
    api.create_legal_entity(id="L3", name="XYZ")
    for customer_id in ("c1", "c2", "c3"):
        api.create_customer(customer_id)
    api.create_contact("L1", "c1", type="BILLING")
    api.create_contact("L1", "c1", type="LOGISTICS")
    api.create_contact("L2", "c1")
    api.create_contact("L2", "c2")
    return api


def run(settings: Settings, call: Callable[[Connection], Awaitable[T]], *, transaction: bool = False) -> T:
    """`call(conn)` on a connection of a fresh pool, inside a transaction when asked (as other services do)."""

    async def main() -> T:
        db = await Database.connect(settings, settings.database_url or "")
        try:
            if transaction:
                async with db.transaction() as conn:
                    return await call(conn)
            async with db.connection() as conn:
                return await call(conn)
        finally:
            await db.close()

    return asyncio.run(main())


class TestIsContact:
    @pytest.mark.parametrize(
        ("customer_id", "legal_entity_id", "expected"),
        [
            ("c1", "L1", True),
            ("c1", "L2", True),
            ("c2", "L2", True),
            ("c2", "L1", False),
            ("c3", "L1", False),
            ("c1", "L3", False),
            ("nobody", "L1", False),
            ("c1", "nope", False),
            ("C1", "L1", False),
        ],
    )
    def test_is_contact(
        self, api: Management, settings: Settings, customer_id: str, legal_entity_id: str, expected: bool
    ) -> None:
        assert (
            run(settings, lambda conn: service.is_contact(conn, api.tenant, customer_id, legal_entity_id)) is expected
        )

    def test_another_tenant_is_never_a_contact(self, api: Management, settings: Settings) -> None:
        other = "o" + api.tenant[1:]
        assert run(settings, lambda conn: service.is_contact(conn, other, "c1", "L1")) is False

    def test_works_inside_a_transaction(self, api: Management, settings: Settings) -> None:
        assert run(settings, lambda conn: service.is_contact(conn, api.tenant, "c1", "L1"), transaction=True)


class TestLegalEntityIdsOfCustomer:
    @pytest.mark.parametrize(
        ("customer_id", "expected"),
        [
            ("c1", ["L1", "L2"]),
            ("c2", ["L2"]),
            ("c3", []),
            ("nobody", []),
        ],
    )
    def test_ids(self, api: Management, settings: Settings, customer_id: str, expected: list[str]) -> None:
        assert (
            run(settings, lambda conn: service.legal_entity_ids_of_customer(conn, api.tenant, customer_id)) == expected
        )

    def test_follows_deletes(self, api: Management, settings: Settings) -> None:
        assert api.request("DELETE", "/legal-entities/L2").status_code == 204
        assert run(settings, lambda conn: service.legal_entity_ids_of_customer(conn, api.tenant, "c1")) == ["L1"]


class TestFetchLegalEntities:
    def test_found_ones_by_id(self, api: Management, settings: Settings) -> None:
        found = run(settings, lambda conn: service.fetch_legal_entities(conn, api.tenant, ["L2", "nope", "L1", "L1"]))
        assert sorted(found) == ["L1", "L2"]
        row = found["L1"]
        assert isinstance(row, service.LegalEntityRow)
        assert (row.id, row.name, row.type, row.parent_id, row.legal_info) == (
            "L1",
            "ABC Company",
            "COMPANY",
            None,
            {"legalName": "ABC GmbH"},
        )
        assert (found["L2"].parent_id, found["L2"].version) == ("L1", 1)
        assert found["L2"].created_at == api.get_legal_entity("L2")["metadata"]["createdAt"]

    def test_nothing_asked_nothing_found(self, api: Management, settings: Settings) -> None:
        assert run(settings, lambda conn: service.fetch_legal_entities(conn, api.tenant, [])) == {}

    def test_only_the_tenants_own(self, api: Management, settings: Settings) -> None:
        other = "o" + api.tenant[1:]
        assert run(settings, lambda conn: service.fetch_legal_entities(conn, other, ["L1"])) == {}


class TestLegalEntityExists:
    @pytest.mark.parametrize(
        ("legal_entity_id", "expected"), [("L1", True), ("L3", True), ("l1", False), ("nope", False)]
    )
    def test_exists(self, api: Management, settings: Settings, legal_entity_id: str, expected: bool) -> None:
        assert run(settings, lambda conn: service.legal_entity_exists(conn, api.tenant, legal_entity_id)) is expected


class TestDeleteContactAssignmentsOfCustomer:
    def test_removes_the_customer_everywhere_and_nothing_else(self, api: Management, settings: Settings) -> None:
        removed = run(
            settings,
            lambda conn: service.delete_contact_assignments_of_customer(conn, api.tenant, "c1"),
            transaction=True,
        )
        assert removed == 3
        docs = api.request("GET", "/contact-assignments").json()
        assert [(d["legalEntity"]["id"], d["customer"]["id"]) for d in docs] == [("L2", "c2")]
        assert run(settings, lambda conn: service.delete_contact_assignments_of_customer(conn, api.tenant, "c1")) == 0
