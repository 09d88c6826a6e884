"""Load generators: wrk when installed, a thread pool of http.client connections otherwise,
and a single-threaded sequential timer for the cost-growth comparison. Every loop is bounded
in time and in count."""

from __future__ import annotations

import http.client
import json
import math
import re
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

USER_AGENT = "portal-bench"
REQUEST_TIMEOUT_S = 10.0
# Upper bound on requests per run of the Python generator, whatever the duration.
MAX_PYTHON_REQUESTS = 2_000_000


@dataclass(frozen=True)
class Request:
    """One HTTP request to repeat."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Header sets sent in turn (each signed-in person's cookie and CSRF token), on top of
    # `headers`: many people at once, each with their own session.
    rotate: tuple[dict[str, str], ...] = ()

    def all_headers(self) -> dict[str, str]:
        return {"User-Agent": USER_AGENT, **self.headers}

    def variant(self, n: int) -> Request:
        """The request as the n-th of the rotating header sets sends it (itself without any)."""
        if not self.rotate:
            return self
        return Request(
            self.method, self.path, {**self.headers, **self.rotate[n % len(self.rotate)]}, self.body
        )


@dataclass
class LoadResult:
    """What one load run measured."""

    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: int
    raw: str = ""
    # Each gunicorn worker's share of the CPU time the run cost (empty where /proc is absent).
    worker_shares: list[float] = field(default_factory=list)


def fetch(
    base_url: str, req: Request, timeout: float = REQUEST_TIMEOUT_S
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh connection: status, headers, body."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(req.method, req.path, body=req.body or None, headers=req.all_headers())
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def have_wrk() -> bool:
    """Whether wrk is on the PATH."""
    return shutil.which("wrk") is not None


# --- wrk -------------------------------------------------------------------------------------

_LUA_TEMPLATE = """
wrk.method = {method}
wrk.body = {body}
{headers}
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end
function init(args)
  statuses = {{}}
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
{rotate}
function done(summary, latency, requests)
  local merged = {{}}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      merged[code] = (merged[code] or 0) + n
    end
  end
  local parts = {{}}
  for code, n in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', code, n))
  end
  io.write("BENCH_STATUSES {{" .. table.concat(parts, ", ") .. "}}\\n")
end
"""


def _lua_string(value: str) -> str:
    # JSON string syntax is valid Lua for the ASCII values we send (cookies, tokens, paths).
    if not value.isascii():
        raise ValueError(f"non-ASCII header value: {value!r}")
    return json.dumps(value)


def wrk_script(req: Request, threads: int = 1) -> str:
    """The Lua script: method, body and headers of the request, and a status-code tally."""
    headers = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in req.all_headers().items()
    )
    return _LUA_TEMPLATE.format(
        method=_lua_string(req.method),
        body=_lua_string(req.body.decode("ascii")),
        headers=headers,
        rotate=_lua_rotation(req, threads),
    )


# Each wrk thread takes its own share of the header sets (thread t of T the sets t, t+T, ...)
# and sends them in turn, so two threads never speak for the same person at once.
_LUA_ROTATION = """
local sets = {{{sets}}}
local mine = {{}}
local turn = 0
function request()
  if #mine == 0 then
    local t, n = thread_number or 1, wrk_threads or 1
    for i = t, #sets, n do table.insert(mine, sets[i]) end
    if #mine == 0 then mine = sets end
  end
  turn = turn % #mine + 1
  for name, value in pairs(mine[turn]) do wrk.headers[name] = value end
  return wrk.format()
