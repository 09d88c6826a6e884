"""Staff and admin forms: they check shape; the workflow service checks the rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import available_timezones

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal.forms import BAD_EMAIL, ShortIntegerField, chosen_id
from portal.models import FeedbackState, Role
from portal.services.states import MOVE_FIELDS, states_asking_for
from portal.services.workflow import PromiseChoice
from portal.validation import MAX_ID

# The areas of the IANA time zone database's canonical names.
_ZONE_REGIONS = frozenset(
    {"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe"}
    | {"Indian", "Pacific"}
)


class ToneCheckedForm(FlaskForm):
    """A form whose public text is tone-checked: findings are shown once before posting.

    "Post anyway" is a submit button, not a hidden field, so the form's hidden fields never
    send a second, empty value for it."""

    post_anyway = SubmitField(_l("Post anyway"))


# The outcome is read after the owner's name and before the date: "Priya will have a
# replacement with you by Friday 12 December".
PROMISE_HINT = _l(
    "One line the customer reads as \u201c[your name] will have \u2026 by [the date]\u201d: "
    "\u201ca replacement with you\u201d, \u201cthe lift working again\u201d."
)


# The move form's name for each of workflow.move's arguments, where the two differ.
_FORM_NAMES = {"promise": "merge_promise", "promise_reason": "merge_promise_reason"}


def form_field_name(argument: str) -> str:
    """The move form's field for one of workflow.move's arguments (states.MOVE_FIELDS)."""
    return _FORM_NAMES.get(argument, argument)


class MoveForm(ToneCheckedForm):
    to_state = SelectField(_l("Move to"), validators=[InputRequired(_l("Choose the new state."))])
    message = TextAreaField(
        _l("Public message to the customer"),
        description=_l("What changed and why, in your own words. The customer reads this."),
        validators=[Optional(), Length(max=5_000)],
    )
    target_date = DateField(_l("Promised date (for Planned)"), validators=[Optional()])
    outcome = StringField(
        _l("What we promise by then (for Planned)"),
        description=PROMISE_HINT,
        validators=[Optional(), Length(max=120)],
    )
    you_said = StringField(
        _l("\u201cYou said\u201d summary (for Done)"),
        description=_l(
            "Shown on the public board. Leave empty to use the title of a public item; "
            "a private item needs a summary without private details."
        ),
        validators=[Optional(), Length(max=200)],
    )
    we_did = TextAreaField(
        _l("\u201cWe did\u201d for everyone (for Done)"),
        description=_l(
            "What was done, for the public board, the feeds, the digest and everyone "
            "who spoke up. No names or private details: the message above goes to the customer "
            "(and on the item's timeline, public for a public item)."
        ),
        # No Optional(): it would stop validate_we_did from running on an empty field.
        validators=[Length(max=10_000)],
    )
    duplicate_of = ShortIntegerField(
        _l("Merge into item number (for Merged)"),
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_ID, message=_l("Give an item number such as 42.")),
        ],
    )
    # Asked only of an item that carries a promised date: a merge never drops it unsaid.
    merge_promise = RadioField(
        _l("The date promised here (for Merged)"),
        choices=[
            SelectChoice(
                PromiseChoice.KEEP.value,
                _l("Keep it on the item it joins (the earlier date wins)"),
            ),
            SelectChoice(PromiseChoice.CHANGE.value, _l("It changes: say why below")),
        ],
        validators=[Optional()],
    )
    merge_promise_reason = TextAreaField(
        _l("Why the promised date changes"),
        description=_l("The customer and everyone who spoke up are told this, in the merge email."),
        validators=[Optional(), Length(max=2_000)],
    )

    def validate_we_did(self, field: TextAreaField) -> None:
        # The message to the customer is personal ("Nia, I am sorry..."), often private: the
        # text published for everyone is written separately, never copied from it.
        if self.to_state.data == FeedbackState.RESOLVED.value and not (field.data or "").strip():
            raise ValidationError(
                _l("Write what was done for the public board, without names or private details.")
            )

    # Each field but the message means something for some moves only (states.MOVE_FIELDS).
    # Filled in for another move it would be dropped without a word, so the form says so and
    # keeps what was typed.
    def _only_for(self) -> dict[str, frozenset[FeedbackState]]:
        return {
            form_field_name(argument): states_asking_for(argument)
            for argument in sorted({name for names in MOVE_FIELDS.values() for name in names})
            if argument != "message"
        }

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        chosen = self.to_state.data
        order = list(FeedbackState)
        for name, states in self._only_for().items():
            field = self[name]
            if not chosen or chosen in {s.value for s in states} or field.errors:
                continue
            if field.data is not None and str(field.data).strip():
                state = min(states, key=order.index)
                field.errors = [
                    _(
                        "This is used only when moving to \u201c%(state)s\u201d: "
                        "choose that above, or clear this field.",
                        state=_(state.label),
                    )
                ]
                valid = False
        # What a move needs, said together with everything else (the workflow says it too,
        # but only once the form is otherwise right).
        for name, state, missing in (
            (
                "target_date",
                FeedbackState.PLANNED,
                _l("Planning needs a target date: the date we promise the customer."),
            ),
            (
                "outcome",
                FeedbackState.PLANNED,
                _l("Say what we promise by that date, in one line the customer reads."),
            ),
            (
                "duplicate_of",
                FeedbackState.DUPLICATE,
                _l("Give the number of the item to merge into."),
            ),
        ):
            field = self[name]
            empty = field.data is None or (isinstance(field.data, str) and not field.data.strip())
            if chosen == state.value and empty and not field.errors:
                field.errors = [missing]
                valid = False
        return valid

    def set_states(self, states: frozenset[FeedbackState]) -> None:
        """Offer only the moves the workflow allows from the item's state."""
        order = list(FeedbackState)
        self.to_state.choices = [SelectChoice("", _l("Choose\u2026"))] + [
            SelectChoice(s.value, _(s.label)) for s in sorted(states, key=order.index)
        ]


