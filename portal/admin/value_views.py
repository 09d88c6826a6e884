"""A person's admin page (/admin/users/<id>) and their customer value: plan, monthly value and
segment, which admins set here (the API and single sign-on set the same, by the same rules).
Staff see the values in triage and insights; nobody else ever does."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp, no_store
from portal.admin.value_forms import CustomerValueForm
from portal.auth import admin_required
from portal.extensions import db, htmx
from portal.models import User
from portal.services import customer_value
from portal.services.environment import current as current_environment
from portal.unit_of_work import refusal_shown_in


def _person(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        abort(404)
    return user


def _value_form(user: User, form: CustomerValueForm | None = None) -> CustomerValueForm:
    if form is None:
        form = CustomerValueForm(formdata=None)
        form.plan.data = user.plan or ""
        form.monthly_value.data = customer_value.amount_text(user.monthly_value_cents)
        form.segment.data = user.segment or ""
    form.monthly_value.description = _(
        "What they pay a month, in %(currency)s, with up to two decimals (49.90). Leave blank "
        "to clear it.",
        currency=current_environment().settings.currency,
    )
    return form


def _render(
    user: User, form: CustomerValueForm, *, notice: str = "", status: int = 200
) -> Response:
    """The person's page, or (htmx) only its customer value section."""
    template = "admin/_customer_value.html" if htmx else "admin/person.html"
    response = make_response(
        render_template(template, person=user, value_form=form, notice=notice), status
    )
    response.headers["Vary"] = "HX-Request"
    # Staff-only figures: never kept by a shared cache.
    return no_store(response)


@bp.get("/users/<int:user_id>")
@admin_required
def person(user_id: int) -> Response:
    user = _person(user_id)
    return _render(user, _value_form(user))


@bp.post("/users/<int:user_id>/value")
@admin_required
def customer_value_form(user_id: int) -> Response:
    user = _person(user_id)
    form = _value_form(user, CustomerValueForm())
    if not form.validate_on_submit():
        return _render(user, form, status=400)
    try:
        value = customer_value.checked_value(
            form.plan.data, form.monthly_value.data, form.segment.data
        )
    except customer_value.InvalidCustomerValue as invalid:
        for name, problem in invalid.fields.items():
            form[name].errors.append(str(problem))
        return _render(user, form, status=400)
    with refusal_shown_in(form.form_errors) as refusal:
        changed = customer_value.set_customer_value(current_user, user, value)
        message = (
            _("Saved %(name)s's plan, monthly value and segment.", name=user.display_name)
            if changed
            else _("Nothing changed: the values were already these.")
        )
        if htmx:
            return _render(user, _value_form(user), notice=message)
        flash(message, "success" if changed else "info")
        return redirect(url_for("admin.person", user_id=user.id))
    return _render(user, form, status=refusal.status)
