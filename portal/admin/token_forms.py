"""Forms for the admin's API token page: they check shape; the api_tokens service the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length

from portal.models import TokenScope


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Name"),
        description=_l("Which system uses it, such as \u201cCRM sync\u201d."),
        validators=[DataRequired(_l("Give the token a name.")), Length(max=80)],
    )
    scope = RadioField(
        _l("Access"),
        choices=[
            SelectChoice(
                TokenScope.READ.value, _l("Read only: the public board, items, resolutions")
            ),
            SelectChoice(
                TokenScope.WRITE.value,
                _l("Read and write: also submit feedback, add votes and move items"),
            ),
        ],
        default=TokenScope.READ.value,
        validators=[InputRequired(_l("Choose read or write access."))],
    )


class RevokeTokenForm(FlaskForm):
    """Only the CSRF token: revoking needs no input."""
