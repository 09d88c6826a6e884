"""Identities at sign-in providers, linked to accounts: who a provider's sign-in signs in.

An identity is the provider's issuer and subject (`iss` + `sub`), never an email address
alone. A known identity signs its account in. A new one is linked to the account with the
same address only when the provider vouches for the address (`email_verified`; GitHub: a
verified primary address), and never silently to a member of staff: they confirm first,
with their password or by being signed in already (through an email link, say). Otherwise a
new customer account is made, verified, through registration's name rule.

Ways in: an account keeps at least one after removing an identity. A usable password counts,
and so does every other linked identity. A customer's verified address counts too, as an
email link always signs them in; staff and admins' does not, since the sign-in policy may
close email links to them (portal/services/sign_in_policy.py) and their accounts deserve the
extra care.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from portal.extensions import db
from portal.models import Identity, Role, User
from portal.services import events, invitations, sign_in_policy
from portal.services.accounts import (
    find_user_by_email,
    has_usable_password,
    new_verified_account,
    normalise_email,
)
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.oidc import Assertion, SignInRefused
from portal.services.wording import t

_RANK = {Role.CUSTOMER: 0, Role.STAFF: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class SignedIn:
    """The account to start a session for, and whether it was made just now."""

    user: User
    created: bool


@dataclass(frozen=True)
class NeedsConfirmation:
    """The identity's address is a member of staff's: nothing is linked until they confirm."""

    user: User
    assertion: Assertion


def _now() -> datetime:
    return datetime.now(UTC)


def find_identity(issuer: str, subject: str) -> Identity | None:
    """The identity with this issuer and subject, if linked to an account."""
    return db.session.scalar(
        sa.select(Identity).where(Identity.issuer == issuer, Identity.subject == subject)
    )


def account(user_id: int) -> User | None:
    """The account a waiting link names, for its confirmation page."""
    return db.session.get(User, user_id)


def identities_of(user: User) -> list[Identity]:
    """A person's linked identities, the oldest first."""
    return list(
        db.session.scalars(
            sa.select(Identity)
            .where(Identity.user_id == user.id)
            .order_by(Identity.created_at, Identity.id)
        )
    )


def _link(user: User, assertion: Assertion, now: datetime) -> Identity:
    identity = Identity(
        user_id=user.id,
        provider_key=assertion.provider_key,
        issuer=assertion.issuer,
        subject=assertion.subject,
        email=normalise_email(assertion.email) if assertion.email else None,
        created_at=now,
        last_used_at=now,
    )
    db.session.add(identity)
    try:
        # A savepoint: the same identity's first sign-in twice at once fails cleanly.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise SignInRefused(t("Please try signing in again.")) from exc
    return identity


def _refuse_closed(user: User) -> None:
    if not user.is_active:
        raise NotAllowed(t("This account is closed, so nobody can sign in to it."))


def _verified_address(assertion: Assertion) -> str:
    if not assertion.email:
        raise SignInRefused(
            t(
                "The sign-in provider did not tell us your email address, which we need to "
                "make or find your account. Sign in another way."
            )
        )
    if not assertion.email_verified:
        raise SignInRefused(
            t(
                "The sign-in provider has not confirmed that %(email)s is yours. Confirm it "
                "there first, or sign in another way.",
                email=assertion.email,
            )
        )
    return normalise_email(assertion.email)


def sign_in_with_identity(
    assertion: Assertion, now: datetime | None = None
) -> SignedIn | NeedsConfirmation:
    """Who this provider's sign-in signs in: the identity's account; else the account with
    its (verified) address, now linked, unless that is staff (NeedsConfirmation); else a new
    customer account. Raises SignInRefused or NotAllowed (a closed account)."""
    now = now or _now()
    identity = find_identity(assertion.issuer, assertion.subject)
    if identity is not None:
        user = db.session.get(User, identity.user_id)
        if user is None:
            raise NotFound(t("We could not find that account."))
        _refuse_closed(user)
        # Staff who must sign in through one provider are refused every other.
        sign_in_policy.check_provider_sign_in(user, assertion.provider_key)
        identity.last_used_at = now
        db.session.flush()
        events.emit(events.SignedInWithProvider(user, assertion.provider_key, created=False))
        return SignedIn(user, created=False)
    email = _verified_address(assertion)
    user = find_user_by_email(email)
    if user is not None:
        _refuse_closed(user)
        if user.role is not Role.CUSTOMER:
            return NeedsConfirmation(user, assertion)
        if user.verified_at is None:
            user.verified_at = now
        linked = _link(user, assertion, now)
        events.emit(events.IdentityLinked(user, linked))
        events.emit(events.SignedInWithProvider(user, assertion.provider_key, created=False))
        return SignedIn(user, created=False)
    user = _new_account(assertion, email, Role.CUSTOMER, now)
    linked = _link(user, assertion, now)
    events.emit(events.IdentityLinked(user, linked))
    events.emit(events.SignedInWithProvider(user, assertion.provider_key, created=True))
    return SignedIn(user, created=True)


def _new_account(assertion: Assertion, email: str, role: Role, now: datetime) -> User:
    # No password: the account signs in through the provider or with email links, until its
    # holder chooses one (a reset sends such accounts the "set your password" link).
    user = new_verified_account(email, assertion.name or "", role, now)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise SignInRefused(t("Please try signing in again.")) from exc
    return user


