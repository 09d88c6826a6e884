"""Worker recycling under load, served by the project's gunicorn.conf.py on loopback.

gunicorn's own gthread worker dropped what it held when recycled: the benchmark saw every
connection reset within seconds of "Autorestarting worker", some of them for requests already
committed, and this test lost 20-30 of its 400 requests with it. The configuration's
DrainingThreadWorker answers them first."""

from __future__ import annotations

import http.client
import os
import runpy
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "gunicorn.conf.py"
CONNECTIONS = 8
REQUESTS_PER_CONNECTION = 50  # 400 in all: eight recycles of a worker at 50 requests


def _settings(**environ: str) -> dict[str, object]:
    """gunicorn.conf.py's values as gunicorn reads them, under the given environment."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update({**keep, **environ})
    try:
        return runpy.run_path(str(CONFIG))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_default_configuration_does_not_recycle_workers() -> None:
    settings = _settings()
    assert settings["max_requests"] == 0, "recycling is an option, off unless asked for"


def test_recycling_is_an_option_from_the_environment() -> None:
    settings = _settings(GUNICORN_MAX_REQUESTS="50", GUNICORN_MAX_REQUESTS_JITTER="0")
    assert settings["max_requests"] == 50 and settings["max_requests_jitter"] == 0


SYNC_WORKERS = "1"
GTHREAD_WORKERS = "4"


@pytest.fixture(
    params=[
        pytest.param(SYNC_WORKERS, id="sync"),
        pytest.param(GTHREAD_WORKERS, id="draining-gthread"),
    ]
)
def recycling_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """gunicorn with the project's settings and recycling turned on at 50 requests a worker,
    serving the benchmark's minimal Flask app (what is under test is gunicorn, not a page).
    GUNICORN_THREADS picks the worker class, as gunicorn.conf.py does: sync workers for one
    thread, the configuration's draining gthread worker for more."""
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")},
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": request.param,
        "GUNICORN_MAX_REQUESTS": "50",
        "GUNICORN_MAX_REQUESTS_JITTER": "0",
        "GUNICORN_ACCESSLOG": os.devnull,
        "GUNICORN_ERRORLOG": "-",
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(CONFIG),
                "--pythonpath",
                str(ROOT / "bench"),
                "minimal_app:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(port, proc, log_path)
            yield port, log_path
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _wait_until_up(port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log_path.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer:\n{log_path.read_text()}")


def _one_client(port: int) -> list[str]:
    """Send requests over one kept-alive connection, as a proxy or browser does; open a new
    connection only when the server said it would close this one. Return what went wrong."""
    failures: list[str] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for n in range(REQUESTS_PER_CONNECTION):
        try:
            conn.request("GET", f"/?n={n}")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failures.append(f"status {response.status}")
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            # A reset or an unannounced close: this request's answer was lost.
            failures.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.close()
    return failures


def test_load_through_worker_recycles_loses_no_request(
    recycling_server: tuple[int, Path],
) -> None:
    port, log_path = recycling_server
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        failures = [f for found in pool.map(_one_client, [port] * CONNECTIONS) for f in found]
    log = log_path.read_text()
    assert log.count("Autorestarting worker") >= 4, "the load spans several recycles"
    assert failures == [], f"{len(failures)} of 400 requests lost: {sorted(set(failures))}"
