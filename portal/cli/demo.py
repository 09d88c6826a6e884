"""`seed-demo`: demo people, categories and feedback for a new database."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal import unit_of_work
from portal.services import demo


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has accounts.")
@with_appcontext
def seed_demo(if_empty: bool) -> None:
    """Fill the database with demo people, categories and feedback."""
    if not current_app.config["DEMO_DATA_ALLOWED"]:
        # Its accounts (an admin among them) share a password printed for anyone to read.
        raise click.ClickException(
            "Demo data is not for production: its accounts, an admin among them, have a "
            "published password. Use `flask create-admin` instead."
        )
    with unit_of_work.command_transaction():
        if demo.demo_is_seeded():
            if if_empty:
                click.echo("Demo data: the database already has accounts; leaving it as it is.")
                return
            raise click.ClickException("The database already has accounts; not seeding twice.")
        logins = demo.seed_demo()
    base_url = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    click.echo(f"Demo data is in. Sign in at {base_url}/account/login with:")
    for login in logins:
        click.echo(f"  {login.role:<9} {login.email:<22} password: {login.password}")
