"""Forms for signing in with an emailed link and changing one's address: shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import Length, Optional

from portal.accounts.forms import address_field, display_name_field, preferred_name_field
from portal.forms import HumanCheckedForm, plain_name


class SignInLinkForm(HumanCheckedForm):
    email = address_field()
    # Optional here: only a new address needs one, and the form must not say which it is.
    display_name = StringField(
        _l("Display name, if you are new here"),
        description=_l("Shown next to what you post. Leave it empty if you have an account."),
        validators=[
            Optional(),
            Length(max=80, message=_l("A display name is at most 80 characters.")),
            plain_name,
        ],
    )
    preferred_name = preferred_name_field(
        _l('How we address you in replies and emails, such as "Nia" or "Mr Owen".')
    )


class RegisterWithLinkForm(HumanCheckedForm):
    """Registration while passwords are off for customers: the emailed link makes the
    account, so no password is asked for."""

    email = address_field()
    display_name = display_name_field(_l("Shown next to what you post."))
    preferred_name = preferred_name_field(
        _l('How we address you in replies and emails, such as "Nia" or "Mr Owen".')
    )


class ChangeEmailForm(FlaskForm):
    email = address_field(_l("New email address"), _l("Please enter the new address."))
    password = PasswordField(_l("Your password, to confirm"))
