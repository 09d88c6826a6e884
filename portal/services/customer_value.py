"""Customer value: a customer's plan, monthly value and segment, for staff weighing feedback.

Set by admins (the person's admin page), by the API (a write-scope token) and by single
sign-on's claims, all through the same rules (`checked_value`). Read only by staff pages:
triage's value of the people behind an item (`item_values`, `value_order`); insights split by
segment (`insights.rolled.segment_split`). Nothing here is ever put in a public page, feed,
email, webhook or the public API's payloads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import ApiToken, Feedback, Role, User, Vote
from portal.services import events
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.wording import Text, t
from portal.validation import name_problem

MAX_LABEL_LENGTH = 80  # as the columns hold
# A month's value at most 10 million in the site's currency (a typo guard, and far inside
# the column's 32-bit cents on PostgreSQL).
MAX_MONTHLY_VALUE_CENTS = 1_000_000_000

FIELDS = ("plan", "monthly_value", "segment")


@dataclass(frozen=True)
class CustomerValue:
    """What a customer is worth to the organisation; None where nothing is known."""

    plan: str | None = None
    monthly_value_cents: int | None = None
    segment: str | None = None

    @classmethod
    def of(cls, user: User) -> CustomerValue:
        """The value kept on this account."""
        return cls(user.plan, user.monthly_value_cents, user.segment)

    @property
    def paying(self) -> bool:
        return bool(self.monthly_value_cents)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for the audit entry)."""
        return {
            "plan": self.plan,
            "monthly_value_cents": self.monthly_value_cents,
            "segment": self.segment,
        }


class InvalidCustomerValue(DomainError):
    """One or more of plan, monthly value and segment cannot be kept; each field's problem is
    in `fields` (its name: "plan", "monthly_value", "segment")."""

    status_code = 422

    def __init__(self, fields: Mapping[str, Text]) -> None:
        super().__init__(t("Please check the customer's plan, monthly value and segment."))
        self.fields = dict(fields)


# Checking ----------------------------------------------------------------------------------

_GROUPED = re.compile(r"^\d{1,3}(?:[,.]\d{3})+$")


def _label(value: object, what: Text) -> str | None:
    """A plan or segment: one line of at most 80 characters, under the name rule (no line
    breaks, controls, invisible or direction-changing characters); blank is None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(t("%(what)s must be text.", what=what))
    if len(value) > MAX_LABEL_LENGTH:
        raise ValueError(
            t("%(what)s must be at most %(num)d characters.", what=what, num=MAX_LABEL_LENGTH)
        )
    if name_problem(value) or not _encodable(value):
        raise ValueError(
            t(
                "%(what)s cannot contain line breaks, controls or invisible characters.",
                what=what,
            )
        )
    return " ".join(value.split()) or None


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _amount_text(raw: str) -> Decimal:
    """An amount as people type it: "49", "49.5", "49.90", "1,234.50", "1.234,50", "12,5".
    A point is the decimal point unless a comma follows it; a comma is one when one or two
    digits end the amount after it. Grouping is by threes (spaces and apostrophes too)."""
    text = "".join(raw.replace("\u00a0", " ").split()).replace("'", "")
    if text[:1] in ("-", "\u2212") and text[1:2] not in ("", "-", "\u2212"):
        # Said as negative (monthly_value_cents refuses it so), not as "not an amount".
        return -_amount_text(text[1:])
    if not text or not all(ch.isascii() and (ch.isdigit() or ch in ",.") for ch in text):
        raise InvalidOperation(raw)
    last_comma, last_dot = text.rfind(","), text.rfind(".")
    if last_comma > last_dot and 1 <= len(text) - last_comma - 1 <= 2:
        point = last_comma
    elif last_dot > last_comma:
        point = last_dot
    else:
        point = -1
    whole, fraction = (text[:point], text[point + 1 :]) if point >= 0 else (text, "")
    if fraction and not fraction.isdigit():
        raise InvalidOperation(raw)
    if whole and not (whole.isdigit() or _GROUPED.match(whole)):
        raise InvalidOperation(raw)
    if not whole and not fraction:
        raise InvalidOperation(raw)
    digits = "".join(ch for ch in whole if ch.isdigit()) or "0"
    return Decimal(f"{digits}.{fraction or '0'}")


def monthly_value_cents(value: object) -> int | None:
    """A monthly value (text as typed, or a number) in cents; blank or None is None.
    ValueError says what is wrong with it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(t("Monthly value must be an amount, such as 49.00."))
    try:
        if isinstance(value, int):
            amount = Decimal(value)
        elif isinstance(value, float | Decimal):
            amount = Decimal(str(value))
        elif isinstance(value, str):
            amount = _amount_text(value)
        else:
            raise InvalidOperation(value)
    except InvalidOperation:
        raise ValueError(t("Monthly value must be an amount, such as 49.00.")) from None
    if not amount.is_finite():
        raise ValueError(t("Monthly value must be an amount, such as 49.00."))
    if amount < 0:
        raise ValueError(t("Monthly value cannot be negative."))
    # Before quantize, which cannot hold a huge amount's digits.
    if amount * 100 > MAX_MONTHLY_VALUE_CENTS:
        raise ValueError(t("Monthly value must be at most %(amount)s.", amount="10,000,000.00"))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(t("Monthly value has at most two decimals, such as 49.90."))
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


