"""Forms of the people page: inviting someone, acting on an invitation, and the roles of the
people listed (one form for all of them). They check shape; the services check the rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Email, Length

from portal.forms import BAD_EMAIL
from portal.models import Role


class InviteForm(FlaskForm):
    # Not "email": the page's search box and the sign-in form use other names, ids stay unique.
    invite_email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter the email address to invite.")),
            Email(BAD_EMAIL),
            Length(max=254),
        ],
    )
    invite_role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice(Role.STAFF.value, _l("Staff")),
            SelectChoice(Role.ADMIN.value, _l("Admin")),
        ],
        # No "required": a select that starts on a real role always has one (and HTML wants
        # a required select to start on an empty choice); the choices still refuse others.
    )


class ActionForm(FlaskForm):
    """Only the CSRF token: sending again, revoking and putting the checklist away need no
    input."""


class RolesForm(FlaskForm):
    """The roles of everyone listed on the page, in one form: `role-<id>` and `active-<id>`
    per person, and `shown-<id>` holding the values the page showed ("staff:1"), so only the
    rows someone changed are saved (a change another admin made meanwhile stays)."""

    def changes(
        self, formdata: Mapping[str, str], ids: Iterable[int]
    ) -> list[tuple[int, Role, bool]] | None:
        """(user id, role, active) for each row whose values differ from what was shown;
        None when a row's values are not ones the page offers."""
        changed: list[tuple[int, Role, bool]] = []
        for user_id in ids:
            try:
                role = Role(formdata.get(f"role-{user_id}", ""))
            except ValueError:
                return None
            active = formdata.get(f"active-{user_id}") == "y"
            if formdata.get(f"shown-{user_id}") != shown(role, active):
                changed.append((user_id, role, active))
        return changed


def shown(role: Role, active: bool) -> str:
    """What a row of the roles form showed: its role and whether the account was active."""
    return f"{role.value}:{int(active)}"
