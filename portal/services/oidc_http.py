"""The calls the portal makes to an identity provider (discovery, token, JWKS, userinfo, and
GitHub's API), each through the address classifier (portal/services/addresses.py).

A provider's URLs are typed by an admin, or read from a discovery document the provider
serves, so the portal must not be talked into calling inside its own network: every address
a host name resolves to must be public, unless the operator lists the host as trusted
(PORTAL_TRUSTED_PRIVATE_HOSTS: an in-house Keycloak, or 127.0.0.1 in the tests). The
connection goes to the address that was checked, whatever the name resolves to a moment
later. Plain http is allowed only to a trusted host; anything else must be https.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from portal.services import addresses, environment, pinned_http
from portal.services.errors import DomainError
from portal.services.wording import t

TIMEOUT_SECONDS = 10.0
# A discovery document, a key set or a token response is a few kilobytes.
MAX_RESPONSE_BYTES = 1024 * 1024


class ProviderUnreachable(DomainError):
    """The provider could not be asked: refused by the address rules, down, or answering
    something that is not JSON."""

    status_code = 400


@dataclass(frozen=True)
class Answer:
    """What the provider answered: the status and the JSON body (an empty dict if none)."""

    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _trusted(host: str) -> bool:
    return addresses.is_trusted_host(host, environment.current().settings.trusted_private_hosts)


def checked_url(url: str) -> str:
    """The URL, if the portal may call it: https (http only to a trusted host), a host, no
    password. ProviderUnreachable otherwise; the host's addresses are checked at each call."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError as exc:
        raise ProviderUnreachable(t("The sign-in provider's address is not a URL.")) from exc
    host = parts.hostname or ""
    if not host or parts.username or parts.password:
        raise ProviderUnreachable(t("The sign-in provider's address is not a URL."))
    if parts.scheme != "https" and not (parts.scheme == "http" and _trusted(host)):
        raise ProviderUnreachable(t("The sign-in provider must be reached over https."))
    return url


def _address_for(host: str, port: int) -> str:
    """The first address the host resolves to, if every one is allowed (all, not any: a name
    that also points inside must not be usable to reach inside)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProviderUnreachable(t("The sign-in provider could not be reached.")) from exc
    found = [str(info[4][0]) for info in infos]
    if not _trusted(host) and any(not addresses.is_public(a) for a in found):
        raise ProviderUnreachable(
            t("The sign-in provider's address is an internal one, which the portal never calls.")
        )
    return found[0]


def _request(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Answer:
    parts = urlsplit(checked_url(url))
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    address = _address_for(host, port)
    connection = pinned_http.connection(https, host, port, address, TIMEOUT_SECONDS)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Accept": "application/json", "User-Agent": "feedback-portal", **headers}
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read(MAX_RESPONSE_BYTES + 1)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        raise ProviderUnreachable(t("The sign-in provider could not be reached.")) from exc
    finally:
        connection.close()
    if len(raw) > MAX_RESPONSE_BYTES:
        raise ProviderUnreachable(t("The sign-in provider answered with too much."))
    if not raw.strip():
        return Answer(status, {})
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        if 200 <= status < 300:
            raise ProviderUnreachable(
                t("The sign-in provider answered with something we cannot read.")
            ) from exc
        return Answer(status, {})
    return Answer(status, parsed if isinstance(parsed, dict) else {"items": parsed})


def get_json(url: str, *, bearer: str | None = None) -> Answer:
    """GET a JSON document (a list comes back as {"items": [...]})."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return _request("GET", url, None, headers)


def post_form(
    url: str, form: dict[str, str], *, basic_auth: tuple[str, str] | None = None
) -> Answer:
    """POST a form (a token request), with HTTP Basic client authentication when given."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic_auth is not None:
        # RFC 6749 2.3.1: the id and secret are form-encoded before they are joined.
        user, secret = (urlencode({"x": part})[2:] for part in basic_auth)
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode(
            "ascii"
        )
    return _request("POST", url, urlencode(form).encode(), headers)
