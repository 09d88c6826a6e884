"""`create-admin`: the first admin account, or an existing account made an admin; on an install
with no category yet, the first one too ("General"), so visitors can submit at once."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal import unit_of_work
from portal.services import accounts, get_started
from portal.services.errors import DomainError


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", show_default=True, help="Display name.")
@click.password_option(help="The new admin's password (asked for when left out).")
@with_appcontext
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account, or make an existing account an admin."""
    try:
        with unit_of_work.command_transaction():
            user, promoted = accounts.make_admin(email=email, password=password, display_name=name)
            category = get_started.add_first_category()
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    if promoted:
        click.echo(f"{user.email} is now an admin.")
    else:
        click.echo(f"Admin {user.email} created.")
    if category is not None:
        click.echo(
            f'Added a category, "{category.name}", as there was none: rename it, or add yours, '
            "on the admin's Categories page."
        )
