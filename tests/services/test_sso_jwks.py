"""Single sign-on with the organisation's published keys (a JWKS URL; portal/services/jwks.py):
saving the URL fetches it once and refuses one that answers no usable key set, or that the
address rules forbid; a token's `kid` picks the key; rotated keys are fetched again when a
token names a new kid (at most once a minute), and after ten minutes anyway. The key set is
served by a real HTTP server on loopback (tests/jwks_server.py)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from portal.extensions import db
from portal.models import SsoSettings, User
from portal.models.user import Role
from portal.services import jwks, sso
from portal.services.errors import DomainError
from tests.jwks_server import KeyServer, public_jwk, run_key_server

AUDIENCE = "https://feedback.example.org"


def claims(**changes: Any) -> dict[str, Any]:
    """What the organisation's server signs: a customer, for us, for a few minutes."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "email": f"ada{secrets.token_hex(3)}@example.com",
        "name": "Ada Lovelace",
        "aud": AUDIENCE,
        "exp": now + timedelta(minutes=5),
        "jti": secrets.token_hex(16),
    }
    values.update(changes)
    return values


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Ports are reused between tests: keys cached for one server must not answer for the next.
    jwks.forget_all()
    yield
    jwks.forget_all()


@pytest.fixture
def loopback_trusted(change_settings: Callable[..., Any]) -> None:
    """The operator trusts 127.0.0.1 (as PORTAL_TRUSTED_PRIVATE_HOSTS would say)."""
    change_settings(trusted_private_hosts=frozenset({"127.0.0.1"}))


@pytest.fixture
def key_server(loopback_trusted: None) -> Iterator[KeyServer]:
    with run_key_server() as server:
        yield server


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN)


def use(
    admin: User, server: KeyServer, algorithm: sso.SsoAlgorithm = sso.SsoAlgorithm.RS256
) -> SsoSettings:
    settings = sso.use_jwks_url(admin, algorithm=algorithm, jwks_url=server.url, audience=AUDIENCE)
    db.session.commit()
    return settings


def signed(private: Any, kid: str | None, algorithm: str = "RS256", **changes: Any) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims(**changes), private, algorithm, headers=headers)


# Saving the URL ------------------------------------------------------------------------------


def test_a_jwks_url_is_fetched_once_on_saving_and_its_kid_signs_a_customer_in(
    key_server: KeyServer, admin: User
) -> None:
    private = rsa_key()
    key_server.publish(public_jwk(private, "k1"))
    settings = use(admin, key_server)
    assert (settings.jwks_url, settings.public_key, settings.secret) == (key_server.url, None, None)
    assert key_server.fetches == 1
    user, created = sso.sign_in_with_token(signed(private, "k1", email="ada@example.com"))
    assert created and user.email == "ada@example.com"
    # The keys fetched on saving were kept: the token needed no fetch of its own.
    assert key_server.fetches == 1


def test_es256_keys_from_a_jwks_sign_in(key_server: KeyServer, admin: User) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    key_server.publish(public_jwk(private, "ec-1"))
    use(admin, key_server, sso.SsoAlgorithm.ES256)
    user, created = sso.sign_in_with_token(signed(private, "ec-1", "ES256"))
    assert created and user.verified_at is not None


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"status": 404}, "answered HTTP 404"),
        ({"body": b"<html>not a key set</html>"}, "did not answer JSON"),
        ({"body": b'{"issuer": "https://org.example"}'}, 'JSON with "keys"'),
        ({"body": b'{"keys": []}'}, "holds no public RS256 key"),
        ({"body": b'{"keys": [' + b'{"kty": "oct", "k": "c2VjcmV0"},' * 4000 + b"{}]}"}, "64 KB"),
    ],
)
def test_a_url_that_does_not_answer_a_usable_key_set_is_refused_saying_why(
    key_server: KeyServer, admin: User, answer: dict[str, Any], words: str
) -> None:
    for name, value in answer.items():
        setattr(key_server, name, value)
    with pytest.raises(jwks.JwksRefused) as refused:
        use(admin, key_server)
    assert words in refused.value.message
    db.session.rollback()
    assert sso.current_settings() is None


def test_a_key_set_holding_only_keys_of_another_kind_is_refused(
    key_server: KeyServer, admin: User
) -> None:
    key_server.publish(
        public_jwk(ec.generate_private_key(ec.SECP256R1()), "ec"),
        public_jwk(rsa_key(), "enc", use="enc"),
        public_jwk(rsa_key(), "ps", alg="PS256"),
        {k: v for k, v in public_jwk(rsa_key(), "x").items() if k != "kid"},
    )
    with pytest.raises(jwks.JwksRefused, match="no public RS256 key"):
        use(admin, key_server)


def test_a_key_set_that_publishes_a_private_key_is_not_used(
    key_server: KeyServer, admin: User
) -> None:
    private = rsa_key()
    leaked = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private))
    key_server.publish({**leaked, "kid": "leaked"})
    with pytest.raises(jwks.JwksRefused, match="no public RS256 key"):
        use(admin, key_server)


