"""The portal: a customer-feedback site with a public "You said, we did" board."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import FunctionType, MethodType
from typing import Any

from flask import Flask, current_app, has_app_context
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import CONFIGS, database_url, instance_secret_key, weak_secret
from portal.i18n import offer_languages
from portal.logging_setup import configure_logging
from portal.services import environment
from portal.services.environment import Environment, Settings

ENVIRONMENT_KEY = "portal.environment"

PACKAGE_DIR = Path(__file__).resolve().parent


def _resource_dir(name: str) -> str:
    """Find templates/, static/ or migrations/: beside the package in a checkout, inside it
    when installed from a wheel."""
    inside = PACKAGE_DIR / name
    return str(inside if inside.is_dir() else PACKAGE_DIR.parent / name)


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error handlers and CLI."""
    config_name = config_name or os.environ.get("PORTAL_ENV", "development")
    app = Flask(
        __name__,
        instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=_resource_dir("templates"),
        static_folder=_resource_dir("static"),
    )
    app.config.from_object(CONFIGS[config_name])
    if overrides:
        app.config.update(overrides)
    _resolve_secrets_and_database(app, config_name)
    _check_identity_providers(app)
    configure_logging(app)

    offer_languages(app)
    register_environment(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_cli(app)
    keep_sync_functions(app)
    if app.config.get("PROXY_FIX_HOPS"):
        # Outermost, so everything inside (the page cache's middleware too) sees the
        # client's scheme and host.
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )
    return app


