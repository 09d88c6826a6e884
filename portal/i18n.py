"""Languages: which one a request is answered in, the translation catalogs, and the switcher.

The order a language is chosen in (docs/design.md, "Languages"): the person's saved
preference, then the `lang` cookie the switcher sets, then the browser's Accept-Language, then
the site's default (an admin setting). Only languages with a catalog in portal/translations
are offered, and English, the language the words are written in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import Babel, get_locale
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie

from portal.services.site import SOURCE_LANGUAGE
from portal.templating import current_settings

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


def site_language(offered: tuple[str, ...]) -> str:
    """The site's default language, when it is one on offer."""
    chosen = current_settings().default_language
    return chosen if chosen in offered else SOURCE_LANGUAGE


def current_language() -> str:
    """The language this request is answered in, as a code for `lang` ("en", "pt-BR")."""
    locale = get_locale()
    return str(locale or SOURCE_LANGUAGE).replace("_", "-")


def text_direction() -> str:
    """ "rtl" for a language written right to left, otherwise "ltr"."""
    return "rtl" if current_language().split("-")[0] in RIGHT_TO_LEFT else "ltr"


def language_name(code: str) -> str:
    """A language's name in that language ("Deutsch", "español"), for the switcher."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return code
    return (name or code)[:1].upper() + (name or code)[1:]


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
    babel.init_app(app, locale_selector=select_language)
    if len(app.config["PORTAL_LANGUAGES"]) > 1:
        app.after_request(_vary_by_language)
    app.jinja_env.globals.update(
        current_language=current_language,
        text_direction=text_direction,
        offered_languages=languages,
        language_name=language_name,
    )
