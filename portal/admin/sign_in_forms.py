"""Forms of the admin's sign-in page: identity providers and the sign-in policy. They check
shape; portal/services/identity_providers.py and sign_in_policy.py the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length
from wtforms.widgets import PasswordInput

# What was typed comes back when a save is refused (the page is never cached); the saved
# secret itself is never put in a page (the edit form starts empty).
_SECRET_INPUT = PasswordInput(hide_value=False)

KIND_CHOICES = [
    SelectChoice("oidc", _l("OpenID Connect (Google, Entra ID, Keycloak, Okta, Auth0...)")),
    SelectChoice("github", _l("GitHub")),
]


class ProviderChangeForm(FlaskForm):
    """A provider's settings; its key is chosen once, when it is added."""

    name = StringField(
        _l("Name"),
        description=_l("Shown on its button: \u201cSign in with %(name)s\u201d.", name="Google"),
        validators=[DataRequired(_l("Give the provider a name.")), Length(max=80)],
    )
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, default="oidc")
    discovery_url = StringField(
        _l("Discovery URL (OpenID Connect)"),
        description=_l(
            "The issuer's address ending /.well-known/openid-configuration. It is fetched "
            "once when you save, to check it. Leave it empty for GitHub."
        ),
        validators=[Length(max=500)],
    )
    client_id = StringField(
        _l("Client id"),
        validators=[DataRequired(_l("Enter the client id.")), Length(max=255)],
    )
    client_secret = PasswordField(
        _l("Client secret"),
        description=_l("Kept as it is: leave it empty to keep the saved one."),
        validators=[Length(max=500)],
        widget=_SECRET_INPUT,
    )
    scopes = StringField(
        _l("Scopes"),
        description=_l(
            "Separated by spaces. Empty: \u201copenid email profile\u201d for OpenID "
            "Connect, \u201cread:user user:email\u201d for GitHub."
        ),
        validators=[Length(max=255)],
    )


class ProviderForm(ProviderChangeForm):
    """A new provider: its key as well, and a secret it must have."""

    key = StringField(
        _l("Key"),
        description=_l(
            "Lower-case letters, digits and hyphens, such as \u201cgoogle\u201d. It is in the "
            "redirect URI and never changes."
        ),
        validators=[DataRequired(_l("Choose a key.")), Length(max=40)],
    )
    client_secret = PasswordField(
        _l("Client secret"),
        description=_l("Shown only as dots once saved."),
        validators=[DataRequired(_l("Enter the client secret.")), Length(max=500)],
        widget=_SECRET_INPUT,
    )


class PolicyForm(FlaskForm):
    """How staff sign in, and whether customers may use a password."""

    staff_provider = SelectField(_l("Staff sign in through"), choices=[], validate_choice=True)
    customer_passwords = RadioField(
        _l("Customers may sign in with a password"),
        choices=[
            SelectChoice("yes", _l("Yes")),
            SelectChoice("no", _l("No: email links, providers and single sign-on only")),
        ],
        validators=[DataRequired(_l("Choose yes or no."))],
    )


class ProviderActionForm(FlaskForm):
    """Only the CSRF token: enabling and disabling need no input."""
