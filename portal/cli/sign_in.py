"""`sign-in-policy`: show the sign-in policy, or (`--clear`) let staff sign in any way they
have again: the break-glass for an admin locked out by a broken identity provider."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal import unit_of_work
from portal.services import sign_in_policy


def _describe(policy: sign_in_policy.Policy) -> str:
    staff = (
        "any way they have (password, email link, a linked provider)"
        if policy.staff_provider is None
        else f"through {policy.staff_provider.name} ({policy.staff_provider.key}) only"
    )
    customers = "may" if policy.customer_passwords else "may not"
    return f"Staff sign in {staff}. Customers {customers} sign in with a password."


@click.command("sign-in-policy")
@click.option(
    "--clear",
    is_flag=True,
    help="Stop requiring an identity provider for staff (they sign in any way they have).",
)
@with_appcontext
def sign_in_policy_command(clear: bool) -> None:
    """Show the sign-in policy; --clear stops requiring a provider for staff."""
    with unit_of_work.command_transaction():
        if clear:
            policy, was = sign_in_policy.clear_staff_provider()
            if was is None:
                click.echo("Staff were not required to use an identity provider.")
            else:
                click.echo(
                    f"Cleared: staff no longer have to sign in through {was}. "
                    "The change is in the audit log."
                )
        else:
            policy = sign_in_policy.current_policy()
    click.echo(_describe(policy))
