"""A real HTTP server on a loopback port that answers as an OpenID Connect issuer's discovery
address does (or as a broken one: not JSON, fields missing, too big, too slow)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DISCOVERY_PATH = "/realms/staff/.well-known/openid-configuration"


@dataclass
class Issuer:
    """What the server answers at each path: (status, body bytes), or "sleep" to stall."""

    base: str = ""
    answers: dict[str, tuple[int, bytes] | str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    # Called as each request arrives, before it is answered (what else can happen meanwhile).
    on_request: Callable[[], None] | None = None

    @property
    def discovery_url(self) -> str:
        return self.base + DISCOVERY_PATH

    def document(self, **changes: Any) -> dict[str, Any]:
        """A good discovery document for this issuer, with some fields changed (None drops)."""
        issuer = self.base + "/realms/staff"
        document: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/protocol/openid-connect/auth",
            "token_endpoint": issuer + "/protocol/openid-connect/token",
            "jwks_uri": issuer + "/protocol/openid-connect/certs",
            "response_types_supported": ["code"],
        }
        document.update(changes)
        return {k: v for k, v in document.items() if v is not None}

    def serve(self, answer: dict[str, Any] | tuple[int, bytes] | str) -> None:
        """Answer the discovery path with this document, (status, bytes), or "sleep"."""
        if isinstance(answer, dict):
            answer = (200, json.dumps(answer).encode())
        self.answers[DISCOVERY_PATH] = answer


@contextmanager
def run_issuer() -> Iterator[Issuer]:
    """Serve on a free loopback port until the block ends; the good document by default."""
    state = Issuer()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if state.on_request is not None:
                state.on_request()
            answer = state.answers.get(self.path, (404, b"not here"))
            if answer == "sleep":
                stop.wait(3)
                return
            assert not isinstance(answer, str)
            status, body = answer
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    state.serve(state.document())
    try:
        yield state
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
