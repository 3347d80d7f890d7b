"""The address guard's decision, on addresses no test ever sends a packet to."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.scrape.guard import embedded_ipv4, is_localhost_name, literal_address, refusal

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
]
ALLOWED = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_metadata_address_is_named() -> None:
    assert refusal(ipaddress.ip_address("169.254.169.254")) == "cloud metadata"


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
