"""Languages: which one a request is answered in, the translation catalogs, and the switcher.

The order a language is chosen in (docs/design.md, "Languages"): the person's saved
preference, then the `lang` cookie the switcher sets, then the browser's Accept-Language, then
the site's default (an admin setting). Only languages with a catalog in portal/translations
are offered, and English, the language the words are written in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from numbers import Number
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, Request, Response, current_app, has_request_context, request
from flask.globals import _cv_app
from flask_babel import Babel, get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie
from wtforms.i18n import messages_path

from portal.services.site import SOURCE_LANGUAGE
from portal.site_settings import current_settings

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Written right to left: the page says dir="rtl" and the CSS mirrors by its logical properties.
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur", "yi"})

babel = Babel()


def catalog_languages(directory: Path = TRANSLATIONS_DIR) -> tuple[str, ...]:
    """The languages a catalog exists for, English (the source) first."""
    found = sorted(path.parent.parent.name for path in directory.glob("*/LC_MESSAGES/messages.po"))
    return (SOURCE_LANGUAGE, *(code for code in found if code != SOURCE_LANGUAGE))


def compile_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile each catalog whose .mo is missing or older than its .po; the ones compiled.

    Run at start, so `make run` needs no build step: the .mo files are not in the repository.
    A catalog that cannot be written (a read-only install) is left as it is."""
    compiled = []
    for po_path in directory.glob("*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        try:
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
        except OSError:
            continue
        compiled.append(mo_path)
    return compiled


def languages() -> tuple[str, ...]:
    """The languages this app offers."""
    return current_app.config["PORTAL_LANGUAGES"]  # type: ignore[no-any-return]


@lru_cache(maxsize=512)
def negotiate(cookie: str | None, accept_language: str | None, offered: tuple[str, ...]) -> str:
    """The language a visitor's browser asks for: the switcher's cookie, then Accept-Language;
    "" when neither names an offered one (the site's default then answers)."""
    if cookie in offered:
        return cookie
    if accept_language:
        accepted = parse_accept_header(accept_language, LanguageAccept)
        return accepted.best_match(offered) or ""
    return ""


def visitor_language(environ: dict[str, object], offered: tuple[str, ...]) -> str:
    """negotiate() from a WSGI environ: the page cache keys a visitor's page on it."""
    cookies = str(environ.get("HTTP_COOKIE") or "")
    cookie = parse_cookie(cookies).get(LANGUAGE_COOKIE) if LANGUAGE_COOKIE in cookies else None
    accept = environ.get("HTTP_ACCEPT_LANGUAGE")
    return negotiate(cookie, str(accept) if accept else None, offered)


def select_language() -> str:
    """Flask-Babel's locale selector: the person's preference, the cookie, the browser, the
    site's default, in that order."""
    offered = languages()
    if not has_request_context():
        # A CLI command or the outbox worker: emails choose their reader's with force_locale.
        return site_language(offered)
    if request.path.startswith("/api/"):
        # A program calls the API: it says its language in each request. Cookies (a browser's
        # switcher, a signed-in session) are not the API's, and a token belongs to a system,
        # not to the admin who made it.
        asked = negotiate(None, request.headers.get("Accept-Language"), offered)
        return asked or site_language(offered)
    if current_user and current_user.is_authenticated:
        preferred = getattr(current_user, "language", None)
        if preferred in offered:
            return str(preferred)
    asked = negotiate(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("Accept-Language"), offered
    )
    return asked or site_language(offered)


@lru_cache(maxsize=64)
def _locale_named(code: str) -> Locale:
    # One Locale object per language: Flask-Babel keeps a Locale it is given as it is (it parses
    # a code again on every request), so the dates kept per locale (portal.templating) find
    # theirs by identity rather than by Locale.__eq__.
    return Locale.parse(code)


def _selected_locale() -> Locale:
    """select_language(), as the one Locale object of that language."""
    return _locale_named(select_language())


def site_language(offered: tuple[str, ...]) -> str:
    """The site's default language, when it is one on offer."""
    chosen = current_settings().default_language
    return chosen if chosen in offered else SOURCE_LANGUAGE


# --- The catalog of the language being written, looked up once -----------------------------
# Flask-Babel's gettext looks up the app context, its locale and its catalog cache again for
# every word (about nine context lookups, and str() of the Locale, per word; a page has a
# hundred words). These keep what Flask-Babel chose in its own per-request namespace
# (g._flask_babel), next to the locale they belong to: force_locale (an email in its reader's
# language) and refresh() replace that locale object, and the catalog is looked up again.


def _babel_namespace() -> Any:
    # Flask-Babel's per-app-context namespace (g._flask_babel), or None outside an app context.
    app_ctx = _cv_app.get(None)
    if app_ctx is None:
        return None
    return app_ctx.g.__dict__.get("_flask_babel")


def locale() -> Locale | None:
    """Flask-Babel's get_locale(), without its lookups once the request's is chosen."""
    namespace = _babel_namespace()
    if namespace is not None:
        chosen = namespace.__dict__.get("babel_locale")
        if chosen is not None:
            return chosen  # type: ignore[no-any-return]
    selected: Locale | None = get_locale()
    return selected


def translations() -> NullTranslations:
    """The catalog of the language being written (Flask-Babel's get_translations()), looked up
    once per request and language."""
    namespace = _babel_namespace()
    if namespace is not None:
        kept = namespace.__dict__.get("portal_translations")
        if kept is not None and kept[0] is namespace.__dict__.get("babel_locale"):
            return kept[1]  # type: ignore[no-any-return]
    found: NullTranslations = get_translations()
    namespace = _babel_namespace()
    if namespace is not None and namespace.__dict__.get("babel_locale") is not None:
        namespace.portal_translations = (namespace.babel_locale, found)
    return found


def gettext(message: str, **values: Any) -> str:
    """Flask-Babel's gettext (values %-formatted when there are any), through translations()."""
    translated: str = translations().ugettext(message)
    return translated % values if values else translated


def ngettext(singular: str, plural: str, num: int, **values: Any) -> str:
    """Flask-Babel's ngettext (`num` among the values), through translations()."""
    values.setdefault("num", num)
    translated: str = translations().ungettext(singular, plural, num)
    return translated % values


# Jinja's new-style gettext (jinja2.ext._make_new_gettext), without its Context.call: the
# message is always a format string, and the values are escaped when the template autoescapes.
def _escaped(values: dict[str, Any]) -> dict[str, Any]:
    # What Markup's % does to each value (markupsafe's _MarkupEscapeHelper), without a helper
    # object per value and per lookup: a number stays a number (for %d), anything else is
    # escaped (or gives its own __html__). A board card's vote label is formatted so.
    return {
        name: value if isinstance(value, Number) else escape(value)
        for name, value in values.items()
    }


@pass_context
def _template_gettext(context: Context, message: str, /, **values: Any) -> str:
    translated = translations().ugettext(message)
    if context.eval_ctx.autoescape:
        if not values and "%" not in translated:
            # What Markup(translated) % {} gives, without formatting nothing (most words).
            return Markup(translated)
        return Markup(translated % _escaped(values))
    return translated % values


def markup_gettext(message: str) -> Markup:
    """What `{{ _(message) }}` gives in an autoescaping template, for words a page makes once
    and shows many times (the board's state and kind labels)."""
    translated = translations().ugettext(message)
    return Markup(translated) if "%" not in translated else Markup(translated) % {}


@pass_context
def _template_ngettext(
    context: Context, singular: str, plural: str, num: int, /, **values: Any
) -> str:
    values.setdefault("num", num)
    translated = translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        return Markup(translated % _escaped(values))
    return translated % values


def current_language() -> str:
    """The language this request is answered in, as a code for `lang` ("en", "pt-BR")."""
    chosen = locale()
    return SOURCE_LANGUAGE if chosen is None else _language_tag(chosen)


@lru_cache(maxsize=64)
def _language_tag(chosen: Locale) -> str:
    # A page asks several times (its lang, its direction, the switcher's entries, the items'
    # languages): str(Locale) builds the identifier again each time.
    return str(chosen).replace("_", "-")


def text_direction() -> str:
    """ "rtl" for a language written right to left, otherwise "ltr"."""
    return "rtl" if current_language().split("-")[0] in RIGHT_TO_LEFT else "ltr"


@lru_cache(maxsize=256)
def language_name(code: str) -> str:
    """A language's name in that language ("Deutsch", "español"), for the switcher (kept:
    every page's footer names each language offered)."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return code
    return (name or code)[:1].upper() + (name or code)[1:]


@dataclass(frozen=True)
class WrittenIn:
    """The language people's words are written in, when it is not the page's: for their
    elements' `lang` and `dir`, and a label naming it in the page's language."""

    code: str  # a language tag, as `lang` takes it ("es", "pt-BR")
    name: str  # its name in the page's language ("Spanish", "español")
    direction: str  # "rtl" or "ltr"


@lru_cache(maxsize=256)
def _written_in(code: str, page: str) -> WrittenIn | None:
    if code.split("-")[0].casefold() == page.split("-")[0].casefold():
        return None
    try:
        names: Mapping[str, str] = _locale_named(page.replace("-", "_")).languages
    except (ValueError, UnknownLocaleError):
        names = {}
    name = names.get(code.replace("-", "_")) or names.get(code.split("-")[0]) or code
    direction = "rtl" if code.split("-")[0] in RIGHT_TO_LEFT else "ltr"
    return WrittenIn(code=code, name=name, direction=direction)


def written_in(language: str | None) -> WrittenIn | None:
    """An item's language (Feedback.language; None: unknown, read as the site's default),
    when it differs from the page's; None when they are the same."""
    return written_in_page(language, page_languages())


