"""The admin's widget page (/admin/widget): the snippet for the organisation's pages, and the
origins allowed to embed the widget. Admins only; the rules live in portal/services/widget.py."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp
from portal.auth import admin_required
from portal.services import widget
from portal.services.site import get_site_settings
from portal.unit_of_work import refusal_shown_in
from portal.widget.forms import WidgetOriginsForm


def _render(form: WidgetOriginsForm, status: int = 200) -> Response:
    portal = request.host_url.rstrip("/")
    return make_response(
        render_template(
            "admin/widget.html",
            form=form,
            origins=widget.embedding_origins(get_site_settings()),
            portal=portal,
            script_url=url_for("static", filename="widget.js", _external=True),
        ),
        status,
    )


@bp.get("/widget")
@admin_required
def widget_page() -> Response:
    form = WidgetOriginsForm(formdata=None)
    form.origins.data = "\n".join(widget.embedding_origins(get_site_settings()))
    return _render(form)


@bp.post("/widget")
@admin_required
def widget_origins() -> Response:
    form = WidgetOriginsForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    with refusal_shown_in(form.origins.errors) as refusal:
        widget.set_embedding_origins(current_user, form.origins.data or "")
        flash(_("Saved. Pages of these sites may show the widget now."), "success")
        return redirect(url_for("admin.widget_page"))
    return _render(form, refusal.status)
