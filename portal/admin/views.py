"""Staff triage and admin pages under /admin/. Every route checks the role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal.accounts.kept import keeps_writing
from portal.admin.forms import (
    AcknowledgeForm,
    AssignForm,
    CategoryForm,
    MoveForm,
    NoteForm,
    PromiseForm,
    ReasonForm,
    ReplyForm,
    ResolutionForm,
    SettingsForm,
    UserForm,
)
from portal.admin.token_forms import ApiTokenForm, RevokeTokenForm
from portal.auth import admin_required
from portal.extensions import db, htmx, login_manager
from portal.models import Category, Comment, Feedback, FeedbackState, Role, User
from portal.services import admin as admin_service
from portal.services import api_tokens, audit, triage, workflow
from portal.services.accounts import is_safe_next
from portal.services.errors import DomainError
from portal.services.feedback import (
    categories,
    held_for_change,
    hold_merge_target_first,
    item_comments,
    item_query,
    item_timeline,
)
from portal.services.insights.charts import staff_charts
from portal.services.insights.figures import DateRange, parse_date_range
from portal.services.insights.report import TABLES as INSIGHT_TABLES
from portal.services.insights.report import insight_table, staff_report, table_csv
from portal.services.resolutions import get_resolution
from portal.services.site import get_site_settings
from portal.services.tone import ToneFinding, check_tone
from portal.validation import parse_id

bp = Blueprint("admin", __name__)


def no_store(response: Response) -> Response:
    """Mark a response never to be cached: it shows a secret or staff-only figures."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_request
def require_staff() -> Response | None:
    """The whole of /admin/ is for staff; admin-only pages check again."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_staff:
        abort(403)
    return None


def _item(item_id: int, *, for_change: bool = False) -> Feedback:
    item = db.session.scalar(item_query(item_id, for_change=for_change))
    if item is None:
        abort(404)
    return item


def _tone(item: Feedback, draft: str) -> list[ToneFinding]:
    return check_tone(
        draft,
        is_complaint=item.kind.value == "complaint",
        preferred_name=item.author.preferred_name if item.author.deleted_at is None else "",
        response_guide=item.category.response_guide,
    )


def _we_did_tone(item: Feedback, draft: str) -> list[ToneFinding]:
    """The "we did" goes to everyone: only blame, shouting and form letters matter there, not
    the customer's name or an apology."""
    return [f for f in _tone(item, draft) if f.code in ("blame", "shouting", "form_letter")]


# The queue ---------------------------------------------------------------------------------


@bp.get("/")
def queue() -> Response:
    filters = triage.TriageFilters.from_args(request.args)
    page = db.paginate(
        triage.triage_query(filters, current_user),
        page=filters.page,
        per_page=50,
        error_out=False,
    )
    context: dict[str, Any] = {"filters": filters, "page": page, "ack_form": AcknowledgeForm()}
    if htmx and htmx.target == "queue-results":
        response = make_response(render_template("admin/_queue_results.html", **context))
    else:
        response = make_response(
            render_template(
                "admin/queue.html",
                counts=triage.queue_counts(),
                categories=categories(),
                staff=triage.staff_members(),
                sorts=list(triage.TriageSort),
                **context,
            )
        )
    response.headers["Vary"] = "HX-Request"
    return response


def _row_or_back(item: Feedback, message: str) -> Response | str:
    """After a quick action: htmx gets the queue row back, a plain form goes back."""
    if htmx:
        db.session.expire_all()
        return render_template(
            "admin/_queue_row.html",
            item=_item(item.id),
            ack_form=AcknowledgeForm(formdata=None),
            notice=message,
        )
    flash(message, "success")
    back = request.form.get("next", "")
    return redirect(back if is_safe_next(back) else url_for("admin.queue"))


@bp.post("/feedback/<int:item_id>/take")
def take(item_id: int) -> Response | str:
    item = _item(item_id, for_change=True)
    workflow.take(item, current_user)
    db.session.commit()
    return _row_or_back(item, f"You look after #{item.id} now.")


