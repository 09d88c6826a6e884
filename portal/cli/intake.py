"""`intake email`: one message from the mail server's pipe, answered with the pipe's exit codes."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from portal import unit_of_work
from portal.services import intake

intake_group = AppGroup("intake", help="Feedback that arrives by email.")


@intake_group.command("email")
@click.option(
    "--recipient",
    envvar=["ORIGINAL_RECIPIENT", "RECIPIENT"],
    default="",
    help="The envelope recipient (Postfix sets ORIGINAL_RECIPIENT for a pipe).",
)
def email(recipient: str) -> None:
    """Read one message from standard input: a new private item, or a reply's comment.
    Exits 0 when accepted (or dropped as automatic mail), 65/67 to bounce, 75 to retry (only
    when the database or the disk is in trouble, or no category is set up yet)."""
    raw = intake.read_limited(sys.stdin.buffer)
    result = _take_in(raw, recipient)
    click.echo(f"intake: {result.reason}", err=True)
    if result.exit_code:
        raise SystemExit(result.exit_code)


def _take_in(raw: bytes, recipient: str) -> intake.IntakeResult:
    """Record one message in one unit of work, and say what the mail server should do."""
    try:
        with unit_of_work.command_transaction():
            result = intake.process_message(raw, recipient=recipient)
            if not result.changed:
                # A refused message may have written part of its record before the refusal
                # (the sender's new account, then "no category to file email under"): none of
                # it stands, and the commit that ends the unit finds nothing to commit.
                unit_of_work.roll_back()
        return result
    except SQLAlchemyError as exc:
        # command_transaction undoes a failing command, not a failing commit: undo that here.
        unit_of_work.roll_back()
        # The database is down or busy (or a twin delivery won a race): the mail server
        # keeps the message and tries again, and a retry of a recorded one creates nothing.
        reason = f"database unavailable, try later ({type(exc).__name__})"
        return intake.IntakeResult("retry", intake.EX_TEMPFAIL, reason)
    except OSError as exc:
        unit_of_work.roll_back()
        # The disk is full or unwritable: the message waits in the queue until it is fixed.
        reason = f"system error, try later ({type(exc).__name__})"
        return intake.IntakeResult("retry", intake.EX_TEMPFAIL, reason)
    except Exception as exc:
        unit_of_work.roll_back()
        # Anything else fails again on every retry of the same bytes, so a retry would keep the
        # message in the queue for ever: it is refused, and the error is logged for the fix.
        current_app.logger.exception("intake: unexpected error")
        reason = f"the message could not be processed ({type(exc).__name__})"
        return intake.IntakeResult("rejected", intake.EX_DATAERR, reason)
