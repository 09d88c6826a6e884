"""Every kind of feed is valid: the Atom ones against RFC 4287's own schema (its appendix B,
tests/data/atom.rnc) as jing reads it, the RSS one as a real feed reader (feedparser) reads it.

jing is Debian's package `jing` (.ci/run installs it); one JVM checks every Atom document.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Category, Feedback, Role, User, Visibility
from portal.services import workflow
from tests.helpers import database_independent, require, resolve_together

ATOM_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "atom.rnc"

pytestmark = database_independent


@pytest.fixture
def jing(app: Flask) -> str:
    """jing's path, or a skip: asked for first, so that nothing is published in vain."""
    path = shutil.which("jing")
    require(path is not None, "jing is not installed (apt-get install jing)")
    assert path is not None
    return path


def _fetched(client: FlaskClient, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data()


def _invalid(jing: str, documents: dict[str, bytes], folder: Path) -> str:
    """jing's complaints about the Atom documents, each file named after its kind of feed
    (empty when every one is valid)."""
    files = []
    for kind, document in documents.items():
        path = folder / (kind.replace(", ", "-").replace(" ", "-") + ".atom")
        path.write_bytes(document)
        files.append(str(path))
    result = subprocess.run(
        [jing, "-c", str(ATOM_SCHEMA), *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    complaints = [line for line in result.stdout.splitlines() if ": error:" in line]
    # Anything else going wrong (no Java, an unreadable schema) fails too, with jing's words.
    assert complaints or result.returncode == 0, result.stdout + result.stderr
    return "\n".join(complaints)


def test_every_kind_of_feed_is_valid(
    jing: str,
    client: FlaskClient,
    tmp_path: Path,
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
    make_feedback: Callable[..., Feedback],
) -> None:
    atom: dict[str, bytes] = {}
    rss: dict[str, bytes] = {}
    # A site with nothing yet: no account, no category, no resolution.
    atom["site, empty"] = _fetched(client, "/feeds/resolutions.atom")
    rss["site, empty"] = _fetched(client, "/feeds/resolutions.rss")
    atom["roadmap, empty"] = _fetched(client, "/roadmap.atom")

    staff = make_user(role=Role.STAFF)
    make_category(name="Quiet")
    bins = make_category(name="Bins & Recycling")
    listed = make_feedback(category=bins, title="Bins <not> collected — “again” & again")
    private = make_feedback(category=bins, visibility=Visibility.PRIVATE)
    resolve_together(
        [listed, private],
        staff,
        "We added a **second round**, see <https://example.org/rounds?a=1&b=2>.",
        "Missed bins & <late> rounds",
    )
    resolve_together([make_feedback()], staff, "Fixed.", "A second thing")
    # On the roadmap: one planned (a promised date, an outcome), one in progress.
    planned = make_feedback(category=bins, title="Bins <lids> & “wheels”")
    started = make_feedback(category=bins)
    for item in (planned, started):
        workflow.acknowledge(item.id, staff, "Thank you, I am on it.", post_anyway=True)
    workflow.plan(
        planned.id,
        staff,
        datetime.now(UTC).date() + timedelta(days=9),
        "Planned for next week.",
        outcome="New lids & <wheels>",
        post_anyway=True,
    )
    workflow.start_work(started.id, staff, "Started today.", post_anyway=True)
    db.session.commit()

    atom["site"] = _fetched(client, "/feeds/resolutions.atom")
    atom["category"] = _fetched(client, "/feeds/categories/bins-&-recycling.atom")
    atom["category, empty"] = _fetched(client, "/feeds/categories/quiet.atom")
    rss["site"] = _fetched(client, "/feeds/resolutions.rss")
    atom["roadmap"] = _fetched(client, "/roadmap.atom")
    atom["roadmap, category"] = _fetched(client, "/roadmap.atom?category=bins-%26-recycling")

    assert feedparser.parse(atom["site"]).entries, "the site feed lists what was published"
    assert feedparser.parse(atom["category"]).entries
    assert not feedparser.parse(atom["category, empty"]).entries
    assert len(feedparser.parse(atom["roadmap"]).entries) == 4  # 2 done, planned, in progress
    assert _invalid(jing, atom, tmp_path) == ""
    for kind, document in rss.items():
        parsed = feedparser.parse(document)
        assert parsed.version == "rss20", kind
        assert not parsed.bozo, (kind, parsed.get("bozo_exception"))
