"""The widget's forms: its feedback form (the submit page's fields, with the widget token in
place of the CSRF token, as a framed page gets no session cookie: portal/services/widget.py),
and the admin's list of the sites that may show it. They check shape; the service the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from portal.feedback.forms import FeedbackForm


class WidgetForm(FeedbackForm):
    """Feedback from the widget: the same fields and spam checks as the submit page."""

    class Meta:
        # The widget token is checked instead (widget.views), by the view, before anything.
        csrf = False

    widget_token = HiddenField()


class WidgetOriginsForm(FlaskForm):
    """The origins whose pages may embed the feedback widget, one a line (/admin/widget)."""

    origins = TextAreaField(
        _l("Sites that may show the widget"),
        description=_l(
            "One origin a line: scheme://host, and the port if it is not the usual one "
            "(https://www.example.org). Leave it empty and no site can show the widget."
        ),
        validators=[Length(max=5_000, message=_l("At most 5,000 characters."))],
    )