@bp.post("/feedback/<int:item_id>/acknowledge")
@keeps_writing(message="Your message to the customer")
def acknowledge(item_id: int) -> Response | str:
    item = _item(item_id, for_change=True)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        raise DomainError(" ".join(form.message.errors) or "Write the customer a message.")
    findings = _tone(item, form.message.data or "")
    if findings and not form.post_anyway.data:
        if htmx:
            return render_template(
                "admin/_queue_row.html", item=item, ack_form=form, ack_findings=findings
            )
        move_form = _move_form(item, to_state="acknowledged", message=form.message.data)
        return _render_item(item, status=422, move_form=move_form, move_findings=findings)
    workflow.acknowledge(item, current_user, form.message.data or "")
    db.session.commit()
    return _row_or_back(item, f"#{item.id} acknowledged.")


# One item ----------------------------------------------------------------------------------


def _move_form(item: Feedback, **data: Any) -> MoveForm:
    form = MoveForm(formdata=None, data=data)
    form.set_states(item.next_states)
    return form


def _assign_form(item: Feedback, bound: bool = False) -> AssignForm:
    form = AssignForm() if bound else AssignForm(formdata=None, owner_id=item.owner_id)
    # No one is chosen for an item nobody owns: the list would otherwise open on its first name.
    form.owner_id.choices = [SelectChoice("", "Choose a person\u2026")] + [
        SelectChoice(u.id, u.display_name) for u in triage.staff_members()
    ]
    return form


def _render_item(item: Feedback, status: int = 200, **forms: Any) -> Response:
    if status >= 400:
        # Nothing is kept from a refused request, and the item's row is not held while the
        # page is written: votes on it need not wait.
        db.session.rollback()
    context: dict[str, Any] = {
        "move_form": _move_form(item),
        "assign_form": _assign_form(item),
        "promise_form": PromiseForm(formdata=None),
        "reply_form": ReplyForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        "reason_form": ReasonForm(formdata=None),
        "redact_form": ReasonForm(formdata=None),
        "move_findings": [],
        "reply_findings": [],
    }
    context.update(forms)
    return make_response(
        render_template(
            "admin/item.html",
            item=item,
            timeline=item_timeline(item),
            comments=item_comments(item, current_user),
            history=triage.customer_history(item),
            may_take=workflow.may_take,
            may_hand_on=workflow.may_hand_on,
            **context,
        ),
        status,
    )


@bp.get("/feedback/<int:item_id>")
def item(item_id: int) -> Response:
    return _render_item(_item(item_id))


