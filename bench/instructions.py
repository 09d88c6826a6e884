"""Instructions per request, counted by valgrind's callgrind: `make bench-instructions`.

The wall-clock benchmark (bench/run.py) shares the machine with whatever else runs on it, and
its figures move by 10-15% from one run to the next. The number of CPU instructions a request
executes does not depend on the machine's other work, so two source trees can be compared to
within a percent or so.

1. Seeds a SQLite database for the measured tree (bench/seed.py, N=10,000 items by default),
   schema from that tree's own migrations: each checkout gets its own file under
   bench/results/instructions/ (`--keep` reuses it). `--tree PATH` measures another checkout
   (its `portal` package is imported through PYTHONPATH; this script and bench/seed.py stay
   the same for both).
2. Runs a child process under `valgrind --tool=callgrind`, with instrumentation and collection
   off. The child creates the app (PORTAL_ENV=production, as bench/run.py), warms it up with
   a few requests per endpoint, then for each endpoint of bench/run.py runs K requests through
   the Flask test client with collection on around exactly those requests (callgrind's client
   requests, from a tiny C helper compiled with gcc and called through ctypes), and dumps
   the counts under the endpoint's name.
3. Does that twice: as a visitor gets it (page cache on: a cache hit) and with the page cache
   off (what rendering costs: a miss, or a signed-in person). The per-process read cache is
   kept for an hour in both, so a run measures the steady state rather than an expiry that
   would fall at a different request under valgrind's slowdown.

Prints instructions per request per endpoint; writes the table, a JSON copy and callgrind's
dumps (one per endpoint and mode, for `callgrind_annotate`) to
bench/results/instructions/<timestamp>-<commit>/. Compare two runs with
`--compare BEFORE.json AFTER.json`. Needs valgrind (with its headers: /usr/include/valgrind)
and gcc.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "instructions"
sys.path.insert(0, str(BENCH_DIR))

from run import (  # noqa: E402
    ENDPOINTS,
    BenchDb,
    Endpoint,
    SetupError,
    SiteFacts,
    build_request,
    make_app,
    prepare_db,
    sign_in_test_client,
    site_facts,
)
from seed import CUSTOMER_EMAIL, PASSWORD, SECRET_KEY  # noqa: E402

DEFAULT_ITEMS = 10_000
DEFAULT_REQUESTS = 10
WARMUP_REQUESTS = 4
# Long enough that nothing expires while valgrind runs the requests 50 times slower.
HOUR = 3600
MODES = ("cached", "uncached")

# Callgrind's client requests are macros (a magic instruction sequence): a function each.
MARKS_SOURCE = r"""
#include <valgrind/callgrind.h>
void marks_start_instrumentation(void) { CALLGRIND_START_INSTRUMENTATION; }
void marks_toggle_collect(void) { CALLGRIND_TOGGLE_COLLECT; }
void marks_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""


def log(msg: str) -> None:
    print(msg, flush=True)


# --- the parent: seed, run the children under valgrind, report ------------------------------


def tree_commit(tree: Path) -> str:
    """The tree's commit, short, with "+changes" when its tracked files differ from it."""
    head = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not head:
        return tree.name
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return head + ("+changes" if dirty else "")


def build_marks(workdir: Path) -> Path:
    """Compile the client-request helper once per source text."""
    digest = hashlib.sha256(MARKS_SOURCE.encode()).hexdigest()[:12]
    lib = workdir / f"callgrind_marks-{digest}.so"
    if not lib.exists():
        src = lib.with_suffix(".c")
        src.write_text(MARKS_SOURCE)
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib


