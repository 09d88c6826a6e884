"""Accounts: register, sign in and out, and "my feedback" with the profile."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from portal.accounts.forms import LoginForm, ProfileForm, RegisterForm
from portal.extensions import db, limiter
from portal.services import accounts
from portal.services.errors import DomainError, EmailTaken
from portal.services.feedback import items_by_author

bp = Blueprint("accounts", __name__)


def _next_url(candidate: str | None, default: str) -> str:
    return candidate if accounts.is_safe_next(candidate) else default


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register_user(
                email=form.email.data or "",
                password=form.password.data or "",
                display_name=form.display_name.data or "",
                preferred_name=form.preferred_name.data or "",
            )
        except EmailTaken as exc:
            db.session.rollback()
            form.email.errors.append(exc.message)
        except DomainError as exc:
            db.session.rollback()
            form.display_name.errors.append(exc.message)
        else:
            db.session.commit()
            login_user(user)
            flash(f"Welcome, {user.preferred_name}. Your account is ready.", "success")
            return redirect(_next_url(request.args.get("next"), url_for("accounts.index")))
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login() -> str | Response:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated:
        return redirect(_next_url(form.next.data, url_for("board.index")))
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            # One message for every failure, so sign-in never tells whether an address exists.
            form.password.errors.append("That email and password do not match an account.")
        else:
            login_user(user, remember=bool(form.remember.data))
            flash(f"Welcome back, {user.preferred_name}.", "success")
            return redirect(_next_url(form.next.data, url_for("board.index")))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("board.index"))


@bp.route("/", methods=["GET", "POST"])
@login_required
def index() -> str | Response:
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                current_user,
                display_name=form.display_name.data or "",
                preferred_name=form.preferred_name.data or "",
            )
        except DomainError as exc:
            db.session.rollback()
            form.display_name.errors.append(exc.message)
        else:
            db.session.commit()
            flash(f"Saved. We will call you {current_user.preferred_name}.", "success")
            return redirect(url_for("accounts.index"))
    return render_template("accounts/index.html", form=form, items=items_by_author(current_user))
