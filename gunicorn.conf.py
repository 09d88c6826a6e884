"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (GUNICORN_* or the named variable)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# The usual rule of thumb for sync workers: two per core, plus one.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Worker recycling (restart a worker after this many requests, against a slow leak) is off
# unless asked for. A recycling gthread worker (gunicorn 23) drops the connections it has
# accepted or kept alive but not yet read: their clients get a reset or an unannounced close
# (tests/test_gunicorn_recycle.py measures it; the benchmark saw some after a commit). The sync worker
# (GUNICORN_THREADS=1) recycles without losing a request; graceful_timeout bounds the wait
# for what a recycled worker is still answering.
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
# Trust X-Forwarded-* only from the proxy in front (ProxyFix in the app does the rest).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def when_ready(server: object) -> None:
    """Say so at start when recycling is on with threaded workers, which lose requests."""
    if max_requests and worker_class == "gthread":
        server.log.warning(  # type: ignore[attr-defined]
            "GUNICORN_MAX_REQUESTS=%s with gthread workers: a recycled worker drops the "
            "connections it holds (resets). Use GUNICORN_THREADS=1 (sync workers) to "
            "recycle without losing requests, or GUNICORN_MAX_REQUESTS=0.",
            max_requests,
        )
