"""The pure parts of webhooks: filters (JsonPath predicates), signatures, destination rules."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from segment_service.webhooks.destinations import DestinationRefused, check_address, check_url
from segment_service.webhooks.jsonpath import JsonPathError, compile_filter
from segment_service.webhooks.signing import emporix_signature, signature_headers, standard_signature

PAYLOAD = {
    "status": "DECLINED",
    "total": {"amount": 150, "currency": "EUR"},
    "tags": ["a", "b"],
    "code": "abc",
    "count": 0,
    "empty": [],
    "nothing": None,
    "name": {"en": "Golden"},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$[?(@.status == 'DECLINED')]", True),
        ('$[?(@.status == "NEW")]', False),
        ("$[?(@.total.amount > 100)]", True),
        ("$[?(@.total.amount >= 150.0)]", True),
        ("$[?(@.total.amount < 1e2)]", False),
        ("$[?(@.total['currency'] == 'EUR')]", True),
        ("$[?(@.tags[1] == 'b')]", True),
        ("$[?(@.tags[-1] == 'b')]", True),
        ("$[?(@.tags[5] == 'b')]", False),
        ("$[?(@.code != 'abc')]", False),
        ("$[?(@.missing != 'abc')]", False),
        ("$[?(!(@.missing == 'abc'))]", True),
        ("$[?(@.status in ['NEW', 'DECLINED'])]", True),
        ("$[?(@.status nin ['NEW', 'DECLINED'])]", False),
        ("$[?(@.tags subsetof ['a', 'b', 'c'])]", True),
        ("$[?(@.tags anyof ['x', 'b'])]", True),
        ("$[?(@.tags noneof ['x', 'b'])]", False),
        ("$[?(@.tags size 2)]", True),
        ("$[?(@.empty empty true)]", True),
        ("$[?(@.tags empty true)]", False),
        ("$[?(@.code =~ /a.c/)]", True),
        ("$[?(@.code =~ /AB/i)]", False),  # a full match, as Jayway's
        ("$[?(@.code =~ /AB.*/i)]", True),
        ("$[?(@.status)]", True),
        ("$[?(@.nothing)]", False),
        ("$[?(@.missing)]", False),
        ("$[?(@.count == 0 && @.code == 'abc')]", True),
        ("$[?(@.count == 1 || @.code == 'abc')]", True),
        ("$[?((@.count == 1 || @.code == 'x') && @.status)]", False),
        ("$[?(@.count == '0')]", False),  # a number is not a string
        ("$[?(@.count == false)]", False),  # nor a boolean
        ("$[?(@.status > 5)]", False),
        ("  $[ ?( @.status=='DECLINED' ) ]  ", True),
        ("$[?(@.name.en == 'Golden')]", True),
    ],
)
def test_filters_match_as_jayway_does(expression: str, expected: bool) -> None:
    assert compile_filter(expression).matches(PAYLOAD) is expected


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("@.status == 'x'", "of the form"),
        ("$.status", "of the form"),
        ("$[?(@.status == )]", "offset"),
        ("$[?(@.status == 'x')", "expected ']'"),
        ("$[?(@.status == 'x')] trailing", "offset"),
        ("$[?(@.status ~ 'x')]", "unexpected character"),
        ("$[?(@.code =~ 'abc')]", "regular expression"),
        ("$[?(@.code == /abc/)]", "only follow =~"),
        ("$[?(@.code =~ /(a+)+b/)]", "exponential"),
        ("$[?(@.code =~ /[/)]", "invalid regular expression"),
        ("$[?(" + "(" * 40 + "@.a" + ")" * 40 + ")]", "nests deeper"),
        ("$[?(@.a == '" + "x" * 1000 + "')]", "longer than"),
        ("$[?('a')]", "comparison operator"),
        ("$[?(@.a in [@.b])]", "values only"),
    ],
)
def test_bad_filters_are_refused_with_what_is_wrong(expression: str, says: str) -> None:
    with pytest.raises(JsonPathError, match=says):
        compile_filter(expression)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=12,
)
_operand = st.sampled_from(["@.a", "@.a.b", "@['c']", "@.a[0]", "'x'", "1", "-2.5", "true", "null", "['x', 1]"])
_op = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "nin", "subsetof", "anyof", "noneof", "size", "empty"])


@settings(max_examples=300, deadline=None)
@given(payload=_json, left=_operand, op=_op, right=_operand, negate=st.booleans())
def test_matching_never_raises(payload: Any, left: str, op: str, right: str, negate: bool) -> None:
    condition = f"{left} {op} {right}"
    expression = f"$[?({'!(' + condition + ')' if negate else condition})]"
    compiled = compile_filter(expression)
    first = compiled.matches(payload)
    assert isinstance(first, bool)
    assert compiled.matches(payload) is first
    if negate:
        assert first is not compile_filter(f"$[?({condition})]").matches(payload)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_compiles_or_is_refused_with_a_json_path_error(text: str) -> None:
    with contextlib.suppress(JsonPathError):
        compile_filter(text)


def test_the_emporix_signature_is_base64_of_hmac_sha256_of_the_body() -> None:
    body = b'{"id":"s1"}'
    expected = base64.b64encode(hmac.new(b"password123", body, hashlib.sha256).digest()).decode()
    assert emporix_signature("password123", body) == expected


@pytest.mark.parametrize(
    "secret",
    ["whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode(), "password123", "whsec_not base64!"],
)
def test_standard_webhooks_libraries_verify_the_signature(secret: str) -> None:
    body = b'{"id":"s1","tenant":"t"}'
    headers = signature_headers(secret, "msg_1", "customer-segment.segment-created", body, now=1_700_000_000)
    library_secret = (
        secret
        if secret.startswith("whsec_") and secret != "whsec_not base64!"
        else "whsec_" + base64.b64encode(secret.encode()).decode()
    )
    verifier = Webhook(library_secret)
    with pytest.raises(Exception, match=r"(?i)timestamp"):  # the library refuses a message five minutes old
        verifier.verify(body, headers)
    import time

    fresh = signature_headers(secret, "msg_1", "customer-segment.segment-created", body, now=time.time())
    verifier.verify(body, fresh)
    assert fresh["webhook-signature"] == standard_signature(secret, "msg_1", int(fresh["webhook-timestamp"]), body)
    assert fresh["emporix-event-id"] == fresh["webhook-id"] == "msg_1"


def test_without_a_secret_no_signature_is_sent() -> None:
    headers = signature_headers(None, "msg_1", "product.created", b"{}", now=1.0)
    assert "webhook-signature" not in headers
    assert "emporix-event-signature" not in headers
    assert headers["emporix-event-type"] == "product.created"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://169.254.1.1:8080/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "ftp://example.com/",
        "file:///etc/passwd",
        "http:///nohost",
        "http://exa mple.com/",
        "https://example.com:99999/",
        "http://" + "a" * 2050 + ".com/",
        "http://2852039166/",  # 169.254.169.254 as one number
        "http://0xa9.254.169.254/",
    ],
)
def test_always_refused_destinations(url: str) -> None:
    for public_only in (False, True):
        with pytest.raises(DestinationRefused):
            check_url(url, public_only=public_only)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hooks",
        "http://localhost:9000/hooks",
        "http://[::1]/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://erp.internal/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://100.64.0.1/",
    ],
)
def test_local_destinations_are_allowed_unless_public_only(url: str) -> None:
    check_url(url, public_only=False)
    with pytest.raises(DestinationRefused, match="public addresses only"):
        check_url(url, public_only=True)


@pytest.mark.parametrize("url", ["https://example.com/hook?name=General", "http://93.184.216.34:8080/x"])
def test_public_destinations_are_allowed(url: str) -> None:
    check_url(url, public_only=True)
    check_url(url, public_only=False)


def test_resolved_addresses_are_checked_too() -> None:
    check_address("93.184.216.34", public_only=True)
    check_address("127.0.0.1", public_only=False)
    with pytest.raises(DestinationRefused, match="link-local"):
        check_address("169.254.3.4", public_only=False)
    with pytest.raises(DestinationRefused, match="loopback"):
        check_address("::ffff:127.0.0.1", public_only=True)
