"""Signing in through an identity provider: OpenID Connect (any issuer, found by its discovery
document) and GitHub's OAuth 2. The authorization code flow with PKCE (S256), `state` and
`nonce`.

`begin` makes what the browser must carry to the provider and back (the caller keeps it in
the signed session cookie, so the callback may land on any app instance); `finish` checks the
answer against it, redeems the code at the provider's token endpoint (with the PKCE verifier)
and returns who the provider says this is: an `Assertion`. Tokens are read and forgotten,
never stored. The ID token's signature is checked against the provider's JWKS, and its `iss`
(equal to the discovery document's issuer), `aud`, `exp` and `nonce`. When the answer carries
`iss` (RFC 9207) it must be the issuer this sign-in was started with: a response from another
provider (issuer mix-up) is refused.

Authlib makes the PKCE challenge and the random values; joserfc (Authlib's JOSE library)
checks the ID token. Every call to the provider goes through oidc_http (the address rules).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from portal.services import oidc_http
from portal.services.errors import DomainError
from portal.services.identity_providers import ProviderConfig
from portal.services.wording import t

GITHUB_ISSUER = "https://github.com"
GITHUB_AUTHORIZE = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN = "https://github.com/login/oauth/access_token"
GITHUB_API = "https://api.github.com"
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"

# How long the person may spend at the provider between leaving and coming back.
PENDING_LIFETIME_SECONDS = 15 * 60
# Clocks differ a little between the provider and us.
LEEWAY_SECONDS = 60
# Asymmetric signatures only: a shared-secret (HS256) or unsigned ID token is refused.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")


class SignInRefused(DomainError):
    """The provider's answer signs nobody in; the message says why, in the reader's words."""

    status_code = 400


@dataclass(frozen=True)
class Endpoints:
    """Where a provider does what (from its discovery document, or GitHub's fixed ones)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str | None = None
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    # RFC 9207: the provider promises to say `iss` in every answer.
    iss_parameter_supported: bool = False
    basic_auth: bool = True


@dataclass(frozen=True)
class Assertion:
    """Who a provider says signed in: an identity (issuer + subject) and what it tells of them."""

    provider_key: str
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str

    def as_dict(self) -> dict[str, Any]:
        """For keeping in the signed session while staff confirm a link."""
        return {
            "k": self.provider_key,
            "i": self.issuer,
            "s": self.subject,
            "e": self.email,
            "v": self.email_verified,
            "n": self.name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Assertion:
        return cls(
            provider_key=str(data["k"]),
            issuer=str(data["i"]),
            subject=str(data["s"]),
            email=data.get("e"),
            email_verified=bool(data.get("v")),
            name=str(data.get("n") or ""),
        )


def _unreachable() -> SignInRefused:
    return SignInRefused(
        t(
            "We could not talk to that sign-in provider just now. Please try again, or sign in "
            "another way."
        )
    )


def endpoints_for(provider: ProviderConfig) -> Endpoints:
    """The provider's endpoints; for OpenID Connect, from its discovery document, whose
    `issuer` must be the discovery URL's own base (OpenID Connect Discovery 4.3)."""
    if provider.kind == "github":
        return Endpoints(
            issuer=GITHUB_ISSUER,
            authorization_endpoint=GITHUB_AUTHORIZE,
            token_endpoint=GITHUB_TOKEN,
            basic_auth=False,
        )
    url = provider.discovery_url or ""
    try:
        answer = oidc_http.get_json(url)
    except oidc_http.ProviderUnreachable as exc:
        raise _unreachable() from exc
    doc = answer.body
    issuer = doc.get("issuer")
    required = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    if (
        not answer.ok
        or not isinstance(issuer, str)
        or any(not isinstance(doc.get(name), str) for name in required)
    ):
        raise _unreachable()
    # The issuer is the discovery URL's own base (OpenID Connect Discovery 4.3), so one
    # provider's document cannot speak for another issuer.
    if not url.endswith(DISCOVERY_SUFFIX) or issuer.rstrip("/") != url[
        : -len(DISCOVERY_SUFFIX)
    ].rstrip("/"):
        raise SignInRefused(
            t("That sign-in provider names another issuer than its address: nobody was signed in.")
        )
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return Endpoints(
        issuer=issuer,
        authorization_endpoint=doc["authorization_endpoint"],
        token_endpoint=doc["token_endpoint"],
        jwks_uri=doc["jwks_uri"],
        userinfo_endpoint=doc.get("userinfo_endpoint"),
        end_session_endpoint=doc.get("end_session_endpoint"),
        iss_parameter_supported=bool(doc.get("authorization_response_iss_parameter_supported")),
        basic_auth="client_secret_basic" in methods or "client_secret_post" not in methods,
    )


def begin(provider: ProviderConfig, redirect_uri: str) -> tuple[str, dict[str, Any]]:
    """The provider's address to send the browser to, and what the browser must bring back
    (to be kept in the signed session: state, nonce, PKCE verifier, issuer, when)."""
    endpoints = endpoints_for(provider)
    state = generate_token(32)
    nonce = generate_token(32)
    verifier = generate_token(64)
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": provider.scopes,
        "state": state,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if provider.kind == "oidc":
        params["nonce"] = nonce
    separator = "&" if "?" in endpoints.authorization_endpoint else "?"
    pending = {
        "key": provider.key,
        "issuer": endpoints.issuer,
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "started": int(time.time()),
    }
    return endpoints.authorization_endpoint + separator + urlencode(params), pending


def _same(a: object, b: object) -> bool:
    return isinstance(a, str) and isinstance(b, str) and hmac.compare_digest(a, b)


def finish(
    provider: ProviderConfig,
    pending: dict[str, Any] | None,
    answer: dict[str, str],
    redirect_uri: str,
) -> Assertion:
    """Check the provider's answer (the callback's query) against what `begin` made, redeem
    the code and return who signed in. SignInRefused, saying why, for anything wrong."""
    if not pending or not _same(answer.get("state"), pending.get("state")):
        raise SignInRefused(
            t(
                "This sign-in was not started in this browser, or was started again since: "
                "its check (state) does not match. Nobody was signed in; please start again."
            )
        )
    if pending.get("key") != provider.key:
        raise SignInRefused(
            t("This answer is from another sign-in provider than the one you chose.")
        )
    if int(time.time()) - int(pending.get("started") or 0) > PENDING_LIFETIME_SECONDS:
        raise SignInRefused(t("This sign-in took too long and has expired. Please start again."))
    if answer.get("error"):
        raise SignInRefused(
            t(
                "The sign-in provider did not sign you in (it said: %(error)s).",
                error=(answer.get("error_description") or answer["error"])[:200],
            )
        )
    endpoints = endpoints_for(provider)
    issuer = pending.get("issuer")
    returned_iss = answer.get("iss")
    # RFC 9207: an answer naming another issuer came from another provider than the one this
    # sign-in went to (a mix-up attack), as is an issuer changed since the start.
    if (
        endpoints.issuer != issuer
        or (returned_iss is not None and returned_iss != issuer)
        or (returned_iss is None and endpoints.iss_parameter_supported)
    ):
        raise SignInRefused(
            t(
                "This answer names another sign-in provider than the one you chose (issuer "
                "mix-up). Nobody was signed in."
            )
        )
    code = answer.get("code")
    if not code:
        raise SignInRefused(t("The sign-in provider sent no code to sign you in with."))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": str(pending.get("verifier") or ""),
    }
    auth = (provider.client_id, provider.client_secret) if endpoints.basic_auth else None
    if auth is None:
        form.update(client_id=provider.client_id, client_secret=provider.client_secret)
    try:
        tokens = oidc_http.post_form(endpoints.token_endpoint, form, basic_auth=auth)
    except oidc_http.ProviderUnreachable as exc:
        raise _unreachable() from exc
    if not tokens.ok or tokens.body.get("error") or not tokens.body.get("access_token"):
        raise SignInRefused(
            t(
                "The sign-in provider would not confirm this sign-in (it said: %(error)s). "
                "Nobody was signed in; please start again.",
                error=str(tokens.body.get("error") or tokens.status)[:100],
            )
        )
    if provider.kind == "github":
        return _github_assertion(provider, str(tokens.body["access_token"]))
    return _oidc_assertion(provider, endpoints, tokens.body, str(pending.get("nonce") or ""))


def _oidc_assertion(
    provider: ProviderConfig, endpoints: Endpoints, tokens: dict[str, Any], nonce: str
) -> Assertion:
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str) or not endpoints.jwks_uri:
        raise SignInRefused(t("The sign-in provider sent no ID token."))
    try:
        keys = oidc_http.get_json(endpoints.jwks_uri)
        key_set = KeySet.import_key_set(keys.body)  # type: ignore[arg-type]
    except oidc_http.ProviderUnreachable as exc:
        raise _unreachable() from exc
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise _unreachable() from exc
    try:
        token = jwt.decode(id_token, key_set, algorithms=list(SIGNING_ALGORITHMS))
        claims = token.claims
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": endpoints.issuer},
            aud={"essential": True, "value": provider.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
    except ExpiredTokenError as exc:
        raise SignInRefused(
            t("The sign-in provider's ID token has expired. Please start again.")
        ) from exc
    except JoseError as exc:
        raise SignInRefused(
            t(
                "The sign-in provider's ID token did not pass our checks (%(what)s). Nobody "
                "was signed in.",
                what=_what_failed(exc),
            )
        ) from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise SignInRefused(
            t(
                "The sign-in provider's ID token did not pass our checks (%(what)s). Nobody "
                "was signed in.",
                what="azp",
            )
        )
    email = claims.get("email")
    verified = claims.get("email_verified")
    name = claims.get("name")
    if (not email or name is None) and endpoints.userinfo_endpoint:
        info = _userinfo(endpoints.userinfo_endpoint, str(tokens["access_token"]))
        # The userinfo's subject must be the ID token's (OpenID Connect Core 5.3.2).
        if info.get("sub") == claims["sub"]:
            email = email or info.get("email")
            verified = verified if "email_verified" in claims else info.get("email_verified")
            name = name if name is not None else info.get("name")
    return Assertion(
        provider_key=provider.key,
        issuer=endpoints.issuer,
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) and "@" in email else None,
        # Some providers say "true" as a string.
        email_verified=verified is True or verified == "true",
        name=name.strip() if isinstance(name, str) else "",
    )


