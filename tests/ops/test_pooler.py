"""The service behind a real pgbouncer in transaction mode (docs/operations.md#connection-poolers-pgbouncer).

Without the pooler-safe mode the service cannot even connect (pgbouncer refuses the startup parameter
`statement_timeout`); with statements cached, concurrent requests fail ("prepared statement does not exist") and,
after the service restarts, a lookup can run another process's statement of the same name and find nothing: valid
credentials and tokens got 401 with nothing logged.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from segment_service.core.db import Database, migrate, migration_files
from segment_service.core.dbconnect import uses_pooler
from segment_service.settings import PoolerMode, Settings
from tests.factories import segment_body
from tests.ops.pgbouncer import PgBouncer, PgBouncerUnavailable, start_pgbouncer
from tests.ops.serving import FAST_HASHES, Served, command_env, create_client

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PASSWORD = "password123"


class Shop:
    """One tenant of the served service: a service client, a storefront client, a customer; their tokens."""

    def __init__(self, base_url: str, env: dict[str, str]) -> None:
        self.tenant = "p" + secrets.token_hex(5)
        self.base_url = base_url
        self.client = create_client(env, self.tenant)
        self.storefront = create_client(env, self.tenant, storefront=True)
        with httpx.Client(base_url=base_url) as http:
            self.service_token: str = self.token_response(http).json()["access_token"]
            anonymous = self.anonymous_token(http)
            signup = http.post(
                f"/customer/{self.tenant}/signup",
                headers=bearer(anonymous),
                json={"email": "jo@example.com", "password": PASSWORD},
            )
            assert signup.status_code == 201, signup.text
            login = http.post(
                f"/customer/{self.tenant}/login",
                headers=bearer(anonymous),
                json={"email": "jo@example.com", "password": PASSWORD},
            )
            assert login.status_code == 200, login.text
            self.customer_token: str = login.json()["access_token"]
            self.customer_id: str = signup.json()["id"]

    def token_response(self, http: httpx.Client) -> httpx.Response:
        return http.post(
            "/oauth/token",
            headers=FORM,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client["client_id"],
                "client_secret": self.client["client_secret"],
            },
        )

    def anonymous_token(self, http: httpx.Client) -> str:
        response = http.get(
            "/customerlogin/auth/anonymous/login",
            params={"tenant": self.tenant, "client_id": self.storefront["client_id"]},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def segments(self) -> str:
        return f"/customer-segment/{self.tenant}/segments"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def mixed_load(shop: Shop, seeded: dict[str, str]) -> Counter[str]:
    """64 requests at once, of six kinds (writes and q searches among them); each checked for its exact answer.
    Counts "kind status" of every answer."""
    service = bearer(shop.service_token)

    async def write(http: httpx.AsyncClient, i: int) -> tuple[str, bool]:
        name = f"Load {i} {secrets.token_hex(3)}"
        response = await http.post(shop.segments(), headers=service, json=segment_body(name={"en": name}))
        if response.status_code != 201:
            return f"write {response.status_code} {response.text}", False
        read = await http.get(f"{shop.segments()}/{response.json()['id']}", headers=service)
        return f"write {response.status_code}", read.json()["name"] == {"en": name}

    async def search(http: httpx.AsyncClient, i: int) -> tuple[str, bool]:
        name, segment_id = list(seeded.items())[i % len(seeded)]
        response = await http.get(shop.segments(), headers=service, params={"q": f'name.en:"{name}"'})
        ok = response.status_code == 200 and [s["id"] for s in response.json()] == [segment_id]
        return f"search {response.status_code}", ok

    async def read(http: httpx.AsyncClient, i: int) -> tuple[str, bool]:
        name, segment_id = list(seeded.items())[i % len(seeded)]
        response = await http.get(f"{shop.segments()}/{segment_id}", headers=service)
        return f"read {response.status_code}", response.status_code == 200 and response.json()["name"]["en"] == name

    async def token(http: httpx.AsyncClient, i: int) -> tuple[str, bool]:
        response = await http.post(
            "/oauth/token",
            headers=FORM,
            data={
                "grant_type": "client_credentials",
                "client_id": shop.client["client_id"],
                "client_secret": shop.client["client_secret"],
            },
        )
        return f"token {response.status_code}", response.status_code == 200 and response.json()["access_token"] != ""

    async def me(http: httpx.AsyncClient, i: int) -> tuple[str, bool]:
        response = await http.get(f"/customer/{shop.tenant}/me", headers=bearer(shop.customer_token))
        return f"me {response.status_code}", response.status_code == 200 and response.json()["id"] == shop.customer_id

    async def anonymous(http: httpx.AsyncClient, i: int) -> tuple[str, bool]:
        response = await http.get(
            "/customerlogin/auth/anonymous/login",
            params={"tenant": shop.tenant, "client_id": shop.storefront["client_id"]},
        )
        return f"anonymous {response.status_code}", response.status_code == 200

    kinds = [write, search, read, token, me, anonymous]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=shop.base_url, limits=limits, timeout=30) as http:
        results = await asyncio.gather(*(kinds[i % len(kinds)](http, i) for i in range(64)))
    wrong = [label for label, ok in results if not ok]
    assert not wrong, wrong
    return Counter(label for label, _ in results)


def assert_still_signed_in(shop: Shop) -> None:
    """Valid credentials and tokens are accepted: a new service token, the old one, the customer's session."""
    with httpx.Client(base_url=shop.base_url, timeout=30) as http:
        token = shop.token_response(http)
        assert token.status_code == 200, token.text
        listed = http.get(shop.segments(), headers=bearer(shop.service_token))
        assert listed.status_code == 200, listed.text
        me = http.get(f"/customer/{shop.tenant}/me", headers=bearer(shop.customer_token))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == shop.customer_id


