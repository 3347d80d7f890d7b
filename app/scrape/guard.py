"""Which addresses a scrape may connect to: the decision, and nothing else.

A URL that strangers type must never reach this machine, its network or a
cloud's metadata service. Every address a name resolves to is checked here
(fetch.py then connects to the very address it checked), and addresses that
hide an IPv4 address inside IPv6 (mapped, compatible, 6to4, NAT64, Teredo)
are judged by the address they carry too. ``allow_nets`` opens chosen
networks, for people who scrape their own intranet. Which blocks are refused
is address_table.py's table, never the running Python's ``ipaddress`` flags.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from app.scrape.address_table import IPAddress as IPAddress
from app.scrape.address_table import IPNetwork as IPNetwork
from app.scrape.address_table import block_refusal

_METADATA = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle, Hetzner
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS Pod Identity
        "169.254.0.23",  # Tencent Cloud
        "168.63.129.16",  # Azure WireServer: a public address
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS EKS Pod Identity over IPv6
        "fd20:ce::254",  # GCP over IPv6
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, if it is one of the known embeddings."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in (*_NAT64, _COMPATIBLE)):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _refusal_of(address: IPAddress) -> str | None:
    if address in _METADATA:
        return "cloud metadata"
    return block_refusal(address)


def refusal(address: IPAddress, allow_nets: Sequence[IPNetwork] = ()) -> str | None:
    """Why a scrape may not connect to ``address``, or None when it may."""
    if any(address in net for net in allow_nets):
        return None
    reason = _refusal_of(address)
    if reason is not None:
        return reason
    inner = embedded_ipv4(address)
    if inner is not None:
        inner_reason = _refusal_of(inner)
        if inner_reason is not None:
            return f"embeds a {inner_reason} IPv4 address"
    return None


def is_localhost_name(host: str) -> bool:
    """``localhost`` and ``*.localhost`` (RFC 6761), refused without asking DNS."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def _ipv4_part(part: str) -> int | None:
    """One dotted part as inet_aton and browsers read it: decimal, 0x hex or 0 octal."""
    text = part.lower()
    base = 10
    if text.startswith("0x"):
        text, base = text[2:], 16
    elif len(text) > 1 and text.startswith("0"):
        text, base = text[1:], 8
    if text == "":
        return 0 if base == 16 else None
    try:
        return int(text, base) if text.isalnum() and text.isascii() else None
    except ValueError:
        return None


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``2130706433``, ``0x7f.1``, ``017700000001``: the spellings of an IPv4 address."""
    parts = host.rstrip(".").split(".") if host else []
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_part(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    *head, last = values
    if any(value > 255 for value in head) or last >= 256 ** (5 - len(values)):
        return None
    total = last
    for position, value in enumerate(head):
        total += value << (8 * (3 - position))
    return ipaddress.IPv4Address(total)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host spells out literally, or None for a name."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return _numeric_ipv4(host)
