"""Signed tokens for links in emails: email verification and notification opt-outs."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from portal.services import environment

VERIFY_MAX_AGE = 7 * 24 * 3600


def _timed(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(environment.current().settings.secret_key, salt=salt)


def _plain(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(environment.current().settings.secret_key, salt=salt)


def _timed_payload(salt: str, token: str, max_age: int) -> Any:
    """What a timed token carries, or None if it is forged or expired."""
    try:
        return _timed(salt).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None


def _shaped(
    payload: Any, required: dict[str, type], optional: dict[str, type] | None = None
) -> dict[str, Any] | None:
    """The payload if it is a dict with these keys of these types (optional ones may be
    missing), else None: a token from an older or other shape is not read."""
    if not isinstance(payload, dict):
        return None
    if not all(isinstance(payload.get(key), kind) for key, kind in required.items()):
        return None
    if not all(
        key not in payload or isinstance(payload[key], kind)
        for key, kind in (optional or {}).items()
    ):
        return None
    return payload


def make_verify_token(user_id: int, email: str) -> str:
    """A link token proving the holder received mail at this address (expires in 7 days)."""
    return _timed("verify-email").dumps({"u": user_id, "e": email})


def read_verify_token(token: str) -> dict[str, Any] | None:
    """The payload of a verification token, or None if it is forged or expired."""
    try:
        payload: dict[str, Any] = _timed("verify-email").loads(token, max_age=VERIFY_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    return payload


def make_unsubscribe_token(user_id: int, feedback_id: int | None) -> str:
    """A lasting token to stop notifications about one item (or all, with None)."""
    return _plain("unsubscribe").dumps({"u": user_id, "f": feedback_id})


def read_unsubscribe_token(token: str) -> dict[str, Any] | None:
    """The payload of an unsubscribe token, or None if it is not ours."""
    try:
        payload = _plain("unsubscribe").loads(token)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) and isinstance(payload.get("u"), int) else None


RESET_MAX_AGE = 3600


def _fingerprint(value: str) -> str:
    # Part of a hash of a secret the token depends on (the password hash, a confirm token):
    # the token dies as soon as that changes, which makes it single-use, storing nothing.
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def make_reset_token(user_id: int, password_hash: str) -> str:
    """A password-reset token, valid for an hour and only until the password changes."""
    return _timed("reset-password").dumps({"u": user_id, "p": _fingerprint(password_hash)})


def read_reset_token(token: str, max_age: int = RESET_MAX_AGE) -> dict[str, Any] | None:
    """The payload of a reset token, or None if forged or expired."""
    try:
        payload = _timed("reset-password").loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    return payload if isinstance(payload, dict) else None


def reset_token_matches(payload: dict[str, Any], password_hash: str) -> bool:
    """Whether the token was made for the password the account has now (single use)."""
    return payload.get("p") == _fingerprint(password_hash)


# Replies to notification emails --------------------------------------------------------------

REPLY_TOKEN_LENGTH = 20


def make_reply_token(item_id: int, email: str) -> str:
    """A short tag binding a reply address to one item and one recipient's address. Lower-case
    hex, because some mail servers fold the case of the part before the @."""
    message = f"intake-reply:{item_id}:{email.strip().lower()}".encode()
    key = environment.current().settings.secret_key.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:REPLY_TOKEN_LENGTH]


def reply_token_matches(item_id: int, email: str, token: str) -> bool:
    """Whether a reply address's tag was made for this item and this sender's address."""
    return hmac.compare_digest(make_reply_token(item_id, email), token.strip().lower())


def reply_address(item_id: int, email: str) -> str | None:
    """The Reply-To for a notification about an item: the intake address plus-tagged with the
    item and a token (feedback+123.<token>@example.org). None when email intake is not set up."""
    intake = environment.current().settings.intake_address
    local, _, domain = intake.partition("@")
    if not local or not domain:
        return None
    return f"{local}+{item_id}.{make_reply_token(item_id, email)}@{domain}"


# Changes to a confirmed digest subscription ---------------------------------------------------

DIGEST_CHANGE_MAX_AGE = 7 * 24 * 3600


def make_digest_change_token(
    subscription_id: int,
    email: str,
    confirm_token: str,
    frequency: str,
    category_ids: list[int],
    language: str = "",
) -> str:
    """A link token carrying new digest preferences (a language among them: "" keeps the
    subscription's) to the subscribed address, valid for 7 days and only for this round of
    consent (the confirm token is renewed on opting back in)."""
    return _timed("digest-change").dumps(
        {
            "s": subscription_id,
            "e": email,
            "k": _fingerprint(confirm_token),
            "f": frequency,
            "c": category_ids,
            "l": language,
        }
    )


def read_digest_change_token(
    token: str, max_age: int = DIGEST_CHANGE_MAX_AGE
) -> dict[str, Any] | None:
    """The payload of a digest-change token, or None if forged, expired or misshapen."""
    try:
        payload = _timed("digest-change").loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("s"), int)
        and isinstance(payload.get("e"), str)
        and isinstance(payload.get("k"), str)
        and isinstance(payload.get("f"), str)
        and isinstance(payload.get("c"), list)
        and all(isinstance(c, int) for c in payload["c"])
        # Links sent before a change could carry a language have none: theirs is kept.
        and isinstance(payload.get("l", ""), str)
    ):
        return None
    return payload


def digest_change_token_matches(payload: dict[str, Any], confirm_token: str) -> bool:
    """Whether the token was made during the subscription's current round of consent."""
    return hmac.compare_digest(payload["k"], _fingerprint(confirm_token))


def make_digest_subscription_token(subscription_id: int, confirm_token: str) -> str:
    """A lasting link token to one digest subscription's own page (frequency, categories,
    unsubscribe), sent in its digests: valid for this round of consent only (opting back in
    renews the confirm token, and with it every link)."""
    return _plain("digest-subscription").dumps(
        {"s": subscription_id, "k": _fingerprint(confirm_token)}
    )


def read_digest_subscription_token(token: str) -> dict[str, Any] | None:
    """The payload of a digest subscription's page token, or None if it is not ours."""
    try:
        payload = _plain("digest-subscription").loads(token)
    except BadSignature:
        return None
    if (
        isinstance(payload, dict)
        and isinstance(payload.get("s"), int)
        and isinstance(payload.get("k"), str)
    ):
        return payload
    return None


# Claiming an account made on someone's behalf ------------------------------------------------

CLAIM_MAX_AGE = 24 * 3600


def make_claim_token(user_id: int, email: str, password_hash: str) -> str:
    """A link token to set the first password of an account made on someone's behalf (by the
    API or email intake). Valid for a day, and only until a password is set (single use)."""
    return _timed("claim-account").dumps(
        {"u": user_id, "e": email, "p": _fingerprint(password_hash)}
    )


def read_claim_token(token: str, max_age: int = CLAIM_MAX_AGE) -> dict[str, Any] | None:
    """The payload of a claim token, or None if forged, expired or misshapen."""
    return _shaped(_timed_payload("claim-account", token, max_age), {"u": int, "e": str, "p": str})


# Finishing a registration ---------------------------------------------------------------------

REGISTRATION_MAX_AGE = 24 * 3600


def make_registration_token(
    email: str, display_name: str, preferred_name: str, password_hash: str, next_url: str
) -> str:
    """A link token carrying a registration to the address it names, valid for a day. It holds
    the password's hash, never the password; the account is made only when it is followed, so
    it works once (then the address has an account)."""
    return _timed("register").dumps(
        {"e": email, "d": display_name, "p": preferred_name, "h": password_hash, "n": next_url}
    )


def read_registration_token(
    token: str, max_age: int = REGISTRATION_MAX_AGE
) -> dict[str, Any] | None:
    """The payload of a registration token, or None if forged, expired or misshapen."""
    try:
        payload = _timed("register").loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not (isinstance(payload, dict) and all(isinstance(payload.get(k), str) for k in "edphn")):
        return None
    return payload


# Invitations to join the staff ----------------------------------------------------------------

INVITATION_MAX_AGE = 7 * 24 * 3600


def hash_secret(secret: str) -> str:
    """The sha256 hex digest kept for a link's random secret (an invitation's): the database
    holds no working link."""
    return hashlib.sha256(secret.encode()).hexdigest()


def make_invitation_token(invitation_id: int, secret: str) -> str:
    """A link token for one invitation, signed and dated like the others. It works while the
    invitation is pending and holds the secret whose hash the invitation keeps: sending the
    invitation again makes a new secret, which ends the older link."""
    return _timed("invitation").dumps({"i": invitation_id, "k": secret})


def read_invitation_token(token: str, max_age: int = INVITATION_MAX_AGE) -> dict[str, Any] | None:
    """The payload of an invitation token, or None if forged, expired or misshapen."""
    return _shaped(_timed_payload("invitation", token, max_age), {"i": int, "k": str})


def invitation_token_matches(payload: dict[str, Any], secret_hash: str) -> bool:
    """Whether the token carries the secret the invitation holds now (the latest one sent)."""
    return hmac.compare_digest(hash_secret(payload["k"]), secret_hash)


# Signing in with an emailed link --------------------------------------------------------------

SIGN_IN_LINK_MAX_AGE = 15 * 60


def make_sign_in_token(user_id: int, email: str, spent_by: str, next_url: str = "") -> str:
    """A link token that signs an account in (then opens `next_url`), valid for 15 minutes
    and only until `spent_by` changes (the account's newest session: following the link starts
    a new one, so it works once, storing nothing)."""
    return _timed("sign-in-link").dumps(
        {"u": user_id, "e": email, "s": _fingerprint(spent_by), "n": next_url}
    )


def read_sign_in_token(token: str, max_age: int = SIGN_IN_LINK_MAX_AGE) -> dict[str, Any] | None:
    """The payload of a sign-in link token, or None if forged, expired or misshapen."""
    return _shaped(
        _timed_payload("sign-in-link", token, max_age), {"u": int, "e": str, "s": str}, {"n": str}
    )


def sign_in_token_matches(payload: dict[str, Any], spent_by: str) -> bool:
    """Whether the link was made before the account's newest session began (unused)."""
    return hmac.compare_digest(payload["s"], _fingerprint(spent_by))


# Changing an account's address ----------------------------------------------------------------

EMAIL_CHANGE_MAX_AGE = 24 * 3600


def make_email_change_token(user_id: int, old_email: str, new_email: str) -> str:
    """A link token, sent to the new address, that moves the account to it: valid for a day
    and only while the account still has the old address (so it works once)."""
    return _timed("email-change").dumps({"u": user_id, "o": old_email, "n": new_email})


def read_email_change_token(
    token: str, max_age: int = EMAIL_CHANGE_MAX_AGE
) -> dict[str, Any] | None:
    """The payload of an address-change token, or None if forged, expired or misshapen."""
    return _shaped(_timed_payload("email-change", token, max_age), {"u": int, "o": str, "n": str})
