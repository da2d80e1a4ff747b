"""The OpenAPI document describes what is implemented, and a bounded schemathesis run finds no server error."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from segment_service.core.auth import SERVICE_SCOPES, TokenService
from segment_service.settings import Settings
from tests.factories import Tokens

FUZZ_TENANT = "fuzztenant"

#: Every operation with its Emporix operationId (customer-segment.yml and oauth.yml).
OPERATIONS = {
    ("post", "/oauth/token"): "POST-oauth-request-client-credentials",
    ("post", "/customer-segment/{tenant}/segments"): "POST-customer-segment-create-segment",
    ("get", "/customer-segment/{tenant}/segments"): "GET-customer-segment-retrieve-segments",
    ("post", "/customer-segment/{tenant}/segments/search"): "POST-customer-segment-search-segments",
    ("get", "/customer-segment/{tenant}/segments/{segmentId}"): "GET-customer-segment-retrieve-segment",
    ("put", "/customer-segment/{tenant}/segments/{segmentId}"): "PUT-customer-segment-update-segment",
    ("patch", "/customer-segment/{tenant}/segments/{segmentId}"): "PATCH-customer-segment-update-segment",
    ("delete", "/customer-segment/{tenant}/segments/{segmentId}"): "DELETE-customer-segment-remove-segment",
    ("post", "/customer-segment/{tenant}/segments/bulk"): "POST-customer-segment-create-segments-bulk",
    ("put", "/customer-segment/{tenant}/segments/bulk"): "PUT-customer-segment-update-segments-bulk",
    ("delete", "/customer-segment/{tenant}/segments/bulk"): "DELETE-customer-segment-remove-segments-bulk",
}


def test_every_operation_is_described_with_its_emporix_operation_id(client: TestClient[Litestar]) -> None:
    document = client.get("/openapi.json").json()
    found = {
        (method, path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert found.items() >= OPERATIONS.items()
    ids = list(found.values())
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    assert all(i and "-" in i for i in ids), "every operation carries its Emporix operationId"


def test_segment_operations_declare_scopes_and_error_bodies(client: TestClient[Litestar]) -> None:
    document = client.get("/openapi.json").json()
    create = document["paths"]["/customer-segment/{tenant}/segments"]["post"]
    assert create["security"] == [{"OAuth2": ["customersegment.segment_manage"]}]
    assert set(create["responses"]) == {"201", "400", "401", "403", "409"}
    upsert = document["paths"]["/customer-segment/{tenant}/segments/{segmentId}"]["put"]
    assert {"201", "204"} <= set(upsert["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["SegmentResponse"]["properties"]) == {
        "id",
        "name",
        "description",
        "validity",
        "status",
        "siteCode",
        "mixins",
        "metadata",
    }
    assert document["components"]["securitySchemes"]["OAuth2"]["type"] == "oauth2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[str]:
    """The real server over the test database, as `segment-service serve` runs it (uvicorn, httptools, uvloop).
    Session-scoped so that pytest-xdist spreads the fuzzing shards over its workers, one server in each."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "SEGMENT_SERVICE_SIGNING_KEY": settings.signing_key or "",
        # No webhook relay: one with the default retry schedule on a test worker's database takes deliveries of the
        # webhook tests' fast-retrying relays and puts their next attempt minutes away (tests/webhooks).
        "SEGMENT_SERVICE_WEBHOOK_DELIVER": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "segment_service", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the server did not start")
            time.sleep(0.2)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


#: The operations are fuzzed in this many shards, each a test of its own, so that pytest-xdist's workers share them.
FUZZ_SHARDS = 4


@pytest.mark.parametrize("shard", range(FUZZ_SHARDS))
def test_no_input_makes_a_server_error(live_server: str, settings: Settings, shard: int) -> None:
    """Generated requests of every shape, with a valid token for the tenant in the path, never get a 5xx and always
    answer with a status code and body the document declares (every FUZZ_SHARDS-th operation from `shard` on)."""
    api_schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    token = Tokens(TokenService(settings.signing_key or ""), str(settings.database_url)).service(
        FUZZ_TENANT, SERVICE_SCOPES, ttl=600
    )
    operations = [
        result.ok() if isinstance(result, Ok) else pytest.fail(f"unreadable operation: {result.err()}")
        for result in api_schema.get_all_operations()
    ]
    assert len(operations) >= len(OPERATIONS)
    templates = {tuple(op.path.replace("{tenant}", FUZZ_TENANT).split("/")) for op in operations}

    def names_another_operation(case: Any) -> bool:
        """Whether the URL is also that of an operation with a literal word where this one has a parameter."""
        template = tuple(case.path.replace("{tenant}", FUZZ_TENANT).split("/"))
        url = case.formatted_path.split("/")
        for other in templates:
            if other == template or len(other) != len(url):
                continue
            fits = all(o.startswith("{") or o == u for o, u in zip(other, url, strict=True))
            if fits and any(t.startswith("{") and not o.startswith("{") for t, o in zip(template, other, strict=True)):
                return True
        return False

    def status_code_declared(ctx: Any, response: Any, case: Any) -> bool | None:
        # A reserved word generated as an id makes the URL another operation's, with a literal word there
        # (`/segments/0/customers/search`), which answers 405 for a method it does not have
        # (docs/decisions.md#ids-and-reserved-words): declared by that path, not by this one.
        if response.status_code == 405 and names_another_operation(case):
            return None
        return status_code_conformance(ctx, response, case)

    for operation in operations[shard::FUZZ_SHARDS]:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
        )
        def check(case: Any) -> None:
            if case.path_parameters and "tenant" in case.path_parameters:
                case.path_parameters["tenant"] = FUZZ_TENANT
            case.call_and_validate(
                base_url=live_server,
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, status_code_declared, response_schema_conformance],
            )

        check()


def test_the_docs_page_needs_no_internet(client: TestClient[Litestar]) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "https://" not in page.text
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000
