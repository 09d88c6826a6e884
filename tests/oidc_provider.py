"""A real OpenID Provider for tests: the certified npm package `oidc-provider`, run by Node on a
loopback port (tests/oidc/provider.mjs), with its own clients and in-memory accounts.

    def test_sign_in(oidc_provider, live_server):
        client_id, secret = oidc_provider.register_client([f"{live_server.url}/callback"])
        oidc_provider.add_account("alice-1", "alice@example.com", name="Alice")
        oidc_provider.next_login("alice-1")
        ...  # the portal's button -> the provider's /auth -> back with a code, no form to fill

`oidc_provider` is one provider for the whole run; `make_oidc_provider()` starts another,
independent one (its own issuer, keys and clients), for issuer mix-up tests. Without Node or
the package the tests that use them skip locally and fail in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.helpers import require

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
STARTUP_TIMEOUT = 30.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _package_dir() -> Path:
    """Where oidc-provider is installed: the checkout's node_modules, unless
    PORTAL_OIDC_PROVIDER_PACKAGE names another copy of the package's folder."""
    override = os.environ.get("PORTAL_OIDC_PROVIDER_PACKAGE")
    return Path(override) if override else ROOT / "node_modules" / "oidc-provider"


class ProviderError(RuntimeError):
    """The provider refused a control request or did not start."""


@dataclass
class OidcProvider:
    """One running provider. Its control endpoints (under /__test/) exist only in the test
    script: they choose who signs in next, so no one types a password."""

    issuer: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _metadata: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def discovery_url(self) -> str:
        """The OpenID Connect discovery document's address."""
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def metadata(self) -> dict[str, Any]:
        """The discovery document (fetched once)."""
        if self._metadata is None:
            self._metadata = self._request("GET", self.discovery_url)
        return self._metadata

    def register_client(
        self,
        redirect_uris: Sequence[str],
        post_logout_redirect_uris: Sequence[str] = (),
        **metadata: Any,
    ) -> tuple[str, str]:
        """Register a confidential client by dynamic registration (RFC 7591) with exactly these
        redirect URIs; returns (client_id, client_secret). Extra client metadata (say
        token_endpoint_auth_method="client_secret_post") passes through."""
        body = {
            "redirect_uris": list(redirect_uris),
            "post_logout_redirect_uris": list(post_logout_redirect_uris),
            **metadata,
        }
        client = self._request("POST", self.metadata["registration_endpoint"], body)
        return client["client_id"], client["client_secret"]

    def add_account(
        self, sub: str, email: str, email_verified: bool = True, name: str | None = None
    ) -> None:
        """Add (or replace) an account: its claims are `sub`, `email`, `email_verified`, `name`
        (the email when no name is given)."""
        account = {"sub": sub, "email": email, "email_verified": email_verified}
        if name is not None:
            account["name"] = name
        self._request("POST", f"{self.issuer}/__test/accounts", account)

    def next_login(self, sub: str) -> None:
        """From now on, authorization requests sign in as this account (added before) and
        consent to what the client asked, without a page to fill, until another is chosen; also
        over a provider session that belongs to someone else (the provider signs that one out
        first). With nobody chosen, a sign-in ends on a 400 page "Nobody to sign in"."""
        self._request("POST", f"{self.issuer}/__test/next-login", {"sub": sub})

    def refuse_next_login(
        self, error: str = "access_denied", description: str = "The person cancelled."
    ) -> None:
        """The next authorization request that needs a sign-in ends with this error at the
        client's redirect URI, as when the person cancels at the provider."""
        self._request(
            "POST",
            f"{self.issuer}/__test/next-login",
            {"error": error, "error_description": description},
        )

    def reset(self) -> None:
        """Forget the accounts, who signs in and any refusal (registered clients stay)."""
        self._request("POST", f"{self.issuer}/__test/reset", {})

    def stop(self) -> None:
        """Stop the provider's process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin:
            self.process.stdin.close()
        if self.process.stdout:
            self.process.stdout.close()

    def _request(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        host = urlsplit(url).hostname
        if host not in LOOPBACK:
            raise ProviderError(f"refusing to reach {host}: tests talk only to loopback")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            error.close()
            raise ProviderError(f"{method} {url}: {error.code} {detail}") from None
        return json.loads(raw) if raw else None


def _read_ready_line(process: subprocess.Popen[bytes], log_path: Path) -> dict[str, Any]:
    stdout: IO[bytes] | None = process.stdout
    assert stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    line = b""
    # The script prints one JSON line once it listens; readline blocks until then or until
    # the process dies (stdout closes).
    while time.monotonic() < deadline:
        line = stdout.readline()
        if line.strip().startswith(b"{") or not line:
            break
    if not line.strip():
        process.kill()
        process.wait()
        log = log_path.read_text(errors="replace")
        raise ProviderError(f"the OpenID Provider did not start:\n{log}")
    return dict(json.loads(line))


def start_provider(log_dir: Path, issuer: str | None = None, port: int = 0) -> OidcProvider:
    """Start a provider on 127.0.0.1 (any free port unless given); returns once it answers."""
    node = shutil.which("node")
    require(node is not None, "Node.js is not on the PATH (the OpenID Provider runs on it)")
    package = _package_dir()
    require(
        (package / "package.json").is_file(),
        f"oidc-provider is not installed at {package} (npm ci --ignore-scripts)",
    )
    assert node is not None
    log_path = log_dir / f"oidc-provider-{time.monotonic_ns()}.log"
    command = [node, str(SCRIPT), "--port", str(port)]
    if issuer:
        command += ["--issuer", issuer]
    env = {**os.environ, "PORTAL_OIDC_PROVIDER_PACKAGE": str(package)}
    with log_path.open("wb") as log:
        # stdin stays open as a lifeline: the script stops when it closes (the run died).
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env
        )
    ready = _read_ready_line(process, log_path)
    return OidcProvider(issuer=str(ready["issuer"]), process=process, log_path=log_path)


@pytest.fixture(scope="session")
def make_oidc_provider(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., OidcProvider]]:
    """Start another, independent provider: make_oidc_provider(issuer=None, port=0). Every one
    started stops at the end of the run."""
    started: list[OidcProvider] = []
    log_dir = tmp_path_factory.mktemp("oidc-provider")

    def make(issuer: str | None = None, port: int = 0) -> OidcProvider:
        provider = start_provider(log_dir, issuer=issuer, port=port)
        started.append(provider)
        return provider

    yield make
    for provider in started:
        provider.stop()


@pytest.fixture(scope="session")
def oidc_provider(make_oidc_provider: Callable[..., OidcProvider]) -> OidcProvider:
    """The run's OpenID Provider, at http://127.0.0.1:<port>."""
    return make_oidc_provider()


