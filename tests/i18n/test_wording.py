"""A service's words (portal/services/wording.py) stay message and values until shown, so the
same refusal reads in each reader's language, and in English where no app is at hand."""

from __future__ import annotations

from flask import Flask

from portal.services.errors import NotAllowed
from portal.services.wording import t, tn
from tests.i18n.pseudo import CLOSE, OPEN, PSEUDO_LANGUAGE, pseudo


def test_without_an_app_the_words_are_the_english_source() -> None:
    assert str(t("Only %(owner)s can reply.", owner="Priya")) == "Only Priya can reply."
    assert str(tn("%(num)d voice", "%(num)d voices", 1)) == "1 voice"
    assert str(tn("%(num)d voice", "%(num)d voices", 3)) == "3 voices"


def test_in_a_request_the_words_come_through_the_catalog(pseudo_site: Flask) -> None:
    refusal = NotAllowed(t("That is not yours to do"))
    with pseudo_site.test_request_context(headers={"Accept-Language": PSEUDO_LANGUAGE}):
        assert refusal.message == pseudo("That is not yours to do")
    with pseudo_site.test_request_context(headers={"Accept-Language": "en"}):
        assert refusal.message == "That is not yours to do"


def test_a_value_may_be_words_too_and_is_translated_with_them(pseudo_site: Flask) -> None:
    outer = t("%(refusal)s (%(owner)s)", refusal=t("That is not yours to do"), owner="Priya")
    with pseudo_site.test_request_context(headers={"Accept-Language": PSEUDO_LANGUAGE}):
        shown = str(outer)
    assert shown == f"{pseudo('That is not yours to do')} (Priya)"
    assert shown.startswith(OPEN) and CLOSE in shown
