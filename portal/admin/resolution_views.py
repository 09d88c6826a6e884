"""Resolutions from the admin side: "Resolve together" (one "we did" for several items) and
editing a published resolution."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts.kept import keeps_writing
from portal.admin.blueprint import bp
from portal.admin.forms import ResolutionForm
from portal.models.base import N_
from portal.services import workflow
from portal.services.resolutions import get_resolution
from portal.services.tone import ToneFinding
from portal.unit_of_work import refusal_shown_in
from portal.validation import parse_id

MAX_ITEMS_TOGETHER = 50


@bp.route("/resolutions/new", methods=["GET", "POST"])
@keeps_writing(you_said=N_("You said"), we_did=N_("We did"))
def new_resolution() -> Response:
    ids = [i for i in map(parse_id, request.values.getlist("items")) if i is not None]
    ids = ids[:MAX_ITEMS_TOGETHER]
    items = workflow.items_to_resolve(ids)
    if not items:
        flash(
            _(
                "Tick the items that one fix answers, then choose "
                "\u201cResolve selected together\u201d."
            ),
            "info",
        )
        return redirect(url_for("admin.queue"))
    form = ResolutionForm()
    status = 200
    findings: list[ToneFinding] = []
    unanswered = workflow.not_yet_answered(items)
    if unanswered:
        # Said before anything is typed; the command refuses them too.
        form.form_errors.append(workflow.unanswered_message(unanswered))
    # "Answer it as #2 was": a late report of something already done gets the same words,
    # from the merge refused on its page (workflow.ClosedTarget); staff may still change them.
    same_as_id = parse_id(request.args.get("same_as"))
    same_as = get_resolution(same_as_id) if same_as_id else None
    if request.method == "GET":
        form.you_said.data = workflow.default_you_said(items)
        if same_as is not None:
            form.you_said.data = same_as.you_said
            form.we_did.data = same_as.we_did_source
    elif unanswered:
        status = 409
    elif not form.validate_on_submit():
        status = 400
    else:
        with refusal_shown_in(form.form_errors) as refusal:
            resolution = workflow.publish_resolution(
                [item.id for item in items],
                current_user,
                form.we_did.data or "",
                form.you_said.data or "",
                post_anyway=bool(form.post_anyway.data),
            )
            flash(
                ngettext(
                    "Published. %(num)d item resolved.",
                    "Published. %(num)d items resolved.",
                    len(items),
                ),
                "success",
            )
            return redirect(url_for("resolutions.detail", resolution_id=resolution.id))
        status, findings = refusal.status, refusal.findings
        items = workflow.items_to_resolve(ids)
    return make_response(
        render_template(
            "admin/resolution_form.html",
            form=form,
            items=items,
            findings=findings,
            same_as=same_as,
        ),
        status,
    )


@bp.route("/resolutions/<int:resolution_id>/edit", methods=["GET", "POST"])
def edit_resolution(resolution_id: int) -> Response | str:
    resolution = get_resolution(resolution_id) or abort(404)
    form = ResolutionForm(
        obj=None,
        data={"you_said": resolution.you_said, "we_did": resolution.we_did_source}
        if request.method == "GET"
        else None,
    )
    status = 200
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors) as refusal:
            workflow.update_resolution(
                resolution_id,
                current_user,
                you_said=form.you_said.data or "",
                we_did=form.we_did.data or "",
            )
            flash(_("The resolution is updated."), "success")
            return redirect(url_for("resolutions.detail", resolution_id=resolution_id))
        status = refusal.status
        resolution = get_resolution(resolution_id) or abort(404)
    elif request.method == "POST":
        status = 400
    return make_response(
        render_template("admin/resolution_edit.html", form=form, resolution=resolution), status
    )
