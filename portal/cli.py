"""Command-line tools (`flask --app wsgi ...`): thin wrappers over the services."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import Role
from portal.services import accounts, demo, outbox
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
        click.echo("Demo data is in. Sign in at http://127.0.0.1:5000/account/login with:")
        for login in logins:
            click.echo(f"  {login.role:<9} {login.email:<22} password: {login.password}")

    outbox_cli = AppGroup("outbox", help="The email outbox.")

    @outbox_cli.command("deliver")
    @click.option("--batch-size", default=50, show_default=True)
    def outbox_deliver(batch_size: int) -> None:
        """Send the emails that are due (run it from cron, or as often as you like)."""
        report = outbox.deliver_pending(batch_size=batch_size)
        click.echo(
            f"Outbox: {report.sent} sent, {report.retried} to retry later, "
            f"{report.failed} given up; {outbox.pending_count()} waiting."
        )

    app.cli.add_command(outbox_cli)

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
