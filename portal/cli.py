"""Command-line tools (`flask --app wsgi ...`): thin wrappers over the services."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.models import DigestFrequency, Role
from portal.services import accounts, demo, digests, intake, outbox, transfer, webhooks
from portal.services.errors import DomainError


def register(app: Flask) -> None:
    """Add the commands to the app's CLI."""

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database has accounts.")
    def seed_demo(if_empty: bool) -> None:
        """Fill the database with demo people, categories and feedback."""
        if demo.demo_is_seeded():
            if if_empty:
                click.echo("Demo data: the database already has accounts; leaving it as it is.")
                return
            raise click.ClickException("The database already has accounts; not seeding twice.")
        logins = demo.seed_demo()
        db.session.commit()
        base_url = app.config["PORTAL_BASE_URL"].rstrip("/")
        click.echo(f"Demo data is in. Sign in at {base_url}/account/login with:")
        for login in logins:
            click.echo(f"  {login.role:<9} {login.email:<22} password: {login.password}")

    outbox_cli = AppGroup("outbox", help="The email outbox.")

    @outbox_cli.command("deliver")
    @click.option("--batch-size", default=50, show_default=True)
    def outbox_deliver(batch_size: int) -> None:
        """Send the emails and webhook deliveries that are due (from cron, as often as you like)."""
        report = outbox.deliver_pending(batch_size=batch_size)
        click.echo(
            f"Outbox: {report.sent} sent, {report.retried} to retry later, "
            f"{report.failed} given up, {report.withdrawn} no longer wanted; "
            f"{outbox.pending_count()} waiting."
        )
        hooks = webhooks.deliver_webhooks(batch_size=batch_size)
        click.echo(
            f"Webhooks: {hooks.sent} delivered, {hooks.retried} to retry later, "
            f"{hooks.failed} given up; {webhooks.pending_count()} waiting."
        )

    app.cli.add_command(outbox_cli)

    digest_cli = AppGroup("digest", help="The email digest of resolutions.")

    @digest_cli.command("send")
    @click.option(
        "--period",
        "frequency",
        type=click.Choice([f.value for f in DigestFrequency]),
        required=True,
        help="Which subscribers: weekly or monthly. They get the last complete period.",
    )
    @click.option("--batch-size", default=500, show_default=True)
    def digest_send(frequency: str, batch_size: int) -> None:
        """Queue the last complete period's digest for its subscribers (safe to rerun)."""
        # The service commits batch by batch itself; a rerun resumes and mails nobody twice.
        report = digests.send_digest(DigestFrequency(frequency), batch_size=batch_size)
        if not report.resolutions:
            click.echo(f"Digest {report.run_key}: no resolutions in the period; nothing sent.")
            return
        click.echo(
            f"Digest {report.run_key}: {report.resolutions} resolutions, "
            f"{report.delivered} queued, {report.skipped} skipped "
            "(already sent, or nothing in their categories)."
        )

    app.cli.add_command(digest_cli)

    intake_cli = AppGroup("intake", help="Feedback that arrives by email.")

    @intake_cli.command("email")
    @click.option(
        "--recipient",
        envvar=["ORIGINAL_RECIPIENT", "RECIPIENT"],
        default="",
        help="The envelope recipient (Postfix sets ORIGINAL_RECIPIENT for a pipe).",
    )
    def intake_email(recipient: str) -> None:
        """Read one message from standard input: a new private item, or a reply's comment.
        Exits 0 when accepted (or dropped as automatic mail), 65/67 to bounce, 75 to retry."""
        raw = intake.read_limited(sys.stdin.buffer)
        try:
            result = intake.process_message(raw, recipient=recipient)
            if result.changed:
                db.session.commit()
            else:
                db.session.rollback()
        except SQLAlchemyError as exc:
            # The database is down or busy (or a twin delivery won a race): the mail server
            # keeps the message and tries again, and a retry of a recorded one creates nothing.
            db.session.rollback()
            reason = f"database unavailable, try later ({type(exc).__name__})"
            result = intake.IntakeResult("retry", intake.EX_TEMPFAIL, reason)
        except Exception:
            # A bug must not bounce the customer's mail: it waits in the queue for the fix.
            db.session.rollback()
            current_app.logger.exception("intake: unexpected error")
            result = intake.IntakeResult("retry", intake.EX_TEMPFAIL, "internal error, try later")
        click.echo(f"intake: {result.reason}", err=True)
        if result.exit_code:
            raise SystemExit(result.exit_code)

    app.cli.add_command(intake_cli)

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default="Administrator", show_default=True, help="Display name.")
    @click.password_option(help="The new admin's password (asked for when left out).")
    def create_admin(email: str, name: str, password: str) -> None:
        """Create an admin account, or make an existing account an admin."""
        user = accounts.find_user_by_email(email)
        if user is not None:
            user.role = Role.ADMIN
            db.session.commit()
            click.echo(f"{user.email} is now an admin.")
            return
        if len(password) < 10:
            raise click.ClickException("Use a password of at least 10 characters.")
        try:
            user = accounts.register_user(
                email=email, password=password, display_name=name, role=Role.ADMIN
            )
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        db.session.commit()
        click.echo(f"Admin {user.email} created.")

    @app.cli.command("export-data")
    @click.argument("path", type=click.Path(dir_okay=False, writable=True))
    def export_data_command(path: str) -> None:
        """Write every table to a JSON Lines file (to move to another database)."""
        with open(path, "w", encoding="utf-8") as out:
            report = transfer.export_data(out)
        click.echo(f"Exported {sum(report.rows.values())} rows at revision {report.revision}.")

    @app.cli.command("import-data")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def import_data_command(path: str) -> None:
        """Load an export into this database (migrated to the same revision, and empty)."""
        try:
            with open(path, encoding="utf-8") as source:
                report = transfer.import_data(source)
        except transfer.TransferError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Imported {sum(report.rows.values())} rows into {len(report.rows)} tables.")
