"""The OpenID Provider fixture in Chromium: the sign-in completes on its own through the real
/auth (redirects, cookies and the provider's self-submitting forms), a second account takes
over the provider session, and RP-initiated logout comes back to the registered address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.browser.conftest import LiveServer
from tests.oidc_provider import OidcProvider


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def rp(oidc_provider: OidcProvider, live_server: LiveServer) -> Iterator[OAuth2Session]:
    """A client whose redirect URIs are the live server's front page (any real page will do:
    the test reads the code from the address the browser lands on)."""
    home = f"{live_server.url}/"
    client_id, secret = oidc_provider.register_client([home], [home])
    with OAuth2Session(
        client_id,
        secret,
        scope="openid email profile",
        redirect_uri=home,
        code_challenge_method="S256",
    ) as session:
        yield session


def sign_in_in_browser(
    oidc_provider: OidcProvider, rp: OAuth2Session, page: Any, home: str, **params: str
) -> dict[str, str]:
    """Open the authorization request in the page; the query of the page it lands on."""
    verifier = generate_token(48)
    url, _state = rp.create_authorization_url(
        oidc_provider.metadata["authorization_endpoint"],
        code_verifier=verifier,
        nonce="n",
        **params,
    )
    page.goto(url)
    page.wait_for_url(lambda u: u.startswith(f"{home}?"))
    answer = query(page.url)
    if "code" in answer:
        token = rp.fetch_token(
            oidc_provider.metadata["token_endpoint"],
            authorization_response=page.url,
            code_verifier=verifier,
        )
        keys = jwt.PyJWKClient(oidc_provider.metadata["jwks_uri"])
        claims = jwt.decode(
            token["id_token"],
            keys.get_signing_key_from_jwt(token["id_token"]).key,
            algorithms=["RS256"],
            audience=rp.client_id,
            issuer=oidc_provider.issuer,
        )
        answer.update(sub=claims["sub"], id_token=token["id_token"])
    return answer


def test_chromium_signs_in_switches_account_and_signs_out_at_the_provider(
    oidc_provider: OidcProvider, live_server: LiveServer, rp: OAuth2Session, page: Any
) -> None:
    home = f"{live_server.url}/"
    oidc_provider.add_account("chromium-a", "a@example.com", name="Ada")
    oidc_provider.add_account("chromium-b", "b@example.com", name="Bea")

    oidc_provider.next_login("chromium-a")
    assert sign_in_in_browser(oidc_provider, rp, page, home)["sub"] == "chromium-a"

    oidc_provider.next_login("chromium-b")
    second = sign_in_in_browser(oidc_provider, rp, page, home)
    assert second["sub"] == "chromium-b"

    logout = (
        oidc_provider.metadata["end_session_endpoint"]
        + "?"
        + urlencode(
            {"id_token_hint": second["id_token"], "post_logout_redirect_uri": home, "state": "bye"}
        )
    )
    page.goto(logout)
    page.wait_for_url(f"{home}?state=bye")

    # Signed out at the provider: a silent authorization now needs a sign-in.
    silent = sign_in_in_browser(oidc_provider, rp, page, home, prompt="none")
    assert silent["error"] == "login_required"
    assert "code" not in silent
