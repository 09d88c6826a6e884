"""`create-admin`: the first admin account, or an existing account made an admin."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal import unit_of_work
from portal.models import Role
from portal.services import accounts
from portal.services.errors import DomainError


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", show_default=True, help="Display name.")
@click.password_option(help="The new admin's password (asked for when left out).")
@with_appcontext
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account, or make an existing account an admin."""
    with unit_of_work.command_transaction():
        user = accounts.find_user_by_email(email)
        if user is not None:
            # No admin.update_user here: it needs an acting admin, and there may be none yet.
            user.role = Role.ADMIN
            promoted = True
        else:
            if len(password) < 10:
                raise click.ClickException("Use a password of at least 10 characters.")
            try:
                user = accounts.register_user(
                    email=email, password=password, display_name=name, role=Role.ADMIN
                )
            except DomainError as exc:
                raise click.ClickException(exc.message) from exc
            promoted = False
    if promoted:
        click.echo(f"{user.email} is now an admin.")
    else:
        click.echo(f"Admin {user.email} created.")
