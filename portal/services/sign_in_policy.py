"""The site's sign-in policy: whether staff must sign in through one identity provider, and
whether customers may sign in with a password. Two site settings (SiteSettings
`staff_identity_provider` and `customer_passwords`), changed by admins with set_policy (or
cleared at the server's console, `flask sign-in-policy --clear`), and the predicates every way
in asks before it starts a session.

The policy is read from the database at each sign-in, not from the few-seconds page cache: a
change holds at once on every app process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Identity, Role, SiteSettings, User
from portal.services import accounts, events
from portal.services.accounts import find_user_by_email
from portal.services.admin import require_active_admin
from portal.services.errors import DomainError
from portal.services.identity_providers import get_provider, provider_names
from portal.services.site import get_site_settings, settings_for_update
from portal.services.wording import Text, t


@dataclass(frozen=True)
class RequiredProvider:
    """The provider staff must sign in through. `available` is False when it is set but no
    longer enabled (removed from the environment): staff are still refused other ways in,
    and an operator clears the policy with `flask sign-in-policy --clear`."""

    key: str
    name: str
    available: bool


@dataclass(frozen=True)
class Policy:
    """The policy now."""

    staff_provider: RequiredProvider | None
    customer_passwords: bool

    @property
    def password_form_useful(self) -> bool:
        """Whether anyone may sign in with a password at all (the sign-in page's form)."""
        return self.customer_passwords or self.staff_provider is None


class SignInRefused(DomainError):
    """The policy does not let this person in this way; the message says which way to use."""

    status_code = 403

    def __init__(self, message: str | Text, provider: RequiredProvider | None = None) -> None:
        super().__init__(message)
        self.provider = provider


def _required(key: str | None) -> RequiredProvider | None:
    if not key:
        return None
    provider = get_provider(key)
    if provider is not None:
        return RequiredProvider(provider.key, provider.name, True)
    return RequiredProvider(key, provider_names().get(key, key), False)


def current_policy() -> Policy:
    """The policy as saved now (read from the database)."""
    settings = get_site_settings()
    return Policy(
        staff_provider=_required(settings.staff_identity_provider),
        # None on a fresh database's unsaved defaults: passwords are on until turned off.
        customer_passwords=settings.customer_passwords is not False,
    )


def required_provider_for(user: User) -> RequiredProvider | None:
    """The provider this person must sign in through, or None (any way they have)."""
    if not user.is_staff:
        return None
    return current_policy().staff_provider


def may_sign_in_with_password(user: User) -> bool:
    """Whether the policy lets this person sign in with their password."""
    if user.is_staff:
        return required_provider_for(user) is None
    return current_policy().customer_passwords


def may_sign_in_with_link(user: User) -> bool:
    """Whether the policy lets this person sign in with an emailed link."""
    return required_provider_for(user) is None


def _through_provider(provider: RequiredProvider) -> SignInRefused:
    if provider.available:
        message = t(
            "Staff sign in through %(provider)s here. Use the button below.",
            provider=provider.name,
        )
    else:
        message = t(
            "Staff sign in through %(provider)s here, which is not available at the moment. "
            "Ask the site's operator to clear the sign-in policy.",
            provider=provider.name,
        )
    return SignInRefused(message, provider)


def check_password_sign_in(user: User) -> None:
    """SignInRefused unless the policy lets this person sign in with a password. Asked only
    once the password has matched, so the refusal tells nothing to someone who does not know
    it."""
    provider = required_provider_for(user)
    if provider is not None:
        raise _through_provider(provider)
    if not user.is_staff and not current_policy().customer_passwords:
        raise SignInRefused(
            t(
                "Passwords are off for customers here: we email you a link that signs you in "
                "instead."
            )
        )


def check_link_sign_in(user: User) -> None:
    """SignInRefused unless the policy lets this person sign in with an emailed link."""
    provider = required_provider_for(user)
    if provider is not None:
        raise _through_provider(provider)


def may_sign_in_with_provider(user: User, key: str) -> bool:
    """Whether the policy lets this person sign in through this provider: customers through
    any enabled one, staff through the one required of them (any, when none is)."""
    required = required_provider_for(user)
    return required is None or (required.key == key and required.available)


def check_provider_sign_in(user: User, key: str) -> None:
    """SignInRefused unless the policy lets this person sign in through this provider (for
    the provider sign-in's callback, once it knows whose identity it is)."""
    required = required_provider_for(user)
    if required is not None and not (required.key == key and required.available):
        raise _through_provider(required)


def may_choose_password(user: User) -> bool:
    """Whether this person may choose or change a password (not a customer while passwords
    are off for customers)."""
    return user.is_staff or current_policy().customer_passwords


def check_password_setting(user: User) -> None:
    """DomainError when this person may not choose a password because passwords are off for
    customers (the reset, "set your password" and change-password pages)."""
    if not may_choose_password(user):
        raise SignInRefused(
            t(
                "Passwords are off for customers here, so there is none to choose: sign in "
                "with an email link instead."
            )
        )


def request_password_reset(email: str) -> None:
    """Ask for a reset link as accounts.request_password_reset does, but send a customer
    nothing while passwords are off for customers (the page says so to everyone, so the
    answer still tells nothing about the address)."""
    user = find_user_by_email(email)
    if user is not None and not user.is_staff and not current_policy().customer_passwords:
        return
    accounts.request_password_reset(email)


def ways_in(users: Sequence[User]) -> dict[int, list[Text | str]]:
    """How each of these people signs in (the users page): a password, each provider they
    linked (by its name), single sign-on, an email link; a way the policy refuses them says
    so. Two statements whatever the number of people."""
    policy = current_policy()
    linked: dict[int, list[str]] = {}
    if users:
        rows = db.session.execute(
            sa.select(Identity.user_id, Identity.provider_key)
            .where(Identity.user_id.in_([user.id for user in users]))
            .order_by(Identity.id)
        )
        for user_id, key in rows:
            linked.setdefault(user_id, []).append(key)
    names = provider_names() if linked else {}
    ways: dict[int, list[Text | str]] = {}
    for user in users:
        required = policy.staff_provider if user.is_staff else None
        said: list[Text | str] = []
        if accounts.has_usable_password(user):
            allowed = required is None and (user.is_staff or policy.customer_passwords)
            said.append(t("password") if allowed else t("password (off by the policy)"))
        for key in dict.fromkeys(linked.get(user.id, [])):
            said.append(t("single sign-on") if key == "sso" else names.get(key, key))
        if user.is_active:
            said.append(
                t("email link") if required is None else t("email link (off by the policy)")
            )
        ways[user.id] = said
    return ways


def admins_without_identity(key: str) -> list[User]:
    """Active admins with no identity linked at this provider: requiring it, they would need
    to link one (or be let in by `flask sign-in-policy --clear`)."""
    linked = sa.select(Identity.user_id).where(Identity.provider_key == key)
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.role == Role.ADMIN,
                User.active.is_(True),
                User.deleted_at.is_(None),
                User.id.not_in(linked),
            )
            .order_by(User.display_name, User.id)
        )
    )


