"""The admin's sign-in page (/admin/sign-in): the identity providers people may sign in
through (those from the environment shown as they are set, the admin's own added, changed,
disabled and enabled here) and the sign-in policy. Admins only; the rules live in
portal/services/identity_providers.py and portal/services/sign_in_policy.py."""

from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp, no_store
from portal.admin.sign_in_forms import (
    PolicyForm,
    ProviderActionForm,
    ProviderChangeForm,
    ProviderForm,
)
from portal.auth import admin_required
from portal.database import reads_first
from portal.models import IdentityProvider
from portal.services import identity_providers, sign_in_policy
from portal.unit_of_work import refusal_shown_in


def redirect_uri(key: str) -> str:
    """The address to register at the provider: where it sends people back to."""
    base = str(current_app.config.get("PORTAL_BASE_URL") or "").rstrip("/")
    return f"{base}/sign-in/{key}/callback"


def _policy_form(formdata: bool = True) -> PolicyForm:
    policy = sign_in_policy.current_policy()
    form = (
        PolicyForm()
        if formdata
        else PolicyForm(
            formdata=None,
            staff_provider=policy.staff_provider.key if policy.staff_provider else "",
            customer_passwords="yes" if policy.customer_passwords else "no",
        )
    )
    choices = [("", _("Any way they have: password, email link or a provider"))]
    choices += [(p.key, p.name) for p in identity_providers.enabled_providers()]
    form.staff_provider.choices = choices
    return form


def _render(
    *,
    provider_form: ProviderForm | None = None,
    policy_form: PolicyForm | None = None,
    status: int = 200,
) -> Response:
    policy = sign_in_policy.current_policy()
    needing = (
        sign_in_policy.admins_without_identity(policy.staff_provider.key)
        if policy.staff_provider
        else []
    )
    response = make_response(
        render_template(
            "admin/sign_in.html",
            environment_providers=identity_providers.environment_providers(),
            rows=identity_providers.provider_rows(),
            provider_form=provider_form or ProviderForm(formdata=None),
            policy_form=policy_form or _policy_form(formdata=False),
            action_form=ProviderActionForm(formdata=None),
            policy=policy,
            admins_needing_identity=needing,
            redirect_uri=redirect_uri,
        ),
        status,
    )
    return no_store(response)


@bp.get("/sign-in")
@admin_required
def sign_in_page() -> Response:
    return _render()


# Saving asks the provider for its discovery document: on SQLite these begin as readers, and
# the service takes the write lock after the fetch (portal.database.reads_first).
@bp.post("/sign-in/providers")
@reads_first
@admin_required
def add_provider() -> Response:
    form = ProviderForm()
    if not form.validate_on_submit():
        return _render(provider_form=form, status=400)
    with refusal_shown_in(form.form_errors) as refusal:
        provider = identity_providers.create_provider(
            current_user,
            key=form.key.data or "",
            name=form.name.data or "",
            kind=form.kind.data or "",
            discovery_url=form.discovery_url.data or "",
            client_id=form.client_id.data or "",
            client_secret=form.client_secret.data or "",
            scopes=form.scopes.data or "",
        )
        flash(
            _(
                "%(name)s is added. Register this redirect URI at the provider: %(uri)s",
                name=provider.name,
                uri=redirect_uri(provider.key),
            ),
            "success",
        )
        return redirect(url_for("admin.sign_in_page", _anchor="providers"))
    return _render(provider_form=form, status=refusal.status)


def _change_form(provider: IdentityProvider) -> ProviderChangeForm:
    form = ProviderChangeForm(formdata=None, obj=provider)
    form.client_secret.data = ""  # never put in a page: empty keeps it
    form.discovery_url.data = provider.discovery_url or ""
    return form


def _render_provider(
    provider: IdentityProvider, form: ProviderChangeForm | None = None, status: int = 200
) -> Response:
    response = make_response(
        render_template(
            "admin/sign_in_provider.html",
            provider=provider,
            form=form or _change_form(provider),
            action_form=ProviderActionForm(formdata=None),
            redirect_uri=redirect_uri(provider.key),
        ),
        status,
    )
    return no_store(response)


@bp.get("/sign-in/providers/<int:provider_id>")
@admin_required
def provider_page(provider_id: int) -> Response:
    return _render_provider(identity_providers.get_provider_row(provider_id))


@bp.post("/sign-in/providers/<int:provider_id>")
@reads_first
@admin_required
def change_provider(provider_id: int) -> Response:
    provider = identity_providers.get_provider_row(provider_id)
    form = ProviderChangeForm()
    if not form.validate_on_submit():
        return _render_provider(provider, form, status=400)
    with refusal_shown_in(form.form_errors) as refusal:
        identity_providers.update_provider(
            current_user,
            provider_id,
            name=form.name.data or "",
            kind=form.kind.data or "",
            discovery_url=form.discovery_url.data or "",
            client_id=form.client_id.data or "",
            client_secret=form.client_secret.data or "",
            scopes=form.scopes.data or "",
        )
        flash(_("Saved: %(name)s.", name=form.name.data), "success")
        return redirect(url_for("admin.sign_in_page", _anchor="providers"))
    # The refusal rolled back: the row is loaded again for the page, the form keeps the typing.
    return _render_provider(
        identity_providers.get_provider_row(provider_id), form, status=refusal.status
    )


@bp.post("/sign-in/providers/<int:provider_id>/enabled")
@admin_required
def toggle_provider(provider_id: int) -> Response:
    provider = identity_providers.get_provider_row(provider_id)
    if not ProviderActionForm().validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("admin.sign_in_page", _anchor="providers"))
    refused: list[str] = []
    with refusal_shown_in(refused):
        changed = identity_providers.set_provider_enabled(
            current_user, provider_id, not provider.enabled
        )
        if changed.enabled:
            flash(_("%(name)s is enabled: its button is back.", name=changed.name), "success")
        else:
            flash(
                _(
                    "%(name)s is disabled: nobody signs in through it now. Linked identities "
                    "stay, for when it is enabled again.",
                    name=changed.name,
                ),
                "success",
            )
    for message in refused:
        flash(message, "error")
    return redirect(url_for("admin.sign_in_page", _anchor="providers"))


@bp.post("/sign-in/policy")
@admin_required
def save_sign_in_policy() -> Response:
    form = _policy_form()
    if not form.validate_on_submit():
        return _render(policy_form=form, status=400)
    with refusal_shown_in(form.form_errors) as refusal:
        policy = sign_in_policy.set_policy(
            current_user,
            staff_provider=form.staff_provider.data or None,
            customer_passwords=form.customer_passwords.data == "yes",
        )
        flash(_("The sign-in policy is saved."), "success")
        if policy.staff_provider is not None:
            needing = sign_in_policy.admins_without_identity(policy.staff_provider.key)
            if needing:
                flash(
                    _(
                        "These admins have no identity at %(provider)s linked yet and will "
                        "need one to sign in: %(names)s.",
                        provider=policy.staff_provider.name,
                        names=", ".join(f"{u.display_name} ({u.email})" for u in needing),
                    ),
                    "warn",
                )
        return redirect(url_for("admin.sign_in_page", _anchor="policy"))
    return _render(policy_form=form, status=refusal.status)
