"""Digest forms: they check shape; the digests service checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Email, InputRequired, Length

from portal.forms import BAD_EMAIL, MultiCheckboxField
from portal.models import DigestFrequency

FREQUENCY_CHOICES = [
    SelectChoice(DigestFrequency.WEEKLY.value, _l("Weekly: the past week\u2019s changes")),
    SelectChoice(DigestFrequency.MONTHLY.value, _l("Monthly: the past month\u2019s changes")),
]


class SubscriptionForm(FlaskForm):
    """A subscription's own page: its choices, without the address (the link names it)."""

    frequency = RadioField(
        _l("How often?"),
        choices=FREQUENCY_CHOICES,
        validators=[InputRequired(_l("Please choose weekly or monthly."))],
    )
    categories = MultiCheckboxField(
        _l("Only these categories"),
        description=_l("Leave them all unticked to hear about everything."),
        coerce=int,
        invalid_choice_message=_l("Please choose from the categories listed."),
    )
    # The offered languages, each named in itself; the page's language is the default. Shown
    # once there is a choice; without one (or from an older page) the page's language.
    language = RadioField(_l("Which language?"), validate_choice=False)


class SubscribeForm(SubscriptionForm):
    """Subscribing: the address, then the same choices (weekly unless chosen otherwise)."""

    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Email(BAD_EMAIL),
            Length(max=254, message=_l("Email addresses are at most 254 characters.")),
        ],
    )
    frequency = RadioField(
        _l("How often?"),
        choices=FREQUENCY_CHOICES,
        default=DigestFrequency.WEEKLY.value,
        validators=[InputRequired(_l("Please choose weekly or monthly."))],
    )


class ConfirmForm(FlaskForm):
    """The button behind an emailed link: only the CSRF token, so that the POST, not the
    GET a mail scanner makes when it opens the link to check it, is what changes anything."""
