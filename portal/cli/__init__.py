"""Command-line tools (`flask --app wsgi ...`): thin click commands over the services.

One module per command group. Each command runs in one unit of work
(`unit_of_work.command_transaction()`): committed once when it succeeds, rolled back when it
fails. The outbox and digest deliverers commit each claimed batch inside their services.
"""

from __future__ import annotations

import click
from flask import Flask

from portal.cli.attachments import attachments_group
from portal.cli.chat import chat_group
from portal.cli.demo import seed_demo
from portal.cli.digest import digest_group
from portal.cli.insights import insights_group
from portal.cli.intake import intake_group
from portal.cli.outbox import outbox_group
from portal.cli.sign_in import sign_in_policy_command
from portal.cli.transfer import export_data, import_data
from portal.cli.upkeep import (
    detect_item_languages,
    prune_sessions,
    rerender_text,
    sweep_trending,
)
from portal.cli.users import create_admin

COMMANDS: tuple[click.Command, ...] = (
    seed_demo,
    create_admin,
    outbox_group,
    digest_group,
    intake_group,
    insights_group,
    export_data,
    import_data,
    prune_sessions,
    rerender_text,
    detect_item_languages,
    sweep_trending,
    attachments_group,
    chat_group,
    sign_in_policy_command,
)


def register(app: Flask) -> None:
    """Add the commands to the app's CLI."""
    for command in COMMANDS:
        app.cli.add_command(command)
