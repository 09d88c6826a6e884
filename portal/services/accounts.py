"""Accounts: registration, sign-in checks, profiles and the safe-redirect rule."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import TypeGuard
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from portal.database import begin_write, rows_changed
from portal.extensions import db
from portal.models import (
    OPEN_STATES,
    DigestSubscription,
    Feedback,
    Follow,
    Identity,
    NotificationPreference,
    Role,
    User,
    UserSession,
)
from portal.services import environment, events, notifications
from portal.services.errors import DomainError, EmailTaken, NotFound
from portal.services.tokens import (
    make_registration_token,
    read_claim_token,
    read_registration_token,
    read_reset_token,
    reset_token_matches,
)
from portal.services.wording import Text, t, tn
from portal.services.workflow import redact_public_words
from portal.validation import name_problem

# Not a hash any password can match (Werkzeug refuses a hash without "$"): an account made on
# someone's behalf (the API, email intake) has one until its holder sets a password.
UNUSABLE_PASSWORD_PREFIX = "!"

# Checked against when the email is unknown, so a miss costs as long as a wrong password
# and timing does not tell whether an address has an account.
_DUMMY_HASH_CACHE: dict[str, str] = {}


def normalise_email(email: str) -> str:
    """Trim and lower-case an address: addresses are unique whatever their case."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Hash a password with the configured modern algorithm."""
    return generate_password_hash(
        password, method=environment.current().settings.password_hash_method
    )


def find_user_by_email(email: str) -> User | None:
    """Look a user up by email, ignoring case."""
    return db.session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == normalise_email(email))
    )


# The one rule for a password a person chooses (the forms say it too, before they post).
PASSWORD_MIN = 10


def _checked_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise DomainError(
            tn(
                "Use a password of at least %(num)d character.",
                "Use a password of at least %(num)d characters.",
                PASSWORD_MIN,
            )
        )
    return password


def register_user(
    *,
    email: str,
    password: str,
    display_name: str,
    preferred_name: str = "",
    role: Role = Role.CUSTOMER,
) -> User:
    """Create an account. Raises EmailTaken when the address is already registered."""
    email = normalise_email(email)
    display_name = _checked_name(display_name, preferred_name)
    password = _checked_password(password)
    if find_user_by_email(email) is not None:
        raise EmailTaken(t("An account with that email address already exists. Try signing in."))
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name,
        # When someone leaves it blank we address them by their display name.
        preferred_name=preferred_name.strip() or display_name,
        role=role,
    )
    db.session.add(user)
    try:
        # A savepoint, so a sign-up racing this one fails cleanly on the unique index.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise EmailTaken(
            t("An account with that email address already exists. Try signing in.")
        ) from exc
    return user


def request_registration(
    *, email: str, password: str, display_name: str, preferred_name: str = "", next_url: str = ""
) -> None:
    """Start a registration, telling the one who asks nothing about the address: a new address
    gets a link that finishes it; an account's holder gets a "someone tried" email, or the
    "set your password" link if the account has none yet. Each path does the same work (the
    password is hashed either way), so neither the answer nor its timing tells them apart."""
    email = normalise_email(email)
    display_name = _checked_name(display_name, preferred_name)
    password_hash = hash_password(_checked_password(password))
    preferred_name = preferred_name.strip() or display_name
    user = find_user_by_email(email)
    if user is None:
        token = make_registration_token(
            email, display_name, preferred_name, password_hash, next_url
        )
        events.emit(events.RegistrationRequested(email, preferred_name, token))
    elif is_claimable(user):
        events.emit(events.ClaimLinkRequested(user))
    elif user.is_active:
        events.emit(events.RegistrationOfKnownAddress(user))
    # A closed account gets nothing: its holder asked us to stop writing.


def registration_for_token(token: str) -> dict[str, str] | None:
    """What a registration link carries (the address and names), if it is genuine and fresh;
    changes nothing."""
    payload = read_registration_token(token)
    if payload is None:
        return None
    return {"email": payload["e"], "display_name": payload["d"], "preferred_name": payload["p"]}