@dataclass(frozen=True)
class PageLanguages:
    """The page's language and the site's default (what an item of unknown language is read
    as), found once for a page that names many items' languages."""

    page: str
    default: str


def page_languages() -> PageLanguages:
    """This request's PageLanguages."""
    return PageLanguages(page=current_language(), default=site_language(languages()))


def written_in_page(language: str | None, languages: PageLanguages) -> WrittenIn | None:
    """written_in() with the page's languages found once."""
    return _written_in((language or languages.default).replace("_", "-"), languages.page)


@lru_cache(maxsize=64)
def _wtforms_catalog(chosen: Locale | None) -> NullTranslations:
    # As Flask-WTF asks it (None, outside a request's language, finds no catalog).
    return Translations.load(messages_path(), [chosen], domain="wtforms")  # type: ignore[list-item]


class LanguageRequest(Request):
    """The app's request: Flask-WTF takes WTForms' own messages (“This field is required.”)
    from `request.wtforms_translations`, and loaded the catalog from disk again for every
    request that made a form (a signed-in item page makes two). This gives it the catalog of
    the request's language, loaded once per process. (The app's request class,
    attachments.uploads.PortalRequest, is one.)"""

    @property
    def wtforms_translations(self) -> NullTranslations:
        return _wtforms_catalog(get_locale())


