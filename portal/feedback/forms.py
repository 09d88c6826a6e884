"""Feedback forms: they check shape; the feedback service checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length

from portal.forms import HumanCheckedForm, chosen_id
from portal.models import FeedbackKind, Visibility

KIND_CHOICES = [
    SelectChoice(FeedbackKind.COMPLAINT.value, _l("Something went wrong (a complaint)")),
    SelectChoice(FeedbackKind.IDEA.value, _l("An idea or suggestion")),
    SelectChoice(FeedbackKind.QUESTION.value, _l("A question")),
    SelectChoice(FeedbackKind.PRAISE.value, _l("Something we did well")),
]
VISIBILITY_CHOICES = [
    SelectChoice(
        Visibility.PUBLIC.value, _l("Public: others can see it and say \u201cme too\u201d")
    ),
    SelectChoice(Visibility.PRIVATE.value, _l("Private: only you and our staff can see it")),
]


# The category list opens on this, not on the first category: feedback filed under Billing
# because Billing came first lands with the wrong team and is counted in the wrong figures.
CHOOSE_CATEGORY = SelectChoice("", _l("Choose one\u2026"))


def kind_field() -> RadioField:
    """What kind of feedback it is: a complaint unless chosen otherwise."""
    return RadioField(
        _l("What is it?"),
        choices=KIND_CHOICES,
        default=FeedbackKind.COMPLAINT.value,
        validators=[InputRequired(_l("Please say what kind of feedback this is."))],
    )


def category_field() -> SelectField:
    """The category, chosen from the list (which opens on CHOOSE_CATEGORY)."""
    return SelectField(
        _l("Which part of our service?"),
        coerce=chosen_id,
        validate_choice=True,
        validators=[InputRequired(_l("Please choose a category."))],
    )


def title_field(description: str, missing: str) -> StringField:
    """The item's one-line title, 5 to 160 characters; `missing` is said when it is empty."""
    return StringField(
        _l("Title"),
        description=description,
        validators=[
            DataRequired(missing),
            Length(min=5, max=160, message=_l("Titles are 5 to 160 characters long.")),
        ],
    )


def body_field(label: str, description: str, missing: str) -> TextAreaField:
    """The item's text, 10 to 10,000 characters of Markdown."""
    return TextAreaField(
        label,
        description=description,
        validators=[
            DataRequired(missing),
            Length(
                min=10, max=10_000, message=_l("Please write between 10 and 10,000 characters.")
            ),
        ],
    )


def visibility_field(missing: str, choices: list[SelectChoice] = VISIBILITY_CHOICES) -> RadioField:
    """Who can see it. Chosen knowingly, never by default: a complaint posted public because
    "Public" came pre-selected put an order number on the board."""
    return RadioField(_l("Who can see it?"), choices=choices, validators=[InputRequired(missing)])


class FeedbackForm(HumanCheckedForm):
    kind = kind_field()
    category_id = category_field()
    title = title_field(_l("One line that sums it up."), _l("Please give your feedback a title."))
    body = body_field(
        _l("Tell us more"),
        _l("What happened, and what would you like to happen? Markdown works."),
        _l("Please tell us a little more."),
    )
    visibility = visibility_field(
        _l("Please choose who can see it: everyone, or only you and our staff.")
    )
    # The page of the organisation's site the feedback widget was opened on, carried here when
    # the widget sends someone to sign in (kept only for an allowed origin: services/widget.py).
    page_url = HiddenField()


class CommentForm(HumanCheckedForm):
    body = TextAreaField(
        _l("Add a comment"),
        validators=[
            DataRequired(_l("Please write something before posting.")),
            Length(max=5_000, message=_l("Comments are at most 5,000 characters.")),
        ],
    )


class NotFixedForm(FlaskForm):
    """The author's "not yet" answer to "Did this fix it?"."""

    body = TextAreaField(
        _l("What is still not right?"),
        # Its own id: the comment box on the same page is "body" too, and each label must
        # point at its own box.
        id="not-fixed-body",
        validators=[
            DataRequired(_l("Please tell us what is still not right.")),
            Length(max=5_000, message=_l("At most 5,000 characters.")),
        ],
    )


class EditItemForm(FlaskForm):
    """The author's own title and text, changed before staff answer (the same shape as when
    submitted)."""

    # Their own ids: the item's page holds the comment box ("body") too.
    title = StringField(
        _l("Title"),
        id="edit-title",
        validators=[
            DataRequired(_l("Please give your feedback a title.")),
            Length(min=5, max=160, message=_l("Titles are 5 to 160 characters long.")),
        ],
    )
    body = TextAreaField(
        _l("Your feedback"),
        id="edit-body",
        description=_l("Markdown works."),
        validators=[
            DataRequired(_l("Please tell us a little more.")),
            Length(
                min=10, max=10_000, message=_l("Please write between 10 and 10,000 characters.")
            ),
        ],
    )


class EditCommentForm(FlaskForm):
    """The author's own comment, changed before staff answer it."""

    body = TextAreaField(
        _l("Your comment"),
        id="edit-comment-body",
        validators=[
            DataRequired(_l("Please write something before posting.")),
            Length(max=5_000, message=_l("Comments are at most 5,000 characters.")),
        ],
    )
