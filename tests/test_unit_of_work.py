"""The unit of work: each request (or CLI command) commits once, in one place, and a request
that fails keeps nothing it wrote."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, abort
from sqlalchemy.exc import OperationalError

from portal import unit_of_work
from portal.extensions import db
from portal.models import Category
from portal.services import events
from portal.services.errors import DomainError
from tests.conftest import make_test_app

PORTAL = Path(__file__).resolve().parent.parent / "portal"
# The only places that end a transaction themselves: the unit of work, and the deliverers that
# commit each claimed batch on purpose (so a crash half-way sends nothing twice).
MAY_END_TRANSACTIONS = {
    "unit_of_work.py",
    "services/outbox.py",
    "services/digests.py",
    "outbox_worker.py",
}


def test_nothing_but_the_unit_of_work_and_the_deliverers_commits_or_rolls_back() -> None:
    ending = re.compile(r"session\.(commit|rollback)\(")
    offenders = [
        f"{path.relative_to(PORTAL)}:{number}"
        for path in sorted(PORTAL.rglob("*.py"))
        if str(path.relative_to(PORTAL)) not in MAY_END_TRANSACTIONS
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ending.search(line)
    ]
    assert offenders == []


@pytest.fixture(scope="module")
def writing_app(database_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app with a few routes that write a category and then answer in different ways."""
    app = make_test_app(database_uri, tmp_path_factory.mktemp("uow"), WTF_CSRF_ENABLED=False)

    def add(slug: str) -> None:
        db.session.add(Category(name=slug, slug=slug, description="", position=0))
        db.session.flush()

    @app.post("/_uow/answers/<int:status>")
    def writes_then_answers(status: int) -> tuple[str, int]:
        add(f"answered-{status}")
        return "done", status

    @app.post("/_uow/refused")
    def writes_then_is_refused() -> str:
        add("refused")
        raise DomainError("Not like that.")

    @app.post("/_uow/aborted")
    def writes_then_aborts() -> str:
        add("aborted")
        abort(409)

    return app


def _slugs() -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(sa.select(Category.slug)))


@pytest.mark.parametrize("status", [200, 201, 302])
def test_a_request_that_succeeds_is_committed_once_it_has_answered(writing_app, status) -> None:
    assert writing_app.test_client().post(f"/_uow/answers/{status}").status_code == status
    assert f"answered-{status}" in _slugs()


@pytest.mark.parametrize("status", [400, 404, 422, 500])
def test_a_request_that_answers_with_an_error_keeps_nothing(writing_app, status) -> None:
    assert writing_app.test_client().post(f"/_uow/answers/{status}").status_code == status
    assert f"answered-{status}" not in _slugs()


@pytest.mark.parametrize(("path", "status"), [("/_uow/refused", 400), ("/_uow/aborted", 409)])
def test_a_refused_or_aborted_request_keeps_nothing(writing_app, path, status) -> None:
    response = writing_app.test_client().post(path)
    assert response.status_code == status
    assert path.rpartition("/")[2] not in _slugs()


def test_a_commit_that_fails_is_answered_by_the_error_pages_and_keeps_nothing(
    writing_app, monkeypatch
) -> None:
    def lost_connection() -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(unit_of_work, "commit_now", lost_connection)
    response = writing_app.test_client().post("/_uow/answers/200")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "Nothing you sent was lost" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert "answered-200" not in _slugs()


def test_a_cli_command_commits_once_when_it_succeeds() -> None:
    with unit_of_work.command_transaction():
        db.session.add(Category(name="CLI", slug="cli", description="", position=0))
    assert "cli" in _slugs()


def test_a_cli_command_that_fails_keeps_nothing() -> None:
    with pytest.raises(RuntimeError), unit_of_work.command_transaction():
        db.session.add(Category(name="CLI", slug="cli-failed", description="", position=0))
        db.session.flush()
        raise RuntimeError("the operator's input was wrong")
    assert "cli-failed" not in _slugs()


def test_a_refusal_shown_on_a_form_rolls_back_and_keeps_the_message_beside_the_field() -> None:
    errors: list[str] = []
    with unit_of_work.refusal_shown_in(errors) as refusal:
        db.session.add(Category(name="Kept?", slug="kept", description="", position=0))
        db.session.flush()
        raise DomainError("Please choose another name.")
    assert refusal
    assert (refusal.status, errors) == (400, ["Please choose another name."])
    assert "kept" not in _slugs()


# After the commit ----------------------------------------------------------------------------


def test_work_after_the_commit_runs_once_it_has_committed_and_never_after_a_rollback() -> None:
    ran: list[str] = []
    events.after_commit(db.session, lambda: ran.append("first"))
    db.session.rollback()
    db.session.commit()
    assert ran == []

    events.after_commit(db.session, lambda: ran.append("second"))
    assert ran == []
    db.session.commit()
    assert ran == ["second"]
    db.session.commit()
    assert ran == ["second"]


def test_a_savepoint_rolled_back_keeps_the_work_after_the_commit() -> None:
    ran: list[str] = []
    events.after_commit(db.session, lambda: ran.append("after"))
    with db.session.begin_nested() as savepoint:
        db.session.add(Category(name="Inner", slug="inner", description="", position=0))
        db.session.flush()
        savepoint.rollback()
    db.session.commit()
    assert ran == ["after"]


def test_consumers_run_in_the_order_they_were_connected() -> None:
    class Happened:
        pass

    heard: list[int] = []
    for number in range(20):
        events.on(Happened)(lambda _event, number=number: heard.append(number))
    events.emit(Happened())
    assert heard == list(range(20))
