"""An item knows the language it is written in: detected from its title and text among the
portal's languages, else the language its author chose; edits detect it again; email intake
and the API go through the same command (the API may state it)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, FeedbackKind
from portal.services import editing
from portal.services.errors import DomainError
from portal.services.feedback import submit_feedback
from portal.services.intake import process_message
from portal.services.languages import detect_language, item_language


@pytest.mark.parametrize(
    ("words", "language"),
    [
        ("Mi pedido no llegó y nadie contesta a mis quejas", "es"),
        ("Die Lieferung kam schon wieder zu spät an", "de"),
        ("La livraison est encore arrivée en retard", "fr"),
        ("The delivery arrived late again this week", "en"),
        ("تأخر التوصيل مرة أخرى هذا الأسبوع", "ar"),
    ],
)
def test_the_language_is_told_from_the_words(words: str, language: str) -> None:
    assert detect_language(words) == language


@pytest.mark.parametrize("words", ["OK", "Login broken", "Hola", "500!!", ""])
def test_too_few_words_do_not_tell_a_language(words: str) -> None:
    assert detect_language(words) is None


def _submit(author, category, title: str, body: str, **kw) -> Feedback:
    item = submit_feedback(
        author, kind=FeedbackKind.COMPLAINT, category_id=category.id, title=title, body=body, **kw
    )
    db.session.commit()
    return item


def test_an_item_records_the_language_its_words_are_in_not_the_pages(
    make_user, make_category
) -> None:
    item = _submit(
        make_user(),
        make_category(),
        "El paquete llegó mojado",
        "Lo dejaron bajo la lluvia otra vez, delante de la puerta.",
        language="en",  # written on an English page
    )
    assert item.language == "es"


def test_words_too_few_to_tell_take_the_language_the_author_chose(make_user, make_category) -> None:
    category = make_category()
    assert _submit(make_user(), category, "Wet box", "Again!!!!!", language="de").language == "de"
    assert (
        _submit(make_user(), category, "Wet box", "Again!!!!!", language="fr-CA").language == "fr"
    )


def test_without_a_page_language_the_authors_saved_one_is_taken(make_user, make_category) -> None:
    author = make_user()
    author.language = "es"
    db.session.commit()
    assert _submit(author, make_category(), "Wet box", "Again!!!!!").language == "es"


def test_words_too_few_and_no_language_chosen_leave_it_unknown(make_user, make_category) -> None:
    assert _submit(make_user(), make_category(), "Wet box", "Again!!!!!").language is None
    assert item_language("xx") is None


def test_a_stated_language_is_recorded_as_it_is(make_user, make_category) -> None:
    item = _submit(
        make_user(),
        make_category(),
        "The delivery arrived late again",
        "The courier left it by the bins in the rain.",
        written_in="fr",
    )
    assert item.language == "fr"


def test_a_stated_language_the_portal_does_not_speak_is_refused_and_nothing_is_kept(
    make_user, make_category
) -> None:
    with pytest.raises(DomainError, match="en, es, de, fr, ar"):
        _submit(make_user(), make_category(), "Late again", "It is late.", written_in="klingon")
    db.session.rollback()
    assert db.session.query(Feedback).count() == 0


def test_an_edit_detects_the_language_again(make_user, make_category) -> None:
    author = make_user()
    item = _submit(
        author,
        make_category(),
        "The delivery arrived late again",
        "The courier left it by the bins in the rain.",
    )
    assert item.language == "en"
    editing.edit_item(
        author,
        item.id,
        title="La livraison est encore en retard",
        body="Le livreur a laissé le colis devant la porte, sous la pluie.",
    )
    db.session.commit()
    assert db.session.get(Feedback, item.id).language == "fr"
    # Words too few to tell keep the language it had.
    editing.edit_item(author, item.id, title="Wet box", body="Again!!!!!")
    db.session.commit()
    assert db.session.get(Feedback, item.id).language == "fr"


def test_an_emailed_item_is_detected_and_falls_back_to_the_mails_content_language(
    make_category, change_settings
) -> None:
    change_settings(intake_address="feedback@portal.example")
    make_category(name="Stations")

    def mail(subject: str, text: str, number: int, language: str | None) -> Feedback:
        message = EmailMessage()
        message["From"] = f"Nia Owen <nia{number}@example.com>"
        message["To"] = "feedback@portal.example"
        message["Subject"] = subject
        message["Message-ID"] = f"<lang-{number}@mail.example.com>"
        message.set_content(text)  # which drops Content-* headers set before it
        if language:
            message["Content-Language"] = language
        result = process_message(message.as_bytes(), recipient="feedback@portal.example")
        db.session.commit()
        return db.session.get(Feedback, result.item_id)

    german = mail("Aufzug kaputt", "Der Aufzug am Bahnhof ist schon wieder kaputt.", 1, "en")
    assert german.language == "de"
    short = mail("Lift", "Broken!!", 2, "es-MX")
    assert (short.title, short.body_source, short.language) == ("Lift", "Broken!!", "es")


def test_items_from_before_languages_are_told_by_the_command(app, make_feedback) -> None:
    told = make_feedback(title="La entrega llegó tarde", body="Otra vez, y nadie contesta.")
    untold = make_feedback(title="Wet box", body="Again!!!!!")
    db.session.execute(sa.update(Feedback).values(language=None))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["detect-item-languages", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "told from their words: 1." in result.output
    db.session.expire_all()
    assert db.session.get(Feedback, told.id).language == "es"
    assert db.session.get(Feedback, untold.id).language is None
