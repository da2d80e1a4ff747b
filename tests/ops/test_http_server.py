"""What the HTTP server in front of the app lets through, sent as raw bytes to a real `segment-service serve`: raw
`>`, `<` and `"` in the query string (Emporix writes its `q` examples so), and bodies cut short or badly chunked."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from segment_service.core.auth import SERVICE_SCOPES, TokenKind, TokenService
from segment_service.oauth import service as oauth_service
from tests.factories import segment_body
from tests.ops.servers import SIGNING_KEY, ServeProcess, status_of


@pytest.fixture(scope="module")
def serve(database_url: str) -> Iterator[ServeProcess]:
    with ServeProcess.start(Path(tempfile.mkdtemp(prefix="ops-http-")), database_url=database_url) as process:
        yield process


@pytest.fixture(scope="module")
def tenant() -> str:
    return "t" + secrets.token_hex(6)


@pytest.fixture(scope="module")
def token(tenant: str, database_url: str) -> str:
    """A service token of a real API client of the tenant (the service checks that its client exists)."""

    async def create_client() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            client, _ = await oauth_service.create_client(conn, tenant=tenant)
        finally:
            await conn.close()
        return client.client_id

    client_id = asyncio.run(create_client())
    return TokenService(SIGNING_KEY).issue(
        tenant=tenant, kind=TokenKind.SERVICE, subject=client_id, scopes=SERVICE_SCOPES, ttl_seconds=600
    )


def raw_get(serve: ServeProcess, target: str, token: str) -> tuple[int | None, bytes]:
    """GET `target` written into the request line exactly as given."""
    answer = serve.raw(
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    return status_of(answer), answer.partition(b"\r\n\r\n")[2]


class TestRawQueryCharacters:
    @pytest.fixture(scope="class")
    def segments(self, serve: ServeProcess, tenant: str, token: str) -> str:
        headers = {"Authorization": f"Bearer {token}"}
        url = f"/customer-segment/{tenant}/segments"
        for body in (
            segment_body(id="early", name={"en": 'Gold "<early>"'}, validity={"from": "2024-01-01T00:00:00.000Z"}),
            segment_body(id="late", name={"en": "Silver"}, validity={"from": "2025-06-01T00:00:00.000Z"}),
        ):
            created = serve.post(url, json=body, headers=headers)
            assert created.status_code == 201, created.text
        return url

    @pytest.mark.parametrize(
        ("raw_q", "expected"),
        [
            ("metadata.createdAt:>2024-01-01", ["early", "late"]),
            ("metadata.createdAt:<2024-01-01", []),
            ("validity.from:>2024-06-01", ["late"]),
            ("validity.from:<2024-06-01", ["early"]),
            ("validity.from:>=2024-01-01%20validity.from:<2025-01-01", ["early"]),
            ('name.en:"Gold%20\\"<early>\\""', ["early"]),
        ],
    )
    def test_is_taken_as_its_percent_encoded_form(
        self, serve: ServeProcess, token: str, segments: str, raw_q: str, expected: list[str]
    ) -> None:
        status, body = raw_get(serve, f"{segments}?q={raw_q}&sort=id", token)
        assert status == 200, body
        assert [segment["id"] for segment in json.loads(body)] == expected
        encoded = raw_q.replace(">", "%3E").replace("<", "%3C").replace('"', "%22")
        assert raw_get(serve, f"{segments}?q={encoded}&sort=id", token) == (status, body)

    def test_a_bad_q_with_raw_characters_gets_the_service_error_body(
        self, serve: ServeProcess, token: str, segments: str
    ) -> None:
        status, body = raw_get(serve, f"{segments}?q=validity.from:>notadate", token)
        assert status == 400
        answer = json.loads(body)
        assert answer["code"] == 400
        assert answer["status"] == "Bad Request"
        assert "notadate" in answer["message"]


TOKEN_FORM = b"grant_type=client_credentials&client_id=x&client_secret=y"


class TestBrokenBodies:
    """A body that ends early or is badly chunked gets a 400 or a closed connection, never a 500, and the log shows
    no stack trace."""

    def post_token(self, serve: ServeProcess, framing: bytes, body: bytes, *, close_write: bool = True) -> bytes:
        """The raw answer; with `close_write` the client half-closes after the body, so the server sees its end."""
        head = (
            b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n" + framing + b"\r\n"
        )
        return serve.raw(head + body, close_write=close_write, timeout=5)

    @pytest.mark.parametrize(
        ("framing", "body"),
        [
            pytest.param(b"Content-Length: 100\r\n", TOKEN_FORM[:20], id="shorter-than-content-length"),
            pytest.param(
                b"Transfer-Encoding: chunked\r\n", b"zz\r\n" + TOKEN_FORM + b"\r\n0\r\n\r\n", id="bad-chunk-size"
            ),
            pytest.param(
                b"Transfer-Encoding: chunked\r\n", b"%x\r\n" % len(TOKEN_FORM) + TOKEN_FORM[:10], id="chunk-cut-short"
            ),
            pytest.param(b"Transfer-Encoding: chunked\r\n", b"5\r\ngrant\r\n", id="no-last-chunk"),
            pytest.param(b"Content-Length: ten\r\n", TOKEN_FORM, id="bad-content-length"),
        ],
    )
    def test_is_refused_without_a_stack_trace(self, serve: ServeProcess, framing: bytes, body: bytes) -> None:
        log_before = len(serve.log())
        answer = self.post_token(serve, framing, body)
        assert status_of(answer) in (400, None), answer  # a 400, or the connection closed without an answer
        # The server is still fine, and whatever the broken request logged is no stack trace or 500.
        assert serve.get("/health").status_code == 200
        logged = serve.log()[log_before:]
        assert "Traceback" not in logged
        assert "unexpected error" not in logged
        assert not re.search(r"\b500\b", logged)  # no 500 status (a request id may hold the digits)

    def test_a_whole_body_still_works(self, serve: ServeProcess) -> None:
        answer = self.post_token(serve, b"Content-Length: %d\r\n" % len(TOKEN_FORM), TOKEN_FORM, close_write=False)
        assert status_of(answer) == 401  # an unknown client: the request itself was read in full
