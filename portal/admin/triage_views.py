"""The triage queue (/admin/) and its quick actions: take an item, acknowledge it.

Items ticked to resolve together stay ticked across filters and pages until acted on: the
ticks travel with the filter form (checked boxes, and hidden fields for those not shown), with
or without JavaScript."""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts.kept import keeps_writing
from portal.admin.blueprint import bp, load_item
from portal.admin.forms import AcknowledgeForm
from portal.admin.item_views import move_form, render_item
from portal.admin.resolution_views import MAX_ITEMS_TOGETHER
from portal.extensions import db, htmx
from portal.models.base import N_
from portal.services import customer_value, signals, triage, workflow
from portal.services.accounts import is_safe_next
from portal.services.errors import DomainError
from portal.services.feedback import categories
from portal.unit_of_work import refusal_shown_in
from portal.validation import parse_id


def _ticked(values: list[str]) -> list[int]:
    """The items ticked to resolve together, as sent (checked boxes and the ticks kept from
    other filters and pages), each once, in the order ticked; as many as one resolution takes."""
    ids = dict.fromkeys(i for i in map(parse_id, values) if i is not None)
    return list(ids)[:MAX_ITEMS_TOGETHER]


@bp.get("/")
def queue() -> Response:
    filters = triage.TriageFilters.from_args(request.args)
    ticked = _ticked(request.args.getlist("items"))
    if htmx and htmx.target == "queue-ticked":
        # A box ticked or cleared (htmx): only the count and its actions change.
        response = make_response(
            render_template("admin/_queue_ticked.html", filters=filters, ticked=ticked)
        )
        response.headers["Vary"] = "HX-Request"
        return response
    page = db.paginate(
        triage.triage_query(filters, current_user),
        page=filters.page,
        per_page=50,
        error_out=False,
    )
    context: dict[str, Any] = {
        "filters": filters,
        "page": page,
        "ack_form": AcknowledgeForm(),
        "ticked": ticked,
        "permissions": workflow.permissions,
        # The value of the people behind each row (staff only), in one grouped query.
        "values": customer_value.item_values(item.id for item in page.items),
    }
    if htmx and htmx.target == "queue-results":
        response = make_response(render_template("admin/_queue_results.html", **context))
    else:
        response = make_response(
            render_template(
                "admin/queue.html",
                counts=triage.queue_counts(),
                # Closed items customers still speak up about, most in the last 30 days first.
                rising=signals.rising(limit=5),
                recent_days=signals.RECENT_DAYS,
                categories=categories(),
                staff=triage.staff_members(),
                sorts=list(triage.TriageSort),
                **context,
            )
        )
    response.headers["Vary"] = "HX-Request"
    return response


def _row_or_back(item_id: int, message: str) -> Response | str:
    """After a quick action: htmx gets the queue row back, a plain form goes back."""
    if htmx:
        db.session.expire_all()
        return render_template(
            "admin/_queue_row.html",
            item=load_item(item_id),
            ack_form=AcknowledgeForm(formdata=None),
            notice=message,
            # The row's tick, if it had one, stays (htmx sends it along).
            ticked=_ticked(request.form.getlist("items")),
            permissions=workflow.permissions,
            values=customer_value.item_values([item_id]),
        )
    flash(message, "success")
    back = request.form.get("next", "")
    return redirect(back if is_safe_next(back) else url_for("admin.queue"))


@bp.post("/feedback/<int:item_id>/take")
def take(item_id: int) -> Response | str:
    workflow.take(item_id, current_user)
    return _row_or_back(item_id, _("You look after #%(id)s now.", id=item_id))


@bp.post("/feedback/<int:item_id>/acknowledge")
@keeps_writing(message=N_("Your message to the customer"))
def acknowledge(item_id: int) -> Response | str:
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        raise DomainError(
            " ".join(map(str, form.message.errors)) or _("Write the customer a message.")
        )
    errors: list[str] = []
    with refusal_shown_in(errors) as refusal:
        workflow.acknowledge(
            item_id, current_user, form.message.data or "", post_anyway=bool(form.post_anyway.data)
        )
        return _row_or_back(item_id, _("#%(id)s acknowledged.", id=item_id))
    if refusal.error is not None and not refusal.findings:
        raise refusal.error  # answered by the error pages, as any other refusal
    item = load_item(item_id)
    if htmx:
        return render_template(
            "admin/_queue_row.html",
            item=item,
            ack_form=form,
            ack_findings=refusal.findings,
            ticked=_ticked(request.form.getlist("items")),
            permissions=workflow.permissions,
            values=customer_value.item_values([item_id]),
        )
    return render_item(
        item,
        status=422,
        move_form=move_form(item, to_state="acknowledged", message=form.message.data),
        move_findings=refusal.findings,
    )
