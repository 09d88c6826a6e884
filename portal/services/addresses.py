"""Which network addresses the portal may call on someone's say-so.

A webhook URL (and later a chat notification's or a signing key's URL) is typed by a person; the
portal then makes the request from inside its own network. So every address it calls that way
must be public: not loopback, not private, not link-local, not the cloud's metadata address.
IPv6 can carry an IPv4 address inside it (mapped, compatible, NAT64, 6to4, Teredo), and a host
routes many of those to the IPv4 address itself: ::ffff:127.0.0.1, ::127.0.0.1 and
2002:7f00:1:: all reach loopback. Such an address is judged by the IPv4 address inside.

The tables follow the IANA special-purpose address registries; Python's `is_global` is asked
as well, so a network either of them calls non-global is refused. Names are the caller's
business: a name is resolved, and every address it resolves to is judged here. Only the host
names an operator lists as trusted (PORTAL_TRUSTED_PRIVATE_HOSTS) may be private.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# IPv4 networks that are not globally reachable, with what they are.
NON_PUBLIC_IPV4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "'this network' (unspecified)"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "shared address space (carrier-grade NAT)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments"),
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast"),
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved"),
)

# IPv6 networks that are not globally reachable, whatever they may carry inside.
NON_PUBLIC_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    # Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the operator's
    # prefix length, and the prefix is never global.
    (_V6("64:ff9b:1::/48"), "local-use NAT64"),
    (_V6("100::/64"), "discard-only"),
    # Protocol assignments, Teredo (2001::/32) and benchmarking (2001:2::/48) among them.
    (_V6("2001::/23"), "IETF protocol assignments"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("3fff::/20"), "documentation"),
    (_V6("5f00::/16"), "segment routing"),
    (_V6("fc00::/7"), "unique local (private)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local"),
    (_V6("ff00::/8"), "multicast"),
)

_MAPPED = _V6("::ffff:0:0/96")
_TRANSLATED = _V6("::ffff:0:0:0/96")
_COMPATIBLE = _V6("::/96")
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")
_TEREDO = _V6("2001::/32")

# Numbers, hex and dots: what inet_aton also reads as IPv4 ("2130706433", "0x7f.1", "017.0.0.1").
_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries, with the form that carries it, or None."""
    value = int(address)
    if address in _MAPPED:
        return "IPv4-mapped", ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in _TRANSLATED:
        return "IPv4-translated", ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return "6to4", ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    if address in _TEREDO:
        # The Teredo client's address is the last 32 bits, inverted.
        return "Teredo", ipaddress.IPv4Address(~value & 0xFFFFFFFF)
    # IPv4-compatible (::a.b.c.d, deprecated); :: and ::1 are judged as themselves.
    if address in _COMPATIBLE and value > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def parse_address(text: str) -> IPAddress | None:
    """The IP address a host or address string spells, or None for a name.
    Reads [v6] brackets, a %zone suffix, and the numeric IPv4 shorthands a resolver also
    accepts ("2130706433" and "0x7f.1" are both 127.0.0.1)."""
    text = text.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(text) and not text.endswith("."):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _ipv4_refusal(address: ipaddress.IPv4Address) -> str | None:
    for network, kind in NON_PUBLIC_IPV4:
        if address in network:
            return kind
    if not address.is_global or address.is_multicast:
        return "not globally reachable"
    return None


def refusal(address: str | IPAddress) -> str | None:
    """Why the portal must not call this address on someone's say-so (None: it is public)."""
    ip = parse_address(address) if isinstance(address, str) else address
    if ip is None:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_refusal(ip)
    embedded = embedded_ipv4(ip)
    if embedded is not None and ip in _TEREDO:
        # Teredo is never called (it sits in the protocol assignments below); the reason
        # names the client inside when that is what makes it dangerous.
        inside = _ipv4_refusal(embedded[1])
        return f"Teredo, client {embedded[1]}: {inside}" if inside else "Teredo"
    for network, kind in NON_PUBLIC_IPV6:
        if ip in network:
            return kind
    if embedded is not None:
        form, inside_address = embedded
        reason = _ipv4_refusal(inside_address)
        return f"{form} {inside_address}: {reason}" if reason else None
    if not ip.is_global or ip.is_multicast:
        return "not globally reachable"
    return None


def is_public(address: str | IPAddress) -> bool:
    """Whether the portal may call this address on someone's say-so."""
    return refusal(address) is None


def normalise_host(host: str) -> str:
    """A host name as compared with the trusted list: lower case, no trailing dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def trusted_hosts(setting: str | Iterable[str]) -> frozenset[str]:
    """The host names of a comma-separated setting (or a list), normalised."""
    names = setting.split(",") if isinstance(setting, str) else setting
    return frozenset(normalise_host(name) for name in names if normalise_host(name))


def is_trusted_host(host: str, trusted: Iterable[str]) -> bool:
    """Whether the operator listed this host as one that may be private (exact names only:
    trusting hooks.internal does not trust evil.hooks.internal)."""
    return normalise_host(host) in trusted
