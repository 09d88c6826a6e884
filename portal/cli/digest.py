"""`digest send`: the weekly or monthly digest of resolutions, from cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal import unit_of_work
from portal.models import DigestFrequency
from portal.services import digests

digest_group = AppGroup("digest", help="The email digest of resolutions.")


@digest_group.command("send")
@click.option(
    "--period",
    "frequency",
    type=click.Choice([f.value for f in DigestFrequency]),
    required=True,
    help="Which subscribers: weekly or monthly. They get the last complete period.",
)
@click.option("--batch-size", default=500, show_default=True)
def send(frequency: str, batch_size: int) -> None:
    """Queue the last complete period's digest for its subscribers (safe to rerun)."""
    # The service commits batch by batch itself; a rerun resumes and mails nobody twice.
    with unit_of_work.command_transaction():
        report = digests.send_digest(DigestFrequency(frequency), batch_size=batch_size)
    if not report.resolutions:
        click.echo(f"Digest {report.run_key}: no resolutions in the period; nothing sent.")
        return
    click.echo(
        f"Digest {report.run_key}: {report.resolutions} resolutions, "
        f"{report.delivered} queued, {report.skipped} skipped "
        "(already sent, or nothing in their categories)."
    )
