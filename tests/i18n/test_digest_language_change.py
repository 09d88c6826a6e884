"""A digest's language is one of its choices: someone who types a confirmed address and picks
another language gets nothing changed until the address's owner follows the emailed link,
which then shows the language and makes it the digest's (as it does frequency and categories)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask

from portal.extensions import db
from portal.models import DigestFrequency
from portal.services import digests
from portal.services.tokens import make_digest_change_token
from tests.helpers import emailed_token, post
from tests.i18n.pseudo import PSEUDO_LANGUAGE


def _language_of(email: str) -> str | None:
    db.session.expire_all()
    subscription = digests.find_subscription(email)
    assert subscription is not None
    return subscription.language


def test_a_new_language_waits_for_the_owner_and_then_is_the_digests(pseudo_site: Flask) -> None:
    with pseudo_site.app_context():
        subscription = digests.subscribe("nia@example.com", DigestFrequency.WEEKLY, [], None, "en")
        digests.confirm(subscription.subscription.confirm_token)
        db.session.commit()
    visitor = pseudo_site.test_client()
    post(
        visitor,
        "/digest/subscribe",
        {"email": "nia@example.com", "frequency": "weekly", "language": PSEUDO_LANGUAGE},
    )
    assert _language_of("nia@example.com") == "en"  # knowing an address is not owning it

    token = emailed_token("digest_change", "nia@example.com", "/digest/change/")
    path = urlsplit(f"/digest/change/{token}").path
    owner = pseudo_site.test_client()
    asked = owner.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Language" in asked and f'lang="{PSEUDO_LANGUAGE}">Esperanto' in asked
    assert _language_of("nia@example.com") == "en"
    post(owner, path)
    assert _language_of("nia@example.com") == PSEUDO_LANGUAGE
    again = owner.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Your digest already has these choices" in again


def test_a_link_from_before_links_carried_a_language_keeps_the_digests(
    pseudo_site: Flask,
) -> None:
    with pseudo_site.app_context():
        subscription = digests.subscribe(
            "jo@example.com", DigestFrequency.WEEKLY, [], None, PSEUDO_LANGUAGE
        ).subscription
        digests.confirm(subscription.confirm_token)
        db.session.commit()
        token = make_digest_change_token(
            subscription.id, subscription.email, subscription.confirm_token, "monthly", []
        )
        change = digests.apply_change(token)
        db.session.commit()
    assert change.language == PSEUDO_LANGUAGE
    assert _language_of("jo@example.com") == PSEUDO_LANGUAGE
