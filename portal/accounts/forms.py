"""Account forms: they check shape; the accounts service checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional

from portal.forms import BAD_EMAIL, HumanCheckedForm, plain_name
from portal.models import NotificationPreference
from portal.services.accounts import PASSWORD_MIN


def address_field(
    label: str = _l("Email address"), missing: str = _l("Please enter your email address.")
) -> EmailField:
    """An email address someone types: required, shaped like an address, at most 254 long."""
    return EmailField(label, validators=[DataRequired(missing), Email(BAD_EMAIL), Length(max=254)])


def display_name_field(description: str) -> StringField:
    """The name shown beside what someone posts: required, plain, at most 80 characters."""
    return StringField(
        _l("Display name"),
        description=description,
        validators=[
            DataRequired(_l("Please choose a display name.")),
            Length(max=80, message=_l("A display name is at most 80 characters.")),
            plain_name,
        ],
    )


def preferred_name_field(description: str) -> StringField:
    """What someone would like to be called: optional, plain, at most 80 characters."""
    return StringField(
        _l("What should we call you?"),
        description=description,
        validators=[
            Optional(),
            Length(max=80, message=_l("What we call you is at most 80 characters.")),
            plain_name,
        ],
    )


class RegisterForm(HumanCheckedForm):
    email = address_field()
    password = PasswordField(
        _l("Password"),
        description=_l(
            "At least %(count)d characters. A short sentence works well.", count=PASSWORD_MIN
        ),
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(
                min=PASSWORD_MIN,
                max=200,
                message=_l("Use at least %(count)d characters.", count=PASSWORD_MIN),
            ),
        ],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Please type the password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )
    display_name = display_name_field(_l("Shown next to what you post."))
    preferred_name = preferred_name_field(
        _l('How we address you in replies and emails, such as "Nia" or "Mr Owen".')
    )


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email address"), validators=[DataRequired(_l("Please enter your email address."))]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Please enter your password."))]
    )
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class ProfileForm(FlaskForm):
    display_name = display_name_field(_l("Shown next to what you post."))
    preferred_name = preferred_name_field(_l("How we address you in replies and emails."))
    thank_by_name = BooleanField(
        _l("Thank me by name when something I raised is fixed"),
        description=_l(
            "Your display name then appears on the \u201cYou said, we did\u201d board beside"
            " what we changed. Otherwise you are counted among the others who raised it."
        ),
    )


class PreferencesForm(FlaskForm):
    notification_preference = RadioField(
        _l("Emails about what you follow"),
        # The labels are marked where they are defined (models.user); shown translated here.
        choices=[SelectChoice(p.value, _l(p.label)) for p in NotificationPreference],
        validators=[InputRequired(_l("Choose one."))],
    )


class ResetRequestForm(HumanCheckedForm):
    email = address_field()


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        description=_l("At least %(count)d characters.", count=PASSWORD_MIN),
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(
                min=PASSWORD_MIN,
                max=200,
                message=_l("Use at least %(count)d characters.", count=PASSWORD_MIN),
            ),
        ],
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(_l("Please type the password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Please enter your current password."))]
    )


def redact_public_field() -> BooleanField:
    """Whether a leaving person's public words go out of view with them."""
    return BooleanField(
        _l("Also take what I posted publicly out of public view"),
        description=_l(
            "Your items' words and your comments are then hidden from everyone; "
            "our staff keep them for the record, and your votes still count."
        ),
    )


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your password, to confirm"),
        validators=[DataRequired(_l("Please enter your password."))],
    )
    redact_public = redact_public_field()


class DeleteAccountByAddressForm(FlaskForm):
    """For an account without a password (it signs in through a provider, single sign-on or
    email links): its address typed out confirms."""

    address = EmailField(
        _l("Your email address, to confirm"),
        validators=[DataRequired(_l("Please type your email address."))],
    )
    redact_public = redact_public_field()


class ConfirmForm(FlaskForm):
    """The button behind an emailed link: only the CSRF token, so that the POST, not the
    GET a mail scanner makes when it opens the link to check it, is what changes anything."""


class AcceptInvitationForm(NewPasswordForm):
    """Accepting an invitation to an address with no account yet: names and a password."""

    display_name = display_name_field(_l("Shown to customers next to your replies."))
    preferred_name = preferred_name_field(
        _l('How we address you in emails, such as "Nia" or "Mr Owen".')
    )


class ConfirmPasswordForm(FlaskForm):
    """Accepting an invitation to an address that has an account: its password says so."""

    password = PasswordField(
        _l("Your password"), validators=[DataRequired(_l("Please enter your password."))]
    )