def test_a_url_that_does_not_answer_in_time_is_refused(
    key_server: KeyServer, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwks, "TIMEOUT_SECONDS", 0.3)
    key_server.publish(public_jwk(rsa_key(), "k1"))
    key_server.delay = 2
    with pytest.raises(jwks.JwksRefused, match="did not answer within"):
        use(admin, key_server)


def test_nothing_answering_at_the_url_is_refused(loopback_trusted: None, admin: User) -> None:
    with run_key_server() as server:
        url = server.url
    with pytest.raises(jwks.JwksRefused, match="could not be reached"):
        sso.use_jwks_url(admin, algorithm=sso.SsoAlgorithm.RS256, jwks_url=url, audience=AUDIENCE)


def test_hs256_takes_no_key_set(key_server: KeyServer, admin: User) -> None:
    with pytest.raises(DomainError):
        sso.use_jwks_url(
            admin, algorithm=sso.SsoAlgorithm.HS256, jwks_url=key_server.url, audience=AUDIENCE
        )
    assert key_server.fetches == 0


# The address rules (checked as functions: nothing here connects anywhere) -------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://keys.example.com/jwks.json",  # plain http from a host nobody trusts
        "https://127.0.0.1/jwks.json",
        "https://localhost/jwks.json",
        "https://LocalHost./jwks.json",
        "https://keys.internal/jwks.json",
        "https://10.1.2.3/jwks.json",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/jwks.json",
        "https://[::ffff:127.0.0.1]/jwks.json",
        "https://2130706433/jwks.json",  # 127.0.0.1 spelled as one number
        "https://user:pw@keys.example.com/jwks.json",
        "ftp://keys.example.com/jwks.json",
        "file:///etc/passwd",
        "",
    ],
)
def test_a_url_the_address_rules_forbid_is_refused_before_any_fetch(url: str) -> None:
    with pytest.raises(jwks.JwksRefused):
        jwks.check_url(url)


def test_a_name_that_resolves_to_an_internal_address_is_refused_at_fetch() -> None:
    # "localhost" resolves from the hosts file: no lookup leaves the machine, and nothing is
    # connected to. A public-looking name pointed inside is refused the same way.
    with pytest.raises(jwks.JwksRefused, match="public addresses"):
        jwks._resolve("localhost", 443)


def test_a_forbidden_url_is_refused_on_saving_and_nothing_changes(admin: User) -> None:
    with pytest.raises(jwks.JwksRefused, match="public addresses"):
        sso.use_jwks_url(
            admin,
            algorithm=sso.SsoAlgorithm.RS256,
            jwks_url="https://192.168.1.10/jwks.json",
            audience=AUDIENCE,
        )
    db.session.rollback()
    assert sso.current_settings() is None


def test_a_public_https_url_passes_and_a_trusted_host_may_be_private_and_plain_http(
    change_settings: Callable[..., Any],
) -> None:
    assert jwks.check_url(" https://keys.example.com/jwks.json ") == (
        "https://keys.example.com/jwks.json"
    )
    with pytest.raises(jwks.JwksRefused):
        jwks.check_url("http://idp.corp.example/jwks.json")
    change_settings(trusted_private_hosts=frozenset({"idp.corp.example"}))
    assert jwks.check_url("http://idp.corp.example/jwks.json")
    # Only that name: trusting it trusts no other.
    with pytest.raises(jwks.JwksRefused):
        jwks.check_url("https://evil.idp.corp.example.internal/jwks.json")


def test_the_relaxed_webhook_settings_do_not_relax_the_key_set_rules(
    change_settings: Callable[..., Any],
) -> None:
    change_settings(webhook_allow_http=True, webhook_allow_private_addresses=True)
    for url in ("http://keys.example.com/jwks.json", "https://127.0.0.1/jwks.json"):
        with pytest.raises(jwks.JwksRefused):
            jwks.check_url(url)


# Kids, rotation and the cache -----------------------------------------------------------------


def test_a_rotated_key_is_fetched_when_a_token_names_it_and_the_retired_one_stops_working(
    key_server: KeyServer, admin: User
) -> None:
    old, new = rsa_key(), rsa_key()
    key_server.publish(public_jwk(old, "2026-11"))
    use(admin, key_server)
    assert sso.sign_in_with_token(signed(old, "2026-11"))
    key_server.publish(public_jwk(new, "2026-12"))
    user, _ = sso.sign_in_with_token(signed(new, "2026-12", email="grace@example.com"))
    assert user.email == "grace@example.com"
    assert key_server.fetches == 2
    with pytest.raises(sso.SsoRefused, match="does not publish"):
        sso.sign_in_with_token(signed(old, "2026-11"))


def test_a_token_naming_an_unknown_kid_is_refused_clearly(
    key_server: KeyServer, admin: User
) -> None:
    private = rsa_key()
    key_server.publish(public_jwk(private, "k1"))
    use(admin, key_server)
    token = signed(private, "made-up", email="mallory@example.com")
    with pytest.raises(sso.SsoRefused, match=r"names a key \(kid\) your organisation does not"):
        sso.sign_in_with_token(token)
    db.session.rollback()
    assert db.session.scalar(sa.select(User).where(User.email == "mallory@example.com")) is None