def checked_value(plan: object, monthly_value: object, segment: object) -> CustomerValue:
    """Plan, monthly value and segment as kept, or InvalidCustomerValue naming each field's
    problem. Blank or None clears a field. Shared by the admin pages, the API and single
    sign-on's claims, so every door keeps the same rules."""
    problems: dict[str, Text] = {}
    kept: dict[str, Any] = {}
    checks = (
        ("plan", lambda: _label(plan, t("Plan"))),
        ("monthly_value", lambda: monthly_value_cents(monthly_value)),
        ("segment", lambda: _label(segment, t("Segment"))),
    )
    for name, check in checks:
        try:
            kept[name] = check()
        except ValueError as exc:
            problems[name] = exc.args[0]
    if problems:
        raise InvalidCustomerValue(problems)
    return CustomerValue(kept["plan"], kept["monthly_value"], kept["segment"])


# The command -------------------------------------------------------------------------------


def may_set_value(actor: User | None) -> bool:
    """Admins set customer value on the pages (tokens, made by admins, through the API)."""
    return actor is not None and actor.is_authenticated and actor.is_admin and actor.is_active


def customer_for_value(
    user_id: int | None = None, *, email: str | None = None, for_update: bool = False
) -> User:
    """The customer account whose value is set or read (locked for a change): by id or
    address. Staff and closed accounts are not found: they have no customer value."""
    query = sa.select(User).where(User.deleted_at.is_(None), User.role == Role.CUSTOMER)
    if user_id is not None:
        query = query.where(User.id == user_id)
    elif email:
        query = query.where(sa.func.lower(User.email) == email.strip().lower())
    else:
        raise NotFound(t("We could not find that customer."))
    user: User | None = db.session.scalar(query.with_for_update() if for_update else query)
    if user is None:
        raise NotFound(t("We could not find that customer."))
    return user


def set_customer_value(
    actor: User | None,
    customer: User,
    value: CustomerValue,
    *,
    token: ApiToken | None = None,
    via: str = "admin",
) -> bool:
    """Keep a customer's plan, monthly value and segment (all three: None clears one), `via`
    the admin pages (an admin's actor), the API (its token, actor None) or single sign-on's
    claims ("sso"); audited when anything changed. Returns whether anything did."""
    # Who vouches for the values: an admin on the pages, a write token through the API, or
    # the organisation's signed token at single sign-on (services/sso.py checked it).
    if via == "admin" and not may_set_value(actor):
        raise NotAllowed(t("Only admins can set a customer's value."))
    if via == "api" and token is None:
        raise NotAllowed(t("Only admins can set a customer's value."))
    if via not in ("admin", "api", "sso"):
        raise ValueError(f"unknown way in: {via}")
    if customer.deleted_at is not None:
        raise NotFound(t("We could not find that customer."))
    if customer.role is not Role.CUSTOMER:
        raise DomainError(t("Plan, monthly value and segment are kept for customers only."))
    before = CustomerValue.of(customer)
    if before == value:
        return False
    customer.plan = value.plan
    customer.monthly_value_cents = value.monthly_value_cents
    customer.segment = value.segment
    db.session.flush()
    events.emit(events.CustomerValueChanged(customer, actor, before.as_dict(), via, token))
    return True


