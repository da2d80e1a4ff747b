"""Where webhooks may go (docs/webhooks.md#destinations): the checks of a destination URL when it is configured, and
of every address a destination's name resolves to when an attempt connects (webhooks/sender.py)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

#: Longest destination URL accepted.
MAX_URL_LENGTH = 2048
#: Names of cloud metadata services, refused whatever they resolve to.
_METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.com",
        "metadata.tencentyun.com",
    }
)
#: Metadata addresses outside the link-local ranges (AWS's IPv6 one, Alibaba Cloud's).
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")})
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")


class DestinationRefused(ValueError):
    """A destination webhooks are never sent to; the message says which and why."""


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`host` as an IP address when it is one, in any form a resolver would take (`2130706433`, `0x7f.1`, `[::1]`)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # the shorthand and numeric IPv4 forms inet_aton accepts, and so does the resolver
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_address(address: str, *, public_only: bool) -> None:
    """Refuse an address webhooks must not reach: link-local, cloud metadata, unspecified, multicast, reserved, and
    with `public_only` loopback, private and any other non-global one."""
    ip = _address(address)
    if ip is None:
        raise DestinationRefused(f"{address!r} is not an IP address")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA_ADDRESSES or ip == ipaddress.ip_address("169.254.169.254"):
        raise DestinationRefused(f"{ip} is a cloud metadata address; webhooks are never sent there")
    if ip.is_link_local:
        raise DestinationRefused(f"{ip} is a link-local address; webhooks are never sent there")
    if ip.is_loopback:  # before the reserved ranges: ::1 lies in one
        if public_only:
            raise DestinationRefused(f"{ip} is a loopback address; webhooks go to public addresses only here")
        return
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved or ip == ipaddress.ip_address("255.255.255.255"):
        raise DestinationRefused(f"{ip} is not an address a webhook can be sent to")
    if public_only and (ip.is_private or not ip.is_global):
        raise DestinationRefused(f"{ip} is a private address; webhooks go to public addresses only here")


def check_url(url: str, *, public_only: bool) -> None:
    """Refuse a destination URL that is malformed or names a refused host (its name is not resolved here: the
    addresses are checked at each connection)."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"{url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused(f"{url!r} is not an http or https URL")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise DestinationRefused(f"{url!r} names no host")
    if port == 0:
        raise DestinationRefused(f"{url!r} names port 0")
    if any(ch.isspace() for ch in url):
        raise DestinationRefused(f"{url!r} contains white space")
    ip = _address(host)
    if ip is not None:
        check_address(str(ip), public_only=public_only)
        return
    if host in _METADATA_NAMES:
        raise DestinationRefused(f"{host} is a cloud metadata service; webhooks are never sent there")
    if public_only and (host == "localhost" or host.endswith(_LOCAL_SUFFIXES)):
        raise DestinationRefused(f"{host} is a local name; webhooks go to public addresses only here")
