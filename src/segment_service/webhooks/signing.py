"""The signatures of an outgoing webhook (docs/webhooks.md#delivery): Emporix's `emporix-event-signature` and the
Standard Webhooks headers, so that a receiver can verify with either."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_STANDARD_PREFIX = "whsec_"


def emporix_signature(secret: str, body: bytes) -> str:
    """Base64 of HMAC-SHA256 of the exact body, keyed with the secret's UTF-8 bytes."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks key of a secret: a `whsec_<base64>` secret is its decoded bytes (the format the
    standard's libraries take), any other secret its UTF-8 bytes."""
    if secret.startswith(_STANDARD_PREFIX):
        try:
            return base64.b64decode(secret[len(_STANDARD_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}` (Standard Webhooks)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secret: str | None, message_id: str, event_type: str, body: bytes, now: float) -> dict[str, str]:
    """The event's identifying headers, and its signatures when a secret is set."""
    timestamp = int(now)
    headers = {
        "emporix-event-type": event_type,
        "emporix-event-id": message_id,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret:
        headers["emporix-event-signature"] = emporix_signature(secret, body)
        headers["webhook-signature"] = standard_signature(secret, message_id, timestamp, body)
    return headers
