"""A delete that commits while a write naming what it deletes waits between its reference check and its insert: the
write's row must not outlive the deleted customer or product.

A delete's reactions (CustomerDeleted, ProductDeleted subscribers) remove the rows they see; a row inserted by a
transaction that checked the reference before the delete and commits after it would be seen by neither. The write
holds the reference (FOR KEY SHARE) from its check on, so the delete waits for it and then removes its row, or the
write waits for the delete and answers 400.

Each test holds a lock in a transaction of its own that stops the write after its check, runs the delete, then lets
the write go on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
from tests.factories import Api, run_sql

#: Long enough for a request to reach the lock it waits for on a loaded machine.
SETTLE = 0.7


def _auth(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}"}


def delete_while_writing(
    database_url: str,
    hold: str,
    hold_args: tuple[Any, ...],
    write: Callable[[], httpx.Response],
    delete: Callable[[], httpx.Response],
) -> tuple[httpx.Response, httpx.Response]:
    """Run `hold` in a transaction, start `write` (which waits for it after checking its references), start `delete`,
    then roll `hold` back; the answers of the write and of the delete."""

    async def run() -> tuple[httpx.Response, httpx.Response]:
        loop = asyncio.get_running_loop()
        conn = await asyncpg.connect(database_url)
        try:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute(hold, *hold_args)
            writing = loop.run_in_executor(None, write)
            await asyncio.sleep(SETTLE)
            deleting = loop.run_in_executor(None, delete)
            await asyncio.sleep(SETTLE)
            await transaction.rollback()
            return await writing, await deleting
        finally:
            await conn.close()

    return asyncio.run(run())


def rows(database_url: str, table: str, column: str, tenant: str) -> list[str]:
    return [r[0] for r in run_sql(database_url, f"SELECT {column} FROM {table} WHERE tenant = $1", tenant)]


def test_a_b2c_membership_does_not_outlive_its_customer(api: Api, database_url: str) -> None:
    assert (
        api.client.post(f"/customer/{api.tenant}/customers", json={"id": "c1"}, headers=_auth(api)).status_code == 201
    )
    segment_id = api.create_segment()
    written, deleted = delete_while_writing(
        database_url,
        "SELECT 1 FROM segments WHERE tenant = $1 AND id = $2 FOR UPDATE",  # the insert's foreign key waits here
        (api.tenant, segment_id),
        lambda: api.request("PUT", f"/segments/{segment_id}/customers/c1", json={}),
        lambda: api.client.delete(f"/customer/{api.tenant}/customers/c1", headers=_auth(api)),
    )
    assert (written.status_code, deleted.status_code) == (201, 202), (written.text, deleted.text)
    assert rows(database_url, "segment_customer_assignments", "customer_id", api.tenant) == []


def test_a_contact_does_not_outlive_its_customer(api: Api, database_url: str) -> None:
    assert (
        api.client.post(f"/customer/{api.tenant}/customers", json={"id": "c1"}, headers=_auth(api)).status_code == 201
    )
    response = api.client.post(
        f"/customer-management/{api.tenant}/legal-entities", json={"id": "acme", "name": "Acme"}, headers=_auth(api)
    )
    assert response.status_code == 201, response.text
    written, deleted = delete_while_writing(
        database_url,
        "SELECT 1 FROM legal_entities WHERE tenant = $1 AND id = $2 FOR UPDATE",
        (api.tenant, "acme"),
        lambda: api.client.post(
            f"/customer-management/{api.tenant}/contact-assignments",
            json={"legalEntity": {"id": "acme"}, "customer": {"id": "c1"}},
            headers=_auth(api),
        ),
        lambda: api.client.delete(f"/customer/{api.tenant}/customers/c1", headers=_auth(api)),
    )
    assert (written.status_code, deleted.status_code) == (201, 202), (written.text, deleted.text)
    assert rows(database_url, "contact_assignments", "customer_id", api.tenant) == []


def test_an_item_assignment_does_not_outlive_its_product(api: Api, database_url: str) -> None:
    body = {"id": "p1", "code": "p1", "name": {"en": "P1"}, "published": True}
    assert api.client.post(f"/product/{api.tenant}/products", json=body, headers=_auth(api)).status_code == 201
    segment_id = api.create_segment()
    written, deleted = delete_while_writing(
        database_url,
        # The same row, uncommitted: the upsert waits for it.
        "INSERT INTO segment_item_assignments (tenant, segment_id, item_type, item_id, version, created_at,"
        " modified_at) VALUES ($1, $2, 'PRODUCT', 'p1', 1, now(), now())",
        (api.tenant, segment_id),
        lambda: api.request("PUT", f"/segments/{segment_id}/items/PRODUCT/p1", json={}),
        lambda: api.client.delete(f"/product/{api.tenant}/products/p1", headers=_auth(api)),
    )
    assert (written.status_code, deleted.status_code) == (201, 204), (written.text, deleted.text)
    assert rows(database_url, "segment_item_assignments", "item_id", api.tenant) == []
