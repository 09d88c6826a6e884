"""Signing in with an emailed link instead of a password: a single-use link valid for 15
minutes, which doubles as registration for an address that has no account yet."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.models import User, UserSession
from portal.services import events, sign_in_policy
from portal.services.accounts import (
    _checked_name,
    find_user_by_email,
    normalise_email,
    start_session,
    unusable_password,
    user_for_verification,
)
from portal.services.tokens import (
    make_registration_token,
    make_sign_in_token,
    read_sign_in_token,
    sign_in_token_matches,
)


def _newest_session_id(user: User) -> str:
    """What spends a sign-in link: the id of the account's newest session ("" for none).
    Following the link starts a session, which changes it, so the link works once."""
    newest = db.session.scalar(
        sa.select(UserSession.id)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
        .limit(1)
    )
    return newest or ""


def request_sign_in_link(
    *, email: str, display_name: str = "", preferred_name: str = "", next_url: str = ""
) -> None:
    """Send a sign-in link to an active account's address; to an address with no account,
    when a name is given, the registration link (the same one /account/register sends, for an
    account with no password, verified by the click). The caller says the same thing whatever
    happened, so the answer never tells whether an address has an account. Either way the
    names go through the registration's rule first, so a bad name is refused for every
    address alike."""
    email = normalise_email(email)
    if display_name.strip() or preferred_name.strip():
        display_name = _checked_name(display_name, preferred_name)
    user = find_user_by_email(email)
    if user is None:
        if not display_name:
            return
        preferred_name = preferred_name.strip() or display_name
        # No password: the account signs in with links until its holder chooses one (a reset
        # sends such accounts the "set your password" link).
        no_password = unusable_password()
        token = make_registration_token(email, display_name, preferred_name, no_password, next_url)
        events.emit(events.RegistrationRequested(email, preferred_name, token))
        return
    if not user.is_active:
        return  # a closed account gets nothing: its holder asked us to stop writing
    token = make_sign_in_token(user.id, user.email, _newest_session_id(user), next_url)
    events.emit(events.SignInLinkRequested(user, token))


def user_for_sign_in_token(token: str) -> User | None:
    """The active account a sign-in link is for, if the link is genuine, fresh and unused;
    changes nothing."""
    payload = read_sign_in_token(token)
    if payload is None:
        return None
    user = user_for_verification(payload["u"], payload["e"])
    if (
        user is None
        or not user.is_active
        or not sign_in_token_matches(payload, _newest_session_id(user))
    ):
        return None
    return user


def sign_in_with_link(token: str, user_agent: str) -> tuple[User, str] | None:
    """Spend a sign-in link: start a session for its account (the one password sign-in
    starts), and mark the address verified, since the link came to it. Returns the account
    and the page the link was asked from ("" for none); None when the link is forged, expired
    or spent; SignInRefused when the sign-in policy does not let its account in this way."""
    payload = read_sign_in_token(token)
    if payload is None:
        return None
    # The account's row is held, so two presses of one link take turns and the second finds
    # it spent (on PostgreSQL; SQLite's write lock makes them take turns already).
    db.session.execute(sa.select(User.id).where(User.id == payload["u"]).with_for_update())
    user = user_for_sign_in_token(token)
    if user is None:
        return None
    # Staff who must sign in through a provider are refused (SignInRefused names it).
    sign_in_policy.check_link_sign_in(user)
    start_session(user, user_agent)
    if user.verified_at is None:
        user.verified_at = datetime.now(UTC)
    db.session.flush()
    return user, payload.get("n", "")
