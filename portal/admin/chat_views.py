"""Admin pages for chat notifications (/admin/chat): add, change and remove Slack, Microsoft
Teams and Discord channels, choose their events and categories, send a test. Admins only; the
rules live in portal/services/chat.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp, no_store
from portal.admin.chat_forms import ChatActionForm, ChatChannelForm, ChatDeleteForm, form_for
from portal.auth import admin_required
from portal.extensions import htmx
from portal.models import CHAT_EVENTS, ChatChannel, ChatMessage, ChatMessageStatus
from portal.services import chat, environment
from portal.services.site import categories
from portal.unit_of_work import refusal_shown_in


def _save(form: ChatChannelForm, channel_id: int | None = None) -> ChatChannel:
    """The form's values, as the chat service's command takes them."""
    name, kind, url = form.name.data or "", form.kind.data or "", form.url.data or ""
    events: list[str] = form.events.data or []
    all_categories = form.scope.data != "chosen"
    category_ids: list[int] = form.categories.data or []
    if channel_id is None:
        return chat.create_channel(
            current_user,
            name=name,
            kind=kind,
            url=url,
            events=events,
            all_categories=all_categories,
            category_ids=category_ids,
        )
    return chat.change_channel(
        current_user,
        channel_id,
        name=name,
        kind=kind,
        url=url,
        events=events,
        all_categories=all_categories,
        category_ids=category_ids,
        active=bool(form.active.data),
    )


@bp.route("/chat", methods=["GET", "POST"])
@admin_required
def chat_page() -> Response:
    form = ChatChannelForm().offer(categories())
    status = 200
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors) as refusal:
            channel = _save(form)
            flash(
                _(
                    "%(name)s is added. Send a test to see a message arrive.",
                    name=channel.name,
                ),
                "success",
            )
            return redirect(url_for("admin.chat_channel", channel_id=channel.id))
        status = refusal.status
    elif form.is_submitted():
        status = 400
    response = make_response(
        render_template(
            "admin/chat.html",
            form=form,
            channels=chat.list_channels(),
            mask=chat.mask_url,
            event_labels={e.value: e.label for e in CHAT_EVENTS},
            config_allows_http=environment.current().settings.webhook_allow_http,
        ),
        status,
    )
    return no_store(response)


def _render_channel(
    channel: ChatChannel,
    *,
    form: ChatChannelForm | None = None,
    delete_form: ChatDeleteForm | None = None,
    status: int = 200,
) -> Response:
    response = make_response(
        render_template(
            "admin/chat_channel.html",
            channel=channel,
            masked_url=chat.mask_url(channel.url),
            form=form or ChatChannelForm(formdata=None, data=form_for(channel)).offer(categories()),
            delete_form=delete_form or ChatDeleteForm(formdata=None),
            action_form=ChatActionForm(formdata=None),
            messages=chat.recent_messages(channel),
            config_allows_http=environment.current().settings.webhook_allow_http,
        ),
        status,
    )
    return no_store(response)


@bp.route("/chat/<int:channel_id>", methods=["GET", "POST"])
@admin_required
def chat_channel(channel_id: int) -> Response:
    channel = chat.get_channel(channel_id)
    form = ChatChannelForm().offer(categories())
    if not form.is_submitted():
        return _render_channel(channel)
    if not form.validate():
        return _render_channel(channel, form=form, status=400)
    with refusal_shown_in(form.form_errors) as refusal:
        _save(form, channel_id)
        flash(_("Saved."), "success")
        return redirect(url_for("admin.chat_channel", channel_id=channel_id))
    return _render_channel(chat.get_channel(channel_id), form=form, status=refusal.status)


# How long the page follows a test message: with the outbox thread on, it has long arrived;
# where only cron delivers, the page stops asking and says so.
FOLLOW_TEST_FOR = timedelta(seconds=60)


def _test_result(channel: ChatChannel, message: ChatMessage) -> Response:
    unsettled = message.status in (ChatMessageStatus.PENDING, ChatMessageStatus.SENDING)
    response = make_response(
        render_template(
            "admin/_chat_test.html",
            channel=channel,
            message=message,
            follow=unsettled and datetime.now(UTC) - message.created_at < FOLLOW_TEST_FOR,
        )
    )
    response.headers["Vary"] = "HX-Request"
    return no_store(response)


@bp.post("/chat/<int:channel_id>/test")
@admin_required
def chat_test(channel_id: int) -> Response:
    if not ChatActionForm().validate_on_submit():
        abort(400)
    message = chat.send_test(current_user, channel_id)
    if htmx:
        return _test_result(chat.get_channel(channel_id), message)
    flash(
        _("A test message is queued; whether it arrived shows under \u201cLatest messages\u201d."),
        "success",
    )
    return redirect(url_for("admin.chat_channel", channel_id=channel_id, _anchor="messages"))


@bp.get("/chat/<int:channel_id>/messages/<int:message_id>")
@admin_required
def chat_message(channel_id: int, message_id: int) -> Response:
    """How a message fared: the test's result, polled in place by htmx."""
    channel = chat.get_channel(channel_id)
    message = chat.get_message(channel_id, message_id)
    if htmx:
        return _test_result(channel, message)
    return redirect(url_for("admin.chat_channel", channel_id=channel_id, _anchor="messages"))


@bp.post("/chat/<int:channel_id>/delete")
@admin_required
def chat_delete(channel_id: int) -> Response:
    channel = chat.get_channel(channel_id)
    form = ChatDeleteForm()
    if not form.validate_on_submit():
        return _render_channel(channel, delete_form=form, status=400)
    chat.delete_channel(current_user, channel_id)
    flash(_("%(name)s is removed: nothing more is sent to it.", name=channel.name), "success")
    return redirect(url_for("admin.chat_page"))
