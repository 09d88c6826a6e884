"""The OpenID Provider fixture is a real provider, checked without the portal: discovery, dynamic
registration, the authorization code flow with PKCE through the real endpoints, an ID token
whose signature, issuer, audience and nonce check out against the provider's JWKS, and
RP-initiated logout."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from tests.oidc_provider import OidcProvider, browse_to, self_submitting_form

# Nothing listens here: the flow stops at the redirect to it, as a user_agent would arrive.
REDIRECT_URI = "http://127.0.0.1:9/callback"
AFTER_LOGOUT = "http://127.0.0.1:9/signed-out"


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def registered(oidc_provider: OidcProvider) -> tuple[str, str]:
    """A client registered with this test's redirect URIs: (client_id, client_secret)."""
    return oidc_provider.register_client([REDIRECT_URI], [AFTER_LOGOUT])


@pytest.fixture
def rp(oidc_provider: OidcProvider, registered: tuple[str, str]) -> Iterator[OAuth2Session]:
    """The relying party's side: Authlib's OAuth2Session, using PKCE with S256."""
    client_id, client_secret = registered
    with OAuth2Session(
        client_id,
        client_secret,
        scope="openid email profile",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    ) as session:
        yield session


@pytest.fixture
def user_agent() -> Iterator[requests.Session]:
    """The person's browser: a plain HTTP client keeping the provider's cookies."""
    with requests.Session() as http:
        yield http


@pytest.fixture
def person(oidc_provider: OidcProvider) -> Callable[..., str]:
    """Add an account with a fresh subject; returns the subject."""

    def make(email: str = "alice@example.com", **kw: object) -> str:
        sub = f"user-{secrets.token_hex(4)}"
        oidc_provider.add_account(sub, email, **kw)  # type: ignore[arg-type]
        return sub

    return make


def start_sign_in(
    oidc_provider: OidcProvider,
    rp: OAuth2Session,
    user_agent: requests.Session,
    verifier: str,
    nonce: str,
    **params: str,
) -> str:
    """Send the browser to /auth and follow it back to the client; the callback's address."""
    url, _state = rp.create_authorization_url(
        oidc_provider.metadata["authorization_endpoint"],
        code_verifier=verifier,
        nonce=nonce,
        **params,
    )
    return browse_to(user_agent, url, REDIRECT_URI)


def verified_id_token(
    oidc_provider: OidcProvider, id_token: str, client_id: str, jwks_of: OidcProvider | None = None
) -> dict[str, object]:
    """The ID token's claims, once its signature checks out against the JWKS and its issuer
    and audience are right."""
    keys = jwt.PyJWKClient((jwks_of or oidc_provider).metadata["jwks_uri"])
    return dict(
        jwt.decode(
            id_token,
            keys.get_signing_key_from_jwt(id_token).key,
            algorithms=["RS256"],
            audience=client_id,
            issuer=oidc_provider.issuer,
        )
    )


def test_discovery_describes_a_code_flow_provider_with_pkce_and_registration(
    oidc_provider: OidcProvider,
) -> None:
    meta = requests.get(oidc_provider.discovery_url, timeout=10).json()
    issuer = oidc_provider.issuer
    assert urlsplit(issuer).hostname == "127.0.0.1"
    assert meta["issuer"] == issuer
    assert meta["authorization_endpoint"] == f"{issuer}/auth"
    assert meta["token_endpoint"] == f"{issuer}/token"
    assert meta["jwks_uri"].startswith(issuer)
    assert meta["registration_endpoint"].startswith(issuer)
    assert meta["end_session_endpoint"].startswith(issuer)
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"openid", "email", "profile"} <= set(meta["scopes_supported"])
    assert {"email", "email_verified", "name"} <= set(meta["claims_supported"])
    keys = requests.get(meta["jwks_uri"], timeout=10).json()["keys"]
    assert [(k["kty"], k["alg"]) for k in keys] == [("RSA", "RS256")]


def test_code_flow_with_pkce_gives_a_signed_id_token_with_the_accounts_claims(
    oidc_provider: OidcProvider,
    user_agent: requests.Session,
    rp: OAuth2Session,
    registered: tuple[str, str],
    person: Callable[..., str],
) -> None:
    sub = person("alice@example.com", name="Alice Liddell")
    oidc_provider.next_login(sub)
    verifier, nonce = generate_token(48), generate_token(20)

    callback = start_sign_in(oidc_provider, rp, user_agent, verifier, nonce)
    token = rp.fetch_token(
        oidc_provider.metadata["token_endpoint"],
        authorization_response=callback,
        code_verifier=verifier,
    )

    claims = verified_id_token(oidc_provider, token["id_token"], registered[0])
    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == registered[0]
    assert claims["nonce"] == nonce
    assert claims["sub"] == sub
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert claims["name"] == "Alice Liddell"
    userinfo = rp.get(oidc_provider.metadata["userinfo_endpoint"], timeout=10).json()
    assert userinfo["sub"] == sub and userinfo["email"] == "alice@example.com"


def test_an_unverified_address_comes_with_email_verified_false(
    oidc_provider: OidcProvider,
    user_agent: requests.Session,
    rp: OAuth2Session,
    registered: tuple[str, str],
    person: Callable[..., str],
) -> None:
    sub = person("bob@example.com", email_verified=False)
    oidc_provider.next_login(sub)
    verifier = generate_token(48)

    callback = start_sign_in(oidc_provider, rp, user_agent, verifier, "n-0")
    token = rp.fetch_token(
        oidc_provider.metadata["token_endpoint"],
        authorization_response=callback,
        code_verifier=verifier,
    )

    claims = verified_id_token(oidc_provider, token["id_token"], registered[0])
    assert claims["email"] == "bob@example.com"
    assert claims["email_verified"] is False


