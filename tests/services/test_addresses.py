"""The one classifier of addresses the portal calls on someone's say-so. Tested as a function
over a table: no test here opens a connection to anything."""

from __future__ import annotations

import ipaddress

import pytest

from portal.services import addresses
from portal.services.environment import Settings

REFUSED = [
    # address, what the refusal says
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.0.10", "private"),
    ("169.254.169.254", "link-local"),  # the cloud's metadata service
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("192.0.0.9", "IETF protocol assignments"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("192.88.99.1", "6to4 relay anycast"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    # IPv6 itself
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fd00::1", "unique local"),
    ("fc00::1", "unique local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("100::1", "discard-only"),
    ("2001:2::1", "IETF protocol assignments"),  # benchmarking
    ("5f00::1", "segment routing"),
    ("64:ff9b:1::a9fe:a9fe", "local-use NAT64"),
    # IPv4 inside IPv6, each spelling of a host the system routes to the IPv4 address
    ("::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1: loopback"),
    ("::ffff:7f00:1", "IPv4-mapped 127.0.0.1: loopback"),
    ("::ffff:169.254.169.254", "IPv4-mapped 169.254.169.254: link-local"),
    ("::ffff:0:7f00:1", "IPv4-translated 127.0.0.1: loopback"),
    ("::ffff:0:10.0.0.1", "IPv4-translated 10.0.0.1: private"),
    ("::127.0.0.1", "IPv4-compatible 127.0.0.1: loopback"),
    ("::10.0.0.1", "IPv4-compatible 10.0.0.1: private"),
    ("::0.0.0.2", "IPv4-compatible 0.0.0.2: 'this network' (unspecified)"),
    ("64:ff9b::a9fe:a9fe", "NAT64 169.254.169.254: link-local"),
    ("64:ff9b::127.0.0.1", "NAT64 127.0.0.1: loopback"),
    ("64:ff9b::c0a8:1", "NAT64 192.168.0.1: private"),
    ("2002:7f00:1::", "6to4 127.0.0.1: loopback"),
    ("2002:a9fe:a9fe::1", "6to4 169.254.169.254: link-local"),
    ("2002:6440:1::", "6to4 100.64.0.1: shared address space (carrier-grade NAT)"),
    # Teredo: the client is the last 32 bits inverted (RFC 4380's example holds 192.0.2.45).
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo, client 192.0.2.45: documentation"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo, client 127.0.0.1: loopback"),
    ("2001:0:4136:e378::f7f7:f7f7", "Teredo"),  # a public client: Teredo is still refused
    # The numeric shorthands a resolver also reads as IPv4
    ("2130706433", "loopback"),
    ("0x7f.1", "loopback"),
    ("0177.0.0.1", "loopback"),
    ("[::1]", "loopback"),
    # Names are resolved by the caller; the classifier judges addresses only.
    ("hooks.example.com", "not an IP address"),
    ("", "not an IP address"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below carrier-grade NAT
    "100.128.0.1",  # just above it
    "172.32.0.1",  # just past 172.16/12
    "198.20.0.1",  # just past benchmarking
    "2606:4700:4700::1111",
    "2a00:1450:4001:81c::200e",
    "::ffff:8.8.8.8",  # IPv4-mapped, public inside
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8: how an IPv6-only host reaches it
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize(("address", "why"), REFUSED, ids=[a or "empty" for a, _ in REFUSED])
def test_addresses_that_are_not_public_are_refused_with_their_reason(
    address: str, why: str
) -> None:
    reason = addresses.refusal(address)
    assert reason is not None and why in reason
    assert not addresses.is_public(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert addresses.refusal(address) is None
    assert addresses.is_public(address)
    assert addresses.is_public(ipaddress.ip_address(address))


def test_the_ipv4_inside_each_ipv6_form_is_read() -> None:
    def inside(text: str) -> tuple[str, str] | None:
        found = addresses.embedded_ipv4(ipaddress.IPv6Address(text))
        return None if found is None else (found[0], str(found[1]))

    assert inside("::ffff:1.2.3.4") == ("IPv4-mapped", "1.2.3.4")
    assert inside("::ffff:0:1.2.3.4") == ("IPv4-translated", "1.2.3.4")
    assert inside("::1.2.3.4") == ("IPv4-compatible", "1.2.3.4")
    assert inside("64:ff9b::1.2.3.4") == ("NAT64", "1.2.3.4")
    assert inside("2002:102:304:5::6") == ("6to4", "1.2.3.4")
    assert inside("2001:0:4136:e378:8000:63bf:3fff:fdd2") == ("Teredo", "192.0.2.45")
    assert inside("2606:4700:4700::1111") is None
    assert inside("::1") is None


def test_trusted_hosts_are_exact_names_whatever_their_case() -> None:
    trusted = addresses.trusted_hosts(" Hooks.Internal. , idp.corp.example,,")
    assert trusted == frozenset({"hooks.internal", "idp.corp.example"})
    assert addresses.is_trusted_host("HOOKS.internal", trusted)
    assert addresses.is_trusted_host("hooks.internal.", trusted)
    assert not addresses.is_trusted_host("evil.hooks.internal", trusted)
    assert not addresses.is_trusted_host("hooks.internal.evil.example", trusted)
    assert addresses.trusted_hosts("") == frozenset()


def test_the_setting_comes_from_portal_trusted_private_hosts(app) -> None:
    config = {**app.config, "PORTAL_TRUSTED_PRIVATE_HOSTS": "hooks.internal,IdP.corp.example"}
    settings = Settings.from_config(config)
    assert settings.trusted_private_hosts == frozenset({"hooks.internal", "idp.corp.example"})
    assert Settings.from_config(app.config).trusted_private_hosts == frozenset()
