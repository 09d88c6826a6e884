"""The API's links are the configured site's (PORTAL_BASE_URL), whatever host a client names:
an integration that stores them keeps working links, and a forged Host header puts no other
site's address into an answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from portal.extensions import db
from portal.models import Feedback, Role, User
from tests.conftest import make_test_app
from tests.helpers import resolve_together

API = "/api/v1"
FORGED = {"Host": "feedback.example.org"}


def _links(answer: Any) -> list[str]:
    """Every string under a "links" key of a JSON answer, however deep."""
    found: list[str] = []
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key == "links" and isinstance(value, dict):
                found.extend(v for v in value.values() if isinstance(v, str))
            else:
                found.extend(_links(value))
    elif isinstance(answer, list):
        for value in answer:
            found.extend(_links(value))
    return found


def test_every_link_the_api_gives_is_built_from_the_configured_base_url(
    database_uri: str,
    tmp_path: Path,
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    item = make_feedback()
    resolve_together([item], make_user(role=Role.STAFF), "We fixed it.", "It was broken")
    db.session.commit()
    # As in production: no SERVER_NAME, so only PORTAL_BASE_URL keeps the Host header out.
    base = "https://portal.example.com"
    client = make_test_app(
        database_uri, tmp_path, SERVER_NAME=None, PORTAL_BASE_URL=base
    ).test_client()
    for path in ("/", "/items", f"/items/{item.id}", "/resolutions"):
        response = client.get(f"{API}{path}", headers=FORGED)
        assert response.status_code == 200, path
        links = _links(response.get_json())
        assert links, path
        assert all(link.startswith(base + "/") for link in links), (path, links)