def _attempt(item: Feedback, action: Any, success: str, status_forms: dict[str, Any]) -> Response:
    """Run a workflow call; on a refusal, show the page again with the typed input kept."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        fresh = _item(item.id)
        return _render_item(fresh, status=exc.status_code, error=exc.message, **status_forms)
    db.session.commit()
    flash(success, "success")
    return redirect(url_for("admin.item", item_id=item.id))


@bp.post("/feedback/<int:item_id>/move")
@keeps_writing(
    message="Public message to the customer",
    you_said="\u201cYou said\u201d",
    we_did="\u201cWe did\u201d",
)
def move(item_id: int) -> Response:
    if request.form.get("to_state") == FeedbackState.DUPLICATE.value:
        hold_merge_target_first(item_id, parse_id(request.form.get("duplicate_of", "").strip()))
    item = _item(item_id, for_change=True)
    form = MoveForm()
    form.set_states(item.next_states)
    if not form.validate_on_submit():
        return _render_item(item, status=400, move_form=form, error="Please check the form.")
    to_state = FeedbackState(form.to_state.data)
    message = form.message.data or ""
    we_did = form.we_did.data or "" if to_state is FeedbackState.RESOLVED else ""
    # Both texts are checked: the published "we did" is read by everyone who spoke up.
    findings = (_tone(item, message) if message.strip() else []) + _we_did_tone(item, we_did)
    if findings and not form.post_anyway.data:
        return _render_item(item, status=422, move_form=form, move_findings=findings)
    target = db.session.get(Feedback, form.duplicate_of.data) if form.duplicate_of.data else None
    if form.duplicate_of.data and target is None:
        return _render_item(
            item, status=400, move_form=form, error=f"There is no item #{form.duplicate_of.data}."
        )
    return _attempt(
        item,
        lambda: workflow.move(
            item,
            current_user,
            to_state,
            message=message,
            target_date=form.target_date.data,
            duplicate_of=target,
            you_said=form.you_said.data or "",
            we_did=we_did,
        ),
        f"Moved to \u201c{to_state.label}\u201d. The customer can see it on the timeline.",
        {"move_form": form},
    )


@bp.post("/feedback/<int:item_id>/assign")
def assign(item_id: int) -> Response:
    item = _item(item_id, for_change=True)
    form = _assign_form(item, bound=True)
    if not form.validate_on_submit():
        return _render_item(item, status=400, assign_form=form, error="Please choose a person.")
    owner = db.session.get(User, form.owner_id.data)
    if owner is None:
        abort(400)
    return _attempt(
        item,
        lambda: workflow.assign(item, current_user, owner, form.assign_reason.data or ""),
        f"{owner.display_name} looks after #{item.id} now.",
        {"assign_form": form},
    )


@bp.post("/feedback/<int:item_id>/promise")
@keeps_writing(promise_reason="Why the date moves")
def promise(item_id: int) -> Response:
    item = _item(item_id, for_change=True)
    form = PromiseForm()
    if not form.validate_on_submit():
        return _render_item(item, status=400, promise_form=form, error="Please give a valid date.")
    done = (
        "The promised date is moved; the customer sees it, with your reason."
        if item.target_date
        else "The date is promised; the customer sees it."
    )
    return _attempt(
        item,
        lambda: workflow.move_promise(
            item, current_user, form.new_date.data, form.promise_reason.data or ""
        ),
        done,
        {"promise_form": form},
    )


@bp.post("/feedback/<int:item_id>/reply")
@keeps_writing(body="Your reply")
def reply(item_id: int) -> Response:
    item = _item(item_id, for_change=True)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _render_item(item, status=400, reply_form=form, error="Please write the reply.")
    findings = _tone(item, form.body.data or "")
    if findings and not form.post_anyway.data:
        return _render_item(item, status=422, reply_form=form, reply_findings=findings)
    return _attempt(
        item,
        lambda: workflow.reply(item, current_user, form.body.data or ""),
        "Your reply is posted. It is the acknowledgement: the item is \u201cAcknowledged\u201d now."
        if item.state is FeedbackState.RECEIVED
        else "Your reply is posted.",
        {"reply_form": form},
    )


@bp.post("/feedback/<int:item_id>/note")
@keeps_writing(note="Internal note")
def note(item_id: int) -> Response:
    item = _item(item_id, for_change=True)
    form = NoteForm()
    if not form.validate_on_submit():
        return _render_item(item, status=400, note_form=form, error="Please write the note.")
    return _attempt(
        item,
        lambda: workflow.add_internal_note(item, current_user, form.note.data or ""),
        "Internal note added. Customers never see it.",
        {"note_form": form},
    )


@bp.post("/feedback/<int:item_id>/hide")
def hide(item_id: int) -> Response:
    item = _item(item_id, for_change=True)
    hiding = not item.hidden
    form = ReasonForm()
    if hiding and not form.validate_on_submit():
        return _render_item(item, status=400, reason_form=form, error="Hiding needs a reason.")
    return _attempt(
        item,
        lambda: workflow.set_hidden(item, current_user, hiding, form.reason.data or ""),
        "Hidden from the public." if hiding else "Shown again.",
        {"reason_form": form},
    )


@bp.post("/feedback/<int:item_id>/redact")
def redact(item_id: int) -> Response:
    item = _item(item_id, for_change=True)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _render_item(item, status=400, redact_form=form, error="Redacting needs a reason.")
    return _attempt(
        item,
        lambda: workflow.redact(item, current_user, form.reason.data or ""),
        "The text is removed from public view and kept in the audit log.",
        {"redact_form": form},
    )


@bp.post("/feedback/<int:item_id>/approve")
def approve(item_id: int) -> Response:
    item = _item(item_id, for_change=True)
    return _attempt(
        item, lambda: workflow.approve(item, current_user), "Approved: it is on the board.", {}
    )


@bp.post("/comments/<int:comment_id>/hide")
def hide_comment(comment_id: int) -> Response:
    comment = db.session.get(Comment, comment_id) or abort(404)
    item = _item(comment.feedback_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _render_item(item, status=400, reason_form=form, error="Hiding needs a reason.")
    return _attempt(
        item,
        lambda: workflow.hide_comment(comment, current_user, form.reason.data or ""),
        "The comment is hidden and kept for the record.",
        {"reason_form": form},
    )


@bp.post("/feedback/<int:item_id>/tone")
def tone(item_id: int) -> str:
    """Live findings for a draft as staff type (htmx)."""
    item = _item(item_id)
    draft = request.form.get("body") or request.form.get("message") or ""
    return render_template("admin/_tone_findings.html", findings=_tone(item, draft))


# Resolutions -------------------------------------------------------------------------------


@bp.route("/resolutions/new", methods=["GET", "POST"])
@keeps_writing(you_said="You said", we_did="We did")
def new_resolution() -> Response | str:
    ids = [i for i in map(parse_id, request.values.getlist("items")) if i is not None][:50]
    query = (
        sa.select(Feedback)
        .where(Feedback.id.in_(ids))
        .options(sa.orm.joinedload(Feedback.category), sa.orm.joinedload(Feedback.author))
        .order_by(Feedback.created_at, Feedback.id)
    )
    if request.method == "POST":
        # Taken in the order above, which every such request shares.
        query = held_for_change(query)
    items = list(db.session.scalars(query))
    if not items:
        flash(
            "Tick the items that one fix answers, then choose "
            "\u201cResolve selected together\u201d.",
            "info",
        )
        return redirect(url_for("admin.queue"))
    form = ResolutionForm()
    findings: list[ToneFinding] = []
    status = 200
    unanswered = workflow.not_yet_answered(items)
    if unanswered:
        form.form_errors.append(
            "Nobody has answered "
            + " or ".join(f"#{item.id} ({item.author.preferred_name})" for item in unanswered)
            + " yet. Acknowledge each one personally first: resolving together sends "
            "everyone the same words."
        )
    if request.method == "GET":
        form.you_said.data = workflow.default_you_said(items)
    elif unanswered:
        status = 409
    elif form.validate_on_submit():
        findings = _we_did_tone(items[0], form.we_did.data or "")
        if not findings or form.post_anyway.data:
            try:
                resolution = workflow.publish_resolution(
                    items, current_user, form.we_did.data or "", form.you_said.data or ""
                )
            except DomainError as exc:
                db.session.rollback()
                form.form_errors.append(exc.message)
                status = exc.status_code
            else:
                db.session.commit()
                flash(
                    f"Published. {len(items)} item{'s' if len(items) != 1 else ''} resolved.",
                    "success",
                )
                return redirect(url_for("resolutions.detail", resolution_id=resolution.id))
        else:
            status = 422
    else:
        status = 400
    return make_response(
        render_template("admin/resolution_form.html", form=form, items=items, findings=findings),
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
    if form.validate_on_submit():
        try:
            workflow.update_resolution(
                resolution,
                current_user,
                you_said=form.you_said.data or "",
                we_did=form.we_did.data or "",
            )
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash("The resolution is updated.", "success")
            return redirect(url_for("resolutions.detail", resolution_id=resolution.id))
    return render_template("admin/resolution_edit.html", form=form, resolution=resolution)


# Admin only --------------------------------------------------------------------------------


@bp.route("/categories", methods=["GET", "POST"])
@admin_required
def categories_page() -> Response | str:
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            admin_service.save_category(current_user, None, **_category_fields(form))
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash(f"Category \u201c{form.name.data}\u201d added.", "success")
            return redirect(url_for("admin.categories_page"))
    return render_template("admin/categories.html", form=form, categories=categories())


def _category_fields(form: CategoryForm) -> dict[str, Any]:
    return {
        "name": (form.name.data or "").strip(),
        "slug": (form.slug.data or "").strip(),
        "description": form.description.data or "",
        "ack_target_hours": form.ack_target_hours.data,
        "response_guide": form.response_guide.data or "",
        "position": form.position.data or 0,
    }


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@admin_required
def edit_category(category_id: int) -> Response | str:
    category = db.session.get(Category, category_id) or abort(404)
    form = CategoryForm(obj=category if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            admin_service.save_category(current_user, category, **_category_fields(form))
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash("Category saved.", "success")
            return redirect(url_for("admin.categories_page"))
    return render_template("admin/category_edit.html", form=form, category=category)


@bp.get("/users")
@admin_required
def users() -> str:
    query = request.args.get("q", "")[:100]
    try:
        page_number = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page_number = 1
    page = admin_service.search_users(query, page_number)
    return render_template("admin/users.html", page=page, q=query, form=UserForm(formdata=None))


@bp.post("/users/<int:user_id>")
@admin_required
def update_user(user_id: int) -> Response:
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm()
    if form.validate_on_submit():
        try:
            admin_service.update_user(
                current_user, user, role=Role(form.role.data), active=bool(form.active.data)
            )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(
                f"{user.display_name} is now {'an' if user.role.value[0] in 'aeiou' else 'a'} "
                f"{user.role.value}"
                f"{'' if user.active else ' (deactivated)'}.",
                "success",
            )
    else:
        flash("Please choose a role.", "error")
    return redirect(url_for("admin.users", q=request.form.get("q", "")))


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings() -> Response | str:
    current = get_site_settings()
    form = SettingsForm(obj=current if request.method == "GET" else None)
    form.offer_time_zones(current.time_zone)
    if form.validate_on_submit():
        try:
            admin_service.update_settings(
                current_user,
                organisation_name=(form.organisation_name.data or "").strip(),
                contact_email=(form.contact_email.data or "").strip(),
                contact_phone=(form.contact_phone.data or "").strip(),
                contact_address=(form.contact_address.data or "").strip(),
                time_zone=form.time_zone.data,
                pre_moderation=bool(form.pre_moderation.data),
            )
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash("Settings saved. They show on every page.", "success")
            return redirect(url_for("admin.settings"))
    return make_response(
        render_template("admin/settings.html", form=form),
        400 if request.method == "POST" else 200,
    )


@bp.get("/audit")
@admin_required
def audit_log() -> str:
    try:
        page_number = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page_number = 1
    return render_template("admin/audit.html", page=audit.recent_entries(page_number))


# API tokens (admin only) -------------------------------------------------------------------


@bp.route("/tokens", methods=["GET", "POST"])
@admin_required
def tokens() -> Response:
    form = ApiTokenForm()
    new_token: str | None = None
    status = 200
    if form.validate_on_submit():
        try:
            created = api_tokens.create_token(
                current_user, name=form.name.data or "", scope=form.scope.data or ""
            )
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            db.session.commit()
            # Shown in this response only: never flashed, as the session cookie is not secret.
            new_token = created.plain
            form = ApiTokenForm(formdata=None)
    elif request.method == "POST":
        status = 400
    response = make_response(
        render_template(
            "admin/tokens.html",
            form=form,
            tokens=api_tokens.list_tokens(),
            new_token=new_token,
            revoke_form=RevokeTokenForm(formdata=None),
        ),
        status,
    )
    return no_store(response)


@bp.post("/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(token_id: int) -> Response:
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        abort(400)
    token = api_tokens.revoke(current_user, token_id)
    db.session.commit()
    flash(f"\u201c{token.name}\u201d ({token.prefix}\u2026) is revoked.", "success")
    return redirect(url_for("admin.tokens"))


# Insights ----------------------------------------------------------------------------------


def _insight_period() -> tuple[DateRange, list[str], datetime, datetime, datetime]:
    now = datetime.now(UTC)
    date_range, notes = parse_date_range(
        request.args.get("from"), request.args.get("to"), today=now.date()
    )
    start, end = date_range.bounds(now)
    return date_range, notes, start, end, now


@bp.get("/insights")
def insights() -> str:
    date_range, notes, start, end, now = _insight_period()
    report = staff_report(start, end, now)
    return render_template(
        "admin/insights.html",
        report=report,
        charts=staff_charts(report),
        date_range=date_range,
        notes=notes,
        tables=INSIGHT_TABLES,
    )


@bp.get("/insights.csv")
def insights_csv() -> Response:
    date_range, _, start, end, now = _insight_period()
    table = insight_table(request.args.get("table") or "summary", start, end, now)
    response = make_response(table_csv(table))
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="insights-{table.name}-{date_range.first_day.isoformat()}-'
        f'{date_range.last_day.isoformat()}.csv"'
    )
    return no_store(response)


# Registers the webhook pages (/admin/webhooks) on this blueprint; they live in their own module.
from portal.admin import webhook_views  # noqa: E402, F401
