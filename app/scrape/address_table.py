"""The address blocks a scrape may never reach: our own table, not ``ipaddress``'s.

Python's ``is_private`` / ``is_global`` tables change between patch releases
(3.11.7 accepts ``fec0::/10``, ``3fff::/20`` and ``192.0.0.0/24`` outside its
``/29``), so the decision would depend on the interpreter. This table is built
from IANA's IPv4 and IPv6 Special-Purpose Address Registries (every entry that
is not globally reachable, or no longer assigned), IANA's multicast blocks, and
the IPv6 address space registry (only ``2000::/3`` is global unicast; the rest
is reserved, unique-local, link-local, the deprecated site-local ``fec0::/10``
or multicast). ``tests/test_guard.py`` checks every registry entry against it,
from copies of the registries kept in ``tests/data/``.

Stricter than the registries, on purpose: all of ``192.0.0.0/24`` and
``2001::/23``, the IETF protocol assignment blocks (anycast services and
identifiers, never a web site, whatever a more specific entry says), Teredo
included. The NAT64 prefix ``64:ff9b::/96`` and 6to4's ``2002::/16`` are open
here: guard.py judges them by the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_BLOCKS: tuple[tuple[str, str | None], ...] = (
    # IPv4: open, but for these.
    ("0.0.0.0/0", None),
    ("0.0.0.0/8", "this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignment"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("255.255.255.255/32", "broadcast"),
    # IPv6: only global unicast is open, less these.
    ("::/0", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("64:ff9b::/96", None),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2000::/3", None),
    ("2001::/23", "IETF protocol assignment"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "private"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)


def _most_specific_first() -> tuple[tuple[IPNetwork, str | None], ...]:
    blocks = [(ipaddress.ip_network(net), reason) for net, reason in _BLOCKS]
    return tuple(sorted(blocks, key=lambda block: -block[0].prefixlen))


_TABLE = _most_specific_first()


def block_refusal(address: IPAddress) -> str | None:
    """Why the most specific block holding ``address`` is refused, or None when it is open."""
    return next(reason for network, reason in _TABLE if address in network)