def change_customer_value(
    actor: User | None,
    customer: User,
    changes: Mapping[str, object],
    *,
    token: ApiToken | None = None,
    via: str = "api",
) -> bool:
    """Change some of a customer's plan, monthly value and segment (`changes` names them:
    "plan", "monthly_value", "segment"; None clears one, one not named stays), under the
    same rules as set_customer_value: for the API and single sign-on's claims."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"not customer value fields: {sorted(unknown)}")
    current = CustomerValue.of(customer)
    raw: dict[str, object] = {
        "plan": current.plan,
        "monthly_value": (
            None
            if current.monthly_value_cents is None
            else Decimal(current.monthly_value_cents) / 100
        ),
        "segment": current.segment,
    }
    raw.update(changes)
    value = checked_value(raw["plan"], raw["monthly_value"], raw["segment"])
    return set_customer_value(actor, customer, value, token=token, via=via)


# Reading, for staff ------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemValue:
    """The value of the people behind an item (its author and everyone who said "me too",
    each once): the sum of their monthly values, and how many of them pay."""

    monthly_value_cents: int = 0
    paying: int = 0


NO_VALUE = ItemValue()


def _people_behind(item_ids: list[int] | None = None) -> sa.Subquery:
    """(item id, user id) for each paying person behind each item (or these items), each
    once: the author and the voters (UNION drops the author's own vote). Only people with a
    monthly value take part, so the join stays as small as the paying customers are few."""
    paying = sa.select(User.id).where(User.monthly_value_cents > 0)
    authors = sa.select(Feedback.id.label("item_id"), Feedback.author_id.label("user_id")).where(
        Feedback.author_id.in_(paying)
    )
    voters = sa.select(Vote.feedback_id.label("item_id"), Vote.user_id.label("user_id")).where(
        Vote.user_id.in_(paying)
    )
    if item_ids is not None:
        authors = authors.where(Feedback.id.in_(item_ids))
        voters = voters.where(Vote.feedback_id.in_(item_ids))
    return sa.union(authors, voters).subquery("people_behind")


def item_value_subquery(item_ids: list[int] | None = None) -> sa.Subquery:
    """One row per item with paying people behind it: item_id, value_cents, paying."""
    people = _people_behind(item_ids)
    return (
        sa.select(
            people.c.item_id,
            sa.func.sum(User.monthly_value_cents).label("value_cents"),
            sa.func.count(User.id).label("paying"),
        )
        .join(User, User.id == people.c.user_id)
        .group_by(people.c.item_id)
        .subquery("item_value")
    )


def value_order(query: sa.Select[Any]) -> sa.Select[Any]:
    """The triage query ordered by the value of the people behind each item, most first
    (then most paying customers, then oldest), in the same statement."""
    values = item_value_subquery()
    return query.outerjoin(values, values.c.item_id == Feedback.id).order_by(
        sa.func.coalesce(values.c.value_cents, 0).desc(),
        sa.func.coalesce(values.c.paying, 0).desc(),
        Feedback.created_at,
        Feedback.id,
    )


def item_values(item_ids: Iterable[int]) -> dict[int, ItemValue]:
    """The value behind each of these items, in one grouped query (items without paying
    people are absent: NO_VALUE)."""
    ids = list(item_ids)
    if not ids:
        return {}
    values = item_value_subquery(ids)
    rows = db.session.execute(sa.select(values.c.item_id, values.c.value_cents, values.c.paying))
    return {item_id: ItemValue(int(cents or 0), int(paying)) for item_id, cents, paying in rows}


def amount_text(cents: int | None) -> str:
    """Cents as the plain amount a form shows and takes back: 4990 -> "49.90"."""
    if cents is None:
        return ""
    return f"{Decimal(cents) / 100:.2f}"
