"""JWT single sign-on through POST /sso, as the organisation's page sends it (no CSRF token,
no cookies): a good token signs the customer in and returns them to our page they came from;
an expired, not-yet-valid, replayed, wrongly signed or wrongly addressed token, `alg: none`
and an RS256 public key used as an HS256 secret each sign nobody in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import runpy
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import Role, User
from portal.services import jwks, sso
from tests.helpers import login
from tests.helpers import post as form_post
from tests.jwks_server import KeyServer, public_jwk, run_key_server

AUDIENCE = "https://feedback.example.org"
# What gunicorn's Logger reads from its config when made.
LOGGER_CONFIG = {
    "errorlog": "-",
    "accesslog": None,
    "loglevel": "info",
    "syslog": False,
    "capture_output": False,
    "logconfig": None,
    "logconfig_dict": {},
    "logconfig_json": None,
    "disable_redirect_access_to_syslog": False,
    "access_log_format": "%(q)s",
    "user": 0,
    "group": 0,
    "umask": 0,
}


def claims(**changes: Any) -> dict[str, Any]:
    """A customer, for us, for five minutes, with a token id of its own."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "email": f"ada{secrets.token_hex(3)}@example.com",
        "name": "Ada Lovelace",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": secrets.token_hex(16),
    }
    values.update(changes)
    return values


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_ready(values: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in values.items()}


def handmade(header: dict[str, str], payload: dict[str, Any], key: bytes | None) -> str:
    """A token PyJWT would refuse to make: `alg: none`, or HMAC keyed with a public key."""
    signing_input = (
        _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(_json_ready(payload)).encode())
    )
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return signing_input + "." + _b64(signature)


def post(client: FlaskClient, token: str, return_to: str = "/roadmap") -> TestResponse:
    return client.post("/sso", data={"token": token, "return_to": return_to})


def signed_in_email(client: FlaskClient) -> str | None:
    page = client.get("/account/")
    if page.status_code != 200:
        return None
    users = db.session.scalars(sa.select(User.email)).all()
    text = page.get_data(as_text=True)
    return next((email for email in users if email in text), None)


def accounts_named(email: str) -> int:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == email))
        or 0
    )


@pytest.fixture
def secret(make_user: Callable[..., User]) -> str:
    made = sso.use_shared_secret(make_user(role=Role.ADMIN), audience=AUDIENCE)
    db.session.commit()
    return made.secret


@pytest.fixture
def rsa_key(make_user: Callable[..., User]) -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    sso.use_public_key(
        make_user(role=Role.ADMIN),
        algorithm=sso.SsoAlgorithm.RS256,
        public_key=public_pem,
        audience=AUDIENCE,
    )
    db.session.commit()
    return private, public_pem


def test_a_good_token_signs_the_customer_in_and_returns_them_to_our_page(
    client: FlaskClient, secret: str
) -> None:
    wanted = claims()
    answer = post(client, jwt.encode(wanted, secret, "HS256"), return_to="/roadmap?x=1")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/roadmap?x=1"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert signed_in_email(client) == wanted["email"]
    account = db.session.scalar(sa.select(User).where(User.email == wanted["email"]))
    assert account is not None and account.verified_at is not None


def test_a_return_to_off_the_site_goes_to_the_board_instead(
    client: FlaskClient, secret: str
) -> None:
    answer = post(client, jwt.encode(claims(), secret, "HS256"), return_to="//evil.example/")
    assert answer.status_code == 302
    assert "evil.example" not in answer.headers["Location"]


def test_a_good_rs256_token_signs_in(client: FlaskClient, rsa_key) -> None:
    private, _ = rsa_key
    wanted = claims()
    assert post(client, jwt.encode(wanted, private, "RS256")).status_code == 302
    assert signed_in_email(client) == wanted["email"]


def _refused(client: FlaskClient, token: str, email: str) -> None:
    answer = post(client, token)
    assert answer.status_code == 400
    assert "token" in answer.get_data(as_text=True)
    assert signed_in_email(client) is None
    assert accounts_named(email) == 0


