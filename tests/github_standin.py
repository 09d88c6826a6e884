"""A stand-in for GitHub's OAuth endpoints and the two API calls the portal makes, as a real
HTTP server on a loopback port (tests talk only to loopback, so github.com itself is out of
reach). It behaves as GitHub documents: /login/oauth/authorize sends the browser back with a
code and the state; /login/oauth/access_token checks the client, the code and the PKCE
verifier (S256) and answers JSON, errors too, with status 200 as GitHub does; /user and
/user/emails need the access token."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class GitHubStandIn:
    """Who signs in next (`user`, `emails`), and the client it knows."""

    url: str = ""
    client_id: str = "Iv1.standin"
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    user: dict[str, Any] = field(default_factory=dict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    # code -> (PKCE challenge, redirect_uri); access token -> True
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@contextmanager
def run_github_standin() -> Iterator[GitHubStandIn]:
    """Serve on a free loopback port until the block ends."""
    state = GitHubStandIn()

    class Handler(BaseHTTPRequestHandler):
        def _json(self, body: object, status: int = 200) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/login/oauth/authorize":
                if (
                    query.get("client_id") != state.client_id
                    or query.get("code_challenge_method") != "S256"
                ):
                    self._json({"error": "bad request"}, 400)
                    return
                code = secrets.token_hex(10)
                with state.lock:
                    state.codes[code] = (query["code_challenge"], query["redirect_uri"])
                back = (
                    query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
                )
                self.send_response(302)
                self.send_header("Location", back)
                self.end_headers()
                return
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if token not in state.tokens:
                self._json({"message": "Bad credentials"}, 401)
            elif parts.path == "/user":
                self._json(state.user)
            elif parts.path == "/user/emails":
                self._json(state.emails)
            else:
                self._json({"message": "Not Found"}, 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path != "/login/oauth/access_token":
                self._json({"message": "Not Found"}, 404)
                return
            with state.lock:
                found = state.codes.pop(form.get("code", ""), None)
            if (form.get("client_id"), form.get("client_secret")) != (
                state.client_id,
                state.client_secret,
            ):
                self._json({"error": "incorrect_client_credentials"})
            elif found is None or found[1] != form.get("redirect_uri"):
                self._json({"error": "bad_verification_code"})
            elif _s256(form.get("code_verifier", "")) != found[0]:
                self._json({"error": "invalid_grant"})
            else:
                token = "gho_" + secrets.token_hex(16)
                with state.lock:
                    state.tokens.add(token)
                self._json({"access_token": token, "token_type": "bearer", "scope": "user:email"})

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
