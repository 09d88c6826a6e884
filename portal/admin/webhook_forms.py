"""Forms for the admin's webhook pages: they check shape; the webhooks service the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length

from portal.forms import MultiCheckboxField
from portal.models import SUBSCRIBABLE_EVENTS


class WebhookChangeForm(FlaskForm):
    """What an endpoint gets, changed in place: its address and secret stay."""

    description = StringField(
        _l("Description"),
        description=_l("Which system receives it, such as \u201cHelpdesk\u201d."),
        validators=[Length(max=200)],
    )
    events = MultiCheckboxField(
        _l("Events"),
        choices=[
            SelectChoice(e.value, _l("%(code)s: %(event)s", code=e.value, event=_l(e.label)))
            for e in SUBSCRIBABLE_EVENTS
        ],
        validators=[DataRequired(_l("Choose at least one event."))],
    )


class WebhookForm(WebhookChangeForm):
    url = StringField(
        _l("Receiver URL"),
        description=_l(
            "Where the portal POSTs JSON, such as https://helpdesk.example.com/hooks/portal."
        ),
        validators=[DataRequired(_l("Enter the receiver's URL.")), Length(max=2000)],
    )


class WebhookActionForm(FlaskForm):
    """Only the CSRF token: pausing, rotating, pinging and deleting need no input."""


class WebhookDeleteForm(FlaskForm):
    """Deleting stops every delivery still waiting, so it asks for a tick first."""

    confirm = BooleanField(
        _l("Yes, delete this webhook"), validators=[DataRequired(_l("Tick the box to delete it."))]
    )
