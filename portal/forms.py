"""Shared form pieces: the spam checks that public forms carry instead of a captcha, and
the check on names people choose."""

from __future__ import annotations

import time
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import Field, HiddenField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.validation import name_problem


def say_beside(field: Field, *messages: str) -> None:
    """Show messages beside a field of a form that has been validated (its errors are a list
    by then; WTForms' types say Sequence, as they start as a tuple)."""
    cast(list[str], field.errors).extend(messages)


BAD_EMAIL = _l("That does not look like an email address. Please check it.")
HUMAN_CHECK_MESSAGE = _l(
    "That was sent faster than a person types, or looked automated. Please try again."
)


def _stamps() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="form-started")


def chosen_id(value: object) -> int | None:
    """A select's coerce for a list that opens on "Choose…" (value ""): no choice is None,
    which InputRequired then refuses, instead of the first entry chosen for the person."""
    return None if value in ("", None) else int(value)  # type: ignore[call-overload]


class HumanCheckedForm(FlaskForm):
    """A public form with a honeypot field people never see and a minimum time to fill it.

    Bots fill every field and post at once; people leave the hidden one empty and take a
    few seconds. Both checks fail quietly with one neutral message, never a captcha."""

    # Named like a field bots love; hidden from people and screen readers by the template.
    website = StringField(
        _l("Leave this empty"), render_kw={"autocomplete": "off", "tabindex": "-1"}
    )
    form_started = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.form_started.data = _stamps().dumps(int(time.time()))

    def validate_website(self, field: StringField) -> None:
        if field.data:
            raise ValidationError(HUMAN_CHECK_MESSAGE)

    def validate_form_started(self, field: HiddenField) -> None:
        minimum = current_app.config.get("FORM_MIN_FILL_SECONDS", 0)
        if not minimum:
            return
        try:
            started = int(_stamps().loads(field.data or ""))
        except (BadSignature, ValueError, TypeError):
            raise ValidationError(HUMAN_CHECK_MESSAGE) from None
        if time.time() - started < minimum:
            raise ValidationError(HUMAN_CHECK_MESSAGE)

    @property
    def human_check_failed(self) -> bool:
        """Whether the only problem is the spam check (shown as one message at the top)."""
        return bool(self.website.errors or self.form_started.errors)


class ShortIntegerField(IntegerField):
    """A whole number of sensible length. WTForms' NumberRange passes the value to
    math.isnan(), which raises OverflowError (a 500) for integers too big for a float, such
    as 500 ones pasted into the box; those are refused here as a typing error instead."""

    MAX_DIGITS = 18

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and len(str(valuelist[0]).strip().lstrip("+-")) > self.MAX_DIGITS:
            self.data = None
            # Our catalog, not WTForms' own (self.gettext reads only that one).
            raise ValueError(_("That number is too long."))
        super().process_formdata(valuelist)


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as checkboxes rather than as a multiple select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Named by a fieldset's legend, like a group of radio buttons: no <label for>.
        # False leaves `for` out (WTForms' RadioField does the same); the stubs say str only.
        self.label.field_id = False  # type: ignore[assignment]


def plain_name(form: FlaskForm, field: StringField) -> None:
    """A WTForms validator for names: no line breaks, controls or invisible characters, and
    none that reverse the text around them (the rule is portal.validation.name_problem)."""
    problem = name_problem(field.data) if field.data else None
    if problem:
        raise ValidationError(str(problem))
