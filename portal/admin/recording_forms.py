"""Forms for feedback staff take for a customer: a new item, or a "me too" on an item. They
check shape; services/recording.py checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from portal.feedback.forms import (
    body_field,
    category_field,
    kind_field,
    title_field,
    visibility_field,
)
from portal.forms import BAD_EMAIL, plain_name
from portal.models import STAFF_CHANNELS, Visibility

CHANNEL_CHOICES = [SelectChoice(c.value, _l(c.label)) for c in STAFF_CHANNELS]
VISIBILITY_CHOICES = [
    SelectChoice(
        Visibility.PUBLIC.value, _l("Public: others can see it and say \u201cme too\u201d")
    ),
    SelectChoice(Visibility.PRIVATE.value, _l("Private: only the customer and our staff")),
]
CHOOSE_CATEGORY = SelectChoice("", _l("Choose one\u2026"))


def customer_email_field() -> EmailField:
    """The customer's address: how they are found (any case), or their new contact's."""
    return EmailField(
        _l("Customer's email address"),
        description=_l("We find their account by it, or make them a contact with it."),
        validators=[
            DataRequired(_l("Please give the customer's email address.")),
            Email(BAD_EMAIL),
            Length(max=254),
        ],
    )


def customer_name_field() -> StringField:
    """The name of a customer who has no account yet (not needed for one who has)."""
    return StringField(
        _l("Their name (for a new contact)"),
        description=_l("Only needed when nobody has that address yet."),
        validators=[Optional(), Length(max=80), plain_name],
    )


def channel_field() -> RadioField:
    """How the customer told staff."""
    return RadioField(
        _l("How did they tell you?"),
        choices=CHANNEL_CHOICES,
        validators=[InputRequired(_l("Please say how the customer told you."))],
    )


class RecordForm(FlaskForm):
    """A new item, recorded in the customer's name."""

    customer_email = customer_email_field()
    customer_name = customer_name_field()
    channel = channel_field()
    kind = kind_field()
    category_id = category_field()
    title = title_field(
        _l("One line that sums it up, as the customer would."),
        _l("Please give the feedback a title."),
    )
    body = body_field(
        _l("What they told you"),
        _l("In their words where you can. Markdown works."),
        _l("Please write down what they told you."),
    )
    visibility = visibility_field(
        _l("Please choose who can see it: everyone, or only the customer and staff."),
        VISIBILITY_CHOICES,
    )


class MeTooForm(FlaskForm):
    """A customer's "me too" on an item, recorded for them. Its fields are named apart from
    the item page's other forms, so their ids stay unique."""

    me_too_email = customer_email_field()
    me_too_name = customer_name_field()
    me_too_channel = channel_field()
