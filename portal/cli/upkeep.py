"""`prune-sessions`: keeping what is stored tidy."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal import unit_of_work
from portal.services import accounts


@click.command("prune-sessions")
@with_appcontext
def prune_sessions() -> None:
    """Delete sessions that have signed nobody in for a whole session lifetime (ended or
    unseen that long). The web app's outbox deliverer does this hourly as well."""
    with unit_of_work.command_transaction():
        pruned = accounts.prune_sessions()
    click.echo(f"Sessions deleted (ended or expired): {pruned}.")
