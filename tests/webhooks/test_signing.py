"""Signatures of outgoing webhooks (webhooks/signing.py), checked against the standardwebhooks library and hmac."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from segment_service.webhooks.signing import emporix_signature, signature_headers, standard_signature

NOW = 1_765_000_000.7
STANDARD_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def verify_standard(secret: str, body: bytes, headers: dict[str, str]) -> None:
    Webhook(secret).verify(body, headers)


def test_headers_without_a_secret_identify_but_do_not_sign():
    assert signature_headers(None, "msg_1", "customer.created", b"{}", NOW) == {
        "emporix-event-type": "customer.created",
        "emporix-event-id": "msg_1",
        "webhook-id": "msg_1",
        "webhook-timestamp": "1765000000",
    }
    assert signature_headers("", "msg_1", "customer.created", b"{}", NOW) == signature_headers(
        None, "msg_1", "customer.created", b"{}", NOW
    )


def test_headers_with_a_secret_carry_both_signatures():
    body = b'{"id":"c1"}'
    headers = signature_headers("s3cret", "msg_2", "customer.updated", body, NOW)
    assert set(headers) == {
        "emporix-event-type",
        "emporix-event-id",
        "emporix-event-signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
    assert headers["emporix-event-signature"] == emporix_signature("s3cret", body)
    assert headers["webhook-signature"] == standard_signature("s3cret", "msg_2", 1_765_000_000, body)


def test_emporix_signature_is_base64_hmac_sha256_of_the_body():
    body = b'{"status":"DECLINED"}'
    expected = base64.b64encode(hmac.new(b"k\xc3\xa9y", body, hashlib.sha256).digest()).decode()
    assert emporix_signature("kéy", body) == expected


def test_a_whsec_secret_verifies_with_the_standard_library():
    body = b'{"segment":"s1"}'
    headers = signature_headers(STANDARD_SECRET, "msg_3", "customer-segment.segment-created", body, time.time())
    verify_standard(STANDARD_SECRET, body, headers)
    assert standard_signature(STANDARD_SECRET, "msg_3", int(NOW), body).startswith("v1,")


def test_a_plain_secret_verifies_as_its_bytes_in_the_standard_format():
    body = b'{"segment":"s1"}'
    headers = signature_headers("plain secret", "msg_4", "product.created", body, time.time())
    verify_standard("whsec_" + base64.b64encode(b"plain secret").decode(), body, headers)
    with pytest.raises(WebhookVerificationError):
        verify_standard(STANDARD_SECRET, body, headers)


def test_a_whsec_secret_that_does_not_decode_is_used_as_its_bytes():
    secret = "whsec_not base64!"
    expected = hmac.new(secret.encode(), b"m.1.{}", hashlib.sha256).digest()
    assert standard_signature(secret, "m", 1, b"{}") == "v1," + base64.b64encode(expected).decode()


def test_a_changed_body_or_timestamp_fails_verification():
    now = time.time()
    headers = signature_headers(STANDARD_SECRET, "msg_5", "product.deleted", b"{}", now)
    with pytest.raises(WebhookVerificationError):
        verify_standard(STANDARD_SECRET, b'{"x":1}', headers)
    with pytest.raises(WebhookVerificationError):
        verify_standard(STANDARD_SECRET, b"{}", {**headers, "webhook-timestamp": str(int(now) - 1)})


def test_an_unpadded_whsec_secret_is_decoded_as_the_library_decodes_it():
    secret = "whsec_" + base64.b64encode(b"sixteen byte key").decode().rstrip("=")
    headers = signature_headers("whsec_YWJj", "msg_6", "product.created", b"{}", time.time())
    verify_standard("whsec_YWJj", b"{}", headers)
    headers = signature_headers(secret, "msg_6", "product.created", b"{}", time.time())
    verify_standard(secret, b"{}", headers)


@given(
    secret=st.text(min_size=1, max_size=40),
    key=st.binary(min_size=1, max_size=40),
    message_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=30),
    body=st.binary(max_size=200),
)
def test_every_signature_verifies(secret, key, message_id, body):
    now = time.time()
    encoded = "whsec_" + base64.b64encode(secret.encode()).decode()
    if not secret.startswith("whsec_"):
        plain = signature_headers(secret, message_id, "product.updated", body, now)
        Webhook(encoded).verify(body, plain, json_parse=False)
    standard = "whsec_" + base64.b64encode(key).decode()
    keyed = signature_headers(standard, message_id, "product.updated", body, now)
    Webhook(standard).verify(body, keyed, json_parse=False)
    assert (
        emporix_signature(secret, body)
        == base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    )
