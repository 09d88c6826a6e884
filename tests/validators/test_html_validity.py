"""Every kind of page is valid HTML, as the Nu Html Checker (the W3C validator) reads it.

The pages are the ones the access sweep reaches (every GET route, with the rows its arguments
point at) and the pages the accessibility tests open on the demo data, each rendered as a
visitor, a customer, staff and an admin. The checker is the npm package vnu-jar, pinned in
package.json (`npm ci` installs it; `make install-dev` runs that), run with the machine's Java:
one JVM for every page, so the whole check takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Feedback
from portal.services.site import settings_for_update
from tests.browser.test_accessibility import PAGES, Demo, demo  # noqa: F401 (a fixture)
from tests.helpers import database_independent, post, require
from tests.security.test_access import (
    SESSION_ENDING,
    World,
    _sweep,
    _url,
    world,  # noqa: F401 (a fixture)
)

ROOT = Path(__file__).resolve().parents[2]
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
ROLES = ("visitor", "customer", "staff", "admin")
# htmx reads hx-post and data-hx-post alike; only the data- form is valid HTML, so it is the one
# the site writes (and selects by). A WTForms keyword such as hx_post= renders as hx-post.
BARE_HTMX = re.compile(r"(?<![\w-])hx[-_](?!request\b)[a-z]")

pytestmark = database_independent


@dataclass
class RenderedPage:
    """One distinct page of HTML and every address and person it was rendered for."""

    html: str
    seen_as: list[str] = field(default_factory=list)


def _full_html_page(client: FlaskClient, path: str) -> str | None:
    """The page at path as a browser first loads it, or None when the answer is not a page
    (a redirect, a feed, JSON, a static file, a fragment for htmx to swap in)."""
    response = client.get(path)
    body = response.get_data().decode(errors="replace")  # an image is bytes
    response.close()
    if response.mimetype != "text/html" or response.status_code in range(300, 400):
        return None
    if not body.lstrip()[:15].lower().startswith("<!doctype html"):
        return None  # a fragment, checked inside the pages that hold it
    return body


# Pages only a form's answer shows, as a visitor sees them: (path, what is typed, what the
# answer says).
REGISTRATION = {
    "email": "noor@example.com",
    "display_name": "Noor",
    "preferred_name": "Noor",
    "password": "a long and happy password",
}
POSTED = [
    (
        "/account/register",
        {**REGISTRATION, "confirm": REGISTRATION["password"]},
        "Check your email",
    ),
    ("/account/register", {**REGISTRATION, "confirm": "not the same"}, "are not the same"),
]


def _keep(pages: dict[str, RenderedPage], html: str | None, seen_as: str) -> None:
    if html is not None:
        key = hashlib.sha256(html.encode()).hexdigest()
        pages.setdefault(key, RenderedPage(html)).seen_as.append(seen_as)


def _pages(app: Flask, world: World, demo: Demo) -> dict[str, RenderedPage]:  # noqa: F811
    paths = [
        _url(rule, world.values)
        for rule, method in _sweep(app, world)
        if method == "GET" and rule.endpoint not in SESSION_ENDING
    ]
    paths += [case.path.format(**demo.__dict__) for case in PAGES]
    pages: dict[str, RenderedPage] = {}
    for role in ROLES:
        for path in dict.fromkeys(paths):
            _keep(pages, _full_html_page(world.clients[role], path), f"{path} as {role}")
    visitor = world.clients["visitor"]
    for path, typed, answer in POSTED:
        html = post(visitor, path, typed).get_data(as_text=True)
        assert answer in html, (path, typed)
        _keep(pages, html, f"{path} posted ({answer!r}) as visitor")
    return pages


def _check(jar: Path, pages: dict[str, RenderedPage], folder: Path) -> list[dict[str, Any]]:
    """The checker's messages for every page, each with the page's file name as its url."""
    for key, page in pages.items():
        (folder / f"{key}.html").write_text(page.html, encoding="utf-8")
    result = subprocess.run(
        ["java", "-jar", str(jar), "--format", "json", "--stdout", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.stdout, f"the checker said nothing (exit {result.returncode}): {result.stderr}"
    messages: list[dict[str, Any]] = json.loads(result.stdout)["messages"]
    return messages


@pytest.fixture(scope="module")
def nu_checker(app: Flask) -> Path:
    """The checker's jar, or a skip: asked for first, so that nothing is seeded in vain."""
    require(shutil.which("java") is not None, "Java is not installed (apt-get install default-jre)")
    require(VNU_JAR.is_file(), f"the Nu Html Checker is not installed at {VNU_JAR} (npm ci)")
    return VNU_JAR


def test_every_page_is_valid_html(
    nu_checker: Path,
    app: Flask,
    demo: Demo,  # noqa: F811
    world: World,  # noqa: F811
    tmp_path: Path,
) -> None:
    pages = _pages(app, world, demo)
    loads = sum(len(page.seen_as) for page in pages.values())
    assert len(pages) >= 40, f"only {len(pages)} distinct pages rendered"
    messages = _check(nu_checker, pages, tmp_path)
    print(f"checked {len(pages)} distinct pages ({loads} page loads)")

    errors = []
    for message in messages:
        if message["type"] not in ("error", "non-document-error"):
            continue  # warnings and notes
        page = pages[Path(message.get("url", "")).stem] if "url" in message else None
        where = f"{page.seen_as[0]} (and {len(page.seen_as) - 1} more)" if page else "?"
        extract = message.get("extract", "").strip().replace("\n", " ")
        errors.append(
            f"{where}, line {message.get('lastLine', '?')}: {message['message']}  [{extract}]"
        )
    failing = len({error.split(", line ")[0] for error in errors})
    assert not errors, f"{len(errors)} HTML errors on {failing} pages:\n" + "\n".join(errors)


def test_htmx_attributes_are_written_one_way_everywhere() -> None:
    """Fragments for htmx to swap in are not whole pages, so the checker never sees them:
    every template and script is read here instead."""
    sources = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "static" / "js").rglob("*.js")]
    bare = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BARE_HTMX.search(line)
    ]
    assert len(sources) > 50
    assert not bare, "write data-hx-* (valid HTML), not hx-*:\n" + "\n".join(bare)


def test_a_time_tells_machines_the_moment_in_the_sites_zone_to_the_second(
    client: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    """HTML allows at most three digits of a second in <time datetime>; isoformat() wrote six.
    The value is the moment people read beside it, in the site's zone, with its offset."""
    settings = settings_for_update()
    settings.time_zone = "Asia/Kolkata"  # +05:30 all year round
    item = make_feedback(title="Meter reading was wrong")
    item.created_at = datetime(2026, 3, 4, 9, 15, 42, 123456, tzinfo=UTC)
    db.session.commit()
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert '<time datetime="2026-03-04T14:45:42+05:30">4 Mar 2026, 14:45</time>' in page
    assert ".123456" not in page