def finish_registration(token: str) -> tuple[User, str] | None:
    """Make the account a registration link carries, verified (the link came to the address),
    with the next page it asked for. None if the link is forged or expired. Raises EmailTaken
    when the address has an account by now, which is also what a second click finds."""
    payload = read_registration_token(token)
    if payload is None:
        return None
    email = normalise_email(payload["e"])
    if find_user_by_email(email) is not None:
        raise EmailTaken(t("That account exists already. Please sign in."))
    user = User(
        email=email,
        password_hash=payload["h"],
        display_name=payload["d"],
        preferred_name=payload["p"],
        role=Role.CUSTOMER,
        verified_at=datetime.now(UTC),
    )
    db.session.add(user)
    try:
        # A savepoint, so two clicks racing each other fail cleanly on the unique index.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise EmailTaken(t("That account exists already. Please sign in.")) from exc
    return user, payload["n"]


def make_admin(*, email: str, password: str, display_name: str) -> tuple[User, bool]:
    """The operator's way in (`flask create-admin`, at the server's console): create an admin
    account, or make an existing account an admin. True when an account was promoted. There
    may be no admin yet to act, so the audit entry (consumers.py) names no one."""
    user = find_user_by_email(email)
    if user is None:
        user = register_user(
            email=email, password=password, display_name=display_name, role=Role.ADMIN
        )
        events.emit(events.AdminCreated(user))
        return user, False
    before = user.role
    user.role = Role.ADMIN
    events.emit(events.MadeAdmin(user, before))
    db.session.flush()
    return user, True


def refuse_while_owning_open_items(user: User) -> None:
    """DomainError when this member of staff still looks after open items: one owner per
    item, who can act on it. Demoting, deactivating or deleting them must wait until the items
    have someone else.

    Their row is held first: giving someone an item reads their role under a share lock
    (workflow._set_owner), so an item is never given to them while this counts, nor counted
    before it is given (on PostgreSQL; SQLite's write lock already makes the two take turns)."""
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update(key_share=True))
    owned = db.session.scalar(
        sa.select(sa.func.count()).where(
            Feedback.owner_id == user.id, Feedback.state.in_(OPEN_STATES)
        )
    )
    if owned:
        raise DomainError(
            tn(
                "%(name)s still looks after %(num)d open item. Give it to someone else "
                "first: the triage queue lists them by owner.",
                "%(name)s still looks after %(num)d open items. Give them to someone else "
                "first: the triage queue lists them by owner.",
                owned,
                name=user.display_name,
            )
        )


def _checked_name(display_name: str, preferred_name: str) -> str:
    """The display name, stripped; DomainError when it is empty or either name breaks the
    name rule (validation.name_problem: no line breaks, controls, invisible characters or
    direction overrides). The forms say so per field; this guards every way in."""
    display_name = display_name.strip()
    if not display_name:
        raise DomainError(t("Please tell us a display name."))
    problem = name_problem(display_name) or name_problem(preferred_name)
    if problem:
        raise DomainError(problem)
    return display_name