end
"""


def _lua_rotation(req: Request, threads: int) -> str:
    if not req.rotate:
        return ""
    sets = ", ".join(
        "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in hs.items()) + "}"
        for hs in req.rotate
    )
    return f"local wrk_threads = {threads}\n" + _LUA_ROTATION.format(sets=sets)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _parse_latency(text: str, pct: str) -> float:
    match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    return float(match.group(1)) * _UNITS_MS[match.group(2)] if match else float("nan")


def run_wrk(
    base_url: str,
    req: Request,
    duration: int,
    connections: int,
    script_dir: Path,
    name: str,
) -> LoadResult:
    """Run wrk -t2 -c<connections> -d<duration>s --latency with a Lua script for the request."""
    script = script_dir / f"{name}.lua"
    threads = max(1, min(2, connections))
    script.write_text(wrk_script(req, threads))
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        f"--timeout={int(REQUEST_TIMEOUT_S)}s",
        "-s",
        str(script),
        base_url.rstrip("/") + req.path,
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=duration + 60, check=False
    ).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    socket = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    statuses_line = re.search(r"^BENCH_STATUSES (\{.*\})$", out, re.MULTILINE)
    if not (total and rps):
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    statuses = json.loads(statuses_line.group(1)) if statuses_line else {}
    return LoadResult(
        tool="wrk",
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS_MS[total.group(3)] / 1000,
        rps=float(rps.group(1)),
        p50_ms=_parse_latency(out, "50"),
        p99_ms=_parse_latency(out, "99"),
        statuses=dict(sorted(statuses.items())),
        errors=sum(int(g) for g in socket.groups()) if socket else 0,
        raw=out,
    )


# --- Python fallback -------------------------------------------------------------------------


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, math.ceil(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def run_python(base_url: str, req: Request, duration: int, connections: int) -> LoadResult:
    """Keep `connections` keep-alive connections busy for `duration` seconds, one thread each."""
    parts = urlsplit(base_url)
    per_thread = MAX_PYTHON_REQUESTS // max(1, connections)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    statuses: list[dict[str, int]] = [{} for _ in range(connections)]
    errors = [0] * connections
    start = time.perf_counter()
    deadline = start + duration

    def worker(n: int) -> None:
        conn: http.client.HTTPConnection | None = None
        lat, seen = latencies[n], statuses[n]
        # Each thread speaks for one of the rotating sessions, if there are any.
        headers = req.variant(n).all_headers()
        while time.perf_counter() < deadline and len(lat) + errors[n] < per_thread:
            if conn is None:
                conn = http.client.HTTPConnection(
                    parts.hostname, parts.port, timeout=REQUEST_TIMEOUT_S
                )
            t0 = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=req.body or None, headers=headers)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                errors[n] += 1
                conn.close()
                conn = None
                continue
            lat.append((time.perf_counter() - t0) * 1000)
            seen[str(resp.status)] = seen.get(str(resp.status), 0) + 1
            if resp.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=duration + REQUEST_TIMEOUT_S + 30)
    elapsed = time.perf_counter() - start
    merged = sorted(x for lat in latencies for x in lat)
    tally: dict[str, int] = {}
    for seen in statuses:
        for code, count in seen.items():
            tally[code] = tally.get(code, 0) + count
    return LoadResult(
        tool="python",
        requests=len(merged),
        seconds=elapsed,
        rps=len(merged) / elapsed if elapsed else 0.0,
        p50_ms=_percentile(merged, 50),
        p99_ms=_percentile(merged, 99),
        statuses=dict(sorted(tally.items())),
        errors=sum(errors),
    )


# --- sequential timing (cost growth) ---------------------------------------------------------


def paired_medians(
    pairs: list[tuple[str, Request]], count: int, time_budget: float
) -> list[tuple[float, int, dict[str, int]]]:
    """Time the same page on several servers one request at a time, alternating between
    them, so that background load on the machine falls on all of them alike. Up to `count`
    rounds, stopping after `time_budget` seconds: per server, median ms, requests, statuses."""
    conns: list[http.client.HTTPConnection | None] = [None] * len(pairs)
    times: list[list[float]] = [[] for _ in pairs]
    seen: list[dict[str, int]] = [{} for _ in pairs]
    deadline = time.perf_counter() + time_budget
    try:
        for _ in range(count):
            if time.perf_counter() >= deadline:
                break
            for n, (base_url, req) in enumerate(pairs):
                conn = conns[n]
                if conn is None:
                    parts = urlsplit(base_url)
                    conn = conns[n] = http.client.HTTPConnection(
                        parts.hostname, parts.port, timeout=REQUEST_TIMEOUT_S
                    )
                t0 = time.perf_counter()
                conn.request(req.method, req.path, body=req.body or None, headers=req.all_headers())
                resp = conn.getresponse()
                resp.read()
                times[n].append((time.perf_counter() - t0) * 1000)
                seen[n][str(resp.status)] = seen[n].get(str(resp.status), 0) + 1
                if resp.will_close:
                    conn.close()
                    conns[n] = None
    finally:
        for conn in conns:
            if conn is not None:
                conn.close()
    return [
        (statistics.median(t) if t else float("nan"), len(t), s)
        for t, s in zip(times, seen, strict=True)
    ]


def sequential_median(
    base_url: str, req: Request, count: int, time_budget: float
) -> tuple[float, int, dict[str, int]]:
    """Median time of up to `count` requests made one after another on one keep-alive
    connection (stopping early after `time_budget` seconds): median ms, requests, statuses."""
    parts = urlsplit(base_url)
    headers = req.all_headers()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT_S)
    times: list[float] = []
    seen: dict[str, int] = {}
    deadline = time.perf_counter() + time_budget
    try:
        while len(times) < count and time.perf_counter() < deadline:
            t0 = time.perf_counter()
            conn.request(req.method, req.path, body=req.body or None, headers=headers)
            resp = conn.getresponse()
            resp.read()
            times.append((time.perf_counter() - t0) * 1000)
            seen[str(resp.status)] = seen.get(str(resp.status), 0) + 1
            if resp.will_close:
                conn.close()
                conn = http.client.HTTPConnection(
                    parts.hostname, parts.port, timeout=REQUEST_TIMEOUT_S
                )
    finally:
        conn.close()
    return (statistics.median(times) if times else float("nan")), len(times), seen
