"""What the portal checks in a provider's answer (portal/services/oidc.py), against a provider
that misbehaves on purpose: a real HTTP server on loopback serving a discovery document, a key
set and a token endpoint whose ID token each test writes (signed with a real RSA key). The
well-behaved provider's journeys are in tests/web/test_provider_sign_in_web.py."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from portal.services import oidc, oidc_http
from portal.services.environment import Settings
from portal.services.identity_providers import ProviderConfig

CLIENT_ID = "portal-client"
REDIRECT = "http://localhost/sign-in/bad/callback"


@dataclass
class BadProvider:
    """A provider whose every answer a test chooses."""

    url: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, private=True))
    discovery: dict[str, Any] = field(default_factory=dict)
    id_token: str = ""

    @property
    def issuer(self) -> str:
        return self.url

    def config(self) -> ProviderConfig:
        return ProviderConfig(
            key="bad",
            name="Bad",
            kind="oidc",
            discovery_url=f"{self.url}/.well-known/openid-configuration",
            client_id=CLIENT_ID,
            client_secret="secret",
            scopes="openid email",
        )

    def sign(self, claims: dict[str, Any], key: Any = None, alg: str = "RS256") -> str:
        signing_key = key or self.key
        header = {"alg": alg, "kid": signing_key.kid} if alg != "none" else {"alg": "none"}
        return jwt.encode(header, claims, signing_key)


@pytest.fixture
def bad(change_settings: Callable[..., Settings]) -> Iterator[BadProvider]:
    state = BadProvider()
    state.key.ensure_kid()

    class Handler(BaseHTTPRequestHandler):
        def _json(self, body: object) -> None:
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                self._json(state.discovery)
            elif self.path == "/jwks":
                self._json(KeySet([state.key]).as_dict(private=False))
            else:
                self.send_response(404)
                self.end_headers()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._json({"access_token": "at", "token_type": "Bearer", "id_token": state.id_token})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    state.discovery = {
        "issuer": state.url,
        "authorization_endpoint": f"{state.url}/auth",
        "token_endpoint": f"{state.url}/token",
        "jwks_uri": f"{state.url}/jwks",
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    change_settings(trusted_private_hosts=frozenset({"127.0.0.1"}))
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def claims(provider: BadProvider, nonce: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": provider.issuer,
        "sub": "user-1",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "email": "ann@example.com",
        "email_verified": True,
        "name": "Ann",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def finish_with(provider: BadProvider, make_token: Callable[[str], str]) -> oidc.Assertion:
    """Start a sign-in, let the provider answer with the token made for its nonce, finish."""
    _, pending = oidc.begin(provider.config(), REDIRECT)
    provider.id_token = make_token(pending["nonce"])
    answer = {"state": pending["state"], "code": "the-code", "iss": provider.issuer}
    return oidc.finish(provider.config(), pending, answer, REDIRECT)


def test_a_good_id_token_says_who_signed_in(bad: BadProvider) -> None:
    said = finish_with(bad, lambda nonce: bad.sign(claims(bad, nonce)))
    assert (said.issuer, said.subject, said.email, said.email_verified) == (
        bad.issuer,
        "user-1",
        "ann@example.com",
        True,
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"aud": "another-client"}, "aud"),
        ({"iss": "https://elsewhere.example"}, "iss"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"sub": None}, "sub"),
    ],
)
def test_an_id_token_not_for_us_or_past_its_time_is_refused(
    bad: BadProvider, change: dict[str, Any], words: str
) -> None:
    with pytest.raises(oidc.SignInRefused, match=words):
        finish_with(bad, lambda nonce: bad.sign(claims(bad, nonce, **change)))


def test_an_id_token_for_another_sign_in_is_refused_by_its_nonce(bad: BadProvider) -> None:
    with pytest.raises(oidc.SignInRefused, match="nonce"):
        finish_with(bad, lambda nonce: bad.sign(claims(bad, "another-sign-ins-nonce")))


def test_an_id_token_signed_with_another_key_is_refused(bad: BadProvider) -> None:
    stranger = RSAKey.generate_key(2048, private=True)
    stranger.ensure_kid()
    with pytest.raises(oidc.SignInRefused, match="did not pass our checks"):
        finish_with(bad, lambda nonce: bad.sign(claims(bad, nonce), key=stranger))


def test_a_shared_secret_or_unsigned_id_token_is_refused(bad: BadProvider) -> None:
    secret = OctKey.generate_key(256)
    secret.ensure_kid()
    with pytest.raises(oidc.SignInRefused):
        finish_with(bad, lambda nonce: bad.sign(claims(bad, nonce), key=secret, alg="HS256"))
    with pytest.raises(oidc.SignInRefused):
        finish_with(bad, lambda nonce: unsigned(claims(bad, nonce)))


def unsigned(payload: dict[str, Any]) -> str:
    """A token saying `alg: none`, written by hand (no library will sign it so)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(payload)}."


def test_a_discovery_document_naming_another_issuer_is_refused(bad: BadProvider) -> None:
    # A provider may not speak for another: the issuer must be its discovery URL's own base.
    bad.discovery = {**bad.discovery, "issuer": "https://accounts.google.com"}
    with pytest.raises(oidc.SignInRefused, match="another issuer"):
        oidc.begin(bad.config(), REDIRECT)


def test_an_answer_naming_another_issuer_is_refused(bad: BadProvider) -> None:
    _, pending = oidc.begin(bad.config(), REDIRECT)
    answer = {"state": pending["state"], "code": "c", "iss": "https://attacker.example"}
    with pytest.raises(oidc.SignInRefused, match="mix-up"):
        oidc.finish(bad.config(), pending, answer, REDIRECT)


def test_an_answer_without_iss_is_refused_when_the_provider_promises_it(bad: BadProvider) -> None:
    bad.discovery = {**bad.discovery, "authorization_response_iss_parameter_supported": True}
    _, pending = oidc.begin(bad.config(), REDIRECT)
    with pytest.raises(oidc.SignInRefused, match="mix-up"):
        oidc.finish(bad.config(), pending, {"state": pending["state"], "code": "c"}, REDIRECT)


def test_a_sign_in_older_than_its_lifetime_is_refused(bad: BadProvider) -> None:
    _, pending = oidc.begin(bad.config(), REDIRECT)
    pending["started"] -= oidc.PENDING_LIFETIME_SECONDS + 1
    with pytest.raises(oidc.SignInRefused, match="expired"):
        oidc.finish(bad.config(), pending, {"state": pending["state"], "code": "c"}, REDIRECT)


# The address rules -----------------------------------------------------------------------


def test_a_provider_at_an_internal_address_is_never_called(
    change_settings: Callable[..., Settings],
) -> None:
    change_settings(trusted_private_hosts=frozenset())
    for url in (
        "https://127.0.0.1/.well-known/openid-configuration",
        "https://10.0.0.8/.well-known/openid-configuration",
        "https://[::ffff:169.254.169.254]/latest",
    ):
        with pytest.raises(oidc_http.ProviderUnreachable, match="internal"):
            oidc_http.get_json(url)


def test_plain_http_is_only_for_a_trusted_host(
    change_settings: Callable[..., Settings],
) -> None:
    change_settings(trusted_private_hosts=frozenset())
    with pytest.raises(oidc_http.ProviderUnreachable, match="https"):
        oidc_http.checked_url("http://id.example.org/.well-known/openid-configuration")
    change_settings(trusted_private_hosts=frozenset({"id.example.org"}))
    assert oidc_http.checked_url("http://id.example.org/x") == "http://id.example.org/x"
