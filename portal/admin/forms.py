"""Staff and admin forms: they check shape; the workflow service checks the rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
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

    post_anyway = SubmitField("Post anyway")


# The outcome is read after the owner's name and before the date: "Priya will have a
# replacement with you by Friday 12 December".
PROMISE_HINT = (
    "One line the customer reads as \u201c[your name] will have \u2026 by [the date]\u201d: "
    "\u201ca replacement with you\u201d, \u201cthe lift working again\u201d."
)


class MoveForm(ToneCheckedForm):
    to_state = SelectField("Move to", validators=[InputRequired("Choose the new state.")])
    message = TextAreaField(
        "Public message to the customer",
        description="What changed and why, in your own words. The customer reads this.",
        validators=[Optional(), Length(max=5_000)],
    )
    target_date = DateField("Promised date (for Planned)", validators=[Optional()])
    outcome = StringField(
        "What we promise by then (for Planned)",
        description=PROMISE_HINT,
        validators=[Optional(), Length(max=120)],
    )
    you_said = StringField(
        "\u201cYou said\u201d summary (for Done)",
        description="Shown on the public board. Leave empty to use the title of a public item; "
        "a private item needs a summary without private details.",
        validators=[Optional(), Length(max=200)],
    )
    we_did = TextAreaField(
        "\u201cWe did\u201d for everyone (for Done)",
        description="What was done, for the public board, the feeds, the digest and everyone "
        "who spoke up. No names or private details: the message above goes to the customer "
        "(and on the item's timeline, public for a public item).",
        # No Optional(): it would stop validate_we_did from running on an empty field.
        validators=[Length(max=10_000)],
    )
    duplicate_of = ShortIntegerField(
        "Merge into item number (for Merged)",
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_ID, message="Give an item number such as 42."),
        ],
    )
    # Asked only of an item that carries a promised date: a merge never drops it unsaid.
    merge_promise = RadioField(
        "The date promised here (for Merged)",
        choices=[
            SelectChoice(
                PromiseChoice.KEEP.value,
                "Keep it on the item it joins (the earlier date wins)",
            ),
            SelectChoice(PromiseChoice.CHANGE.value, "It changes: say why below"),
        ],
        validators=[Optional()],
    )
    merge_promise_reason = TextAreaField(
        "Why the promised date changes",
        description="The customer and everyone who spoke up are told this, in the merge email.",
        validators=[Optional(), Length(max=2_000)],
    )

    def validate_we_did(self, field: TextAreaField) -> None:
        # The message to the customer is personal ("Nia, I am sorry..."), often private: the
        # text published for everyone is written separately, never copied from it.
        if self.to_state.data == FeedbackState.RESOLVED.value and not (field.data or "").strip():
            raise ValidationError(
                "Write what was done for the public board, without names or private details."
            )

    # Each of these fields means something for one move only. Filled in for another move it
    # would be dropped without a word, so the form says so and keeps what was typed.
    _ONLY_FOR = {
        "target_date": FeedbackState.PLANNED,
        "outcome": FeedbackState.PLANNED,
        "you_said": FeedbackState.RESOLVED,
        "we_did": FeedbackState.RESOLVED,
        "duplicate_of": FeedbackState.DUPLICATE,
        "merge_promise": FeedbackState.DUPLICATE,
        "merge_promise_reason": FeedbackState.DUPLICATE,
    }

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        chosen = self.to_state.data
        for name, state in self._ONLY_FOR.items():
            field = self[name]
            if not chosen or chosen == state.value or field.errors:
                continue
            if field.data is not None and str(field.data).strip():
                field.errors = [
                    f"This is used only when moving to \u201c{state.label}\u201d: "
                    "choose that above, or clear this field."
                ]
                valid = False
        # What a move needs, said together with everything else (the workflow says it too,
        # but only once the form is otherwise right).
        for name, state, missing in (
            (
                "target_date",
                FeedbackState.PLANNED,
                "Planning needs a target date: the date we promise the customer.",
            ),
            (
                "outcome",
                FeedbackState.PLANNED,
                "Say what we promise by that date, in one line the customer reads.",
            ),
            ("duplicate_of", FeedbackState.DUPLICATE, "Give the number of the item to merge into."),
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
        self.to_state.choices = [SelectChoice("", "Choose\u2026")] + [
            SelectChoice(s.value, s.label) for s in sorted(states, key=order.index)
        ]


class AssignForm(FlaskForm):
    owner_id = SelectField(
        "Give it to",
        coerce=chosen_id,
        validators=[InputRequired("Choose a person.")],
    )
    # Shown only when the item has an owner: handing it on then needs a reason.
    assign_reason = StringField("Why it changes hands", validators=[Optional(), Length(max=300)])


class PromiseForm(FlaskForm):
    new_date = DateField("New promised date", validators=[InputRequired("Give the new date.")])
    # Not "outcome": the move form on the same page has one, and ids must stay unique.
    promise_outcome = StringField(
        "What we promise by then",
        description=PROMISE_HINT,
        validators=[
            DataRequired("Say what we promise by that date, in one line."),
            Length(max=120),
        ],
    )
    promise_reason = StringField(
        "Why it moves (the customer is told)", validators=[Optional(), Length(max=500)]
    )


class ReplyForm(ToneCheckedForm):
    body = TextAreaField(
        "Public reply",
        validators=[DataRequired("Please write the reply."), Length(max=5_000)],
    )


class NoteForm(FlaskForm):
    note = TextAreaField(
        "Internal note (staff only)",
        validators=[DataRequired("Please write the note."), Length(max=5_000)],
    )


class ReasonForm(FlaskForm):
    reason = StringField(
        "Reason (kept in the audit log)",
        validators=[DataRequired("Please give a reason."), Length(max=500)],
    )


class AcknowledgeForm(ToneCheckedForm):
    message = TextAreaField(
        "Personal message",
        validators=[DataRequired("Write the customer a personal message."), Length(max=5_000)],
    )


class ResolutionForm(ToneCheckedForm):
    you_said = StringField(
        "You said",
        description="A short summary of what customers told us. Defaults to the first title.",
        validators=[Optional(), Length(max=200)],
    )
    we_did = TextAreaField(
        "We did",
        description="What was done, plainly. This is published and sent to everyone who spoke up.",
        validators=[DataRequired("Write what we did."), Length(max=10_000)],
    )


class CategoryForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Give the category a name."), Length(max=80)]
    )
    slug = StringField(
        "Address name",
        description="Lower-case letters, digits and hyphens; used in links and feeds.",
        validators=[
            DataRequired("Give an address name."),
            Length(max=80),
            Regexp(
                r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message="Use lower-case letters, digits and hyphens."
            ),
        ],
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=1_000)])
    ack_target_hours = ShortIntegerField(
        "Acknowledge within (hours)",
        default=48,
        validators=[
            InputRequired("Give a number of hours."),
            NumberRange(min=1, max=24 * 30, message="Between 1 hour and 30 days."),
        ],
    )
    response_guide = TextAreaField(
        "Response guide (staff only)",
        description="Guidance shown beside the reply form. Replies that copy it are flagged.",
        validators=[Optional(), Length(max=5_000)],
    )
    position = ShortIntegerField(
        "Position in lists",
        default=0,
        validators=[
            Optional(),
            NumberRange(min=-1000, max=1000, message="Between -1000 and 1000."),
        ],
    )


class UserForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value.capitalize()) for r in Role])
    active = BooleanField("Active (can sign in)")


class SettingsForm(FlaskForm):
    organisation_name = StringField(
        "Organisation name",
        validators=[DataRequired("Give the organisation's name."), Length(max=120)],
    )
    contact_email = EmailField(
        "Contact email", validators=[Optional(), Email(BAD_EMAIL), Length(max=254)]
    )
    contact_phone = StringField("Contact phone", validators=[Optional(), Length(max=40)])
    contact_address = StringField("Postal address", validators=[Optional(), Length(max=300)])
    time_zone = SelectField("Time zone", validators=[InputRequired("Choose a time zone.")])

    def offer_time_zones(self, current: str) -> None:
        """The zones people look for ("Europe/London"), not the database's old aliases
        ("GB", "US/Eastern", "Etc/GMT+5"): the list shrinks from about 600 to about 490. The
        zone in use stays on offer whatever it is."""
        zones = {z for z in available_timezones() if z.split("/", 1)[0] in _ZONE_REGIONS}
        zones |= {"UTC", current}
        # A required select opens on an empty placeholder (HTML asks for one).
        self.time_zone.choices = [SelectChoice("", "Choose\u2026")] + [
            SelectChoice(z, z.replace("_", " ")) for z in sorted(zones)
        ]

    default_language = SelectField(
        "Default language",
        description="For visitors whose browser asks for none of the languages on offer.",
        # Not sent by a form from before languages: the language stays as it is.
        validators=[Optional()],
    )

    def offer_languages(self, offered: tuple[str, ...], name: Callable[[str], str]) -> None:
        """The languages with a catalog, each named in its own language."""
        self.default_language.choices = [SelectChoice(code, name(code)) for code in offered]

    pre_moderation = BooleanField("Hold new public items for staff approval (pre-moderation)")

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        # Every page's footer says "Talk to a person at ..." and the error pages send people
        # there: at least one way to reach a person must stay. (Not an inline validator: the
        # fields' Optional() stops those when a field is empty.)
        contacts = (self.contact_email, self.contact_phone, self.contact_address)
        if not any((field.data or "").strip() for field in contacts):
            self.contact_email.errors = [
                *self.contact_email.errors,
                "Keep at least one way to reach a person: an email address, a phone number "
                "or a postal address. Every page's footer shows them.",
            ]
            return False
        return valid