@pytest.fixture(scope="module")
def pooled_env(pgbouncer: PgBouncer) -> dict[str, str]:
    return command_env(DATABASE_URL=pgbouncer.url, SEGMENT_SERVICE_POOLER="transaction", **FAST_HASHES)


@pytest.fixture(scope="module")
def served(pooled_env: dict[str, str]) -> Iterator[Served]:
    """The service (migrating at start, through pgbouncer too) with every connection through pgbouncer."""
    server = Served(pooled_env).wait_healthy()
    yield server
    server.close()


def seed(shop: Shop) -> dict[str, str]:
    """Four segments to search and read: their ids by name."""
    seeded: dict[str, str] = {}
    with httpx.Client(base_url=shop.base_url) as http:
        for i in range(4):
            name = f"Seeded {i}"
            response = http.post(
                shop.segments(), headers=bearer(shop.service_token), json=segment_body(name={"en": name})
            )
            assert response.status_code == 201, response.text
            seeded[name] = response.json()["id"]
    return seeded


def test_concurrent_requests_of_every_kind_through_pgbouncer(served: Served, pooled_env: dict[str, str]) -> None:
    shop = Shop(served.base_url, pooled_env)

    counts = asyncio.run(mixed_load(shop, seed(shop)))

    assert counts == {
        "write 201": 11,
        "search 200": 11,
        "read 200": 11,
        "token 200": 11,
        "me 200": 10,
        "anonymous 200": 10,
    }
    assert "Traceback" not in served.output()


def test_pgbouncer_and_service_restarts_keep_credentials_and_tokens_working(
    served: Served,
    pooled_env: dict[str, str],
    pgbouncer: PgBouncer,
) -> None:
    shop = Shop(served.base_url, pooled_env)
    seeded = seed(shop)
    assert_still_signed_in(shop)

    pgbouncer.restart()  # every client and server connection of pgbouncer drops
    assert_still_signed_in(shop)
    asyncio.run(mixed_load(shop, seeded))

    # A new service process on the same pgbouncer, whose server connections carry what the old process left.
    served.stop()
    again = Served(pooled_env).wait_healthy()
    try:
        shop.base_url = again.base_url
        assert_still_signed_in(shop)
        assert "Traceback" not in again.output()
    finally:
        again.close()


def test_statement_timeout_holds_through_pgbouncer_and_stays_in_the_transaction(pgbouncer: PgBouncer) -> None:
    settings = Settings(
        database_url=pgbouncer.url,
        pooler=PoolerMode.TRANSACTION,
        statement_timeout_ms=300,
        pool_min_size=0,
        pool_max_size=8,
    )

    async def run() -> tuple[list[str], list[str], float]:
        db = await Database.connect(settings, pgbouncer.url)
        try:

            async def inside() -> str:
                async with db.connection() as conn:
                    return str(await conn.fetchval("SHOW statement_timeout"))

            seen = await asyncio.gather(*(inside() for _ in range(16)))
            started = time.monotonic()
            with pytest.raises(asyncpg.QueryCanceledError):
                async with db.connection() as conn:
                    await conn.execute("SELECT pg_sleep(5)")
            with pytest.raises(asyncpg.QueryCanceledError):
                async with db.transaction() as conn:
                    await conn.execute("SELECT pg_sleep(5)")
            elapsed = time.monotonic() - started
        finally:
            await db.close()
        # Other clients of pgbouncer get the same server connections, without the service's setting.
        others = [await asyncpg.connect(pgbouncer.url, statement_cache_size=0) for _ in range(8)]
        try:
            leaked = [str(await conn.fetchval("SHOW statement_timeout")) for conn in others]
        finally:
            for conn in others:
                await conn.close()
        return seen, leaked, elapsed

    seen, leaked, elapsed = asyncio.run(run())
    assert seen == ["300ms"] * 16
    assert elapsed < 4  # two statements of 5 s each, both stopped at 0.3 s
    assert leaked == ["0"] * 8


def test_auto_mode_finds_pgbouncer_whether_it_refuses_or_ignores_startup_parameters(
    pgbouncer: PgBouncer,
    database_url: str,
) -> None:
    settings = Settings(pooler=PoolerMode.AUTO)
    assert asyncio.run(uses_pooler(settings, pgbouncer.url)) is True
    assert asyncio.run(uses_pooler(settings, database_url)) is False
    try:
        ignoring = start_pgbouncer(database_url, ignore_startup_parameters="statement_timeout, jit")
    except PgBouncerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        assert asyncio.run(uses_pooler(settings, ignoring.url)) is True
        assert asyncio.run(uses_pooler(Settings(pooler=PoolerMode.NONE), ignoring.url)) is False
    finally:
        ignoring.close()


def test_migrations_run_through_pgbouncer_from_two_connections_at_once(pgbouncer: PgBouncer, database_url: str) -> None:
    name = "pooled_" + secrets.token_hex(4)

    async def run() -> tuple[list[list[str]], list[str]]:
        admin = await asyncpg.connect(database_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = pgbouncer.url_for(name)
            results = await asyncio.gather(migrate(url), migrate(url))
            check = await asyncpg.connect(url, statement_cache_size=0)
            try:
                versions = [
                    r["version"] for r in await check.fetch("SELECT version FROM schema_migrations ORDER BY version")
                ]
            finally:
                await check.close()
            return list(results), versions
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.close()

    results, versions = asyncio.run(run())
    shipped = [version for version, _ in migration_files()]
    assert versions == shipped
    assert sorted(results[0] + results[1]) == shipped  # each migration applied once, by one of the two
