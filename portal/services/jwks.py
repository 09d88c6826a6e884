"""The organisation's published signing keys (a JWKS, RFC 7517) for single sign-on.

The admin types the URL, and the portal fetches it from inside its own network, so it passes
the address rules webhooks follow (portal/services/addresses.py): https only, and only public
addresses, except for a host the operator lists in PORTAL_TRUSTED_PRIVATE_HOSTS (an in-house
key server, or 127.0.0.1 in the tests), which may also be plain http. Stricter than webhooks on
purpose: whoever can answer for this URL can sign anyone in, so the webhook settings that relax
their rules for development do not relax these. Names are resolved and every address checked
at each fetch, and the connection goes to the address checked; redirects are not followed; a
fetch gives up after a few seconds and refuses an answer larger than 64 KB.

Keys are cached per process for ten minutes. A token naming a `kid` the cache does not hold
makes one early fetch (the organisation has rotated its keys), at most once a minute per URL,
so made-up kids cannot make the portal fetch on every request."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from portal.services import addresses, environment, pinned_http
from portal.services.errors import DomainError
from portal.services.wording import t

MAX_URL_LENGTH = 2000
MAX_BYTES = 64 * 1024
TIMEOUT_SECONDS = 3.0
# How long fetched keys are trusted before they are fetched again.
LIFETIME_SECONDS = 600.0
# The least time between two fetches asked for by tokens naming a kid the cache lacks.
UNKNOWN_KID_REFETCH_SECONDS = 60.0
USER_AGENT = "portal-sso-keys/1"

# What each algorithm's key looks like in a JWKS.
_KEY_TYPES: dict[str, tuple[str, str | None]] = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}


class JwksRefused(DomainError):
    """A key set URL the portal will not fetch, or one that did not answer a usable key set."""

    status_code = 422


class KeyNotFound(DomainError):
    """A token names a key the organisation does not publish (after looking again)."""

    status_code = 400


# The URL ------------------------------------------------------------------------------------


def _trusted(host: str) -> bool:
    return addresses.is_trusted_host(host, environment.current().settings.trusted_private_hosts)


def check_url(url: str) -> str:
    """The URL, trimmed, if the portal may fetch keys from it; JwksRefused otherwise.
    (Names are resolved and checked again at every fetch.)"""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise JwksRefused(t("Enter the key set's URL (up to 2,000 characters)."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise JwksRefused(t("That is not a URL the portal can fetch keys from.")) from exc
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise JwksRefused(t("Use an https:// URL with a host name."))
    trusted = _trusted(host)
    if parts.scheme == "http" and not trusted:
        raise JwksRefused(t("Use an https:// URL: keys fetched over plain http could be forged."))
    if parts.username or parts.password:
        raise JwksRefused(t("Leave passwords out of the URL: key sets are public."))
    if port == 0:
        raise JwksRefused(t("That port cannot answer."))
    literal = addresses.parse_address(host)
    name = addresses.normalise_host(host)  # "localhost." is localhost too
    private_name = name == "localhost" or name.endswith((".localhost", ".local", ".internal"))
    if not trusted and ((literal is not None and not addresses.is_public(literal)) or private_name):
        raise JwksRefused(t("Keys are fetched only from public addresses, not internal ones."))
    return url


def _resolve(host: str, port: int) -> str:
    """The first address the name resolves to, if every one of them may be called."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise JwksRefused(t("The key set's host name does not resolve.")) from exc
    found = [str(info[4][0]) for info in infos]
    # All, not any: a name that also points inside must not be usable to reach inside.
    if not _trusted(host) and not all(addresses.is_public(address) for address in found):
        raise JwksRefused(t("Keys are fetched only from public addresses, not internal ones."))
    return found[0]


