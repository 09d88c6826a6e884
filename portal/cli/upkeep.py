"""`prune-sessions` and `rerender-text`: keeping what is stored tidy and current."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal import unit_of_work
from portal.services import accounts, sanitize, sso


@click.command("prune-sessions")
@with_appcontext
def prune_sessions() -> None:
    """Delete sessions that have signed nobody in for a whole session lifetime (ended or
    unseen that long), and the used single sign-on tokens past their expiry. The web app's
    outbox deliverer does this hourly as well."""
    with unit_of_work.command_transaction():
        pruned = accounts.prune_sessions()
        forgotten = sso.prune_used_tokens()
    click.echo(f"Sessions deleted (ended or expired): {pruned}.")
    click.echo(f"Used sign-on tokens forgotten (expired): {forgotten}.")


@click.command("rerender-text")
@click.option("--batch-size", default=500, show_default=True)
@with_appcontext
def rerender_text(batch_size: int) -> None:
    """Render the stored HTML of every item, comment, timeline message and resolution again
    from its source, with today's rules (after an upgrade that changes them)."""
    with unit_of_work.command_transaction():
        changed = sanitize.rerender_stored_text(batch_size=batch_size)
    summary = ", ".join(f"{label} {count}" for label, count in changed.items())
    click.echo(f"HTML rendered again where it had changed: {summary}.")
