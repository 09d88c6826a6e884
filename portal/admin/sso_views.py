"""The admin's single sign-on page (/admin/sso): turn it on with a shared secret (shown once,
with code to sign tokens in Python and Node), a public key, or the URL of the organisation's
key set (JWKS). Admins only; the rules live in
portal/services/sso.py."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp, no_store
from portal.admin.sso_forms import SsoJwksForm, SsoPublicKeyForm, SsoSecretForm
from portal.auth import admin_required
from portal.services import sso
from portal.unit_of_work import refusal_shown_in


def _render(
    *,
    secret_form: SsoSecretForm | None = None,
    key_form: SsoPublicKeyForm | None = None,
    jwks_form: SsoJwksForm | None = None,
    new_secret: str | None = None,
    status: int = 200,
) -> Response:
    settings = sso.current_settings()
    audience = settings.audience if settings else request.host_url.rstrip("/")
    response = make_response(
        render_template(
            "admin/sso.html",
            settings=settings,
            secret_form=secret_form or SsoSecretForm(formdata=None, audience=audience),
            key_form=key_form or SsoPublicKeyForm(formdata=None, audience=audience),
            jwks_form=jwks_form or SsoJwksForm(formdata=None, audience=audience),
            new_secret=new_secret,
            sso_url=url_for("sso.sign_in", _external=True),
            lifetime_minutes=int(sso.LONGEST_LIFETIME.total_seconds() // 60),
        ),
        status,
    )
    return no_store(response)


@bp.get("/sso")
@admin_required
def sso_page() -> Response:
    return _render()


@bp.post("/sso/secret")
@admin_required
def sso_secret() -> Response:
    form = SsoSecretForm()
    if not form.validate_on_submit():
        return _render(secret_form=form, status=400)
    with refusal_shown_in(form.form_errors) as refusal:
        made = sso.use_shared_secret(current_user, audience=form.audience.data or "")
        # Shown in this response only: never flashed, as the session cookie is not secret.
        return _render(new_secret=made.secret, status=201)
    return _render(secret_form=form, status=refusal.status)


@bp.post("/sso/key")
@admin_required
def sso_key() -> Response:
    form = SsoPublicKeyForm()
    if not form.validate_on_submit():
        return _render(key_form=form, status=400)
    with refusal_shown_in(form.form_errors) as refusal:
        sso.use_public_key(
            current_user,
            algorithm=sso.SsoAlgorithm(form.algorithm.data),
            public_key=form.public_key.data or "",
            audience=form.audience.data or "",
        )
        flash(_("Single sign-on now checks tokens with that public key."), "success")
        return redirect(url_for("admin.sso_page"))
    return _render(key_form=form, status=refusal.status)


@bp.post("/sso/jwks")
@admin_required
def sso_jwks() -> Response:
    form = SsoJwksForm()
    if not form.validate_on_submit():
        return _render(jwks_form=form, status=400)
    with refusal_shown_in(form.form_errors) as refusal:
        sso.use_jwks_url(
            current_user,
            algorithm=sso.SsoAlgorithm(form.algorithm.data),
            jwks_url=form.jwks_url.data or "",
            audience=form.audience.data or "",
        )
        flash(
            _("Single sign-on now checks tokens with the keys your organisation publishes."),
            "success",
        )
        return redirect(url_for("admin.sso_page"))
    return _render(jwks_form=form, status=refusal.status)