def _apply(
    settings: SiteSettings, actor: User | None, staff_provider: str | None, customer_passwords: bool
) -> bool:
    before = {
        "staff_identity_provider": settings.staff_identity_provider,
        "customer_passwords": settings.customer_passwords,
    }
    if before == {
        "staff_identity_provider": staff_provider,
        "customer_passwords": customer_passwords,
    }:
        return False
    settings.staff_identity_provider = staff_provider
    settings.customer_passwords = customer_passwords
    db.session.flush()
    events.emit(events.SignInPolicyChanged(settings, actor, before))
    return True


def set_policy(actor: User, *, staff_provider: str | None, customer_passwords: bool) -> Policy:
    """Choose how staff sign in (any way they have, or through one enabled provider) and
    whether customers may sign in with a password. Audited when anything changed."""
    require_active_admin(actor, t("Only admins choose how people sign in."))
    key = (staff_provider or "").strip() or None
    if key is not None and get_provider(key) is None:
        raise DomainError(
            t(
                "Staff can only be required to use a provider that is enabled; "
                "\u201c%(key)s\u201d is not.",
                key=key,
            )
        )
    _apply(settings_for_update(), actor, key, customer_passwords)
    return current_policy()


def clear_staff_provider() -> tuple[Policy, str | None]:
    """The break-glass at the server's console: staff may sign in any way they have again
    (an admin locked out by a broken provider gets back in with their password or an email
    link). Returns the policy and the key that was required (None: none was). Audited, by
    nobody, via the command line."""
    settings = settings_for_update()
    was = settings.staff_identity_provider
    _apply(settings, None, None, settings.customer_passwords is not False)
    return current_policy(), was
