"""`fetch_products` and `product_exists`: how segments and categories look products up (service level, since no
HTTP operation of their own exposes them yet)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import Tokens
from tests.products.helpers import Products

from segment_service.core.db import Connection, Database
from segment_service.products import service
from segment_service.products.service import ProductRow
from segment_service.settings import Settings

T = TypeVar("T")


@pytest.fixture
def products(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Products:
    """A published product "pub" and an unpublished one, "draft"; "theirs" belongs to another tenant."""
    api = Products(client, tokens, tenant)
    other = Products(client, tokens, "o" + tenant[1:])
    for target, body in (
        (api, {"id": "pub", "code": "PUB", "name": {"en": "Published"}, "published": True, "mixins": {"a": 1}}),
        (api, {"id": "draft", "code": "DRAFT", "name": "Draft"}),
        (other, {"id": "theirs", "code": "T", "name": "x"}),
    ):
        response = target.request("POST", "", json=body)
        assert response.status_code == 201, response.text
    return api


def on_database(settings: Settings, use: Callable[[Database], Awaitable[T]]) -> T:
    """Run `use` with a pool of its own, as another service's code would hold one."""

    async def run() -> T:
        db = await Database.connect(settings, settings.database_url or "")
        try:
            return await use(db)
        finally:
            await db.close()

    return asyncio.run(run())


def on_connection(settings: Settings, use: Callable[[Connection], Awaitable[T]]) -> T:
    """Run `use` on a connection inside a transaction, as another service's write would."""

    async def with_db(db: Database) -> T:
        async with db.transaction() as conn:
            return await use(conn)

    return on_database(settings, with_db)


class TestFetchProducts:
    def test_by_id_published_or_not(self, products: Products, settings: Settings) -> None:
        tenant = products.tenant
        found = on_database(settings, lambda db: service.fetch_products(db, tenant, ["pub", "nope", "draft", "pub"]))
        assert set(found) == {"pub", "draft"}
        pub = found["pub"]
        assert isinstance(pub, ProductRow)
        assert (pub.id, pub.code, pub.name, pub.published, pub.mixins, pub.version) == (
            "pub",
            "PUB",
            {"en": "Published"},
            True,
            {"a": 1},
            1,
        )
        assert (found["draft"].published, found["draft"].description) == (False, None)

    def test_only_the_tenants_own(self, products: Products, settings: Settings) -> None:
        tenant = products.tenant
        assert on_database(settings, lambda db: service.fetch_products(db, tenant, ["theirs"])) == {}
        assert set(
            on_database(settings, lambda db: service.fetch_products(db, "o" + tenant[1:], ["theirs", "pub"]))
        ) == {"theirs"}

    def test_no_ids_no_query(self, products: Products, settings: Settings) -> None:
        assert on_database(settings, lambda db: service.fetch_products(db, products.tenant, [])) == {}

    def test_one_query_on_the_callers_connection(self, products: Products, settings: Settings) -> None:
        queries: list[str] = []

        async def fetch(conn: Connection) -> dict[str, ProductRow]:
            def log(record: Any) -> None:
                queries.append(record.query)

            conn.add_query_logger(log)
            try:
                return await service.fetch_products(conn, products.tenant, [f"id{n}" for n in range(500)] + ["pub"])
            finally:
                conn.remove_query_logger(log)

        assert set(on_connection(settings, fetch)) == {"pub"}
        assert len(queries) == 1
        assert "= ANY($2::text[])" in queries[0]


class TestProductExists:
    @pytest.mark.parametrize(
        ("product_id", "expected"), [("pub", True), ("draft", True), ("nope", False), ("theirs", False)]
    )
    def test_on_a_database_and_on_a_connection(
        self, products: Products, settings: Settings, product_id: str, expected: bool
    ) -> None:
        tenant = products.tenant
        assert on_database(settings, lambda db: service.product_exists(db, tenant, product_id)) is expected
        assert on_connection(settings, lambda conn: service.product_exists(conn, tenant, product_id)) is expected
