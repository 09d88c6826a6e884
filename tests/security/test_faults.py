"""When the database cannot be reached the site says so kindly, and it comes back by itself
once the database does; a request that is too large is refused in the site's own words."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_migrate import upgrade

from portal.extensions import db
from portal.models import Category, FeedbackKind
from portal.services.accounts import register_user
from portal.services.feedback import submit_feedback
from tests.conftest import TEST_PASSWORD, make_test_app

FRIENDLY = "We cannot reach our records for a moment"
PAGES = ("/", "/feedback/1", "/you-said-we-did")


def _app_without_its_database(tmp_path: Path) -> tuple[Flask, Path]:
    folder = tmp_path / "missing" / "dir"
    app = make_test_app(f"sqlite:///{folder}/db.sqlite3", tmp_path / "instance")
    return app, folder


def test_pages_answer_503_kindly_while_the_database_is_unreachable(tmp_path: Path) -> None:
    app, _ = _app_without_its_database(tmp_path)
    client = app.test_client()
    for path in PAGES:
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 503, f"GET {path} -> {response.status_code}"
        assert FRIENDLY in body, path
        assert "Traceback" not in body and "OperationalError" not in body, path
        assert "sqlite" not in body.lower(), f"GET {path} names the database"
        assert response.headers["Retry-After"].isdigit()
        assert response.mimetype == "text/html"
    # The htmx fragment says the same, where messages go.
    fragment = client.get("/", headers={"HX-Request": "true"})
    assert fragment.status_code == 503
    assert FRIENDLY in fragment.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_health_check_says_the_database_is_unreachable(tmp_path: Path) -> None:
    app, _ = _app_without_its_database(tmp_path)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.is_json
    assert response.get_json()["database"] == "unreachable"
    assert "Traceback" not in response.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_the_site_recovers_without_a_restart_once_the_database_is_back(tmp_path: Path) -> None:
    app, folder = _app_without_its_database(tmp_path)
    client = app.test_client()
    assert client.get("/healthz").status_code == 503
    assert client.get("/").status_code == 503

    # The database comes back: the folder appears with a migrated database in it.
    folder.mkdir(parents=True)
    with app.app_context():
        upgrade()
        author = register_user(
            email="back@example.com", password=TEST_PASSWORD, display_name="Back Again"
        )
        category = Category(name="Deliveries", slug="deliveries", ack_target_hours=48)
        db.session.add(category)
        db.session.flush()
        item = submit_feedback(
            author,
            kind=FeedbackKind.COMPLAINT,
            category_id=category.id,
            title="Parcel left in the rain",
            body="Soaked through.",
        )
        db.session.commit()
        item_id = item.id
        db.session.remove()

    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["database"] == "ok"
    for path in ("/", f"/feedback/{item_id}", "/you-said-we-did"):
        response = client.get(path)
        assert response.status_code == 200, f"GET {path} -> {response.status_code}"
        assert FRIENDLY not in response.get_data(as_text=True)
    assert "Parcel left in the rain" in client.get("/").get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_a_request_larger_than_the_limit_gets_413_with_the_site_error_page(
    app: Flask, client
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit and limit <= 10 * 1024 * 1024
    response = client.post(
        "/account/login",
        data={"email": "a@example.com", "password": "x" * (limit + 1024)},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "That was too large" in body
    assert 'class="site-footer"' in body, "the error is shown in the site's layout"
    assert "Traceback" not in body
    # From htmx, the same message goes where the page shows messages.
    fragment = client.post(
        "/digest/subscribe",
        data={"email": "a@example.com", "frequency": "x" * (limit + 1)},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 413
    assert "That was too large" in fragment.get_data(as_text=True)
    assert fragment.headers.get("HX-Retarget") == "#htmx-messages"