def test_token_refuses_a_missing_or_wrong_pkce_verifier(
    oidc_provider: OidcProvider,
    user_agent: requests.Session,
    rp: OAuth2Session,
    person: Callable[..., str],
) -> None:
    token_endpoint = oidc_provider.metadata["token_endpoint"]
    verifier = generate_token(48)
    oidc_provider.next_login(person())
    callback = start_sign_in(oidc_provider, rp, user_agent, verifier, "n-1")
    with pytest.raises(OAuthError) as missing:
        rp.fetch_token(token_endpoint, authorization_response=callback)
    assert missing.value.error == "invalid_grant"

    callback = start_sign_in(oidc_provider, rp, user_agent, verifier, "n-2")
    with pytest.raises(OAuthError) as wrong:
        rp.fetch_token(
            token_endpoint, authorization_response=callback, code_verifier=generate_token(48)
        )
    assert wrong.value.error == "invalid_grant"
    # The same code with the right verifier: the verifier was all that was wrong.
    token = rp.fetch_token(token_endpoint, authorization_response=callback, code_verifier=verifier)
    assert token["id_token"]


def test_an_authorization_request_without_a_code_challenge_is_refused(
    oidc_provider: OidcProvider, registered: tuple[str, str], person: Callable[..., str]
) -> None:
    oidc_provider.next_login(person())
    params = {
        "response_type": "code",
        "client_id": registered[0],
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "s-1",
    }
    url = f"{oidc_provider.metadata['authorization_endpoint']}?{urlencode(params)}"
    with requests.Session() as http:
        answer = query(browse_to(http, url, REDIRECT_URI))
    assert answer["error"] == "invalid_request"
    assert "PKCE" in answer["error_description"]
    assert "code" not in answer


def test_next_login_switches_account_over_an_existing_provider_session(
    oidc_provider: OidcProvider,
    user_agent: requests.Session,
    rp: OAuth2Session,
    registered: tuple[str, str],
    person: Callable[..., str],
) -> None:
    first, second = person("first@example.com"), person("second@example.com")
    token_endpoint = oidc_provider.metadata["token_endpoint"]
    subjects = []
    for sub in (first, second):
        oidc_provider.next_login(sub)
        verifier = generate_token(48)
        callback = start_sign_in(oidc_provider, rp, user_agent, verifier, "n")
        token = rp.fetch_token(
            token_endpoint, authorization_response=callback, code_verifier=verifier
        )
        subjects.append(verified_id_token(oidc_provider, token["id_token"], registered[0])["sub"])
    assert subjects == [first, second]


def test_a_refused_sign_in_returns_the_error_to_the_client(
    oidc_provider: OidcProvider, user_agent: requests.Session, rp: OAuth2Session
) -> None:
    oidc_provider.refuse_next_login()
    answer = query(start_sign_in(oidc_provider, rp, user_agent, generate_token(48), "n-3"))
    assert answer["error"] == "access_denied"
    assert "code" not in answer


def test_rp_initiated_logout_returns_to_the_registered_address_and_ends_the_session(
    oidc_provider: OidcProvider,
    user_agent: requests.Session,
    rp: OAuth2Session,
    registered: tuple[str, str],
    person: Callable[..., str],
) -> None:
    oidc_provider.next_login(person())
    verifier = generate_token(48)
    callback = start_sign_in(oidc_provider, rp, user_agent, verifier, "n-4")
    token = rp.fetch_token(
        oidc_provider.metadata["token_endpoint"],
        authorization_response=callback,
        code_verifier=verifier,
    )
    logout = (
        oidc_provider.metadata["end_session_endpoint"]
        + "?"
        + urlencode(
            {
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": AFTER_LOGOUT,
                "state": "bye-1",
            }
        )
    )

    page = user_agent.get(logout, timeout=10)
    action, fields = self_submitting_form(page.url, page.text)
    confirmed = user_agent.post(action, data=fields, allow_redirects=False, timeout=10)

    assert confirmed.is_redirect
    assert confirmed.headers["Location"] == f"{AFTER_LOGOUT}?state=bye-1"
    # Signed out at the provider: a silent authorization now needs a sign-in.
    answer = query(
        start_sign_in(oidc_provider, rp, user_agent, generate_token(48), "n-5", prompt="none")
    )
    assert answer["error"] == "login_required"


def test_a_second_provider_is_another_issuer_with_its_own_keys(
    oidc_provider: OidcProvider,
    user_agent: requests.Session,
    make_oidc_provider: Callable[..., OidcProvider],
    rp: OAuth2Session,
    registered: tuple[str, str],
    person: Callable[..., str],
) -> None:
    other = make_oidc_provider()
    assert other.issuer != oidc_provider.issuer
    oidc_provider.next_login(person())
    verifier = generate_token(48)
    callback = start_sign_in(oidc_provider, rp, user_agent, verifier, "n-6")
    token = rp.fetch_token(
        oidc_provider.metadata["token_endpoint"],
        authorization_response=callback,
        code_verifier=verifier,
    )

    with pytest.raises(jwt.PyJWKClientError):
        verified_id_token(oidc_provider, token["id_token"], registered[0], jwks_of=other)
    # Clients are the provider's own: the first one's client is unknown to the other.
    unknown = requests.get(
        other.metadata["authorization_endpoint"],
        params={"client_id": registered[0], "response_type": "code", "scope": "openid"},
        allow_redirects=False,
        timeout=10,
    )
    assert unknown.status_code == 400
    assert "invalid_client" in unknown.text