def unusable_password() -> str:
    """A password hash that no password matches: an account signing in another way (a
    provider, single sign-on, email links) until its holder chooses a password."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(16)


def new_verified_account(email: str, name: str, role: Role, now: datetime) -> User:
    """An account whose address someone vouched for (an identity provider, the organisation's
    single sign-on), added to the session unflushed: no password, the name under
    registration's rule, the address's first part when no name was given."""
    display_name = _checked_name((name.strip() or email.split("@")[0])[:80], "")
    user = User(
        email=email,
        password_hash=unusable_password(),
        display_name=display_name,
        preferred_name=display_name,
        role=role,
        verified_at=now,
    )
    db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the active user whose email and password match, else None (never says which)."""
    user = find_user_by_email(email)
    if user is None:
        method = environment.current().settings.password_hash_method
        dummy = _DUMMY_HASH_CACHE.setdefault(method, generate_password_hash("x", method=method))
        check_password_hash(dummy, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user


def update_profile(
    user: User, *, display_name: str, preferred_name: str, thank_by_name: bool | None = None
) -> User:
    """Change how a user is shown publicly and how we address them, and (unless None) whether
    a published resolution thanks them by their display name for what they raised."""
    display_name = _checked_name(display_name, preferred_name)
    user.display_name = display_name
    user.preferred_name = preferred_name.strip() or display_name
    if thank_by_name is not None:
        user.thank_by_name = thank_by_name
    db.session.flush()
    return user


def set_language(user_id: int, language: str) -> User:
    """Save the language pages and emails speak to this person in: one on offer."""
    offered = environment.current().settings.languages
    if language not in offered:
        raise DomainError(
            t(
                "We do not offer that language. Choose one of: %(languages)s.",
                languages=", ".join(offered),
            )
        )
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(t("We could not find that account."))
    user.language = language
    db.session.flush()
    return user


def is_safe_next(target: str | None) -> TypeGuard[str]:
    """True for a same-site path such as "/feedback/3"; false for anything that leaves the site."""
    if not target or not target.startswith("/"):
        return False
    # Browsers treat backslashes as slashes and ignore tabs and newlines in URLs.
    if "\\" in target or any(ch in target for ch in "\t\r\n"):
        return False
    if target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def user_for_verification(user_id: int, email: str) -> User | None:
    """The account a verification link's payload names, changing nothing; None if it no
    longer matches the account (the address changed, or the account is gone)."""
    user = db.session.get(User, user_id)
    if user is None or normalise_email(user.email) != normalise_email(email):
        return None
    return user


def verify_email(user_id: int, email: str) -> User | None:
    """Mark an address verified from a verification link's payload; None if it no longer
    matches the account (the address changed, or the account is gone)."""
    user = user_for_verification(user_id, email)
    if user is None:
        return None
    if user.verified_at is None:
        user.verified_at = datetime.now(UTC)
        db.session.flush()
    return user


def set_notification_preference(user: User, preference: NotificationPreference) -> User:
    """Choose which notification emails to get."""
    user.notification_preference = preference
    db.session.flush()
    return user


def has_usable_password(user: User) -> bool:
    """False for accounts made on someone's behalf (the API, email intake) that nobody has
    set a password for yet."""
    return not user.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX)


def is_claimable(user: User) -> bool:
    """An active account with no password yet: whoever receives mail at its address may set
    one (and so claim it)."""
    return user.is_active and not has_usable_password(user)


def offer_claim(email: str) -> bool:
    """Send a "set your password" link if this address has an account with no password yet.
    The caller says the same thing whatever happened, so the answer never reveals which kind
    of account it is (registration sends the same link, through request_registration)."""
    user = find_user_by_email(email)
    if user is None or not is_claimable(user):
        return False
    events.emit(events.ClaimLinkRequested(user))
    return True


def request_password_reset(email: str) -> bool:
    """Queue a reset link if an active, verified account has this address, or a "set your
    password" link if it is an account with no password yet. The caller says the same thing
    either way, so the answer never reveals whether an address exists."""
    user = find_user_by_email(email)
    if user is None:
        return False
    if is_claimable(user):
        events.emit(events.ClaimLinkRequested(user))
        return True
    if not notifications.can_email(user):
        return False
    events.emit(events.PasswordResetRequested(user))
    return True


def user_for_claim_token(token: str) -> User | None:
    """The account a claim link is for, if the link is genuine, fresh and unused, and the
    account still has that address and no password."""
    payload = read_claim_token(token)
    if payload is None:
        return None
    user = user_for_verification(payload["u"], payload["e"])
    if (
        user is None
        or not is_claimable(user)
        or not reset_token_matches(payload, user.password_hash)
    ):
        return None
    return user


def claim_account(user: User, password: str) -> User:
    """Set the first password of an account made on someone's behalf. The claim link came to
    the address, so the address is verified too."""
    set_password(user, password)
    if user.verified_at is None:
        user.verified_at = datetime.now(UTC)
    db.session.flush()
    return user


