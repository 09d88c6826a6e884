"""`prune-sessions`, `rerender-text`, `detect-item-languages` and `sweep-trending`: keeping
what is stored tidy and current."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal import unit_of_work
from portal.extensions import db
from portal.services import accounts, languages, sanitize, sso, trending


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


@click.command("detect-item-languages")
@click.option("--batch-size", default=500, show_default=True)
@with_appcontext
def detect_item_languages(batch_size: int) -> None:
    """Tell the language of the items that have none recorded (from before languages) from
    their words, so search stems them as their language does and pages label them."""
    with unit_of_work.command_transaction():
        told = languages.detect_unknown_languages(batch_size=batch_size)
    click.echo(f"Items whose language was told from their words: {told}.")


@click.command("sweep-trending")
@with_appcontext
def sweep_trending() -> None:
    """Move the board's trending window up to 14 days ago and take out the votes that fell out
    of it. A vote does this when the window is ten minutes behind, and the web app's outbox
    thread every ten minutes; where that thread is off, a site with few votes (or a benchmark
    that only reads) may run it from cron, or the board counts the votes after an hour
    without one."""
    with unit_of_work.command_transaction():
        swept = trending.sweep(db.session.connection())
    click.echo("Trending window swept." if swept else "Trending window already current.")