def _what_failed(error: JoseError) -> str:
    claim = getattr(error, "claim", None)
    if claim:
        return str(claim)
    return "signature" if "signature" in type(error).__name__.lower() else error.error


def _userinfo(url: str, access_token: str) -> dict[str, Any]:
    try:
        answer = oidc_http.get_json(url, bearer=access_token)
    except oidc_http.ProviderUnreachable as exc:
        raise _unreachable() from exc
    return answer.body if answer.ok else {}


def _github_assertion(provider: ProviderConfig, access_token: str) -> Assertion:
    """GitHub is OAuth 2 without OpenID Connect: the person is their numeric user id, and
    their address the verified primary one from /user/emails."""
    try:
        user = oidc_http.get_json(f"{GITHUB_API}/user", bearer=access_token)
        emails = oidc_http.get_json(f"{GITHUB_API}/user/emails", bearer=access_token)
    except oidc_http.ProviderUnreachable as exc:
        raise _unreachable() from exc
    user_id = user.body.get("id")
    if not user.ok or not isinstance(user_id, int):
        raise _unreachable()
    primary = next(
        (
            entry
            for entry in emails.body.get("items", [])
            if isinstance(entry, dict) and entry.get("primary")
        ),
        None,
    )
    email = primary.get("email") if primary else None
    name = user.body.get("name") or user.body.get("login") or ""
    return Assertion(
        provider_key=provider.key,
        issuer=GITHUB_ISSUER,
        subject=str(user_id),
        email=email if isinstance(email, str) and "@" in email else None,
        email_verified=bool(primary and primary.get("verified") is True),
        name=str(name).strip(),
    )


def logout_url(provider: ProviderConfig, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser so the provider signs it out too (RP-initiated logout), when
    the provider offers it; None otherwise. No token is kept, so no id_token_hint: the
    provider may ask the person to confirm."""
    if provider.kind != "oidc":
        return None
    try:
        endpoints = endpoints_for(provider)
    except SignInRefused:
        return None
    if not endpoints.end_session_endpoint:
        return None
    params = urlencode(
        {"client_id": provider.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    )
    separator = "&" if "?" in endpoints.end_session_endpoint else "?"
    return endpoints.end_session_endpoint + separator + params
