"""Password hashing is shared fairly between tenants (customers/passwords.py): a flood of logins to one tenant (an
anonymous token is enough, and an unknown email costs a hash too) queues behind that tenant's own share of the
hashing threads, not ahead of another tenant's logins.

Real hashes at the default cost, real concurrency in one event loop through the served app."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import replace

import httpx
import pytest
from tests.core.test_fair_share import served
from tests.factories import Tokens

from segment_service.customers import passwords
from segment_service.settings import Settings

FLOOD = 40


def new_tenant() -> str:
    return "t" + secrets.token_hex(6)


@pytest.mark.alone
def test_one_tenant_s_login_flood_does_not_queue_ahead_of_another_tenant(settings: Settings, database_url: str) -> None:
    flooded, other = new_tenant(), new_tenant()
    real_cost = replace(settings, password_hash_memory_kib=65536)

    async def run() -> tuple[httpx.Response, float, list[float], int, list[int]]:
        async with served(real_cost) as (client, app):
            tokens = Tokens(app.state.tokens, database_url)

            async def login(tenant: str, email: str, password: str) -> tuple[httpx.Response, float]:
                response = await client.post(
                    f"/customer/{tenant}/login",
                    json={"email": email, "password": password},
                    headers={"Authorization": f"Bearer {tokens.anonymous(tenant)}"},
                )
                return response, time.monotonic()

            signup = await client.post(
                f"/customer/{other}/signup",
                headers={"Authorization": f"Bearer {tokens.anonymous(other)}"},
                json={
                    "email": "b@example.com",
                    "password": "secret-123",
                    "customerDetails": {"firstName": "B", "lastName": "B"},
                },
            )
            assert signup.status_code == 201, signup.text
            flood = [asyncio.create_task(login(flooded, f"nobody{i}@example.com", "wrong-pass")) for i in range(FLOOD)]
            # Wait until the flood's hashes are running and the rest queued (on a loaded machine that takes a while).
            deadline = time.monotonic() + 20
            busiest = passwords.hashing_in_use(flooded)
            while busiest < passwords.HASHES_PER_TENANT and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
                busiest = max(busiest, passwords.hashing_in_use(flooded))
            answer, done_at = await login(other, "b@example.com", "secret-123")
            flood_done = [at for _, at in await asyncio.gather(*flood)]
            statuses = sorted({r.status_code for r, _ in [await task for task in flood]})
            return answer, done_at, flood_done, busiest, statuses

    answer, done_at, flood_done, busiest, statuses = asyncio.run(run())
    assert answer.status_code == 200, answer.text
    # The flooded tenant ran no more hashes at once than its share ...
    assert busiest == passwords.HASHES_PER_TENANT
    # ... and the other tenant's login did not wait for the flood: most of it was still queued when it was done.
    assert sum(at > done_at for at in flood_done) >= FLOOD // 2, (done_at, sorted(flood_done))
    assert set(statuses) <= {401, 429}
