"""The address guard's decision, on addresses no test ever sends a packet to."""

from __future__ import annotations

import csv
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.scrape.guard import IPAddress, embedded_ipv4, is_localhost_name, literal_address, refusal

REFUSED = [
    "127.0.0.1",
    "127.0.0.2",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "169.254.1.1",
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.192",
    "100.100.100.200",
    "198.18.0.1",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "64:ff9b::a00:1",
    "64:ff9b:1::a00:1",
    "2002:a00:1::1",
    "2002:7f00:1::",
    "2001:db8::1",
    "::ffff:93.184.216.34",  # a name whose AAAA is IPv4-mapped is odd enough to refuse
    # Accepted by Python 3.11.7's own tables (issue 14):
    "fec0::1",
    "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "3fff::1",
    "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
    "192.0.0.9",
    "192.0.0.10",
    "192.0.0.100",
    "192.0.0.255",
    "168.63.129.16",
    # ... and the same carried inside IPv6
    "::ffff:168.63.129.16",
    "64:ff9b::a83f:8110",
    "2002:a83f:8110::1",
    "64:ff9b::c000:9",
    "2002:c000:aa::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "5f00::1",
    "100:0:0:1::1",
]
ALLOWED = [
    "93.184.216.34",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "2a00:1450:4001::200e",
    "192.31.196.1",  # AS112, globally reachable
    "192.52.193.1",  # AMT, globally reachable
    "64:ff9b::808:808",  # 8.8.8.8 through NAT64
    "2002:808:808::1",  # 8.8.8.8 through 6to4
]
METADATA = [
    "169.254.169.254",
    "169.254.170.2",
    "168.63.129.16",
    "100.100.100.200",
    "192.0.0.192",
    "fd00:ec2::254",
]


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address", METADATA)
def test_metadata_addresses_are_named(address: str) -> None:
    """Azure's WireServer 168.63.129.16 is a public address: only the list refuses it."""
    assert refusal(ipaddress.ip_address(address)) == "cloud metadata"
    mapped = ipaddress.IPv6Address(f"::ffff:{address}") if "." in address else None
    if mapped is not None:
        assert refusal(mapped) is not None


def test_allow_nets_open_exactly_their_net() -> None:
    nets = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8")]
    assert refusal(ipaddress.ip_address("127.0.0.1"), nets) is None
    assert refusal(ipaddress.ip_address("10.200.0.1"), nets) is None
    assert refusal(ipaddress.ip_address("127.0.0.2"), nets) == "loopback"
    assert refusal(ipaddress.ip_address("::1"), nets) == "loopback"


def test_embedded_ipv4() -> None:
    assert embedded_ipv4(ipaddress.ip_address("::ffff:1.2.3.4")) == ipaddress.ip_address("1.2.3.4")
    assert embedded_ipv4(ipaddress.ip_address("2002:102:304::")) == ipaddress.ip_address("1.2.3.4")
    assert embedded_ipv4(ipaddress.ip_address("64:ff9b::102:304")) == ipaddress.ip_address(
        "1.2.3.4"
    )
    assert embedded_ipv4(ipaddress.ip_address("2606:4700::1")) is None
    assert embedded_ipv4(ipaddress.ip_address("1.2.3.4")) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("10.0.0.1.", "10.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ],
)
def test_literal_spellings(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host", ["example.com", "1.2.3.4.5", "256.0.0.1.com", "0xg", "09", "1.2.3.999", "", "1e3"]
)
def test_names_are_not_literals(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize(
    ("host", "refused"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("a.b.localhost", True),
        ("x.localhost.", True),
        ("localhost.example.com", False),
        ("notlocalhost", False),
    ],
)
def test_localhost_names(host: str, refused: bool) -> None:
    assert is_localhost_name(host) is refused


ipv4s = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)


@given(ipv4s)
def test_every_ipv4_spelling_reads_back(address: ipaddress.IPv4Address) -> None:
    value = int(address)
    assert literal_address(str(value)) == address
    assert literal_address(hex(value)) == address
    assert literal_address("0" + format(value, "o")) == address
    a, b, c, d = address.packed
    assert literal_address(f"{a}.{(b << 16) | (c << 8) | d}") == address