def _resolve_secrets_and_database(app: Flask, config_name: str) -> None:
    instance_dir = Path(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        if config_name == "production":
            raise RuntimeError(
                "SECRET_KEY must be set in the environment in production; "
                "every app process must share the same key."
            )
        app.config["SECRET_KEY"] = instance_secret_key(instance_dir)
    elif config_name == "production" and weak_secret(app.config["SECRET_KEY"]):
        raise RuntimeError(
            "SECRET_KEY is too weak for production: use at least 32 random characters, "
            "for example from: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if config_name == "production":
        _refuse_a_plain_http_base_url(app)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance_dir.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url(
            app.config.get("DATABASE_URL"), instance_dir
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A file cannot drop the connection the way a server can: pinging it before every
        # request is a statement for nothing.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
            "pool_pre_ping": False,
        }


def _check_identity_providers(app: Flask) -> None:
    """A PORTAL_IDENTITY_PROVIDERS that cannot be read stops start-up with what is wrong, so
    it is said to the operator now, not to a person at sign-in."""
    from portal.services.identity_providers import check_environment

    check_environment(str(app.config.get("PORTAL_IDENTITY_PROVIDERS") or ""))


def _refuse_a_plain_http_base_url(app: Flask) -> None:
    """Production links (emails, feeds, HSTS) follow PORTAL_BASE_URL: an http address, or the
    http default left unset, would send people to the site unencrypted."""
    base_url = str(app.config.get("PORTAL_BASE_URL") or "")
    if base_url.lower().startswith("https://") or app.config.get("PORTAL_ALLOW_HTTP"):
        return
    raise RuntimeError(
        f"PORTAL_BASE_URL must be the site's public https:// address in production "
        f"(it is {base_url!r}). If plain http is on purpose (a benchmark or a test on "
        "loopback), set PORTAL_ALLOW_HTTP=1."
    )


def register_environment(app: Flask) -> None:
    """What the services see of this app: its settings as one typed object, built once from
    the finished config, the edge's email presenter and mail transport, and its log."""
    from portal.emails import JinjaPresenter
    from portal.mail import MailmanMailer

    app.extensions[ENVIRONMENT_KEY] = Environment(
        settings=Settings.from_config(app.config),
        presenter=JinjaPresenter(app),
        mailer=MailmanMailer(app),
        log=app.logger,
    )
    environment.find_current_with(_current_environment)


def _current_environment() -> Environment | None:
    """The environment of the app whose context is pushed, for services (which know no
    Flask): each app's own, however many apps a process has made."""
    if not has_app_context():
        return None
    found: Environment = current_app.extensions[ENVIRONMENT_KEY]
    return found


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions to this app."""
    from portal import (
        cache,
        models,  # noqa: F401  (registers every table on the metadata)
    )
    from portal.auth import configure_login
    from portal.database import configure_engine
    from portal.extensions import csrf, db, htmx, limiter, migrate
    from portal.i18n import init_app as configure_languages
    from portal.mail import configure_mail
    from portal.outbox_worker import start_outbox_worker
    from portal.services import consumers  # noqa: F401  (connects what follows each change)

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=_resource_dir("migrations"), render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    configure_login(app)
    configure_mail(app)
    configure_languages(app)
    cache.init_app(app)
    start_outbox_worker(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature."""
    from portal.validation import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    from portal.accounts import (
        link_views,  # noqa: F401  (its routes join accounts' blueprint)
        updates_views,  # noqa: F401  (its route joins accounts' blueprint)
    )
    from portal.accounts.provider_views import bp as providers_bp
    from portal.accounts.sso_views import bp as sso_bp
    from portal.accounts.views import bp as accounts_bp
    from portal.admin.views import bp as admin_bp
    from portal.api.views import bp as api_bp
    from portal.attachments.views import bp as attachments_bp
    from portal.board.views import bp as board_bp
    from portal.digests.views import bp as digests_bp
    from portal.feedback import edit_views  # noqa: F401  (its routes join feedback's blueprint)
    from portal.feedback.views import bp as feedback_bp
    from portal.feeds.views import bp as feeds_bp
    from portal.insights.views import bp as insights_bp
    from portal.languages.views import bp as languages_bp
    from portal.main.views import bp as main_bp
    from portal.notifications.views import bp as notifications_bp
    from portal.resolutions.views import bp as resolutions_bp
    from portal.roadmap.views import bp as roadmap_bp
    from portal.widget.views import bp as widget_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(languages_bp)
    app.register_blueprint(board_bp)
    app.register_blueprint(feedback_bp, url_prefix="/feedback")
    app.register_blueprint(accounts_bp, url_prefix="/account")
    app.register_blueprint(sso_bp)
    app.register_blueprint(providers_bp)
    app.register_blueprint(resolutions_bp)
    app.register_blueprint(roadmap_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(notifications_bp)
    app.register_blueprint(digests_bp)
    app.register_blueprint(insights_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(attachments_bp)
    app.register_blueprint(widget_bp, url_prefix="/widget")

    from portal.security import exempt_from_csrf

    exempt_from_csrf(app)


def register_errorhandlers(app: Flask) -> None:
    """Error pages in the site's look, and domain errors turned into 4xx answers."""
    from portal.errors import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    """Per-request transaction mode, the security headers every response carries, the page
    cache for visitors (it looks up after the other hooks ran, and keeps a page before they
    add their per-request headers) and the unit of work that commits each request once."""
    from portal import page_cache, unit_of_work
    from portal.attachments import uploads
    from portal.security import register

    register(app)
    # Forms with images may be larger than MAX_CONTENT_LENGTH (portal/attachments/uploads.py).
    uploads.init_app(app)
    page_cache.init_app(app)
    # Last registered, first run: the commit happens before the other hooks see the answer,
    # so a commit that fails is answered by the error handlers like any other error.
    unit_of_work.init_app(app)


FUNCTIONS_KEPT = 1024
# Functions and bound methods (Flask-Login's hooks); anything else (a partial) is asked each time.
KEPT_TYPES = (FunctionType, MethodType)


def keep_sync_functions(app: Flask) -> None:
    """Flask asks ensure_sync of every hook and view on every request (about twenty times),
    and each answer looks at the function's code flags again: the answer for a function or
    bound method is kept (a bounded number: after_this_request makes closures per request).
    """
    ask = app.ensure_sync
    kept: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(func: Callable[..., Any]) -> Callable[..., Any]:
        found = kept.get(func) if type(func) in KEPT_TYPES else None
        if found is None:
            found = ask(func)
            if type(func) in KEPT_TYPES:
                if len(kept) >= FUNCTIONS_KEPT:  # closures made per request (after_this_request)
                    kept.clear()
                kept[func] = found
        return found

    app.ensure_sync = ensure_sync  # type: ignore[method-assign]


def register_template_helpers(app: Flask) -> None:
    """Jinja filters and globals: local time, site settings, state labels."""
    from portal.templating import register

    register(app)


def register_cli(app: Flask) -> None:
    """Thin click commands over the services."""
    from portal.cli import register

    register(app)