def confirm_link(
    user_id: int,
    assertion: Assertion,
    *,
    password: str = "",
    signed_in_as: User | None = None,
    now: datetime | None = None,
) -> User:
    """Link a new identity to a member of staff's account once they prove it is theirs: its
    password, or being signed in to it already (an email link signs them in). Returns the
    account, to sign in."""
    now = now or _now()
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(t("We could not find that account."))
    _refuse_closed(user)
    if signed_in_as is not None and signed_in_as.id == user.id:
        confirmed_with = "session"
    elif has_usable_password(user) and check_password_hash(user.password_hash, password):
        confirmed_with = "password"
    else:
        raise DomainError(t("That is not the password of this account. Nothing was linked."))
    sign_in_policy.check_provider_sign_in(user, assertion.provider_key)
    if find_identity(assertion.issuer, assertion.subject) is not None:
        raise SignInRefused(t("That identity is linked to an account already."))
    linked = _link(user, assertion, now)
    events.emit(events.IdentityLinked(user, linked, confirmed_with=confirmed_with))
    events.emit(events.SignedInWithProvider(user, assertion.provider_key, created=False))
    return user


def link_to(user: User, assertion: Assertion, now: datetime | None = None) -> Identity:
    """Link an identity to the signed-in person's own account (they started this sign-in
    from their account page, so being signed in is the proof). An identity another account
    has is refused; one they have already is simply used."""
    now = now or _now()
    _refuse_closed(user)
    identity = find_identity(assertion.issuer, assertion.subject)
    if identity is not None:
        if identity.user_id != user.id:
            raise SignInRefused(
                t(
                    "That identity is linked to another account here, so it cannot be linked "
                    "to yours."
                )
            )
        identity.last_used_at = now
        db.session.flush()
        return identity
    linked = _link(user, assertion, now)
    events.emit(events.IdentityLinked(user, linked, confirmed_with="session"))
    return linked


def accept_invitation(token: str, assertion: Assertion, now: datetime | None = None) -> User:
    """Accept a staff invitation through a provider: the signed invitation token is the
    proof, so the identity's address need not be the invited one. The invited address's
    account (made now if there is none, verified) gets the role and the identity. Signs
    nobody in."""
    now = now or _now()
    invitation = invitations.invitation_for_token(token, lock=True)
    if invitation is None:
        raise invitations.InvitationNotValid(
            t(
                "That invitation has expired or is no longer valid. Ask the admin who invited "
                "you to send it again."
            )
        )
    user = invitations.account_for(invitation)
    required = sign_in_policy.current_policy().staff_provider
    if required is not None and required.key != assertion.provider_key:
        raise SignInRefused(
            t("Staff sign in through %(provider)s here: accept through it.", provider=required.name)
        )
    identity = find_identity(assertion.issuer, assertion.subject)
    if identity is not None and (user is None or identity.user_id != user.id):
        raise SignInRefused(
            t(
                "That identity is linked to another account here. Sign in to the provider as "
                "yourself, or ask the admin who invited you."
            )
        )
    previous_role: Role | None = None
    if user is None:
        user = _new_account(assertion, invitation.email, invitation.role, now)
    else:
        _refuse_closed(user)
        previous_role = user.role
        if _RANK[invitation.role] > _RANK[user.role]:
            user.role = invitation.role
        if user.verified_at is None:
            user.verified_at = now
    if identity is None:
        linked = _link(user, assertion, now)
        events.emit(events.IdentityLinked(user, linked, confirmed_with="invitation"))
    else:
        identity.last_used_at = now
    invitation.accepted_at = now
    invitation.accepted_by_id = user.id
    db.session.flush()
    events.emit(events.InvitationAccepted(invitation, user, previous_role is None, previous_role))
    events.emit(
        events.SignedInWithProvider(user, assertion.provider_key, created=previous_role is None)
    )
    return user


def other_ways_in(user: User, without: Identity | None = None) -> list[str]:
    """The ways this person could still sign in with `without` gone: "password",
    "identity", "email link" (see the module's note on what counts)."""
    ways: list[str] = []
    if has_usable_password(user):
        ways.append("password")
    if any(i.id != (without.id if without else None) for i in identities_of(user)):
        ways.append("identity")
    if user.role is Role.CUSTOMER and user.verified_at is not None and user.is_active:
        ways.append("email link")
    return ways


def remove_identity(user: User, identity_id: int) -> Identity:
    """Unlink one of a person's identities, unless it is their last way in."""
    identity = db.session.get(Identity, identity_id)
    if identity is None or identity.user_id != user.id:
        raise NotFound(t("We could not find that sign-in. It may have been removed already."))
    # The row is held, so two removals at once cannot each leave the other as the last way.
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    if not other_ways_in(user, without=identity):
        raise DomainError(
            t(
                "This is your last way to sign in, so it stays. Choose a password first "
                "(\u201cChange password\u201d, or \u201cForgotten your password?\u201d), or "
                "link another provider."
            )
        )
    db.session.delete(identity)
    db.session.flush()
    events.emit(
        events.IdentityRemoved(user, identity.provider_key, identity.issuer, identity.subject)
    )
    return identity
