"""Services know no Flask: no module under portal/services/ imports Flask, a Flask extension
or Werkzeug. What they need of the app (settings, email templates, links, the mail transport,
the log) comes from the environment of the app whose context is pushed, and two apps in one
process each see their own.
"""

from __future__ import annotations

import ast
import contextvars
import threading
from pathlib import Path

import pytest
from flask import Flask

from portal.services import environment, tokens, webhooks
from portal.services.environment import NoEnvironment, Settings
from portal.services.webhooks import WebhookUrlRefused
from tests.conftest import make_test_app

SERVICES = Path(__file__).resolve().parent.parent / "portal" / "services"

# Werkzeug's password hashing is a hashing library (the stored hashes are in its format), with
# no request or app in it; the rest of Werkzeug is the web.
ALLOWED = {"werkzeug.security"}


def _knows_the_web(module: str) -> bool:
    top = module.split(".")[0]
    return module not in ALLOWED and (top in {"flask", "werkzeug"} or top.startswith("flask_"))


def web_imports(root: Path) -> list[str]:
    """Every import of Flask, a Flask extension or Werkzeug under `root`, as "file:line
    module": at module level, inside functions, and under `if TYPE_CHECKING:` too (a service
    typed against Flask knows it as well)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules = [node.module or ""]
            else:
                continue
            found += [
                f"{path.relative_to(root.parent)}:{node.lineno} {module}"
                for module in modules
                if _knows_the_web(module)
            ]
    return found


def test_no_service_imports_flask_its_extensions_or_werkzeug() -> None:
    assert web_imports(SERVICES) == []


def test_the_check_finds_every_way_of_importing_the_web(tmp_path: Path) -> None:
    package = tmp_path / "services"
    package.mkdir()
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import flask\n"
        "from flask_mailman import EmailMultiAlternatives\n"
        "if TYPE_CHECKING:\n    from flask_sqlalchemy.pagination import Pagination\n"
        "def later():\n    from werkzeug.wrappers import Response\n"
        "from werkzeug.security import check_password_hash\n"
        "import flaskish\n",
        encoding="utf-8",
    )
    assert web_imports(package) == [
        "services/a.py:2 flask",
        "services/a.py:3 flask_mailman",
        "services/a.py:5 flask_sqlalchemy.pagination",
        "services/a.py:7 werkzeug.wrappers",
    ]


@pytest.fixture
def other_app(database_uri: str, tmp_path: Path) -> Flask:
    """A second app in the same process, configured otherwise."""
    return make_test_app(
        database_uri,
        tmp_path,
        SECRET_KEY="another-secret-key-" + "y" * 32,
        WEBHOOK_ALLOW_HTTP=False,
        NOTIFICATION_DAILY_CAP=3,
        PORTAL_BASE_URL="https://feedback.example.org",
    )


def _seen_by_services() -> tuple[Settings, str]:
    current = environment.current()
    return current.settings, current.presenter.url("notifications.unsubscribe", token="t")


def test_two_apps_each_see_their_own_settings_in_services(app: Flask, other_app: Flask) -> None:
    http_url = "http://hooks.example.com/in"
    # The test runs in `app`'s context.
    assert webhooks.check_url(http_url) == http_url
    token = tokens.make_unsubscribe_token(7, None)
    settings, link = _seen_by_services()
    assert settings.notification_daily_cap == 10
    assert link.startswith("http://127.0.0.1:5000/")

    with other_app.app_context():
        with pytest.raises(WebhookUrlRefused):
            webhooks.check_url(http_url)
        # Signed with the other app's key: neither app reads the other's tokens.
        assert tokens.read_unsubscribe_token(token) is None
        other_token = tokens.make_unsubscribe_token(7, None)
        settings, link = _seen_by_services()
        assert settings.notification_daily_cap == 3
        assert link.startswith("https://feedback.example.org/")

    # Back in the first app's context.
    assert tokens.read_unsubscribe_token(token) == {"u": 7, "f": None}
    assert tokens.read_unsubscribe_token(other_token) is None
    assert _seen_by_services()[0].notification_daily_cap == 10


def test_a_thread_of_its_own_sees_the_app_whose_context_it_pushed(
    app: Flask, other_app: Flask
) -> None:
    seen: list[int] = []

    def deliverer() -> None:  # as the outbox worker runs: its own thread, its app's context
        with other_app.app_context():
            seen.append(environment.current().settings.notification_daily_cap)

    thread = threading.Thread(target=deliverer)
    thread.start()
    thread.join()
    assert seen == [3]
    assert environment.current().settings.notification_daily_cap == 10


def test_a_service_outside_any_app_says_so() -> None:
    with pytest.raises(NoEnvironment, match="app's context"):
        contextvars.Context().run(environment.current)
