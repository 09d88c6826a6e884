"""`insights rebuild`: count the insights roll-ups again from every item."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal import unit_of_work
from portal.services.insights import rollups


@click.group("insights")
def insights_group() -> None:
    """The insights figures' daily roll-ups."""


@insights_group.command("rebuild")
@with_appcontext
def rebuild() -> None:
    """Empty the roll-ups and count every item again (once after the upgrade that adds them,
    or after changing items with SQL that bypasses the portal)."""
    with unit_of_work.command_transaction():
        counted = rollups.rebuild()
    click.echo(f"Insights roll-ups rebuilt from {counted} items.")
