"""Admin pages for outgoing webhooks (/admin/webhooks): register receivers, see every delivery
attempt, send a given-up delivery again, change the events, pause, rotate the secret, send a
test, delete. Admins only; the rules live in portal/services/webhooks.py."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp, no_store
from portal.admin.webhook_forms import (
    WebhookActionForm,
    WebhookChangeForm,
    WebhookDeleteForm,
    WebhookForm,
)
from portal.auth import admin_required
from portal.models import WebhookEndpoint
from portal.services import environment, webhooks
from portal.unit_of_work import refusal_shown_in


@bp.route("/webhooks", methods=["GET", "POST"])
@admin_required
def webhooks_page() -> Response:
    form = WebhookForm()
    status = 200
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors) as refusal:
            created = webhooks.create_endpoint(
                current_user,
                url=form.url.data or "",
                events=form.events.data or [],
                description=form.description.data or "",
            )
            # Shown in this response only: never flashed, as the session cookie is not secret.
            return _render_endpoint(created.endpoint, new_secret=created.secret, status=201)
        status = refusal.status
    elif request.method == "POST":
        status = 400
    response = make_response(
        render_template(
            "admin/webhooks.html",
            form=form,
            endpoints=webhooks.list_endpoints(),
            # The setting the service checks, so the hint and the refusal agree.
            config_allows_http=environment.current().settings.webhook_allow_http,
        ),
        status,
    )
    return no_store(response)


def _render_endpoint(
    endpoint: WebhookEndpoint,
    new_secret: str | None = None,
    status: int = 200,
    delete_form: WebhookDeleteForm | None = None,
    change_form: WebhookChangeForm | None = None,
) -> Response:
    response = make_response(
        render_template(
            "admin/webhook.html",
            endpoint=endpoint,
            logs=webhooks.recent_deliveries(endpoint),
            new_secret=new_secret,
            action_form=WebhookActionForm(formdata=None),
            delete_form=delete_form or WebhookDeleteForm(formdata=None),
            change_form=change_form or WebhookChangeForm(formdata=None, obj=endpoint),
        ),
        status,
    )
    return no_store(response)


@bp.get("/webhooks/<int:endpoint_id>")
@admin_required
def webhook(endpoint_id: int) -> Response:
    return _render_endpoint(webhooks.get_endpoint(endpoint_id))


def _action_endpoint(endpoint_id: int) -> WebhookEndpoint:
    if not WebhookActionForm().validate_on_submit():
        abort(400)
    return webhooks.get_endpoint(endpoint_id)


@bp.post("/webhooks/<int:endpoint_id>/change")
@admin_required
def webhook_change(endpoint_id: int) -> Response:
    endpoint = webhooks.get_endpoint(endpoint_id)
    form = WebhookChangeForm()
    if not form.validate_on_submit():
        return _render_endpoint(endpoint, change_form=form, status=400)
    endpoint = webhooks.change_endpoint(
        current_user,
        endpoint_id,
        events=form.events.data or [],
        description=form.description.data or "",
    )
    flash(_("Saved. It now gets: %(events)s.", events=", ".join(endpoint.events)), "success")
    return redirect(url_for("admin.webhook", endpoint_id=endpoint.id))


@bp.post("/webhooks/<int:endpoint_id>/toggle")
@admin_required
def webhook_toggle(endpoint_id: int) -> Response:
    endpoint = _action_endpoint(endpoint_id)
    webhooks.set_active(current_user, endpoint_id, not endpoint.active)
    if endpoint.active:
        message = _("Deliveries resumed.")
    else:
        message = _("Paused: no new events are queued.")
    flash(message, "success")
    return redirect(url_for("admin.webhook", endpoint_id=endpoint.id))


@bp.post("/webhooks/<int:endpoint_id>/rotate")
@admin_required
def webhook_rotate(endpoint_id: int) -> Response:
    _action_endpoint(endpoint_id)
    rotated = webhooks.rotate_secret(current_user, endpoint_id)
    return _render_endpoint(rotated.endpoint, new_secret=rotated.secret)


@bp.post("/webhooks/<int:endpoint_id>/ping")
@admin_required
def webhook_ping(endpoint_id: int) -> Response:
    _action_endpoint(endpoint_id)
    webhooks.send_ping(current_user, endpoint_id)
    flash(_("A test delivery is queued; its attempts appear below."), "success")
    return redirect(url_for("admin.webhook", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/send-again")
@admin_required
def webhook_send_again(endpoint_id: int, delivery_id: int) -> Response:
    refused: list[str] = []
    with refusal_shown_in(refused):
        _action_endpoint(endpoint_id)
        webhooks.send_again(current_user, endpoint_id, delivery_id)
        flash(_("The delivery is queued again; its new attempts appear below."), "success")
    for message in refused:
        flash(message, "error")
    return redirect(
        url_for("admin.webhook", endpoint_id=endpoint_id, _anchor=f"delivery-{delivery_id}")
    )


@bp.post("/webhooks/<int:endpoint_id>/delete")
@admin_required
def webhook_delete(endpoint_id: int) -> Response:
    endpoint = webhooks.get_endpoint(endpoint_id)
    form = WebhookDeleteForm()
    if not form.validate_on_submit():
        return _render_endpoint(endpoint, delete_form=form, status=400)
    webhooks.delete_endpoint(current_user, endpoint_id)
    flash(_("The webhook to %(url)s is deleted.", url=endpoint.url), "success")
    return redirect(url_for("admin.webhooks_page"))