def user_for_reset_token(token: str) -> User | None:
    """The account a reset link is for, if the link is genuine, fresh and unused."""
    payload = read_reset_token(token)
    if payload is None or not isinstance(payload.get("u"), int):
        return None
    user = db.session.get(User, payload["u"])
    if user is None or not user.is_active or not reset_token_matches(payload, user.password_hash):
        return None
    return user


def set_password(user: User, password: str) -> User:
    """Change the password and sign the account out everywhere else."""
    user.password_hash = hash_password(_checked_password(password))
    end_all_sessions(user)
    db.session.flush()
    return user


def change_password(user: User, current_password: str, new_password: str) -> User:
    """Change the password from the account page; the current one must be right."""
    if not check_password_hash(user.password_hash, current_password):
        raise DomainError(t("Your current password is not right."))
    return set_password(user, new_password)


def sign_out_everywhere(user: User) -> User:
    """Invalidate every session and remember-me cookie of this account."""
    end_all_sessions(user)
    db.session.flush()
    return user


# The reason the record gives for words taken out of public view as their author left.
REDACTED_ON_DELETION = "The author deleted their account and asked for their public words to go."


def delete_account(user: User, confirmation: str, *, redact_public: bool = False) -> User:
    """Erase a person's personal data. Their public items and votes stay, as "a former
    customer", so counts and conversations still add up; the row is anonymised, not removed.
    With `redact_public` their public words go too: their items are redacted and their
    comments hidden, as staff would (workflow.redact_public_words); the votes still count.
    `confirmation` is their password, or, for an account that has none (it signs in through a
    provider, single sign-on or email links), its email address typed out."""
    if has_usable_password(user):
        if not check_password_hash(user.password_hash, confirmation):
            raise DomainError(t("That password is not right, so nothing was deleted."))
    elif normalise_email(confirmation) != normalise_email(user.email):
        raise DomainError(t("That is not this account's email address, so nothing was deleted."))
    if user.is_admin:
        raise DomainError(t("An admin account cannot be deleted here; ask another admin first."))
    if user.is_staff:
        refuse_while_owning_open_items(user)
    old_email = normalise_email(user.email)
    if redact_public:
        redact_public_words(user, REDACTED_ON_DELETION)
    db.session.execute(sa.delete(Follow).where(Follow.user_id == user.id))
    # The links to providers and to the organisation's single sign-on carry an address and
    # would sign a returning person into the closed account: they go, so coming back makes a
    # new account, as it would for the (anonymised) address.
    db.session.execute(sa.delete(Identity).where(Identity.user_id == user.id))
    db.session.execute(
        sa.delete(DigestSubscription).where(
            sa.or_(
                DigestSubscription.user_id == user.id,
                sa.func.lower(DigestSubscription.email) == old_email,
            )
        )
    )
    user.email = f"deleted-{user.id}-{secrets.token_hex(4)}@invalid.example"
    user.display_name = "a former customer"
    user.preferred_name = ""
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.notification_preference = NotificationPreference.NONE
    user.thank_by_name = False
    user.verified_at = None
    user.active = False
    user.deleted_at = datetime.now(UTC)
    end_all_sessions(user)
    db.session.flush()
    events.emit(events.AccountDeleted(user))
    return user


# Sessions: one row per signed-in browser, so signing out ends it on the server -------------

# last_seen_at is written at most this often: a signed-in page costs a write only now and then.
LAST_SEEN_EVERY = timedelta(minutes=5)

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


_UNKNOWN_BROWSER = "A browser"
_ON = " on "


