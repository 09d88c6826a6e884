"""Admin-only pages: categories, people and roles, site settings, the audit log, API tokens."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp, no_store
from portal.admin.forms import BrandingForm, CategoryForm, SettingsForm, UserForm
from portal.admin.token_forms import ApiTokenForm, RevokeTokenForm
from portal.attachments.uploads import takes_images
from portal.auth import admin_required
from portal.extensions import db
from portal.i18n import language_name, languages
from portal.models import Category, Role, User
from portal.models.base import N_
from portal.services import admin as admin_service
from portal.services import api_tokens, audit, branding
from portal.services.feedback import categories
from portal.services.site import get_site_settings
from portal.unit_of_work import refusal_shown_in

# Whole sentences per role: the words around a role change with it in other languages.
ROLE_CHANGED = {
    Role.CUSTOMER: N_("%(name)s is now a customer."),
    Role.STAFF: N_("%(name)s is now staff."),
    Role.ADMIN: N_("%(name)s is now an admin."),
}
ROLE_CHANGED_AND_DEACTIVATED = {
    Role.CUSTOMER: N_("%(name)s is now a customer (deactivated)."),
    Role.STAFF: N_("%(name)s is now staff (deactivated)."),
    Role.ADMIN: N_("%(name)s is now an admin (deactivated)."),
}


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


# Categories --------------------------------------------------------------------------------


@bp.route("/categories", methods=["GET", "POST"])
@admin_required
def categories_page() -> Response | str:
    form = CategoryForm()
    status = 200
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors) as refusal:
            admin_service.save_category(current_user, None, **_category_fields(form))
            flash(_("Category \u201c%(name)s\u201d added.", name=form.name.data), "success")
            return redirect(url_for("admin.categories_page"))
        status = refusal.status
    elif request.method == "POST":
        status = 400
    return make_response(
        render_template("admin/categories.html", form=form, categories=categories()), status
    )


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
    status = 200
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors) as refusal:
            admin_service.save_category(current_user, category_id, **_category_fields(form))
            flash(_("Category saved."), "success")
            return redirect(url_for("admin.categories_page"))
        status = refusal.status
        category = db.session.get(Category, category_id) or abort(404)
    elif request.method == "POST":
        status = 400
    return make_response(
        render_template("admin/category_edit.html", form=form, category=category), status
    )


# People ------------------------------------------------------------------------------------


# The page itself, with its one form for everyone's role, is in people_views.py.


@bp.post("/users/<int:user_id>")
@admin_required
def update_user(user_id: int) -> Response:
    """One person's role and access (the page's single form saves several: save_roles)."""
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm()
    back = redirect(url_for("admin.users", q=request.form.get("q", "")))
    if not form.validate_on_submit():
        flash(_("Please choose a role."), "error")
        return back
    errors: list[str] = []
    with refusal_shown_in(errors):
        admin_service.update_user(
            current_user, user_id, role=Role(form.role.data), active=bool(form.active.data)
        )
        flash(
            _(
                (ROLE_CHANGED if user.active else ROLE_CHANGED_AND_DEACTIVATED)[user.role],
                name=user.display_name,
            ),
            "success",
        )
        return back
    # Refused: nothing changed, and the list says why (a redirect, so the unit of work would
    # commit: it has nothing left to commit after the rollback).
    flash(" ".join(errors), "error")
    return back


# Site settings and the audit log -----------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings() -> Response | str:
    current = get_site_settings()
    form = SettingsForm(obj=current if request.method == "GET" else None)
    form.offer_time_zones(current.time_zone)
    form.offer_languages(languages(), language_name)
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors):
            admin_service.update_settings(
                current_user,
                organisation_name=(form.organisation_name.data or "").strip(),
                contact_email=(form.contact_email.data or "").strip(),
                contact_phone=(form.contact_phone.data or "").strip(),
                contact_address=(form.contact_address.data or "").strip(),
                time_zone=form.time_zone.data,
                **(
                    {"default_language": form.default_language.data}
                    if form.default_language.data
                    else {}
                ),
                pre_moderation=bool(form.pre_moderation.data),
            )
            flash(_("Settings saved. They show on every page."), "success")
            return redirect(url_for("admin.settings"))
    return make_response(
        render_template(
            "admin/settings.html", form=form, branding_form=_branding_form(current, None)
        ),
        400 if request.method == "POST" else 200,
    )


def _branding_form(current: Any, formdata: Any = None) -> BrandingForm:
    form = BrandingForm(formdata=formdata)
    if formdata is None:
        form.accent_colour.data = current.accent_colour or ""
    return form


@bp.post("/settings/branding")
@takes_images  # a logo may be a photo-sized file: the pipeline keeps a small copy
@admin_required
def branding_settings() -> Response:
    """The logo and the accent colour, from the settings page's branding form."""
    form = BrandingForm()
    if form.validate_on_submit():
        with refusal_shown_in(form.accent_colour.errors):
            branding.set_accent_colour(current_user, form.accent_colour.data or "")
            upload = form.logo.data
            if form.remove_logo.data:
                branding.remove_logo(current_user)
            elif upload and upload.filename:
                with refusal_shown_in(form.logo.errors):
                    branding.set_logo(current_user, upload.read())
            if not form.logo.errors:
                flash(_("Branding saved. It shows on every page and in emails."), "success")
                return redirect(url_for("admin.settings"))
        upload = form.logo.data
        if form.accent_colour.errors and upload and upload.filename:
            # A browser cannot keep a chosen file: say that the logo was not saved either.
            form.logo.errors = [
                *form.logo.errors,
                _("Nothing was saved, the logo included: please choose it again."),
            ]
    # Refused (nothing changed): the page again, the colour as typed and why beside it.
    current = get_site_settings()
    settings_form = SettingsForm(obj=current, formdata=None)
    settings_form.offer_time_zones(current.time_zone)
    settings_form.offer_languages(languages(), language_name)
    return make_response(
        render_template("admin/settings.html", form=settings_form, branding_form=form), 400
    )


@bp.get("/audit")
@admin_required
def audit_log() -> str:
    return render_template(
        "admin/audit.html",
        page=audit.recent_entries(_page_number()),
        action_label=audit.action_label,
    )


# API tokens --------------------------------------------------------------------------------


@bp.route("/tokens", methods=["GET", "POST"])
@admin_required
def tokens() -> Response:
    form = ApiTokenForm()
    new_token: str | None = None
    status = 200
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors) as refusal:
            created = api_tokens.create_token(
                current_user, name=form.name.data or "", scope=form.scope.data or ""
            )
            # Shown in this response only: never flashed, as the session cookie is not secret.
            new_token = created.plain
            form = ApiTokenForm(formdata=None)
        status = refusal.status
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
    flash(
        _(
            "\u201c%(name)s\u201d (%(prefix)s\u2026) is revoked.",
            name=token.name,
            prefix=token.prefix,
        ),
        "success",
    )
    return redirect(url_for("admin.tokens"))
