"""Forms for the admin's chat pages: they check shape; the chat service checks the rules."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length, ValidationError

from portal.forms import MultiCheckboxField
from portal.models import CHAT_EVENTS, Category, ChatChannel, ChatKind


class ChatChannelForm(FlaskForm):
    """A channel: its name, service, incoming-webhook URL, events and categories. On a saved
    channel a blank URL keeps the one saved (it is never shown again)."""

    name = StringField(
        _l("Name"),
        description=_l("How the portal names the room, such as \u201c#support on Slack\u201d."),
        validators=[DataRequired(_l("Name the channel.")), Length(max=80)],
    )
    kind = RadioField(
        _l("Service"),
        choices=[SelectChoice(k.value, _l(k.label)) for k in ChatKind],
        validators=[DataRequired(_l("Choose the service the room is on."))],
    )
    url = StringField(
        _l("Incoming-webhook URL"),
        description=_l(
            "The URL the service gave for the room's incoming webhook (Slack: an app's "
            "incoming webhook; Teams: a Workflows \u201cwhen a webhook request is "
            "received\u201d flow; Discord: the channel's Integrations, Webhooks)."
        ),
        validators=[Length(max=2000)],
    )
    events = MultiCheckboxField(
        _l("Events"),
        choices=[SelectChoice(e.value, _l(e.label)) for e in CHAT_EVENTS],
        validators=[DataRequired(_l("Choose at least one event."))],
    )
    scope = RadioField(
        _l("Categories"),
        choices=[
            SelectChoice("all", _l("Every category, including those added later")),
            SelectChoice("chosen", _l("Only the categories ticked below")),
        ],
        default="all",
        validators=[DataRequired(_l("Choose every category, or the ones ticked."))],
    )
    categories = MultiCheckboxField(_l("Chosen categories"), coerce=int, choices=[])
    active = BooleanField(_l("Active: send messages to this channel"), default=True)

    def offer(self, categories: Sequence[Category]) -> ChatChannelForm:
        """Offer these categories as ticks."""
        self.categories.choices = [SelectChoice(c.id, c.name) for c in categories]
        return self

    def validate_categories(self, field: MultiCheckboxField) -> None:
        if self.scope.data == "chosen" and not field.data:
            raise ValidationError(_l("Tick at least one category, or choose every category."))


def form_for(channel: ChatChannel) -> dict[str, object]:
    """A saved channel's values for its form: everything but the URL."""
    return {
        "name": channel.name,
        "kind": channel.kind.value,
        "events": list(channel.events),
        "scope": "all" if channel.all_categories else "chosen",
        "categories": [c.id for c in channel.categories],
        "active": channel.active,
    }


class ChatActionForm(FlaskForm):
    """Only the CSRF token: sending a test needs no input."""


class ChatDeleteForm(FlaskForm):
    """Removing stops every message still waiting, so it asks for a tick first."""

    confirm = BooleanField(
        _l("Yes, remove this channel"), validators=[DataRequired(_l("Tick the box to remove it."))]
    )