def test_an_expired_token_is_refused(client: FlaskClient, secret: str) -> None:
    past = datetime.now(UTC) - timedelta(minutes=3)
    wanted = claims(iat=past - timedelta(minutes=5), exp=past)
    _refused(client, jwt.encode(wanted, secret, "HS256"), wanted["email"])


def test_a_token_not_yet_valid_is_refused(client: FlaskClient, secret: str) -> None:
    wanted = claims(nbf=datetime.now(UTC) + timedelta(minutes=3))
    _refused(client, jwt.encode(wanted, secret, "HS256"), wanted["email"])


def test_a_replayed_token_is_refused(
    client: FlaskClient, make_client: Callable[[], FlaskClient], secret: str
) -> None:
    token = jwt.encode(claims(), secret, "HS256")
    assert post(client, token).status_code == 302
    other = make_client()
    answer = post(other, token)
    assert answer.status_code == 400
    assert "used already" in answer.get_data(as_text=True)
    assert signed_in_email(other) is None


def test_a_token_with_a_wrong_signature_is_refused(client: FlaskClient, secret: str) -> None:
    wanted = claims()
    _refused(client, jwt.encode(wanted, secret + "-not-ours", "HS256"), wanted["email"])


def test_a_token_for_another_audience_is_refused(client: FlaskClient, secret: str) -> None:
    wanted = claims(aud="https://another.example.org")
    _refused(client, jwt.encode(wanted, secret, "HS256"), wanted["email"])


def test_a_token_with_alg_none_is_refused(client: FlaskClient, secret: str) -> None:
    wanted = claims()
    _refused(client, handmade({"alg": "none", "typ": "JWT"}, wanted, None), wanted["email"])


def test_an_rs256_public_key_used_as_an_hs256_secret_is_refused(
    client: FlaskClient, rsa_key
) -> None:
    _, public_pem = rsa_key
    wanted = claims()
    forged = handmade({"alg": "HS256", "typ": "JWT"}, wanted, public_pem.encode())
    _refused(client, forged, wanted["email"])


def test_a_token_for_a_staff_address_signs_nobody_in_and_says_why(
    client: FlaskClient, secret: str, make_user: Callable[..., User]
) -> None:
    make_user(email="owner@example.com", role=Role.STAFF)
    answer = post(client, jwt.encode(claims(email="owner@example.com"), secret, "HS256"))
    assert answer.status_code == 403
    assert "member of staff" in answer.get_data(as_text=True)
    assert signed_in_email(client) is None