def _get(url: str) -> bytes:
    """The body of a GET on a checked URL, within the time and size limits."""
    url = check_url(url)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    host = parts.hostname or ""
    address = _resolve(host, port)
    connection = pinned_http.connection(https, host, port, address, TIMEOUT_SECONDS)
    response: http.client.HTTPResponse | None = None
    deadline = time.monotonic() + TIMEOUT_SECONDS
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(
            "GET", path, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
        )
        response = connection.getresponse()
        if response.status != 200:
            raise JwksRefused(
                t("The key set's URL answered HTTP %(status)d, not 200.", status=response.status)
            )
        body = b""
        # Read in pieces so a server that trickles bytes cannot hold us past the deadline.
        while len(body) <= MAX_BYTES:
            if time.monotonic() > deadline:
                raise TimeoutError
            piece = response.read1(16 * 1024)
            if not piece:
                break
            body += piece
        if len(body) > MAX_BYTES:
            raise JwksRefused(t("The key set is larger than 64 KB; the portal reads no more."))
        return body
    except TimeoutError as exc:
        raise JwksRefused(
            t("The key set's URL did not answer within %(seconds)d seconds.", seconds=3)
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise JwksRefused(t("The key set's URL could not be reached.")) from exc
    finally:
        if response is not None:
            response.close()
        connection.close()


# The keys -----------------------------------------------------------------------------------


def _usable(data: dict[str, Any], algorithm: str) -> bool:
    key_type, curve = _KEY_TYPES[algorithm]
    return (
        data.get("kty") == key_type
        and (curve is None or data.get("crv") == curve)
        and data.get("use", "sig") == "sig"
        and data.get("alg", algorithm) == algorithm
        and isinstance(data.get("kid"), str)
        and 0 < len(data["kid"]) <= 200
        # A private part published by mistake: that key is no longer the organisation's alone.
        and "d" not in data
    )


def parse_key_set(body: bytes, algorithm: str) -> dict[str, jwt.PyJWK]:
    """The keys for `algorithm` in a JWKS document, by kid; JwksRefused when it holds none."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JwksRefused(t("The key set's URL did not answer JSON.")) from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise JwksRefused(t('The key set\'s URL did not answer a key set (JSON with "keys").'))
    found: dict[str, jwt.PyJWK] = {}
    for data in keys:
        if not isinstance(data, dict) or not _usable(data, algorithm):
            continue
        try:
            found[data["kid"]] = jwt.PyJWK(data, algorithm)
        except (jwt.PyJWKError, ValueError, TypeError):
            continue
    if not found:
        raise JwksRefused(
            t(
                "The key set holds no public %(algorithm)s key with a kid.",
                algorithm=algorithm,
            )
        )
    return found


def fetch_keys(url: str, algorithm: str) -> dict[str, jwt.PyJWK]:
    """Fetch the key set now and return its keys for `algorithm`, by kid (JwksRefused when the
    URL is refused, does not answer, or holds no such key)."""
    return parse_key_set(_get(url), algorithm)


@dataclass
class _Cached:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float


_lock = threading.Lock()
_cache: dict[tuple[str, str], _Cached] = {}
_unknown_kid_fetched_at: dict[tuple[str, str], float] = {}


def remember(
    url: str, algorithm: str, keys: dict[str, jwt.PyJWK], now: float | None = None
) -> None:
    """Keep keys just fetched (when the admin saved the URL) so the first token needs no fetch."""
    with _lock:
        _cache[(url, algorithm)] = _Cached(keys, time.monotonic() if now is None else now)


def signing_key(url: str, algorithm: str, kid: str, now: float | None = None) -> jwt.PyJWK:
    """The published key a token's `kid` names: from the cache while it is fresh, fetched again
    when it is older than ten minutes, or once a minute at most when the kid is unknown.
    KeyNotFound when the organisation does not publish it; JwksRefused when the key set
    cannot be fetched."""
    now = time.monotonic() if now is None else now
    entry = (url, algorithm)
    with _lock:
        cached = _cache.get(entry)
        if cached is None or not 0 <= now - cached.fetched_at < LIFETIME_SECONDS:
            cached = _cache[entry] = _Cached(fetch_keys(url, algorithm), now)
        elif kid not in cached.keys:
            last = _unknown_kid_fetched_at.get(entry)
            if last is None or not 0 <= now - last < UNKNOWN_KID_REFETCH_SECONDS:
                _unknown_kid_fetched_at[entry] = now
                cached = _cache[entry] = _Cached(fetch_keys(url, algorithm), now)
        key = cached.keys.get(kid)
    if key is None:
        raise KeyNotFound(
            t("That sign-in token names a key (kid) your organisation does not publish.")
        )
    return key


def forget_all() -> None:
    """Empty this process's cache (for tests and after settings change)."""
    with _lock:
        _cache.clear()
        _unknown_kid_fetched_at.clear()
