"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (GUNICORN_* or the named variable)."""

import multiprocessing
import os
import re
import selectors
import time
from concurrent import futures
from functools import partial
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker


class DrainingThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, except that a stopping worker (recycled after max_requests,
    or told to stop on a restart) answers what it holds before it exits.

    gunicorn 23's gthread stops reading the moment it decides to stop: connections it has
    accepted, or kept alive after a response that promised more, are closed unanswered and
    their clients see resets. Here the worker stops accepting, keeps serving the connections it
    has (each answer now says `Connection: close`, so the client opens its next one elsewhere),
    and exits once they are closed, or after graceful_timeout."""

    def run(self) -> None:
        for listener in self.sockets:
            listener.setblocking(False)
            # Captured once: the name can vanish from the socket during a shutdown.
            acceptor = partial(self.accept, listener.getsockname())
            self.poller.register(listener, selectors.EVENT_READ, acceptor)
        while self.alive and self.is_parent_alive():
            self.notify()
            self._serve_ready(wait=1.0)
            self.murder_keepalived()
        self._drain()

    def _drain(self) -> None:
        with self._lock:
            for listener in self.sockets:
                self.poller.unregister(listener)
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while self.nr_conns > 0 and time.monotonic() < deadline and self.is_parent_alive():
            self.notify()
            self._serve_ready(wait=0.05)
            self.murder_keepalived()
        self.tpool.shutdown(False)
        self.poller.close()
        for listener in self.sockets:
            listener.close()
        futures.wait(self.futures, timeout=max(0.0, deadline - time.monotonic()))

    def _serve_ready(self, wait: float) -> None:
        """One turn of gthread's loop: accept and read what is ready, collect finished work."""
        if self.nr_conns < self.worker_connections:
            for key, _ in self.poller.select(wait):
                key.data(key.fileobj)
            done = futures.wait(self.futures, timeout=0, return_when=futures.FIRST_COMPLETED)
        else:
            done = futures.wait(self.futures, timeout=wait, return_when=futures.FIRST_COMPLETED)
        for finished in done.done:
            self.futures.remove(finished)

    def finish_request(self, fs: Any) -> None:
        # A response sent before the worker began to stop promised the client more on this
        # connection: keep it until its next request is answered (with a close) or it idles out.
        if not self.alive and not fs.cancelled() and fs.exception() is None:
            keepalive, conn = fs.result()
            if keepalive:
                conn.sock.setblocking(False)
                conn.set_timeout()
                with self._lock:
                    try:
                        self.poller.register(
                            conn.sock,
                            selectors.EVENT_READ,
                            partial(self.on_client_socket_readable, conn),
                        )
                        self._keep.append(conn)
                        return
                    except (OSError, ValueError, KeyError):
                        pass  # the drain is over (poller closed): close it below
                self.nr_conns -= 1
                conn.close()
                return
        super().finish_request(fs)


bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# The usual rule of thumb for sync workers: two per core, plus one.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = DrainingThreadWorker if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Worker recycling (restart a worker after this many requests, against a slow leak) is off
# unless asked for. When it is on, DrainingThreadWorker (above) lets a recycled worker answer
# what it holds first: gunicorn's own gthread worker reset 20-30 of 400 requests through
# recycles (tests/test_gunicorn_recycle.py; the benchmark saw some after a commit).
# graceful_timeout bounds how long a stopping worker may take.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", str(max_requests // 10)))
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
# The request id ties an access-log line to the application's JSON log lines.
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
    '"query": "%(q)s", "status": %(s)s, "bytes": "%(B)s", "duration_us": %(D)s, '
    '"request_id": "%({x-request-id}o)s", "user_agent": "%(a)s"}'
)
# A single sign-on token may come in a query string (GET /sso?token=...): it is a credential
# until it expires, so no access-log line carries it (nor a Referer quoting such an address).
_TOKEN_IN_QUERY = re.compile(r"(^|[?&])(token=)[^&\s]*", re.IGNORECASE)


def redact_tokens(text: str) -> str:
    """`token=` values in a query string or request line, replaced by "[redacted]"."""
    return _TOKEN_IN_QUERY.sub(r"\1\2[redacted]", text)


class RedactingLogger(Logger):
    """gunicorn's logger, with tokens in addresses redacted from every access-log field."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str) and "token=" in value.lower():
                atoms[key] = redact_tokens(value)
        return atoms


logger_class = RedactingLogger
# Trust X-Forwarded-* only from the proxy in front (ProxyFix in the app does the rest).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
