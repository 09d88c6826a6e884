"""The form for a customer's value on their admin page: plan, monthly value and segment. It
checks shape; services/customer_value.py checks the rules (every door keeps the same ones)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from portal.services.customer_value import MAX_LABEL_LENGTH


class CustomerValueForm(FlaskForm):
    plan = StringField(
        _l("Plan"),
        validators=[Optional(), Length(max=MAX_LABEL_LENGTH)],
        description=_l('The plan they are on, such as "Business". Leave blank to clear it.'),
    )
    monthly_value = StringField(
        _l("Monthly value"),
        # Its description names the site's currency: the view sets it (value_views.py).
        validators=[Optional(), Length(max=20)],
    )
    segment = StringField(
        _l("Segment"),
        validators=[Optional(), Length(max=MAX_LABEL_LENGTH)],
        description=_l('The group they belong to, such as "Enterprise" or "Education".'),
    )
