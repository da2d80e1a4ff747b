"""Where webhooks may be sent (docs/webhooks.md#destinations): the checks against server-side request forgery.

`check_url` runs when a destination is configured and resolves no names; `check_address` runs on every address a
name resolves to before the relay connects, so it is pure and cheap.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from yarl import URL

MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
_METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
_NON_PUBLIC_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_PUBLIC_ONLY = "SEGMENT_SERVICE_WEBHOOK_PUBLIC_ONLY is set"


class DestinationRefused(ValueError):
    """A destination webhooks are never sent to; the message says what was refused and why."""


def check_url(url: str, *, public_only: bool) -> None:
    """Refuse `url` (DestinationRefused) unless webhooks may be sent to it; names are judged by their text alone."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"destinationUrl: the URL is {len(url)} characters long; at most {MAX_URL_LENGTH}")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (reading it validates it)
    except ValueError as exc:
        raise DestinationRefused(f"destinationUrl: {url!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise DestinationRefused(f"destinationUrl: {url!r} must start with http:// or https://")
    if not host:
        raise DestinationRefused(f"destinationUrl: {url!r} names no host")
    try:
        # The host as the HTTP client will connect to it: yarl maps it through IDNA, so fullwidth digits or
        # ideographic dots written for an address are judged as the address they become.
        wire_host = URL(url).raw_host
    except (ValueError, UnicodeError) as exc:
        raise DestinationRefused(f"destinationUrl: {url!r} is not a valid URL ({exc})") from None
    if not host.isascii():
        host = wire_host or host
    host = host.rstrip(".").lower()
    address = _literal_address(host)
    if address is not None:
        shown = host if ":" in host or host == str(address) else f"{host} ({address})"  # 0x7f.1 (127.0.0.1)
        _check(address, shown, public_only=public_only)
        return
    if host in _METADATA_NAMES:
        raise DestinationRefused(f"destinationUrl: {host} is a cloud metadata endpoint; webhooks are never sent there")
    if public_only and (host == "localhost" or host.endswith(_NON_PUBLIC_SUFFIXES)):
        raise DestinationRefused(f"destinationUrl: {host} is a local or internal name ({_PUBLIC_ONLY})")


def check_address(address: str, *, public_only: bool) -> None:
    """Refuse the IP address `address` (DestinationRefused) unless webhooks may be sent to it."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise DestinationRefused(f"destinationUrl: {address!r} is not an IP address") from None
    _check(parsed, address, public_only=public_only)


def _check(address: IPAddress, shown: str, *, public_only: bool) -> None:
    address = _embedded_ipv4(address)
    never = _never_reason(address)
    if never:
        raise DestinationRefused(f"destinationUrl: {shown} is {never}; webhooks are never sent there")
    if public_only:
        local = _non_public_reason(address)
        if local:
            raise DestinationRefused(f"destinationUrl: {shown} is {local} ({_PUBLIC_ONLY})")


def _never_reason(address: IPAddress) -> str | None:
    if address in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local (cloud metadata) address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address == ipaddress.IPv4Address("255.255.255.255"):
        return "the broadcast address"
    if address.is_reserved and not address.is_loopback:  # ::1 lies in the reserved ::/8
        return "a reserved address"
    return None


def _non_public_reason(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "a loopback address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return "in the shared address space 100.64.0.0/10"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address reaches when it carries one (IPv4-mapped, NAT64 64:ff9b::/96, 6to4), so that
    ::ffff:169.254.169.254 is judged as 169.254.169.254; any other address as it is."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour or address


def _literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, in any form a resolver would accept (``2130706433``, ``0x7f.1``, ``017.0.0.1``);
    None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not all(c in "0123456789abcdefx." for c in host) or not host[:1].isdigit():
        return None  # a name (inet_aton would also take the "0x" forms only when they start with a digit)
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None