class _FormFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
        elif tag == "input" and self.action is not None and not self._done and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._done = True


def self_submitting_form(page_url: str, html: str) -> tuple[str, dict[str, str]]:
    """The address and fields of the first form on a page that submits itself by script (the
    provider's sign-out confirmation), for an HTTP client that runs no script to post."""
    finder = _FormFinder()
    finder.feed(html)
    assert finder.action is not None, f"no form on {page_url}: {html[:500]}"
    return urljoin(page_url, finder.action), finder.fields


def browse_to(http: requests.Session, url: str, stop_at: str, max_steps: int = 12) -> str:
    """Go to `url` as a browser would with a plain HTTP client: follow redirects and post the
    provider's self-submitting forms (it signs the previous account out that way when another
    one signs in), until a redirect leads to an address starting with `stop_at`, which is
    returned (with the code or error in its query) without being requested."""
    method, data = "GET", None
    for _ in range(max_steps):
        response = http.request(method, url, data=data, allow_redirects=False, timeout=10)
        location = response.headers.get("Location")
        if response.is_redirect and location:
            url, method, data = urljoin(response.url, location), "GET", None
        elif response.status_code == 200 and "document.forms[0].submit()" in response.text:
            url, data = self_submitting_form(response.url, response.text)
            method = "POST"
        else:
            raise AssertionError(
                f"{response.status_code} at {response.url}, not on the way to {stop_at}:\n"
                f"{response.text[:500]}"
            )
        if url.startswith(stop_at):
            return url
    raise AssertionError(f"more than {max_steps} steps on the way to {stop_at}")
