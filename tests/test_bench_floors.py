"""The benchmark's floors (bench/page_floor_app.py, bench/write_floor_app.py) do the portal's
job with the stack alone; these tests keep them doing the same job.

Run in a child process on a small seeded SQLite file: the floors read DATABASE_URL when they
are imported, and the portal app made there is not this session's test app."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
sys.path.insert(0, "bench")
import flask_migrate
from run import make_app
from seed import CUSTOMER_EMAIL, PASSWORD, seed_database

app = make_app("sqlite:///" + sys.argv[1])
with app.app_context():
    flask_migrate.upgrade()
seed_database(app, 300, None, log=lambda message: None)
portal_page = app.test_client().get("/").get_data(as_text=True)

import page_floor_app
import write_floor_app

floor_page = page_floor_app.app.test_client().get("/").get_data(as_text=True)
writer = write_floor_app.app.test_client()
signed_in = writer.post("/login", data={"email": CUSTOMER_EMAIL, "password": PASSWORD})
token = signed_in.get_json()["csrf_token"]
votes = [
    writer.post("/feedback/1/vote").status_code,
    writer.post("/feedback/1/vote", headers={"X-CSRFToken": token}).get_data(as_text=True),
    writer.post("/feedback/1/vote", headers={"X-CSRFToken": token}).get_data(as_text=True),
]
print(json.dumps({"portal": portal_page, "floor": floor_page, "votes": votes}))
"""


def _run(tmp_path: Path) -> dict[str, object]:
    db = tmp_path / "bench.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "SECRET_KEY": "floors-test-key"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(db)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _lines(page: str) -> list[str]:
    return [line.strip() for line in page.splitlines() if line.strip()]


def test_the_floors_render_the_boards_markup_and_take_a_signed_in_write(tmp_path: Path) -> None:
    result = _run(tmp_path)
    portal, floor = _lines(str(result["portal"])), _lines(str(result["floor"]))
    diff = "\n".join(difflib.unified_diff(portal, floor, "portal board", "page floor", lineterm=""))
    assert portal == floor, f"the page floor no longer renders the board's markup:\n{diff}"

    refused, first, second = result["votes"]  # type: ignore[misc]
    assert refused == 400, "a write without the CSRF token is refused"
    counts = [int(page.split('vote__count">')[1].split("<")[0]) for page in (first, second)]
    assert abs(counts[0] - counts[1]) == 1, "each write changes the item's counter by one"