def offer_languages(app: Flask) -> None:
    """Compile the catalogs and offer the languages that have one (PORTAL_LANGUAGES, which
    the services' settings carry). Runs before the services' environment is built."""
    directory = Path(app.config.get("PORTAL_TRANSLATIONS_DIR") or TRANSLATIONS_DIR)
    compile_catalogs(directory)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    app.config["PORTAL_LANGUAGES"] = catalog_languages(directory)


def _vary_by_language(response: Response) -> Response:
    # A page's words depend on the browser's languages, and so do the API's messages and its
    # OpenAPI document: shared caches must keep them apart.
    if response.mimetype == "text/html" or request.path.startswith("/api/"):
        response.vary.add("Accept-Language")
    return response


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the portal's choice of language, and give templates its names."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", SOURCE_LANGUAGE)
    babel.init_app(app, locale_selector=_selected_locale)
    if len(app.config["PORTAL_LANGUAGES"]) > 1:
        app.after_request(_vary_by_language)
    # Flask-Babel installed its gettext callables (and Jinja `_` as an alias resolving
    # `gettext` on every call): the same, through the catalog looked up once.
    app.jinja_env.globals.update(
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        _=_template_gettext,
        current_language=current_language,
        text_direction=text_direction,
        offered_languages=languages,
        language_name=language_name,
        written_in=written_in,
    )
