"""Forms for the admin's single sign-on page: they check shape; portal/services/sso.py the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField, URLField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length

AUDIENCE_HINT = _l(
    "The aud claim every token must carry, such as this site's address. Tokens naming "
    "another audience are refused."
)


class SsoSecretForm(FlaskForm):
    """HS256: a new shared secret, shown once."""

    audience = StringField(
        _l("Audience"),
        description=AUDIENCE_HINT,
        validators=[DataRequired(_l("Enter the audience.")), Length(max=200)],
    )


def _algorithm_field(field_id: str | None = None) -> SelectField:
    return SelectField(
        _l("Algorithm"),
        choices=[
            SelectChoice("RS256", _l("RS256 (an RSA key)")),
            SelectChoice("ES256", _l("ES256 (an elliptic-curve key, P-256)")),
        ],
        default="RS256",
        id=field_id,
    )


class SsoPublicKeyForm(FlaskForm):
    """RS256 or ES256: the organisation keeps the private key; we keep the public one."""

    algorithm = _algorithm_field()
    public_key = TextAreaField(
        _l("Public key (PEM)"),
        description=_l("Starts with -----BEGIN PUBLIC KEY-----."),
        validators=[DataRequired(_l("Paste the public key.")), Length(max=10000)],
    )
    audience = StringField(
        _l("Audience"),
        description=AUDIENCE_HINT,
        validators=[DataRequired(_l("Enter the audience.")), Length(max=200)],
        id="key-audience",  # the page also holds the secret form's audience field
    )


class SsoJwksForm(FlaskForm):
    """RS256 or ES256 with the keys the organisation publishes (a JWKS): it can rotate them
    without telling us, as each token names its key (`kid`)."""

    # The page also holds the public key form's algorithm field.
    algorithm = _algorithm_field("jwks-algorithm")
    jwks_url = URLField(
        _l("Key set URL (JWKS)"),
        description=_l(
            "Where your organisation publishes its public keys, such as "
            "https://example.com/.well-known/jwks.json. It is fetched now to check it."
        ),
        validators=[DataRequired(_l("Enter the key set's URL.")), Length(max=2000)],
    )
    audience = StringField(
        _l("Audience"),
        description=AUDIENCE_HINT,
        validators=[DataRequired(_l("Enter the audience.")), Length(max=200)],
        id="jwks-audience",
    )
