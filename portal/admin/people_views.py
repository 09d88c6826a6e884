"""The people page (/admin/users): invitations (send, send again, revoke) and everyone's role
in one form; and the admins' "Get started" checklist on the triage page."""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp
from portal.admin.people_forms import ActionForm, InviteForm, RolesForm, shown
from portal.auth import admin_required
from portal.extensions import htmx
from portal.models.base import N_
from portal.services import admin as admin_service
from portal.services import get_started, invitations, sign_in_policy
from portal.services.errors import DomainError
from portal.unit_of_work import refusal_shown_in


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _users_page(
    *,
    invite_form: InviteForm | None = None,
    roles_errors: list[str] | None = None,
    chosen: dict[int, tuple[str, bool]] | None = None,
    status: int = 200,
) -> Response:
    query = request.values.get("q", "")[:100]
    page = admin_service.search_users(query, _page_number())
    response = make_response(
        render_template(
            "admin/users.html",
            page=page,
            q=query,
            invite_form=invite_form or InviteForm(formdata=None),
            action_form=ActionForm(formdata=None),
            roles_form=RolesForm(formdata=None),
            roles_errors=roles_errors or [],
            # After a refusal, each row shows what the admin chose, not what is saved.
            chosen=chosen or {},
            invitations=invitations.recent_invitations(),
            shown=shown,
            ways_in=sign_in_policy.ways_in(page.items),
        ),
        status,
    )
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/users")
@admin_required
def users() -> Response:
    return _users_page()


@bp.post("/users")
@admin_required
def save_roles() -> Response:
    """The one form of everyone listed: only the rows someone changed are saved, together, or
    none of them when one is refused."""
    form = RolesForm()
    back = redirect(url_for("admin.users", q=request.form.get("q", "")))
    ids: list[int] = []
    for value in request.form.getlist("user_ids"):
        if value.isdigit():
            ids.append(int(value))
    changes = form.changes(request.form, ids) if form.validate_on_submit() else None
    if changes is None:
        return _users_page(roles_errors=[_("Please choose a role for each person.")], status=400)
    if not changes:
        flash(_("Nothing changed: no role or access was different."), "info")
        return back
    errors: list[str] = []
    with refusal_shown_in(errors) as refusal:
        changed = admin_service.update_roles(current_user, changes)
        flash(
            _(
                "Saved the roles and access of %(names)s.",
                names=", ".join(user.display_name for user in changed),
            ),
            "success",
        )
        return back
    # Refused: nobody changed, and the page says why, keeping what the admin chose.
    chosen = {user_id: (role.value, active) for user_id, role, active in changes}
    return _users_page(roles_errors=errors, chosen=chosen, status=refusal.status)


@bp.post("/users/invite")
@admin_required
def invite() -> Response:
    form = InviteForm()
    if not form.validate_on_submit():
        return _users_page(invite_form=form, status=400)
    with refusal_shown_in(form.invite_email.errors) as refusal:
        invitation = invitations.invite(
            current_user, email=form.invite_email.data or "", role=form.invite_role.data or ""
        )
        flash(
            _(
                "Invitation sent to %(email)s. Its link works for 7 days.",
                email=invitation.email,
            ),
            "success",
        )
        return redirect(url_for("admin.users", _anchor="invitations"))
    return _users_page(invite_form=form, status=refusal.status)


def _invitations_or_back(message: str, category: str = "success") -> Response:
    """htmx gets the invitations list back with the message; a plain form goes back to the
    page, which flashes it."""
    if htmx:
        response = make_response(
            render_template(
                "admin/_invitations.html",
                invitations=invitations.recent_invitations(),
                action_form=ActionForm(formdata=None),
                notice=message,
                notice_category=category,
            )
        )
        response.headers["Vary"] = "HX-Request"
        return response
    flash(message, category)
    return redirect(url_for("admin.users", _anchor="invitations"))


def _run(command: Any, invitation_id: int, done: str) -> Response:
    if not ActionForm().validate_on_submit():
        return _invitations_or_back(_("The form had expired. Please try again."), "error")
    errors: list[str] = []
    with refusal_shown_in(errors) as refusal:
        invitation = command(current_user, invitation_id)
        return _invitations_or_back(_(done, email=invitation.email))
    if refusal.status == 404:
        raise refusal.error or DomainError(" ".join(errors))
    return _invitations_or_back(" ".join(errors), "error")


@bp.post("/invitations/<int:invitation_id>/resend")
@admin_required
def resend_invitation(invitation_id: int) -> Response:
    return _run(
        invitations.resend,
        invitation_id,
        N_(
            "Invitation sent to %(email)s again, with a new link for 7 days: the earlier link no "
            "longer works."
        ),
    )


@bp.post("/invitations/<int:invitation_id>/revoke")
@admin_required
def revoke_invitation(invitation_id: int) -> Response:
    return _run(
        invitations.revoke,
        invitation_id,
        N_("The invitation to %(email)s is revoked: its link no longer works."),
    )


# "Get started" ------------------------------------------------------------------------------


@bp.context_processor
def get_started_checklist() -> dict[str, Any]:
    """The checklist, for admins/_get_started.html: worked out only when that fragment asks."""
    return {"get_started_checklist": get_started.checklist}


@bp.post("/get-started/dismiss")
@admin_required
def dismiss_get_started() -> Response | str:
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.queue"))
    get_started.dismiss(current_user)
    message = _(
        "The checklist is put away. Its steps stay on the Settings, Categories and Users pages."
    )
    if htmx:
        response = make_response(
            render_template("admin/_get_started_dismissed.html", notice=message)
        )
        response.headers["Vary"] = "HX-Request"
        return response
    flash(message, "success")
    return redirect(url_for("admin.queue"))
