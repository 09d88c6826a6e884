"""Changing an account's email address: the new address confirms by a link sent to it, and
the old address is told once the change is made."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from portal.extensions import db
from portal.models import User
from portal.services import events
from portal.services.accounts import find_user_by_email, has_usable_password, normalise_email
from portal.services.errors import DomainError, EmailTaken
from portal.services.tokens import make_email_change_token, read_email_change_token
from portal.services.wording import t


def request_email_change(user: User, new_email: str, password: str = "") -> None:
    """Send the link that moves this account to `new_email`, to that address. An account
    with a password must give it, so a browser left signed in cannot hand the account away.
    When another account has the address nothing is sent, but the answer is the same: the
    holder of one account learns nothing about another's."""
    new_email = normalise_email(new_email)
    if has_usable_password(user) and not check_password_hash(user.password_hash, password):
        raise DomainError(t("Your password is not right, so nothing was changed."))
    if new_email == normalise_email(user.email):
        raise DomainError(t("That is the address your account has already."))
    if find_user_by_email(new_email) is not None:
        return
    token = make_email_change_token(user.id, user.email, new_email)
    events.emit(events.EmailChangeRequested(user, new_email, token))


def email_change_for_token(token: str) -> tuple[User, str] | None:
    """The account and new address a change link carries, if the link is genuine, fresh and
    unused (the account still has the address it was sent from); changes nothing."""
    payload = read_email_change_token(token)
    if payload is None:
        return None
    user = db.session.get(User, payload["u"])
    if (
        user is None
        or not user.is_active
        or normalise_email(user.email) != normalise_email(payload["o"])
    ):
        return None
    return user, payload["n"]


def change_email(token: str) -> User | None:
    """Move the account to the address a change link was sent to, verified (the link came to
    it). None when the link is forged, expired or used. Raises EmailTaken when another account
    took the address meanwhile."""
    payload = read_email_change_token(token)
    if payload is None:
        return None
    # Held, so two presses take turns and the second finds the link used.
    db.session.execute(sa.select(User.id).where(User.id == payload["u"]).with_for_update())
    found = email_change_for_token(token)
    if found is None:
        return None
    user, new_email = found
    taken = EmailTaken(t("Another account uses that address now, so yours was not changed."))
    if find_user_by_email(new_email) is not None:
        raise taken
    old_email = user.email
    user.email = normalise_email(new_email)
    user.verified_at = datetime.now(UTC)
    try:
        # A savepoint, so a registration racing this one fails cleanly on the unique index.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise taken from exc
    events.emit(events.EmailChanged(user, old_email))
    return user
