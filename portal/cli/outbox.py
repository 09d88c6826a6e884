"""`outbox deliver`: the emails, webhook deliveries and chat messages that are due, from cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal import unit_of_work
from portal.services import chat, outbox, webhooks

outbox_group = AppGroup("outbox", help="The email outbox.")


@outbox_group.command("deliver")
@click.option("--batch-size", default=50, show_default=True)
def deliver(batch_size: int) -> None:
    """Send the emails, webhook deliveries and chat messages that are due (from cron)."""
    # Both deliverers commit each claimed batch themselves (a run cannot be one transaction,
    # and a crash part-way must send nothing twice); the unit of work around them ends the
    # reads that count what is waiting.
    with unit_of_work.command_transaction():
        report = outbox.deliver_pending(batch_size=batch_size)
        click.echo(
            f"Outbox: {report.sent} sent, {report.retried} to retry later, "
            f"{report.failed} given up, {report.withdrawn} no longer wanted; "
            f"{outbox.pending_count()} waiting."
        )
        hooks = webhooks.deliver_webhooks(batch_size=batch_size)
        click.echo(
            f"Webhooks: {hooks.sent} delivered, {hooks.retried} to retry later, "
            f"{hooks.failed} given up; {webhooks.pending_count()} waiting."
        )
        said = chat.deliver_chat_messages(batch_size=batch_size)
        click.echo(
            f"Chat: {said.sent} delivered, {said.retried} to retry later, "
            f"{said.failed} given up; {chat.pending_count()} waiting."
        )
