"""Destination rules against server-side request forgery (webhooks/destinations.py), in both modes."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segment_service.webhooks.destinations import DestinationRefused, check_address, check_url

ALWAYS_REFUSED_ADDRESSES = [
    ("169.254.169.254", "169.254.169.254 is a cloud metadata address; webhooks are never sent there"),
    ("169.254.1.1", "169.254.1.1 is a link-local (cloud metadata) address; webhooks are never sent there"),
    ("fe80::1", "fe80::1 is a link-local (cloud metadata) address; webhooks are never sent there"),
    ("fe80::1%eth0", "fe80::1%eth0 is a link-local (cloud metadata) address; webhooks are never sent there"),
    ("fd00:ec2::254", "fd00:ec2::254 is a cloud metadata address; webhooks are never sent there"),
    ("100.100.100.200", "100.100.100.200 is a cloud metadata address; webhooks are never sent there"),
    ("0.0.0.0", "0.0.0.0 is the unspecified address; webhooks are never sent there"),
    ("::", ":: is the unspecified address; webhooks are never sent there"),
    ("224.0.0.1", "224.0.0.1 is a multicast address; webhooks are never sent there"),
    ("ff02::1", "ff02::1 is a multicast address; webhooks are never sent there"),
    ("255.255.255.255", "255.255.255.255 is the broadcast address; webhooks are never sent there"),
    ("240.0.0.1", "240.0.0.1 is a reserved address; webhooks are never sent there"),
    ("::ffff:169.254.169.254", "::ffff:169.254.169.254 is a cloud metadata address; webhooks are never sent there"),
    ("::ffff:a9fe:1", "::ffff:a9fe:1 is a link-local (cloud metadata) address; webhooks are never sent there"),
    ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe is a cloud metadata address; webhooks are never sent there"),
    ("2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1 is a cloud metadata address; webhooks are never sent there"),
]
LOCAL_ADDRESSES = [
    ("127.0.0.1", "127.0.0.1 is a loopback address"),
    ("127.8.9.10", "127.8.9.10 is a loopback address"),
    ("::1", "::1 is a loopback address"),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1 is a loopback address"),
    ("10.0.0.1", "10.0.0.1 is a private address"),
    ("172.16.5.4", "172.16.5.4 is a private address"),
    ("172.31.255.255", "172.31.255.255 is a private address"),
    ("192.168.1.1", "192.168.1.1 is a private address"),
    ("fc00::1", "fc00::1 is a private address"),
    ("fd12:3456::1", "fd12:3456::1 is a private address"),
    ("100.64.0.1", "100.64.0.1 is in the shared address space 100.64.0.0/10"),
    ("100.127.255.254", "100.127.255.254 is in the shared address space 100.64.0.0/10"),
    ("192.0.2.10", "192.0.2.10 is a private address"),
    ("198.18.0.1", "198.18.0.1 is a private address"),
]
PUBLIC_ADDRESSES = ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"]
PUBLIC_ONLY = " (SEGMENT_SERVICE_WEBHOOK_PUBLIC_ONLY is set)"


def refusal(check, value: str, *, public_only: bool) -> str:
    with pytest.raises(DestinationRefused) as caught:
        check(value, public_only=public_only)
    return str(caught.value)


@pytest.mark.parametrize("public_only", [False, True])
@pytest.mark.parametrize(("address", "reason"), ALWAYS_REFUSED_ADDRESSES)
def test_addresses_refused_in_both_modes(address, reason, public_only):
    assert refusal(check_address, address, public_only=public_only) == f"destinationUrl: {reason}"


@pytest.mark.parametrize(("address", "reason"), LOCAL_ADDRESSES)
def test_local_addresses_are_allowed_unless_public_only(address, reason):
    check_address(address, public_only=False)
    assert refusal(check_address, address, public_only=True) == f"destinationUrl: {reason}{PUBLIC_ONLY}"


@pytest.mark.parametrize("public_only", [False, True])
@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_allowed(address, public_only):
    check_address(address, public_only=public_only)


def test_an_address_that_is_not_one():
    assert refusal(check_address, "example.com", public_only=False) == (
        "destinationUrl: 'example.com' is not an IP address"
    )


ALWAYS_REFUSED_URLS = [
    ("ftp://example.com/x", "'ftp://example.com/x' must start with http:// or https://"),
    ("file:///etc/passwd", "'file:///etc/passwd' must start with http:// or https://"),
    ("example.com/hook", "'example.com/hook' must start with http:// or https://"),
    ("http://", "'http://' names no host"),
    ("https:///path", "'https:///path' names no host"),
    ("http://example.com:99999/", "'http://example.com:99999/' is not a valid URL (Port out of range 0-65535)"),
    ("http://[::1/", "'http://[::1/' is not a valid URL (Invalid IPv6 URL)"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
    ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254 is a cloud metadata address"),
    ("http://2852039166/", "2852039166 (169.254.169.254) is a cloud metadata address"),
    ("http://0xa9.0xfe.0xa9.0xfe/", "0xa9.0xfe.0xa9.0xfe (169.254.169.254) is a cloud metadata address"),
    ("http://0251.0376.0251.0376/", "0251.0376.0251.0376 (169.254.169.254) is a cloud metadata address"),
    ("http://0/", "0 (0.0.0.0) is the unspecified address"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud metadata endpoint"),
    ("http://METADATA.google.internal./", "metadata.google.internal is a cloud metadata endpoint"),
    ("http://metadata/", "metadata is a cloud metadata endpoint"),
    ("http://instance-data/latest", "instance-data is a cloud metadata endpoint"),
    ("https://metadata.azure.com/", "metadata.azure.com is a cloud metadata endpoint"),
]
LOCAL_URLS = [
    ("http://localhost:8080/hook", "localhost is a local or internal name"),
    ("http://receiver.localhost/", "receiver.localhost is a local or internal name"),
    ("http://db.internal/", "db.internal is a local or internal name"),
    ("http://printer.local/", "printer.local is a local or internal name"),
    ("http://127.0.0.1:9000/", "127.0.0.1 is a loopback address"),
    ("http://2130706433/", "2130706433 (127.0.0.1) is a loopback address"),
    ("http://0x7f.1/", "0x7f.1 (127.0.0.1) is a loopback address"),
    ("http://017700000001/", "017700000001 (127.0.0.1) is a loopback address"),
    ("http://10.1/", "10.1 (10.0.0.1) is a private address"),
    ("http://[::1]:8000/", "::1 is a loopback address"),
    ("http://192.168.0.10/hook", "192.168.0.10 is a private address"),
    ("http://[fd00::5]/", "fd00::5 is a private address"),
]
PUBLIC_URLS = [
    "https://example.com/hook",
    "http://example.com:8080/a?b=c#d",
    "HTTPS://Example.COM/",
    "https://user:password@example.com/hook",
    "https://8.8.8.8/",
    "https://[2001:4860:4860::8888]/",
    "https://169.254.169.254.example.com/",  # a name: its addresses are checked when it resolves
    "https://deadbeef.example/",
    "https://1password.com/",
]


@pytest.mark.parametrize("public_only", [False, True])
@pytest.mark.parametrize(("url", "reason"), ALWAYS_REFUSED_URLS)
def test_urls_refused_in_both_modes(url, reason, public_only):
    message = refusal(check_url, url, public_only=public_only)
    assert message.startswith(f"destinationUrl: {reason}")


@pytest.mark.parametrize(("url", "reason"), LOCAL_URLS)
def test_local_urls_are_allowed_unless_public_only(url, reason):
    check_url(url, public_only=False)
    assert refusal(check_url, url, public_only=True) == f"destinationUrl: {reason}{PUBLIC_ONLY}"


@pytest.mark.parametrize("public_only", [False, True])
@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_urls_are_allowed(url, public_only):
    check_url(url, public_only=public_only)


def test_a_url_over_2048_characters_is_refused():
    url = "https://example.com/" + "a" * 2029
    assert len(url) == 2049
    assert refusal(check_url, url, public_only=False) == (
        "destinationUrl: the URL is 2049 characters long; at most 2048"
    )
    check_url(url[:-1], public_only=False)


@given(st.ip_addresses())
def test_every_address_is_judged_as_ipaddress_classifies_it(address):
    """Never an error other than DestinationRefused; public_only refuses a superset; and what passes in public-only
    mode is global (or carries a global IPv4 address)."""
    try:
        check_address(str(address), public_only=False)
        allowed = True
    except DestinationRefused:
        allowed = False
    try:
        check_address(str(address), public_only=True)
        public = True
    except DestinationRefused:
        public = False
    assert allowed or not public
    if public:
        carried = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        assert address.is_global or (carried is not None and carried.is_global) or address in _CARRIERS
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        assert not allowed


_CARRIERS = ipaddress.ip_network("64:ff9b::/96")


@given(st.ip_addresses(v=4))
def test_a_url_of_an_ipv4_address_is_judged_as_the_address(address):
    verdicts = []
    for check, value in ((check_url, f"http://{address}/"), (check_address, str(address))):
        try:
            check(value, public_only=True)
            verdicts.append(True)
        except DestinationRefused:
            verdicts.append(False)
    assert verdicts[0] == verdicts[1]
