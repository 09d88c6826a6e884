"""Customer value (plan, monthly value, segment): the rules every door shares, the audited
command, the value of the people behind an item (triage) and the split by segment
(insights)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEntry, Feedback, Role, User, Vote
from portal.services import customer_value, triage
from portal.services.customer_value import (
    CustomerValue,
    InvalidCustomerValue,
    ItemValue,
    checked_value,
    item_values,
    set_customer_value,
)
from portal.services.errors import DomainError, NotAllowed
from portal.services.insights.rolled import segment_split
from portal.services.votes import set_vote
from tests.helpers import count_queries


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN)


def _value(
    admin: User, customer: User, monthly: str | None, segment: str | None = None, plan=None
) -> None:
    set_customer_value(admin, customer, checked_value(plan, monthly, segment))
    db.session.commit()


# The rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("49", 4900),
        ("49.9", 4990),
        ("49.90", 4990),
        (" 1,234.50 ", 123450),
        ("1.234,50", 123450),
        ("12,5", 1250),
        ("1 234", 123400),
        ("0", 0),
        (49, 4900),
        (49.9, 4990),
        ("", None),
        (None, None),
    ],
)
def test_monthly_value_is_read_as_people_type_amounts(typed: object, cents: int | None) -> None:
    assert checked_value(None, typed, None).monthly_value_cents == cents


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("abc", "must be an amount"),
        ("49.999", "at most two decimals"),
        ("-5", "cannot be negative"),
        ("- 12,50", "cannot be negative"),
        ("--5", "must be an amount"),
        ("-", "must be an amount"),
        (-5, "cannot be negative"),
        ("1,2,3", "must be an amount"),
        ("12000000", "at most"),
        ("99999999999999999999999999999999.5", "at most"),
        (1e300, "at most"),
        (float("inf"), "must be an amount"),
        (True, "must be an amount"),
        ("NaN", "must be an amount"),
        ("٤٩", "must be an amount"),
    ],
)
def test_a_monthly_value_that_is_no_amount_is_refused_saying_why(
    typed: object, problem: str
) -> None:
    with pytest.raises(InvalidCustomerValue) as refused:
        checked_value(None, typed, None)
    assert set(refused.value.fields) == {"monthly_value"}
    assert problem in str(refused.value.fields["monthly_value"])


def test_plan_and_segment_are_one_trimmed_line_and_blank_clears_them() -> None:
    value = checked_value("  Business   plus ", None, "   ")
    assert value == CustomerValue(plan="Business plus", monthly_value_cents=None, segment=None)


@pytest.mark.parametrize("label", ["Business\nplus", "Retail\u202e", "Pro\x00", "Pro\u200b"])
def test_plan_and_segment_refuse_line_breaks_controls_and_invisible_characters(
    label: str,
) -> None:
    with pytest.raises(InvalidCustomerValue) as refused:
        checked_value(label, None, label)
    assert set(refused.value.fields) == {"plan", "segment"}
    assert "line breaks" in str(refused.value.fields["plan"])


def test_every_field_with_a_problem_is_named_at_once() -> None:
    with pytest.raises(InvalidCustomerValue) as refused:
        checked_value("x" * 81, "lots", "Retail\u202e")
    assert set(refused.value.fields) == {"plan", "monthly_value", "segment"}
    assert "80 characters" in str(refused.value.fields["plan"])


def test_a_partial_change_keeps_the_fields_it_does_not_name(make_user, admin) -> None:
    customer = make_user()
    _value(admin, customer, "10", "Retail", plan="Pro")
    customer_value.change_customer_value(None, customer, {"segment": None}, token=None, via="sso")
    db.session.commit()
    db.session.expire_all()
    saved = db.session.get(User, customer.id)
    assert (saved.plan, saved.monthly_value_cents, saved.segment) == ("Pro", 1000, None)


# The command -------------------------------------------------------------------------------


def test_an_admin_sets_a_customers_value_and_the_change_is_audited(make_user, admin) -> None:
    customer = make_user()
    changed = set_customer_value(admin, customer, checked_value("Business", "49.90", "Retail"))
    db.session.commit()
    assert changed
    db.session.expire_all()
    saved = db.session.get(User, customer.id)
    assert (saved.plan, saved.monthly_value_cents, saved.segment) == ("Business", 4990, "Retail")
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "user.value_changed")
    )
    assert entry.actor_id == admin.id and entry.target_id == customer.id
    assert entry.detail["monthly_value_cents"] == 4990
    assert entry.detail["before"] == {"plan": None, "monthly_value_cents": None, "segment": None}


def test_setting_the_same_value_again_changes_and_audits_nothing(make_user, admin) -> None:
    customer = make_user()
    _value(admin, customer, "10", "Retail")
    assert not set_customer_value(admin, customer, checked_value(None, "10.00", "Retail"))
    entries = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEntry.action == "user.value_changed")
    )
    assert entries == 1


def test_staff_who_are_not_admins_cannot_set_value(make_user) -> None:
    staff, customer = make_user(role=Role.STAFF), make_user()
    with pytest.raises(NotAllowed):
        set_customer_value(staff, customer, checked_value("Pro", "5", None))


def test_value_is_kept_for_customers_only(make_user, admin) -> None:
    staff = make_user(role=Role.STAFF)
    with pytest.raises(DomainError, match="customers only"):
        set_customer_value(admin, staff, checked_value("Pro", "5", None))


# Triage: the value of the people behind an item --------------------------------------------


def test_item_value_sums_author_and_voters_once_each(make_user, make_feedback, admin) -> None:
    author, voter, free, other = make_user(), make_user(), make_user(), make_user()
    _value(admin, author, "100")
    _value(admin, voter, "25.50")
    _value(admin, free, "0")
    _value(admin, other, "999")
    item = make_feedback(author=author)  # the author's own vote is counted once
    for person in (voter, free):
        set_vote(person, item.id, want=True)
    lonely = make_feedback(author=make_user())
    db.session.commit()
    values = item_values([item.id, lonely.id])
    assert values[item.id] == ItemValue(monthly_value_cents=12550, paying=2)
    assert lonely.id not in values  # nobody paying behind it


def test_sort_by_value_puts_the_most_valuable_people_first(make_user, make_feedback, admin):
    big, small = make_user(), make_user()
    _value(admin, big, "500")
    _value(admin, small, "20")
    oldest = make_feedback()  # nobody paying
    little = make_feedback(author=small)
    much = make_feedback()
    set_vote(big, much.id, want=True)
    two_small = make_feedback(author=small)
    set_vote(small, two_small.id, want=True)  # the author again: still one person
    db.session.commit()
    filters = triage.TriageFilters(sort=triage.TriageSort.VALUE)
    order = list(db.session.scalars(triage.triage_query(filters, big)).unique())
    assert [i.id for i in order] == [much.id, little.id, two_small.id, oldest.id]


def test_the_value_of_a_page_of_items_is_one_query(make_user, make_feedback, admin, app):
    payer = make_user()
    _value(admin, payer, "10")
    ids = [make_feedback(author=payer).id for _ in range(5)]
    with count_queries(db.engine) as log:
        values = item_values(ids)
    assert log.count == 1
    assert values == dict.fromkeys(ids, ItemValue(1000, 1))


# Insights: items and votes per segment -----------------------------------------------------


def test_segment_split_counts_items_and_votes_of_the_period_by_segment(
    make_user, make_feedback, admin
) -> None:
    retail, retail2, edu, nobody = make_user(), make_user(), make_user(), make_user()
    _value(admin, retail, None, "Retail")
    _value(admin, retail2, None, "Retail")
    _value(admin, edu, None, "Education")
    first = make_feedback(author=retail)  # an item and its author's vote
    make_feedback(author=edu)
    set_vote(retail2, first.id, want=True)
    set_vote(nobody, first.id, want=True)
    old = make_feedback(author=retail2)
    db.session.execute(
        sa.update(Feedback)
        .where(Feedback.id == old.id)
        .values(created_at=datetime.now(UTC) - timedelta(days=90))
    )
    db.session.execute(
        sa.update(Vote)
        .where(Vote.feedback_id == old.id)
        .values(created_at=datetime.now(UTC) - timedelta(days=90))
    )
    db.session.commit()
    now = datetime.now(UTC)
    split = {
        f.segment: (f.items, f.votes, f.people)
        for f in segment_split(now - timedelta(days=30), now + timedelta(seconds=1))
    }
    assert split == {
        "Retail": (1, 2, 2),
        "Education": (1, 1, 1),
        None: (0, 1, 1),
    }
    order = [f.segment for f in segment_split(now - timedelta(days=30), now)]
    assert order[-1] is None  # people with no segment come last


def test_amount_text_gives_back_what_the_form_shows() -> None:
    assert customer_value.amount_text(4990) == "49.90"
    assert customer_value.amount_text(None) == ""
