"""The operator's commands (`flask --app wsgi ...`): what they print, and what they leave."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.models import AuditEntry, Role, User
from portal.services.accounts import authenticate, find_user_by_email
from portal.services.intake import EX_TEMPFAIL

MAIL = Path(__file__).resolve().parent / "data" / "mail"


def _users() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def test_create_admin_creates_an_admin_who_can_sign_in(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-admin", "Ada@Example.com", "--name", "Ada", "--password", "long enough pw"]
    )
    assert result.exit_code == 0, result.output
    # An empty install gets its first category too (tests/web/test_first_run.py).
    assert result.output.startswith("Admin ada@example.com created.\n")
    db.session.expire_all()
    admin = authenticate("ada@example.com", "long enough pw")
    assert admin is not None and admin.role is Role.ADMIN and admin.display_name == "Ada"


def test_create_admin_makes_an_existing_account_an_admin(
    app: Flask, make_user: Callable[..., User]
) -> None:
    make_user(email="sam@example.com")
    result = app.test_cli_runner().invoke(
        args=["create-admin", "sam@example.com", "--password", "ignored here"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sam@example.com is now an admin.\n")
    db.session.expire_all()
    sam = find_user_by_email("sam@example.com")
    assert sam is not None and sam.role is Role.ADMIN
    assert _users() == 1


def test_create_admin_with_a_short_password_is_refused_and_creates_nobody(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-admin", "ada@example.com", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "Use a password of at least 10 characters." in result.output
    assert _users() == 0


def test_seed_demo_fills_an_empty_database_once(app: Flask) -> None:
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0].startswith("Demo data is in. Sign in at ")
    assert lines[0].endswith("/account/login with:")
    assert len(lines) > 1 and all("password: " in line for line in lines[1:])
    seeded = _users()
    assert seeded > 0

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 1
    assert "The database already has accounts; not seeding twice." in again.output

    quietly = runner.invoke(args=["seed-demo", "--if-empty"])
    assert quietly.exit_code == 0, quietly.output
    assert quietly.output == (
        "Demo data: the database already has accounts; leaving it as it is.\n"
    )
    assert _users() == seeded


def test_export_data_writes_a_file_that_import_data_refuses_into_a_full_database(
    app: Flask, make_user: Callable[..., User], tmp_path: Path
) -> None:
    make_user()
    runner = app.test_cli_runner()
    export = tmp_path / "portal.jsonl"

    exported = runner.invoke(args=["export-data", str(export)])
    assert exported.exit_code == 0, exported.output
    assert exported.output.startswith("Exported ") and " rows at revision " in exported.output
    assert export.read_text(encoding="utf-8").count("\n") > 1

    refused = runner.invoke(args=["import-data", str(export)])
    assert refused.exit_code == 1
    assert "is not empty; import into a new database" in refused.output
    assert _users() == 1


def test_intake_email_that_must_wait_for_a_category_keeps_no_new_account(app: Flask) -> None:
    # The sender's account is written before the missing category is noticed; the mail server
    # retries the message later, so nothing of this attempt may stand.
    result = app.test_cli_runner().invoke(
        args=["intake", "email"], input=(MAIL / "plain.eml").read_bytes()
    )
    assert result.exit_code == EX_TEMPFAIL
    assert result.stderr.startswith("intake: no category to file email under")
    assert _users() == 0


def test_create_admin_records_who_was_made_an_admin_in_the_audit_log(app: Flask, make_user) -> None:
    sam = make_user(email="sam@example.com")
    result = app.test_cli_runner().invoke(
        args=["create-admin", "sam@example.com", "--password", "ignored here"]
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.made_admin"))
    assert entry is not None and entry.target_id == sam.id
    assert entry.detail == {"before": "customer", "via": "command line"}