def describe_device(user_agent: str) -> str:
    """A short name for a browser from its User-Agent ("Firefox on Linux"), for the list of
    sessions; a guess good enough to tell one's own devices apart, never used to decide.
    Stored as written here, in English; device_words() says it in the reader's language."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), _UNKNOWN_BROWSER)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    return f"{browser}{_ON}{system}" if system else browser


def device_words(device: str) -> Text | str:
    """A session's stored device (describe_device) as the reader reads it: the names of
    browsers and systems stay, the words around them are translated. Anything else (an older
    or shortened description) is shown as stored."""
    if device == _UNKNOWN_BROWSER:
        return t("A browser")
    browser, on, system = device.partition(_ON)
    known_browser = browser in {name for _, name in _BROWSERS} or browser == _UNKNOWN_BROWSER
    if on and known_browser and system in {name for _, name in _SYSTEMS}:
        shown_browser = t("A browser") if browser == _UNKNOWN_BROWSER else browser
        return t("%(browser)s on %(system)s", browser=shown_browser, system=system)
    return device


def start_session(user: User, user_agent: str, now: datetime | None = None) -> UserSession:
    """Sign a browser in: a new session, which the browser's cookies will name. The user
    object carries it (User.signed_in_session), so Flask-Login's key for it names the row."""
    now = now or datetime.now(UTC)
    signed_in = UserSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        device=describe_device(user_agent)[:80],
    )
    db.session.add(signed_in)
    db.session.flush()
    user.signed_in_session = signed_in
    return signed_in


# Built once: every signed-in request runs it, and building the statement cost more than
# running it (bench/: the vote, the busiest signed-in request).
_USER_FOR_SESSION = (
    sa.select(User, UserSession)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        User.id == sa.bindparam("user_id"),
        UserSession.id == sa.bindparam("session_id"),
        UserSession.revoked_at.is_(None),
        UserSession.last_seen_at >= sa.bindparam("seen_since"),
    )
)


def user_for_session(user_id: int, session_id: str, now: datetime | None = None) -> User | None:
    """The person a browser's session signs in, or None once the session is ended or expired
    (unseen for the session lifetime, longer than any cookie naming it lives), or they may no
    longer sign in. One statement: the session row comes with the user. Marks the session seen
    when it was last marked LAST_SEEN_EVERY ago or more."""
    now = now or datetime.now(UTC)
    found = db.session.execute(
        _USER_FOR_SESSION,
        {
            "user_id": user_id,
            "session_id": session_id,
            "seen_since": now - environment.current().settings.session_lifetime,
        },
    ).one_or_none()
    if found is None:
        return None
    user, signed_in = found
    if not user.is_active:
        return None
    if now - signed_in.last_seen_at >= LAST_SEEN_EVERY:
        # As a writer: a request that began reading (a page, or a vote until it writes) may
        # not change a row on SQLite once another writer has committed since its first read
        # (refused at once, not waited for: the vote answered 503 to every signed-in person
        # whose mark fell due while others voted).
        begin_write(db.session)
        signed_in.last_seen_at = now
    user.signed_in_session = signed_in
    return user


def live_sessions(user: User) -> list[UserSession]:
    """A person's sessions that still sign a browser in, the most recently seen first."""
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            .order_by(UserSession.last_seen_at.desc(), UserSession.created_at.desc())
        )
    )


def end_session(user: User, session_id: str, now: datetime | None = None) -> UserSession:
    """End one of a person's own sessions (signing out, or "End" in their list): whatever
    cookie its browser still holds opens nothing from its next request on."""
    signed_in = db.session.get(UserSession, session_id)
    if signed_in is None or signed_in.user_id != user.id:
        raise NotFound(t("We could not find that session. It may have ended already."))
    if signed_in.revoked_at is None:
        signed_in.revoked_at = now or datetime.now(UTC)
    db.session.flush()
    return signed_in


def end_all_sessions(user: User, now: datetime | None = None) -> None:
    """End every session of a person: signing out everywhere, a new password, deactivation
    and deletion."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )


def prune_sessions(now: datetime | None = None) -> int:
    """Delete the sessions that have signed nobody in for a whole session lifetime: ended that
    long ago, or unseen that long (expired). Returns how many went. A session that still
    signs a browser in is never touched, so this may run as often as anyone likes."""
    cutoff = (now or datetime.now(UTC)) - environment.current().settings.session_lifetime
    return rows_changed(
        db.session.execute(
            sa.delete(UserSession)
            .where(sa.or_(UserSession.revoked_at < cutoff, UserSession.last_seen_at < cutoff))
            .execution_options(synchronize_session="fetch")
        )
    )
