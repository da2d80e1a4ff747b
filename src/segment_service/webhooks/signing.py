"""The signatures of an outgoing webhook (docs/webhooks.md#delivery): Emporix's and Standard Webhooks'."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_STANDARD_PREFIX = "whsec_"


def emporix_signature(secret: str, body: bytes) -> str:
    """`emporix-event-signature`: base64 of HMAC-SHA256 over the body, keyed with the secret's UTF-8 bytes."""
    return base64.b64encode(hmac.digest(secret.encode(), body, hashlib.sha256)).decode()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: ``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.digest(_standard_key(secret), signed, hashlib.sha256)).decode()


def signature_headers(secret: str | None, message_id: str, event_type: str, body: bytes, now: float) -> dict[str, str]:
    """The headers that identify and sign one attempt; the signatures only when a secret is set."""
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


def _standard_key(secret: str) -> bytes:
    """A `whsec_<base64>` secret is the Standard Webhooks format, used decoded so that a receiver can hand the same
    string to its library; any other secret (or one that does not decode) is its UTF-8 bytes."""
    encoded = secret.removeprefix(_STANDARD_PREFIX)
    if encoded != secret:
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)  # unpadded, as the library takes
        except (binascii.Error, ValueError):
            key = b""
        if key:
            return key
    return secret.encode()
