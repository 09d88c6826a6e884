"""The catalog and the dates, looked up once per request and language (portal/i18n.py's
translations() and locale(), portal/templating.py's kept formats), still follow the language
being written: a page in its reader's, an email under force_locale in its own, and the page's
again after it. Jinja's new-style gettext semantics are kept: values escaped, always a format
string."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask, render_template_string
from flask_babel import force_locale, format_date, format_datetime, get_locale, refresh

from portal import ENVIRONMENT_KEY
from portal.services.wording import t, tn
from portal.site_settings import current_settings
from portal.templating import PageClock, age_tag, localtime, longdate, site_zone, timeago
from tests.i18n.conftest import ACCEPT
from tests.i18n.pseudo import PSEUDO_LANGUAGE, pseudo

WORDS = "Feedback"  # marked in templates/board/_results.html
SENTENCE = "Nothing matches &ldquo;%(search)s&rdquo;."


def test_a_page_switches_language_under_force_locale_and_back(pseudo_site: Flask) -> None:
    with pseudo_site.test_request_context("/"):
        assert render_template_string('{{ _("Feedback") }}') == WORDS
        with force_locale(PSEUDO_LANGUAGE):
            assert render_template_string('{{ _("Feedback") }}') == pseudo(WORDS)
            assert render_template_string('{{ gettext("Feedback") }}') == pseudo(WORDS)
        assert render_template_string('{{ _("Feedback") }}') == WORDS


def test_a_request_in_the_pseudo_locale_gets_it_and_english_inside_force_locale(
    pseudo_site: Flask,
) -> None:
    with pseudo_site.test_request_context("/", headers=ACCEPT):
        assert render_template_string('{{ _("Feedback") }}') == pseudo(WORDS)
        with force_locale("en"):
            assert render_template_string('{{ _("Feedback") }}') == WORDS
        assert render_template_string('{{ _("Feedback") }}') == pseudo(WORDS)


def test_refresh_looks_the_language_up_again(pseudo_site: Flask) -> None:
    with pseudo_site.test_request_context("/", headers=ACCEPT):
        assert render_template_string('{{ _("Feedback") }}') == pseudo(WORDS)
        refresh()
        assert render_template_string('{{ _("Feedback") }}') == pseudo(WORDS)
        with force_locale("en"):
            refresh()  # keeps the forced language
            assert render_template_string('{{ _("Feedback") }}') == WORDS


def test_template_values_are_escaped_and_the_message_is_always_a_format_string(
    pseudo_site: Flask,
) -> None:
    with pseudo_site.test_request_context("/"):
        html = render_template_string("{{ _(m, search=s) }}", m=SENTENCE, s="<b>")
        assert html == "Nothing matches &ldquo;&lt;b&gt;&rdquo;."
        assert render_template_string('{{ _("100%% sure") }}') == "100% sure"
        counted = '{{ ngettext("%(num)d vote", "%(num)d votes", n) }}'
        assert render_template_string(counted, n=1) == "1 vote"
        assert render_template_string(counted, n=3) == "3 votes"
        # A template that does not autoescape (an email's text part) gets the value as it is.
        saved = pseudo_site.jinja_env.autoescape
        pseudo_site.jinja_env.autoescape = False
        try:
            plain = pseudo_site.jinja_env.from_string('{{ _("%(x)s!", x="<i>") }}')
            assert plain.render() == "<i>!"
        finally:
            pseudo_site.jinja_env.autoescape = saved


def test_services_words_follow_the_language_asked_for(pseudo_site: Flask) -> None:
    presenter = pseudo_site.extensions[ENVIRONMENT_KEY].presenter
    with pseudo_site.test_request_context("/"):
        assert str(t(WORDS)) == WORDS
        assert presenter.translate(t(WORDS), PSEUDO_LANGUAGE) == pseudo(WORDS)
        assert str(t(WORDS)) == WORDS
        with force_locale(PSEUDO_LANGUAGE):
            assert str(t(WORDS)) == pseudo(WORDS)
        assert str(tn("%(num)d vote", "%(num)d votes", 2)) == "2 votes"
    with pseudo_site.app_context():  # the outbox worker: no request
        assert presenter.translate(t(WORDS), PSEUDO_LANGUAGE) == pseudo(WORDS)
        assert str(t(WORDS)) == WORDS


def test_an_email_in_its_readers_language_from_a_page_in_english(pseudo_site: Flask) -> None:
    presenter = pseudo_site.extensions[ENVIRONMENT_KEY].presenter
    with pseudo_site.test_request_context("/"):
        render_template_string('{{ _("Feedback") }}')  # the page's catalog is looked up first
        email = presenter.email(
            "digest_confirm",
            t("Hello,"),
            language=PSEUDO_LANGUAGE,
            frequency="weekly",
            category_names=[],
            confirm_url="https://example.test/confirm",
        )
        assert email.language == PSEUDO_LANGUAGE
        assert email.subject == pseudo("Hello,")
        assert pseudo("What happens next:") in email.text
        assert "What happens next:" not in email.text.replace(pseudo("What happens next:"), "")
        assert render_template_string('{{ _("Feedback") }}') == WORDS


def test_dates_are_babels_in_each_language(pseudo_site: Flask) -> None:
    moment = datetime(2026, 12, 4, 14, 5, tzinfo=UTC)
    with pseudo_site.test_request_context("/"):
        local = moment.astimezone(site_zone(current_settings()))
        english = localtime(moment)
        assert english == str(format_datetime(local, "d MMM y, HH:mm", rebase=False))
        assert longdate(moment) == str(format_date(local.date(), "d MMMM y"))
        with force_locale(PSEUDO_LANGUAGE):
            other = localtime(moment)
            assert other == str(format_datetime(local, "medium", rebase=False))
            assert longdate(date(2026, 12, 4)) == str(format_date(date(2026, 12, 4), "long"))
            assert other != english
            then = timeago(moment, now=datetime(2026, 12, 7, 14, 5, tzinfo=UTC))
        assert localtime(moment) == english
        assert timeago(moment, now=datetime(2026, 12, 7, 14, 5, tzinfo=UTC)) == "3 days ago"
        assert then != "3 days ago"


def test_a_cards_age_is_what_the_time_tag_macro_writes_in_each_language(
    pseudo_site: Flask,
) -> None:
    # The board writes each card's age in Python with the page's clock found once; it must be
    # the macro's <time>, to the character, in the reader's language and the site's zone.
    moment = datetime(2026, 12, 4, 14, 5, 7, 123456, tzinfo=UTC)
    now = datetime(2026, 12, 7, 14, 6, tzinfo=UTC)
    macro = (
        '{% from "_macros/ui.html" import time_tag %}'
        "{{ time_tag(moment, timeago(moment, now), title=moment|localtime) }}"
    )
    written = []
    with pseudo_site.test_request_context("/"):
        for language in ("en", PSEUDO_LANGUAGE):
            with force_locale(language):
                expected = render_template_string(macro, moment=moment, now=now, timeago=timeago)
                clock = PageClock(site_zone(current_settings()), get_locale(), now)
                assert str(age_tag(moment, clock)) == expected.strip()
                written.append(expected)
    assert "3 days ago" in written[0] and "3 days ago" not in written[1]