class AssignForm(FlaskForm):
    owner_id = SelectField(
        _l("Give it to"),
        coerce=chosen_id,
        validators=[InputRequired(_l("Choose a person."))],
    )
    # Shown only when the item has an owner: handing it on then needs a reason.
    assign_reason = StringField(
        _l("Why it changes hands"), validators=[Optional(), Length(max=300)]
    )


class PromiseForm(FlaskForm):
    new_date = DateField(
        _l("New promised date"), validators=[InputRequired(_l("Give the new date."))]
    )
    # Not "outcome": the move form on the same page has one, and ids must stay unique.
    promise_outcome = StringField(
        _l("What we promise by then"),
        description=PROMISE_HINT,
        validators=[
            DataRequired(_l("Say what we promise by that date, in one line.")),
            Length(max=120),
        ],
    )
    promise_reason = StringField(
        _l("Why it moves (the customer is told)"), validators=[Optional(), Length(max=500)]
    )


class ReplyForm(ToneCheckedForm):
    body = TextAreaField(
        _l("Public reply"),
        validators=[DataRequired(_l("Please write the reply.")), Length(max=5_000)],
    )


class NoteForm(FlaskForm):
    note = TextAreaField(
        _l("Internal note (staff only)"),
        validators=[DataRequired(_l("Please write the note.")), Length(max=5_000)],
    )


class ReasonForm(FlaskForm):
    reason = StringField(
        _l("Reason (kept in the audit log)"),
        validators=[DataRequired(_l("Please give a reason.")), Length(max=500)],
    )


class AcknowledgeForm(ToneCheckedForm):
    message = TextAreaField(
        _l("Personal message"),
        validators=[DataRequired(_l("Write the customer a personal message.")), Length(max=5_000)],
    )


class ResolutionForm(ToneCheckedForm):
    you_said = StringField(
        _l("You said"),
        description=_l("A short summary of what customers told us. Defaults to the first title."),
        validators=[Optional(), Length(max=200)],
    )
    we_did = TextAreaField(
        _l("We did"),
        description=_l(
            "What was done, plainly. This is published and sent to everyone who spoke up."
        ),
        validators=[DataRequired(_l("Write what we did.")), Length(max=10_000)],
    )


class CategoryForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the category a name.")), Length(max=80)]
    )
    slug = StringField(
        _l("Address name"),
        description=_l("Lower-case letters, digits and hyphens; used in links and feeds."),
        validators=[
            DataRequired(_l("Give an address name.")),
            Length(max=80),
            Regexp(
                r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                message=_l("Use lower-case letters, digits and hyphens."),
            ),
        ],
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=1_000)])
    ack_target_hours = ShortIntegerField(
        _l("Acknowledge within (hours)"),
        default=48,
        validators=[
            InputRequired(_l("Give a number of hours.")),
            NumberRange(min=1, max=24 * 30, message=_l("Between 1 hour and 30 days.")),
        ],
    )
    response_guide = TextAreaField(
        _l("Response guide (staff only)"),
        description=_l("Guidance shown beside the reply form. Replies that copy it are flagged."),
        validators=[Optional(), Length(max=5_000)],
    )
    position = ShortIntegerField(
        _l("Position in lists"),
        default=0,
        validators=[
            Optional(),
            NumberRange(min=-1000, max=1000, message=_l("Between -1000 and 1000.")),
        ],
    )


class UserForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice(Role.CUSTOMER.value, _l("Customer")),
            SelectChoice(Role.STAFF.value, _l("Staff")),
            SelectChoice(Role.ADMIN.value, _l("Admin")),
        ],
    )
    active = BooleanField(_l("Active (can sign in)"))


class SettingsForm(FlaskForm):
    organisation_name = StringField(
        _l("Organisation name"),
        validators=[DataRequired(_l("Give the organisation's name.")), Length(max=120)],
    )
    contact_email = EmailField(
        _l("Contact email"), validators=[Optional(), Email(BAD_EMAIL), Length(max=254)]
    )
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    contact_address = StringField(_l("Postal address"), validators=[Optional(), Length(max=300)])
    time_zone = SelectField(_l("Time zone"), validators=[InputRequired(_l("Choose a time zone."))])

    def offer_time_zones(self, current: str) -> None:
        """The zones people look for ("Europe/London"), not the database's old aliases
        ("GB", "US/Eastern", "Etc/GMT+5"): the list shrinks from about 600 to about 490. The
        zone in use stays on offer whatever it is."""
        zones = {z for z in available_timezones() if z.split("/", 1)[0] in _ZONE_REGIONS}
        zones |= {"UTC", current}
        # A required select opens on an empty placeholder (HTML asks for one).
        self.time_zone.choices = [SelectChoice("", _l("Choose\u2026"))] + [
            SelectChoice(z, z.replace("_", " ")) for z in sorted(zones)
        ]

    default_language = SelectField(
        _l("Default language"),
        description=_l("For visitors whose browser asks for none of the languages on offer."),
        # Not sent by a form from before languages: the language stays as it is.
        validators=[Optional()],
    )

    def offer_languages(self, offered: tuple[str, ...], name: Callable[[str], str]) -> None:
        """The languages with a catalog, each named in its own language."""
        self.default_language.choices = [
            SelectChoice(code, name(code), render_kw={"lang": code}) for code in offered
        ]

    pre_moderation = BooleanField(_l("Hold new public items for staff approval (pre-moderation)"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        # Every page's footer says "Talk to a person at ..." and the error pages send people
        # there: at least one way to reach a person must stay. (Not an inline validator: the
        # fields' Optional() stops those when a field is empty.)
        contacts = (self.contact_email, self.contact_phone, self.contact_address)
        if not any((field.data or "").strip() for field in contacts):
            self.contact_email.errors = [
                *self.contact_email.errors,
                _l(
                    "Keep at least one way to reach a person: an email address, a phone number "
                    "or a postal address. Every page's footer shows them."
                ),
            ]
            return False
        return valid


class BrandingForm(FlaskForm):
    """The logo and the accent colour; the branding service checks the image and the contrast."""

    logo = FileField(
        _l("Logo"),
        description=_l(
            "A PNG or JPEG image. It shows beside the organisation's name on every page and in "
            "emails."
        ),
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    accent_colour = StringField(
        _l("Accent colour"),
        description=_l(
            "A hex code such as #1d5c63, for links, buttons and the header. It needs a contrast "
            "of at least 4.5:1 against the page. Leave it empty for the portal's own colour."
        ),
        validators=[Optional(), Length(max=20)],
    )
