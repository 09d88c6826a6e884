"""`attachments prune`: uploads never attached to anything, removed (from cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal import unit_of_work
from portal.services import attachments

attachments_group = AppGroup("attachments", help="Attached images.")


@attachments_group.command("prune")
def prune() -> None:
    """Delete uploads attached to nothing for over an hour (a form never sent), and stored
    bytes no upload names (run it hourly from cron)."""
    with unit_of_work.command_transaction():
        pruned = attachments.prune_unattached()
    click.echo(f"Uploads never attached, deleted: {pruned}.")
