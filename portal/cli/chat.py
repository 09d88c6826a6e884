"""`chat sweep`: the timed chat notices (acknowledgements about to be late, promises due in two
days, promises missed), from cron every ten minutes."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal import unit_of_work
from portal.services import chat

chat_group = AppGroup("chat", help="Chat notifications for staff.")


@chat_group.command("sweep")
def sweep() -> None:
    """Queue the timed notices that are due (each item's once a day), then send what waits."""
    with unit_of_work.command_transaction():
        report = chat.sweep()
    counts = ", ".join(f"{event} {count}" for event, count in report.notices.items()) or "none"
    click.echo(f"Chat sweep: {report.messages} queued (notices: {counts}).")
    # A CLI command has no outbox thread: what was queued goes out now (and `outbox deliver`
    # retries what fails). The deliverer commits each claimed batch itself.
    with unit_of_work.command_transaction():
        sent = chat.deliver_chat_messages()
        click.echo(
            f"Chat: {sent.sent} delivered, {sent.retried} to retry later, "
            f"{sent.failed} given up; {chat.pending_count()} waiting."
        )
