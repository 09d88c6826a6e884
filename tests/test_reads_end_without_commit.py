"""A GET that only read ends its transaction without a commit (unit_of_work: only_read, on
SQLite; PostgreSQL does not tell cheaply whether a transaction wrote, so it commits as before);
a GET that wrote, or left work for after the commit, is committed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.models import Category
from portal.services import events
from tests.conftest import make_test_app


@pytest.fixture(scope="module")
def reading_app(database_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    app = make_test_app(database_uri, tmp_path_factory.mktemp("reads"))
    app.config["_ran_after_commit"] = []

    @app.get("/_reads/only")
    def only_reads() -> str:
        categories = db.session.scalars(sa.select(Category)).all()
        return f"{len(categories)} categories"

    @app.get("/_reads/then-writes")
    def reads_then_writes() -> str:
        db.session.scalars(sa.select(Category)).all()
        db.session.add(Category(name="written", slug="written-on-get", description=""))
        return "written"

    @app.get("/_reads/then-leaves-work")
    def leaves_work_for_the_commit() -> str:
        db.session.scalars(sa.select(Category)).all()
        events.after_commit(db.session, lambda: app.config["_ran_after_commit"].append(1))
        return "left"

    return app


def test_a_get_that_only_read_is_not_committed_on_sqlite(reading_app: Flask) -> None:
    on_sqlite = reading_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    browser = reading_app.test_client()
    browser.get("/_reads/only")  # the first request may store what the site starts with
    with reading_app.app_context():
        engine = db.engine  # the app's own: the test client commits the test's session
    ended: list[str] = []

    def commit(connection: sa.Connection) -> None:
        ended.append("commit")

    def rollback(connection: sa.Connection) -> None:
        ended.append("rollback")

    sa.event.listen(engine, "commit", commit)
    sa.event.listen(engine, "rollback", rollback)
    try:
        response = browser.get("/_reads/only")
    finally:
        sa.event.remove(engine, "commit", commit)
        sa.event.remove(engine, "rollback", rollback)
    assert response.status_code == 200
    assert ended == (["rollback"] if on_sqlite else ["commit"])


def test_a_get_that_wrote_is_committed(reading_app: Flask) -> None:
    assert reading_app.test_client().get("/_reads/then-writes").status_code == 200
    with reading_app.app_context():
        slugs = set(db.session.scalars(sa.select(Category.slug)))
    assert "written-on-get" in slugs


def test_a_get_that_left_work_for_the_commit_is_committed(reading_app: Flask) -> None:
    assert reading_app.test_client().get("/_reads/then-leaves-work").status_code == 200
    assert reading_app.config["_ran_after_commit"] == [1]
