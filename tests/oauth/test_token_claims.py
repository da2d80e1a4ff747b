"""A validly signed token whose claims are malformed is a 401, never a 500 (every claim wrong in turn)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import INVALID_TOKEN

from segment_service.core.auth import CUSTOMER_SCOPES, ISSUER, configured_key
from segment_service.settings import Settings


def _claims(tenant: str, **changes: Any) -> dict[str, Any]:
    """A customer token's claims as the service issues them, with `changes` (a value of `...` removes the claim)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "c1",
        "ten": tenant,
        "knd": "customer",
        "scp": " ".join(CUSTOMER_SCOPES),
        "iat": now,
        "exp": now + 600,
        "jti": "0123456789abcdef",
        "cid": "c1",
        "sid": "s1",
        "lei": "le1",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not ...}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(settings: Settings, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """An HS256 JWT signed with the test key, by hand: JWT libraries refuse to write some malformed headers."""
    key = configured_key(settings.signing_key or "")
    signing_input = ".".join(
        _b64(json.dumps(part).encode()) for part in (header or {"alg": "HS256", "typ": "JWT", "kid": key.kid}, claims)
    )
    signature = hmac.new(key.secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


MALFORMED: dict[str, dict[str, Any]] = {
    "iss not a string": {"iss": 1},
    "iss another issuer": {"iss": "someone-else"},
    "sub not a string": {"sub": 12},
    "sub empty": {"sub": ""},
    "sub missing": {"sub": ...},
    "ten not a string": {"ten": ["t"]},
    "ten missing": {"ten": ...},
    "knd unknown": {"knd": "admin"},
    "knd not a string": {"knd": 1},
    "knd missing": {"knd": ...},
    "exp a string": {"exp": "99999999999"},
    "exp a float": {"exp": 99999999999.5},
    "exp a boolean": {"exp": True},
    "exp missing": {"exp": ...},
    "iat a string": {"iat": "now"},
    "scp not a string": {"scp": ["customer.customer_read_own"]},
    "jti not a string": {"jti": 7},
    "cid not a string": {"cid": 1},
    "cid empty": {"cid": ""},
    "cid missing from a customer token": {"cid": ...},
    "lei not a string": {"lei": {"id": "le1"}},
    "sid not a string": {"sid": 1},
    "sid an object": {"sid": {"id": "s1"}},
    "sid empty": {"sid": ""},
    "a service token with a session": {"knd": "service", "cid": ..., "lei": ...},
    "an anonymous token naming a customer": {"knd": "anonymous", "sid": ...},
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_signed_token_with_a_malformed_claim_is_a_401(
    client: TestClient[Litestar], settings: Settings, tenant: str, case: str
) -> None:
    token = _sign(settings, _claims(tenant, **MALFORMED[case]))
    for path in (f"/customer/{tenant}/me", f"/customer-segment/{tenant}/segments/items"):  # routed and fast lane
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (path, response.text)
        assert response.json() == INVALID_TOKEN


@pytest.mark.parametrize(
    "header",
    [{"alg": "HS256", "kid": 5}, {"alg": "HS256", "kid": "no-such-key"}, {"alg": "HS256", "kid": ["a"]}],
    ids=["kid a number", "kid unknown", "kid a list"],
)
def test_a_malformed_or_unknown_key_id_is_a_401(
    client: TestClient[Litestar], settings: Settings, tenant: str, header: dict[str, Any]
) -> None:
    token = _sign(settings, _claims(tenant), header)
    response = client.get(f"/customer/{tenant}/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json() == INVALID_TOKEN


def test_the_well_formed_token_passes_the_token_check(
    client: TestClient[Litestar], settings: Settings, tenant: str
) -> None:
    """The same claims unchanged pass the signature and claim checks: the session they name does not exist, so the
    token is refused for that reason alone — and a token without a session names a customer that does not exist."""
    token = _sign(settings, _claims(tenant, sid=..., lei=...))
    response = client.get(f"/customer/{tenant}/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    response = client.get(f"/customer-segment/{tenant}/segments/items", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
