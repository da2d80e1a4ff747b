"""Import files written from rows, the import run in-process, and API reads of what it wrote."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import TestClient

from segment_service.settings import Settings
from segment_service.transfer import importer
from tests.factories import Api


def write_ndjson(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows), encoding="utf-8"
    )
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_import(settings: Settings, kind: str, path: Path, tenant: str) -> importer.Summary:
    assert settings.database_url is not None
    return asyncio.run(importer.import_file(settings, settings.database_url, kind, path, tenant))


def errors(summary: importer.Summary) -> list[tuple[int, int, str]]:
    return [(e.line, e.status, e.message) for e in summary.errors]


def call(api: Api, method: str, path: str, body: Any = None, tenant: str | None = None) -> httpx.Response:
    """A request to any service of the tenant, with the test's service token."""
    client: TestClient[Any] = api.client
    token = api.token if tenant is None else api.tokens.service(tenant)
    return client.request(
        method, path.replace("{t}", tenant or api.tenant), json=body, headers={"Authorization": f"Bearer {token}"}
    )
