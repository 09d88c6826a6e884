"""A real HTTP server on a loopback port for webhook tests, and the receiver's signature check
(what the README tells integrators to do)."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on a loopback port; answers with the queued status codes (200 once
    they run out). "sleep" stalls past the client's timeout."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: list[int | str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> int | str:
        with self.lock:
            return self.answers.pop(0) if self.answers else 200


@contextmanager
def run_receiver() -> Iterator[Receiver]:
    """Serve on a free port until the block ends."""
    state = Receiver()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.requests.append(Received(dict(self.headers.items()), body))
            answer = state.next_answer()
            if answer == "sleep":
                stop.wait(2)
                return
            self.send_response(int(answer))
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if answer == 200 else b"receiver is having a bad day")

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/portal?source=test"
    try:
        yield state
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def verify(secret: str, request: Received) -> bool:
    """Check a delivery's signature as a receiver would."""
    timestamp = request.headers["X-Portal-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest("sha256=" + expected, request.headers["X-Portal-Signature"])