@given(ipv4s)
def test_an_ipv4_address_embedded_in_ipv6_is_judged_as_itself(
    address: ipaddress.IPv4Address,
) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    nat64 = ipaddress.IPv6Address((0x64FF9B << 96) | int(address))
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)
    if refusal(address) is not None:
        assert refusal(mapped) is not None
        assert refusal(nat64) is not None
        assert refusal(sixtofour) is not None


@given(st.sampled_from(["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10"]))
def test_private_nets_are_refused_throughout(net: str) -> None:
    network = ipaddress.ip_network(net)
    for address in (network[0], network[1], network[-1], network[network.num_addresses // 2]):
        assert refusal(address) is not None


REGISTRIES = Path(__file__).parent / "data"
STRICTER = [ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("2001::/23")]
"""IETF protocol assignment blocks, refused whole whatever a more specific entry says."""
_FOOTNOTE = re.compile(r"\s*\[\d+\]")


@dataclass(frozen=True)
class Entry:
    """One block of an IANA special-purpose registry, as published."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    name: str
    reachable: str  # "True", "False", "N/A", or "" for a terminated entry
    terminated: bool


def registry_entries() -> list[Entry]:
    entries = []
    for name in ("iana-ipv4-special-registry-1.csv", "iana-ipv6-special-registry-1.csv"):
        with (REGISTRIES / name).open(newline="") as file:
            for row in csv.DictReader(file):
                reachable = _FOOTNOTE.sub("", row["Globally Reachable"]).strip()
                for block in _FOOTNOTE.sub("", row["Address Block"]).split(","):
                    network = ipaddress.ip_network(block.strip())
                    terminated = row["Termination Date"] != "N/A"
                    entries.append(Entry(network, row["Name"], reachable, terminated))
    return entries


ENTRIES = registry_entries()


def samples(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[IPAddress]:
    size = network.num_addresses
    return [network[i] for i in sorted({0, 1 % size, size // 2, size - 1})]


def registry_says_refused(address: IPAddress) -> bool:
    """The registry's answer: its most specific entry holding ``address`` decides."""
    entry = max(
        (entry for entry in ENTRIES if address in entry.network),
        key=lambda entry: entry.network.prefixlen,
    )
    if entry.terminated or entry.reachable == "False":
        return True
    inner = embedded_ipv4(address)
    return inner is not None and refusal(inner) is not None


def test_the_registries_are_complete() -> None:
    """The copies in tests/data hold every entry IANA publishes (checked 2025-04)."""
    v4 = [entry for entry in ENTRIES if entry.network.version == 4]
    v6 = [entry for entry in ENTRIES if entry.network.version == 6]
    assert (len(v4), len(v6)) == (26, 25)
    assert {"3fff::/20", "192.0.0.0/24", "fc00::/7"} <= {str(entry.network) for entry in ENTRIES}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: str(entry.network))
def test_every_registry_entry_is_decided_as_the_registry_says(entry: Entry) -> None:
    """Pins the guard to IANA's special-purpose registries, not to the running Python's
    ``ipaddress`` tables (3.11.7 accepts 3fff::/20 and 192.0.0.0/24 outside /29)."""
    for address in samples(entry.network):
        expected = registry_says_refused(address) or any(address in net for net in STRICTER)
        assert (refusal(address) is not None) is expected, address


_IPADDRESS_TABLES = (
    "is_private",
    "is_global",
    "is_reserved",
    "is_loopback",
    "is_link_local",
    "is_multicast",
    "is_unspecified",
    "is_site_local",
)


def test_the_decision_never_reads_pythons_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same decision on every Python: ``ipaddress``'s flags are never consulted."""

    def consulted(self: object) -> bool:
        raise AssertionError("the guard read an ipaddress table")

    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        for flag in _IPADDRESS_TABLES:
            if hasattr(cls, flag):
                monkeypatch.setattr(cls, flag, property(consulted))
    for text in [*REFUSED, *ALLOWED]:
        address = ipaddress.ip_address(text)
        assert (refusal(address) is None) is (text in ALLOWED)
    for entry in ENTRIES:
        for address in samples(entry.network):
            refusal(address)