def test_made_up_kids_make_at_most_one_fetch_a_minute(key_server: KeyServer, admin: User) -> None:
    key_server.publish(public_jwk(rsa_key(), "k1"))
    use(admin, key_server)
    start = 1000.0
    jwks.remember(key_server.url, "RS256", jwks.fetch_keys(key_server.url, "RS256"), now=start)
    fetched = key_server.fetches
    for second, kid in enumerate(["a", "b", "c", "d"]):
        with pytest.raises(jwks.KeyNotFound):
            jwks.signing_key(key_server.url, "RS256", kid, now=start + 1 + second * 10)
    assert key_server.fetches == fetched + 1
    with pytest.raises(jwks.KeyNotFound):
        jwks.signing_key(key_server.url, "RS256", "e", now=start + 62)
    assert key_server.fetches == fetched + 2
    # A known kid never fetches while the keys are fresh.
    assert jwks.signing_key(key_server.url, "RS256", "k1", now=start + 63)
    assert key_server.fetches == fetched + 2


def test_keys_are_fetched_again_after_ten_minutes(key_server: KeyServer, admin: User) -> None:
    key_server.publish(public_jwk(rsa_key(), "k1"))
    use(admin, key_server)
    start = 5000.0
    jwks.remember(key_server.url, "RS256", jwks.fetch_keys(key_server.url, "RS256"), now=start)
    fetched = key_server.fetches
    jwks.signing_key(key_server.url, "RS256", "k1", now=start + jwks.LIFETIME_SECONDS - 1)
    assert key_server.fetches == fetched
    # Withdrawn meanwhile: the fresh fetch drops it.
    key_server.publish(public_jwk(rsa_key(), "k2"))
    with pytest.raises(jwks.KeyNotFound):
        jwks.signing_key(key_server.url, "RS256", "k1", now=start + jwks.LIFETIME_SECONDS + 1)
    assert key_server.fetches == fetched + 1


def test_a_token_is_refused_clearly_when_the_key_set_cannot_be_fetched(
    loopback_trusted: None, admin: User
) -> None:
    private = rsa_key()
    with run_key_server() as server:
        server.publish(public_jwk(private, "k1"))
        use(admin, server)
    jwks.forget_all()  # another process, or ten minutes later: nothing cached
    with pytest.raises(sso.SsoRefused, match="could not fetch your organisation's keys"):
        sso.sign_in_with_token(signed(private, "k1"))


def test_a_token_without_a_kid_is_refused(key_server: KeyServer, admin: User) -> None:
    private = rsa_key()
    key_server.publish(public_jwk(private, "k1"))
    use(admin, key_server)
    with pytest.raises(sso.SsoRefused, match=r"does not name its key \(kid\)"):
        sso.sign_in_with_token(signed(private, None))


# The token's own rules hold for published keys too ----------------------------------------


def _public_pem(private: rsa.RSAPrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    "forge",
    [
        "expired",
        "not yet valid",
        "another audience",
        "signed by a key not published",
        "alg none",
        "public key as an HS256 secret",
    ],
)
def test_a_bad_token_is_refused_with_published_keys_too(
    key_server: KeyServer, admin: User, forge: str
) -> None:
    private = rsa_key()
    key_server.publish(public_jwk(private, "k1"))
    use(admin, key_server)
    now = datetime.now(UTC)
    if forge == "expired":
        token = signed(private, "k1", exp=now - timedelta(minutes=2))
    elif forge == "not yet valid":
        token = signed(private, "k1", nbf=now + timedelta(minutes=3))
    elif forge == "another audience":
        token = signed(private, "k1", aud="https://another.example.org")
    elif forge == "signed by a key not published":
        token = signed(rsa_key(), "k1")
    elif forge == "alg none":
        token = jwt.encode(claims(), None, "none", headers={"kid": "k1"})
    else:
        # PyJWT refuses to make this one, so it is made by hand.
        import base64
        import hashlib
        import hmac

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        body = {**claims(), "exp": int((now + timedelta(minutes=5)).timestamp())}
        signing_input = (
            b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
            + "."
            + b64(json.dumps(body).encode())
        )
        mac = hmac.new(_public_pem(private), signing_input.encode(), hashlib.sha256).digest()
        token = signing_input + "." + b64(mac)
    with pytest.raises(sso.SsoRefused):
        sso.sign_in_with_token(token)


def test_a_replayed_token_is_refused_with_published_keys_too(
    key_server: KeyServer, admin: User
) -> None:
    private = rsa_key()
    key_server.publish(public_jwk(private, "k1"))
    use(admin, key_server)
    token = signed(private, "k1")
    sso.sign_in_with_token(token)
    db.session.commit()
    with pytest.raises(sso.SsoRefused, match="used already"):
        sso.sign_in_with_token(token)
