"""A real HTTP server on a loopback port publishing an organisation's signing keys (a JWKS), for
single sign-on tests: keys can be rotated while it runs, and it counts the fetches."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def public_jwk(private: PrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    """The public half of a key as a JWKS entry naming `kid`."""
    if isinstance(private, rsa.RSAPrivateKey):
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    else:
        data = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    return {**data, "kid": kid, "use": "sig", **extra}


@dataclass
class KeyServer:
    """What the server answers at `url`: `body` when set (raw bytes), else {"keys": keys};
    `status` its HTTP status; `delay` seconds it waits before answering."""

    url: str = ""
    keys: list[dict[str, Any]] = field(default_factory=list)
    body: bytes | None = None
    status: int = 200
    delay: float = 0.0
    fetches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, *entries: dict[str, Any]) -> None:
        """Publish exactly these keys from now on (a rotation)."""
        with self.lock:
            self.keys = list(entries)


@contextmanager
def run_key_server() -> Iterator[KeyServer]:
    """Serve on a free loopback port until the block ends."""
    state = KeyServer()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.fetches += 1
                body = state.body
                if body is None:
                    body = json.dumps({"keys": state.keys}).encode()
                status, delay = state.status, state.delay
            if delay:
                stop.wait(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up first
                pass

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield state
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
