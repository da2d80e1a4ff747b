"""DELETE /customers/{customerNumber} over HTTP, and the functions other services call (`customer_exists`,
`fetch_customers`)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import MANAGE, CustomerApi, not_found
from tests.factories import INVALID_TOKEN, SERVICE_TOKEN_FAILURES, Tokens, assert_refused

from segment_service.customers import service


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    return CustomerApi(client, tokens, tenant)


class TestDeleteCustomer:
    @pytest.mark.parametrize("case", SERVICE_TOKEN_FAILURES)
    def test_refused_and_nothing_deleted(self, api: CustomerApi, case: str) -> None:
        api.create_customer(id="c1")
        assert_refused(api, case, "DELETE", "/customers/c1", required=MANAGE)
        assert api.request("GET", "/customers/c1").status_code == 200

    def test_deletes(self, api: CustomerApi) -> None:
        api.create_customer(id="c1")
        api.create_customer(id="c2")
        response = api.request("DELETE", "/customers/c1")
        assert response.status_code == 202
        assert response.content == b""
        assert api.request("GET", "/customers/c1").json() == not_found("c1")
        assert api.request("GET", "/customers/c2").status_code == 200

    def test_missing_is_404(self, api: CustomerApi) -> None:
        response = api.request("DELETE", "/customers/nobody")
        assert response.status_code == 404
        assert response.json() == not_found("nobody")

    def test_the_login_goes_with_it(self, api: CustomerApi) -> None:
        customer_id = api.signup("jo@example.com")
        token = api.customer_token("jo@example.com")
        assert api.request("DELETE", f"/customers/{customer_id}").status_code == 202
        assert api.login("jo@example.com").status_code == 401
        response = api.request("GET", "/me", token=token)
        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN

    def test_email_is_free_again(self, api: CustomerApi) -> None:
        api.create_customer(id="c1", contactEmail="a@example.com")
        api.request("DELETE", "/customers/c1")
        assert api.create_customer(contactEmail="a@example.com")


class TestForOtherServices:
    """`customer_exists` and `fetch_customers`, which segment and legal-entity assignments call."""

    def test_exists_and_fetch(self, api: CustomerApi, database_url: str) -> None:
        api.create_customer(id="c1", contactEmail="a@example.com", firstName="Ann", lastName="Lee")
        api.create_customer(id="c2")

        async def run() -> tuple[bool, bool, dict[str, service.CustomerRow], dict[str, service.CustomerRow]]:
            conn = await asyncpg.connect(database_url)
            try:
                return (
                    await service.customer_exists(conn, api.tenant, "c1"),
                    await service.customer_exists(conn, "o" + api.tenant[1:], "c1"),
                    await service.fetch_customers(conn, api.tenant, ["c1", "c2", "c3"]),
                    await service.fetch_customers(conn, api.tenant, []),
                )
            finally:
                await conn.close()

        exists, elsewhere, found, none = asyncio.run(run())
        assert (exists, elsewhere, none) == (True, False, {})
        assert set(found) == {"c1", "c2"}
        c1 = found["c1"]
        assert (c1.id, c1.contact_email, c1.first_name, c1.last_name) == ("c1", "a@example.com", "Ann", "Lee")
        assert found["c2"].contact_email is None
