"""`export-data` and `import-data`: every table to JSON Lines and into another database."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal import unit_of_work
from portal.services import transfer


@click.command("export-data")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_data(path: str) -> None:
    """Write every table to a JSON Lines file (to move to another database)."""
    with unit_of_work.command_transaction(), open(path, "w", encoding="utf-8") as out:
        report = transfer.export_data(out)
    click.echo(f"Exported {sum(report.rows.values())} rows at revision {report.revision}.")


@click.command("import-data")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_data(path: str) -> None:
    """Load an export into this database (migrated to the same revision, and empty)."""
    # The service writes on a connection of its own, in one transaction of its own: the
    # session's unit of work around it has nothing to commit.
    with unit_of_work.command_transaction():
        try:
            with open(path, encoding="utf-8") as source:
                report = transfer.import_data(source)
        except transfer.TransferError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Imported {sum(report.rows.values())} rows into {len(report.rows)} tables.")