def test_a_token_in_a_link_signs_in_and_no_page_learns_the_address(
    client: FlaskClient, secret: str
) -> None:
    wanted = claims()
    token = jwt.encode(wanted, secret, "HS256")
    answer = client.get("/sso", query_string={"token": token, "return_to": "/roadmap"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/roadmap"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert signed_in_email(client) == wanted["email"]


def test_a_refused_token_in_a_link_is_refused_without_a_referrer_either(
    client: FlaskClient, secret: str
) -> None:
    token = jwt.encode(claims(aud="https://another.example.org"), secret, "HS256")
    answer = client.get("/sso", query_string={"token": token})
    assert answer.status_code == 400
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_access_log_never_carries_a_token_from_a_query_string() -> None:
    config = runpy.run_path(str(Path(__file__).parents[2] / "gunicorn.conf.py"))
    logger = config["RedactingLogger"](SimpleNamespace(**LOGGER_CONFIG))
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/sso?token=eyJhbGciOi.secret.part&return_to=/roadmap",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/sso",
        "QUERY_STRING": "token=eyJhbGciOi.secret.part&return_to=/roadmap",
        "HTTP_REFERER": "https://org.example/out?token=eyJhbGciOi.secret.part",
    }
    atoms = logger.atoms(
        SimpleNamespace(status="302 FOUND", sent=0, headers=[("Location", "/roadmap")]),
        [("Referer", environ["HTTP_REFERER"])],
        environ,
        timedelta(milliseconds=3),
    )
    line = json.dumps(atoms)
    assert "secret.part" not in line
    assert atoms["q"] == "token=[redacted]&return_to=/roadmap"
    assert "return_to=/roadmap" in atoms["r"]


def test_the_sso_post_needs_no_csrf_token(client: FlaskClient, secret: str) -> None:
    assert post(client, jwt.encode(claims(), secret, "HS256")).status_code == 302


# The admin's page -------------------------------------------------------------------------

_SECRET = re.compile(r'id="new-secret"[^>]*value="([^"]+)"')


def _admin(make_client: Callable[[], FlaskClient], make_user: Callable[..., User]) -> FlaskClient:
    client = make_client()
    login(client, make_user(role=Role.ADMIN).email)
    return client


def test_the_admin_sees_the_shared_secret_once_with_code_that_signs_a_working_token(
    make_client: Callable[[], FlaskClient],
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = _admin(make_client, make_user)
    assert 'href="/admin/sso"' in admin.get("/admin/sso").get_data(as_text=True)
    made = form_post(admin, "/admin/sso/secret", {"audience": AUDIENCE})
    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"
    body = made.get_data(as_text=True)
    secret = _SECRET.search(body).group(1)
    assert 'algorithm="HS256"' in body and "jwt.encode(" in body and "jwt.sign(" in body
    # Never again: the page afterwards names the algorithm, not the secret.
    later = admin.get("/admin/sso").get_data(as_text=True)
    assert secret not in later and "HS256" in later
    # What the page gave, its secret and its Python, signs a customer in.
    monkeypatch.setenv("SSO_SECRET", secret)
    namespace: dict[str, Any] = {}
    exec(_snippet(body, "python"), namespace)  # the page's own code, nothing else
    person = SimpleNamespace(
        id=3, email="grace@example.com", name="Grace", plan=None, monthly_value=0, segment=None
    )
    customer = make_client()
    assert post(customer, namespace["sso_token"](person)).status_code == 302
    assert signed_in_email(customer) == "grace@example.com"


def test_a_pasted_private_key_is_refused_and_what_was_typed_is_kept(
    make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> None:
    admin = _admin(make_client, make_user)
    private_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    answer = form_post(
        admin,
        "/admin/sso/key",
        {"algorithm": "RS256", "public_key": private_pem, "audience": "kept-audience"},
    )
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    assert "private key stays with you" in body
    assert "kept-audience" in body
    assert sso.current_settings() is None


def test_a_public_key_turns_rs256_sign_on_on(
    make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> None:
    admin = _admin(make_client, make_user)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    answer = form_post(
        admin,
        "/admin/sso/key",
        {"algorithm": "RS256", "public_key": public_pem, "audience": AUDIENCE},
    )
    assert answer.status_code == 302
    customer = make_client()
    assert post(customer, jwt.encode(claims(), private, "RS256")).status_code == 302


def test_staff_cannot_open_the_single_sign_on_page(
    make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> None:
    client = make_client()
    login(client, make_user(role=Role.STAFF).email)
    assert client.get("/admin/sso").status_code == 403


# Published keys (a JWKS URL) and what a token may say about the customer ------------------


@pytest.fixture
def key_server(change_settings: Callable[..., Any]) -> Iterator[KeyServer]:
    """The organisation's key set on loopback, which the operator trusts for these tests."""
    change_settings(trusted_private_hosts=frozenset({"127.0.0.1"}))
    jwks.forget_all()
    with run_key_server() as server:
        yield server
    jwks.forget_all()


def _snippet(page: str, name: str) -> str:
    found = re.search(rf'<code id="{name}-snippet">(.*?)</code>', page, re.DOTALL)
    assert found is not None
    return html.unescape(found.group(1))


def test_the_admin_turns_on_published_keys_and_the_pages_python_signs_a_working_token(
    make_client: Callable[[], FlaskClient],
    make_user: Callable[..., User],
    key_server: KeyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_server.publish(public_jwk(private, "2026-12"))
    admin = _admin(make_client, make_user)
    answer = form_post(
        admin,
        "/admin/sso/jwks",
        {"algorithm": "RS256", "jwks_url": key_server.url, "audience": AUDIENCE},
    )
    assert answer.status_code == 302
    page = admin.get("/admin/sso").get_data(as_text=True)
    assert key_server.url in page
    python, node = _snippet(page, "python"), _snippet(page, "node")
    for claim in ("external_id", "plan", "monthly_value", "segment"):
        assert claim in python and claim in node
    assert "keyid: process.env.SSO_KEY_ID" in node
    # Run the Python the page gives, as the organisation would.
    monkeypatch.setenv(
        "SSO_PRIVATE_KEY",
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )
    monkeypatch.setenv("SSO_KEY_ID", "2026-12")
    namespace: dict[str, Any] = {}
    exec(python, namespace)  # the page's own code, nothing else
    customer = SimpleNamespace(
        id=7, email="ada@example.com", name="Ada", plan="Pro", monthly_value=49.5, segment="SMB"
    )
    browser = make_client()
    assert post(browser, namespace["sso_token"](customer)).status_code == 302
    assert signed_in_email(browser) == "ada@example.com"
    account = db.session.scalar(sa.select(User).where(User.email == "ada@example.com"))
    assert account is not None
    assert (account.plan, account.monthly_value_cents, account.segment) == ("Pro", 4950, "SMB")


def test_a_jwks_url_the_address_rules_forbid_is_refused_and_what_was_typed_is_kept(
    make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> None:
    admin = _admin(make_client, make_user)
    answer = form_post(
        admin,
        "/admin/sso/jwks",
        {
            "algorithm": "ES256",
            "jwks_url": "https://169.254.169.254/keys",
            "audience": "kept-audience",
        },
    )
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "only from public addresses" in body
    assert "https://169.254.169.254/keys" in body and "kept-audience" in body
    assert sso.current_settings() is None


def test_a_jwks_url_without_a_key_for_the_algorithm_is_refused_saying_so(
    make_client: Callable[[], FlaskClient], make_user: Callable[..., User], key_server: KeyServer
) -> None:
    key_server.publish(
        public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa")
    )
    admin = _admin(make_client, make_user)
    answer = form_post(
        admin,
        "/admin/sso/jwks",
        {"algorithm": "ES256", "jwks_url": key_server.url, "audience": AUDIENCE},
    )
    assert answer.status_code == 422
    assert "holds no public ES256 key" in answer.get_data(as_text=True)
    assert sso.current_settings() is None


def test_a_token_naming_an_unknown_kid_signs_nobody_in_and_says_why(
    client: FlaskClient, make_user: Callable[..., User], key_server: KeyServer
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_server.publish(public_jwk(private, "k1"))
    sso.use_jwks_url(
        make_user(role=Role.ADMIN),
        algorithm=sso.SsoAlgorithm.RS256,
        jwks_url=key_server.url,
        audience=AUDIENCE,
    )
    db.session.commit()
    wanted = claims()
    answer = post(client, jwt.encode(wanted, private, "RS256", headers={"kid": "k9"}))
    assert answer.status_code == 400
    assert "does not publish" in html.unescape(answer.get_data(as_text=True))
    assert signed_in_email(client) is None
    assert accounts_named(wanted["email"]) == 0


def test_a_returning_customer_keeps_their_account_when_the_organisation_changes_their_address(
    make_client: Callable[[], FlaskClient], secret: str
) -> None:
    first = make_client()
    token = jwt.encode(claims(email="ada@old.example", external_id="cus_1"), secret, "HS256")
    assert post(first, token).status_code == 302
    later = make_client()
    token = jwt.encode(claims(email="ada@new.example", external_id="cus_1"), secret, "HS256")
    assert post(later, token).status_code == 302
    assert signed_in_email(later) == "ada@new.example"
    assert accounts_named("ada@old.example") == 0


def test_a_bad_attribute_signs_nobody_in_and_says_which(client: FlaskClient, secret: str) -> None:
    wanted = claims(monthly_value=-5)
    answer = post(client, jwt.encode(wanted, secret, "HS256"))
    assert answer.status_code == 400
    assert "monthly_value" in answer.get_data(as_text=True)
    assert signed_in_email(client) is None
    assert accounts_named(wanted["email"]) == 0