def child_env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(tree),
        # The same string hashes in every run: dict and set work does not vary between runs.
        PYTHONHASHSEED="0",
        PORTAL_INSTANCE_PATH=str(RESULTS / "instance"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def run_child(cmd: list[str], env: dict[str, str], log_path: Path) -> None:
    with log_path.open("ab") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise SetupError(f"{' '.join(cmd[:4])}... exited {proc.returncode}:\n{tail}")


def read_dumps(prefix: Path) -> dict[str, int]:
    """Instructions by dump name, from callgrind's files <prefix>.<n>."""
    counts: dict[str, int] = {}
    for path in sorted(prefix.parent.glob(prefix.name + ".*")):
        name = total = None
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("desc: Trigger: Client Request: "):
                name = line.removeprefix("desc: Trigger: Client Request: ")
            elif line.startswith(("totals:", "summary:")) and total is None:
                total = int(line.split()[1])
        if name is not None and total is not None:
            counts[name] = total
    return counts


def measure_tree(args: argparse.Namespace) -> dict[str, Any]:
    """Seed the tree's database, run the children, return the report."""
    tree = Path(args.tree).resolve()
    if not (tree / "portal" / "__init__.py").exists():
        raise SetupError(f"{tree} has no portal package")
    if not shutil.which("valgrind"):
        raise SetupError("valgrind is not installed (apt-get install valgrind)")
    commit = tree_commit(tree)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    outdir = RESULTS / f"{stamp}-{commit}"
    outdir.mkdir()
    child_log = outdir / "children.log"
    env = child_env(tree)
    marks = build_marks(RESULTS)
    me = [sys.executable, str(Path(__file__).resolve())]

    # One database per checkout (its own migrations), kept for --keep across its commits.
    place = hashlib.sha256(str(tree).encode()).hexdigest()[:8]
    db_path = RESULTS / f"portal_{tree.name}-{place}_{args.items}.sqlite3"
    facts_path = outdir / "facts.json"
    log(f"Tree {tree} at {commit}; database {db_path}")
    t0 = time.perf_counter()
    seed_cmd = [*me, "--child", "seed", "--db", str(db_path), "--items", str(args.items)]
    run_child(
        seed_cmd + ["--facts", str(facts_path)] + (["--keep"] if args.keep else []), env, child_log
    )
    facts = json.loads(facts_path.read_text())
    log(
        f"Database ready in {time.perf_counter() - t0:.0f}s: item #{facts['item_id']}, "
        f"vote on #{facts['vote_item_id']}, last page {facts['last_page']}"
    )

    requests = args.requests + args.requests % 2  # the vote toggles: back where it started
    counts: dict[str, dict[str, list[int]]] = {}
    for run in range(args.runs):
        for mode in MODES:
            prefix = outdir / f"callgrind.{mode}.{run + 1}"
            t0 = time.perf_counter()
            cmd = [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                "--collect-atstart=no",
                f"--callgrind-out-file={prefix}",
                *me,
                "--child",
                "measure",
                "--db",
                str(db_path),
                "--facts",
                str(facts_path),
                "--mode",
                mode,
                "--requests",
                str(requests),
                "--marks",
                str(marks),
                "--only",
                args.only,
            ]
            run_child(cmd, env, child_log)
            for name, total in read_dumps(prefix).items():
                counts.setdefault(name, {}).setdefault(mode, []).append(total)
            log(
                f"  run {run + 1}, page cache {'on' if mode == 'cached' else 'off'}: "
                f"{time.perf_counter() - t0:.0f}s"
            )

    rows = []
    for name, kind in [(ep.name, ep.kind) for ep in ENDPOINTS] + [(f, "floor") for f in FLOORS]:
        if name not in counts:
            continue
        row: dict[str, Any] = {"name": name, "kind": kind}
        for mode, totals in counts[name].items():
            per = [t / requests for t in totals]
            row[mode] = {
                "per_request": statistics.median(per),
                "runs": per,
                "spread": (max(per) - min(per)) / statistics.median(per) if per else 0.0,
            }
        rows.append(row)
    info = json.loads((outdir / "child-info.json").read_text())
    return {
        "meta": {
            "timestamp": stamp,
            "tree": str(tree),
            "commit": commit,
            "portal_imported_from": info["portal"],
            "templates": info["templates"],
            "items": args.items,
            "requests": requests,
            "warmup": WARMUP_REQUESTS,
            "runs": args.runs,
            "python": platform.python_version(),
            "valgrind": subprocess.run(
                ["valgrind", "--version"], capture_output=True, text=True, check=False
            ).stdout.strip(),
            "facts": facts,
        },
        "endpoints": rows,
        "dir": str(outdir),
    }


def render(report: dict[str, Any]) -> str:
    """One run's table: instructions per request, cached and uncached."""
    m = report["meta"]
    lines = [
        f"Instructions per request  {m['timestamp']}  tree {m['tree']} at {m['commit']}",
        f"SQLite, N={m['items']:,} items; {m['requests']} requests per endpoint after "
        f"{m['warmup']} warm ones; {m['runs']} run(s); Python {m['python']}, {m['valgrind']}",
        "",
        f"{'endpoint':<24}{'page cache on':>16}{'page cache off':>16}{'vs floor':>10}  "
        "spread between runs",
    ]
    floors = {
        kind: row["uncached"]["per_request"]
        for row in report["endpoints"]
        if row["kind"] == "floor" and "uncached" in row
        for kind in FLOORS.get(row["name"], ())
    }
    for row in report["endpoints"]:
        cells = []
        spreads = []
        for mode in MODES:
            fig = row.get(mode)
            cells.append(f"{fig['per_request']:>16,.0f}" if fig else f"{'-':>16}")
            if fig and len(fig["runs"]) > 1:
                spreads.append(f"{fig['spread']:.2%}")
        off = row.get("uncached")
        floor = floors.get(row["kind"])
        cells.append(f"{floor / off['per_request']:>10.1%}" if off and floor else f"{'-':>10}")
        lines.append(f"{row['name']:<24}{''.join(cells)}  {' / '.join(spreads)}")
    lines += [
        "",
        "page cache on: what a visitor without a session gets (after the first request, a hit);",
        "the vote and the signed-in board go through Flask either way (a signed-in customer).",
        "page cache off: PAGE_CACHE_SECONDS=0, what rendering costs (a miss, or a signed-in "
        "person).",
        "vs floor: the floor's instructions over the endpoint's with the page cache off (pages:",
        "the page floor, the vote: the write floor); the share of the floor's throughput one core",
        'would give, as bench/run.py\'s "vs floor" (target 50%).',
    ]
    return "\n".join(lines)


def compare(before_path: Path, after_path: Path) -> str:
    """Endpoint, before, after and change in %, for both modes."""
    before = json.loads(before_path.read_text())
    after = json.loads(after_path.read_text())
    b_rows = {r["name"]: r for r in before["endpoints"]}
    lines = [
        f"before: {before['meta']['commit']} ({before['meta']['tree']})",
        f"after:  {after['meta']['commit']} ({after['meta']['tree']})",
        "",
        f"{'endpoint':<24}{'mode':<16}{'before':>14}{'after':>14}{'change':>9}",
    ]
    for row in after["endpoints"]:
        b = b_rows.get(row["name"])
        if b is None:
            continue
        for mode in MODES:
            if mode not in row or mode not in b:
                continue
            x, y = b[mode]["per_request"], row[mode]["per_request"]
            flag = "  > +10%" if y > x * 1.10 else ""
            label = "page cache on" if mode == "cached" else "page cache off"
            lines.append(
                f"{row['name']:<24}{label:<16}{x:>14,.0f}{y:>14,.0f}{(y - x) / x:>+9.1%}{flag}"
            )
    return "\n".join(lines)


# --- the children ----------------------------------------------------------------------------


def child_seed(args: argparse.Namespace) -> int:
    """Create, migrate and seed the tree's database (or reuse it); write the site facts."""
    path = Path(args.db)
    url = f"sqlite:///{path}"
    bdb = BenchDb("instructions", args.items, url, url, name=str(path))
    prepare_db(bdb, args.keep, None, log)
    facts = asdict(site_facts(bdb))
    Path(args.facts).write_text(json.dumps(facts))
    return 0


# The floors (bench/page_floor_app.py, bench/write_floor_app.py), counted with the page cache
# off: what the same job costs with the stack alone, against which the portal's pages and vote
# are read ("vs floor": the floor's instructions over the endpoint's).
FLOORS = {
    "page floor": ("board", "item", "resolutions", "search", "filtered", "deep", "feed"),
    "write floor": ("vote",),
}


def floor_plan(db: str, facts: SiteFacts) -> list[tuple[Endpoint, Any]]:
    """The floors' requests through their own test clients (the write floor signed in)."""
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("SECRET_KEY", SECRET_KEY)
    import page_floor_app
    import write_floor_app

    pages = page_floor_app.app.test_client()
    writer = write_floor_app.app.test_client()
    signed_in = writer.post("/login", data={"email": CUSTOMER_EMAIL, "password": PASSWORD})
    if signed_in.status_code != 200:
        raise SetupError(f"the write floor's sign-in answered {signed_in.status_code}")
    token = signed_in.get_json()["csrf_token"]

    def call(client: Any, method: str, path: str, headers: dict[str, str]) -> Any:
        def once() -> int:
            resp = client.open(path, method=method, headers=headers)
            resp.get_data()
            resp.close()
            return int(resp.status_code)

        return once

    return [
        (Endpoint("page floor", "floor", None, None, None), call(pages, "GET", "/", {})),
        (
            Endpoint("write floor", "floor", None, None, None, cached=False),
            call(
                writer,
                "POST",
                f"/feedback/{facts.vote_item_id}/vote",
                {"X-CSRFToken": token, "HX-Request": "true"},
            ),
        ),
    ]


def child_measure(args: argparse.Namespace) -> int:
    """Under callgrind: warm up, then count the instructions of K requests per endpoint."""
    import portal

    marks = ctypes.CDLL(args.marks)
    marks.marks_dump.argtypes = [ctypes.c_char_p]
    known = json.loads(Path(args.facts).read_text())
    facts = SiteFacts(**known)
    cached = args.mode == "cached"
    app = make_app(
        f"sqlite:///{args.db}",
        PAGE_CACHE_SECONDS=HOUR if cached else 0,
        READ_CACHE_SECONDS=HOUR,
    )
    info = {"portal": portal.__file__, "templates": app.template_folder}
    (Path(args.facts).parent / "child-info.json").write_text(json.dumps(info))

    origin = f"{app.config.get('PREFERRED_URL_SCHEME', 'http')}://localhost"
    # Visitors send no cookie at all (a cached page is answered before Flask runs); the
    # customer who votes is signed in.
    visitor = app.test_client(use_cookies=False)
    customer = app.test_client()
    kinds = set(args.only.split(",")) if args.only else None
    # The vote last: it is the one request that changes what the others read. The hot item's
    # vote is the same request by other people: its instructions are the vote's.
    endpoints: list[Endpoint] = [
        ep
        for ep in sorted(ENDPOINTS, key=lambda e: e.kind == "vote")
        if (ep.cached or not cached or ep.signed_in)
        and (kinds is None or ep.kind in kinds)
        and ep.kind != "hotvote"
    ]
    etag = visitor.get("/feeds/resolutions.atom").headers.get("ETag")
    session = sign_in_test_client(customer, origin, facts.item_id)

    def runner(ep: Endpoint) -> Any:
        req = build_request(ep, facts, etag=etag, session=session)
        headers = {k: v for k, v in req.headers.items() if k != "Cookie"}
        client = customer if ep.signed_in else visitor
        if req.method == "POST":
            headers["Referer"] = f"{origin}/feedback/{facts.vote_item_id}"

        def once() -> int:
            resp = client.open(req.path, method=req.method, headers=headers, data=req.body)
            resp.get_data()
            resp.close()
            return int(resp.status_code)

        return once

    plan = [(ep, runner(ep)) for ep in endpoints]
    if not cached and not kinds:
        plan += floor_plan(args.db, facts)
    for ep, once in plan:
        for _ in range(WARMUP_REQUESTS):
            status = once()
            if str(status) not in ep.expected:
                raise SetupError(f"{ep.name} answered {status} while warming up")
    marks.marks_start_instrumentation()
    for ep, once in plan:
        statuses = []
        # Every endpoint starts from an empty young generation: a collection of the whole
        # heap falls in a block by the requests' own allocations, not by what came before.
        gc.collect()
        marks.marks_toggle_collect()
        for _ in range(args.requests):
            statuses.append(once())
        marks.marks_toggle_collect()
        marks.marks_dump(ep.name.encode())
        if unexpected := [s for s in statuses if str(s) not in ep.expected]:
            raise SetupError(f"{ep.name} answered {unexpected}")
    return 0


# --- command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=str(ROOT), help="the checkout to measure (this one)")
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS, help="items to seed (N)")
    parser.add_argument(
        "--requests", type=int, default=DEFAULT_REQUESTS, help="counted requests per endpoint"
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of each child (median)")
    parser.add_argument("--keep", action="store_true", help="reuse the tree's seeded database")
    parser.add_argument(
        "--only",
        default="",
        help="only these endpoint kinds, comma-separated: " + ",".join(ep.kind for ep in ENDPOINTS),
    )
    parser.add_argument(
        "--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="compare two runs' JSON"
    )
    # Internal: the two kinds of child process.
    parser.add_argument("--child", choices=("seed", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--facts", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--marks", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.child == "seed":
            return child_seed(args)
        if args.child == "measure":
            return child_measure(args)
        if args.compare:
            print(compare(Path(args.compare[0]), Path(args.compare[1])))
            return 0
        if args.items < 1 or args.requests < 1 or args.runs < 1:
            parser.error("--items, --requests and --runs must be positive")
        if args.only and (unknown := set(args.only.split(",")) - {e.kind for e in ENDPOINTS}):
            parser.error(f"--only: no endpoint of kind {', '.join(sorted(unknown))}")
        report = measure_tree(args)
        text = render(report)
        print("\n" + text)
        outdir = Path(report["dir"])
        (outdir / "instructions.txt").write_text(text + "\n")
        (outdir / "instructions.json").write_text(json.dumps(report, indent=2) + "\n")
        log(f"\nWritten: {outdir}/instructions.{{txt,json}} and callgrind's dumps there")
        return 0
    except SetupError as exc:
        print(f"\nbench-instructions: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
