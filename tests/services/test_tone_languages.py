"""The tone check in each language: Spanish, German and French replies are read with their own
words by the same rules as English; a reply's language is told from its text (the item's or
customer's language, else English, when it is too short to tell); a language without words
(Arabic) gets a notice that holds nothing.

Case by case, as test_tone_cases.py is for English: a draft as staff would write it, the
context, and the kinds of finding expected (none for a good reply).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from portal.services.tone import ToneContext, apologises, check_tone, upset_words
from portal.services.tone.language import detect
from portal.services.tone.text import words

# Contexts: a first reply to a complaint is owed an apology and a next step; a later one (sorry
# already said) only the next step; a question from someone plainly upset, an apology.
COMPLAINT = ToneContext(kind="complaint", preferred_name="Lucía")
LATER = replace(COMPLAINT, apologised_before=True)
CLOSING = replace(LATER, stays_open=False)


def upset(text: str) -> ToneContext:
    return ToneContext(kind="question", preferred_name="Lucía", customer_text=text)


@dataclass(frozen=True)
class Case:
    language: str
    why: str
    text: str
    context: ToneContext
    expected: frozenset[str]


def case(language: str, why: str, text: str, context: ToneContext, *expected: str) -> Case:
    return Case(language, why, text, context, frozenset(expected))


CASES = [
    # Spanish ---------------------------------------------------------------------------------
    case(
        "es",
        "a good first reply: sorry for what happened, by name, and when we will call",
        "Hola Lucía, siento mucho que su pedido llegara roto. Mañana por la mañana le llamo "
        "para acordar el cambio.",
        COMPLAINT,
    ),
    case(
        "es",
        "blame: tried it?, already told, your fault",
        "Hola Lucía, ¿ha probado a reiniciar el router? Como ya le dijimos, no es culpa "
        "nuestra. Le llamaré el jueves.",
        LATER,
        "blame",
    ),
    case(
        "es",
        "should have read is blame; should have received it is our fault, not theirs",
        "Hola Lucía, debería haber leído las instrucciones. Debería haberlo recibido ayer. "
        "Le llamaré el jueves.",
        LATER,
        "blame",
    ),
    case(
        "es",
        "should have received it, said alone, blames nobody",
        "Hola Lucía, lo siento: usted debería haber recibido el paquete ayer. Le llamaré el "
        "jueves.",
        LATER,
    ),
    case(
        "es",
        "a form letter: the generic greeting and stock phrases",
        "Estimado cliente: le informamos que su pedido será enviado a la mayor brevedad. "
        "Revisaremos el caso el lunes.",
        LATER,
        "stock_phrase",
    ),
    case(
        "es",
        "sorry for las molestias is not sorry for what happened",
        "Hola Lucía, disculpe las molestias ocasionadas. Le escribiré el viernes con la "
        "nueva fecha de entrega.",
        COMPLAINT,
        "non_apology",
    ),
    case(
        "es",
        "passing them to billing",
        "Hola Lucía, lo siento mucho. Por favor, llame al departamento de facturación.",
        LATER,
        "passing_around",
        "no_next_step",
    ),
    case(
        "es",
        "calling billing ourselves is taking it on, and it is the next step",
        "Hola Lucía, lo siento mucho. Voy a llamar al departamento de facturación y le "
        "escribiré el jueves.",
        LATER,
    ),
    case(
        "es",
        "telling them they have to contact customer service",
        "Hola Lucía, tiene que contactar con el servicio de atención al cliente. Le "
        "mantendremos informada.",
        LATER,
        "passing_around",
    ),
    case(
        "es",
        "an irregular future is a next step too",
        "Hola Lucía, su caso lo lleva ya nuestro almacén. Le mantendremos informada.",
        LATER,
    ),
    case(
        "es",
        "a complaint nobody has said sorry for",
        "Hola Lucía, su pedido salió ayer del almacén. Le escribiré cuando llegue.",
        COMPLAINT,
        "no_apology",
    ),
    case(
        "es",
        '"lamentamos informarle" is bad news, not an apology',
        "Hola Lucía, lamentamos informarle que el producto está agotado. Le avisaremos el lunes.",
        COMPLAINT,
        "stock_phrase",
        "no_apology",
    ),
    case(
        "es",
        "nothing says what happens next on an open complaint",
        "Hola Lucía, gracias por escribirnos. Su pedido salió ayer del almacén.",
        LATER,
        "no_next_step",
    ),
    case(
        "es",
        "a closing message owes no next step",
        "Hola Lucía, su reembolso ya está hecho. Gracias por su paciencia.",
        CLOSING,
    ),
    case(
        "es",
        "an upset question is owed an apology",
        "Hola Lucía, la aplicación funciona de nuevo desde esta mañana.",
        upset("Es la tercera vez que escribo y sigo esperando. Es inaceptable."),
        "no_apology",
    ),
    case(
        "es",
        "a calm question is not",
        "Hola Lucía, la aplicación funciona de nuevo desde esta mañana.",
        upset("¿Cuándo estará disponible la aplicación en mi teléfono?"),
    ),
    # German ----------------------------------------------------------------------------------
    case(
        "de",
        "a good first reply",
        "Hallo Lucía, es tut mir sehr leid, dass Ihr Paket beschädigt ankam. Ich rufe Sie "
        "morgen Vormittag an, um den Umtausch zu besprechen.",
        COMPLAINT,
    ),
    case(
        "de",
        "blame: tried it?, as already said, not our fault",
        "Hallo Lucía, haben Sie schon versucht, die App neu zu starten? Wie bereits erwähnt, "
        "ist das nicht unsere Schuld. Ich melde mich am Freitag.",
        LATER,
        "blame",
    ),
    case(
        "de",
        "should have received it is our fault, not blame",
        "Hallo Lucía, es tut mir leid: Sie hätten das Paket am Montag bekommen sollen. Ich "
        "melde mich morgen.",
        LATER,
    ),
    case(
        "de",
        "should have read the instructions is blame",
        "Hallo Lucía, Sie hätten die Anleitung lesen sollen. Ich melde mich morgen.",
        LATER,
        "blame",
    ),
    case(
        "de",
        "a form letter",
        "Sehr geehrte Damen und Herren, wir nehmen Ihr Anliegen sehr ernst. Wir werden den "
        "Fall am Montag prüfen.",
        LATER,
        "stock_phrase",
    ),
    case(
        "de",
        "sorry for die Unannehmlichkeiten",
        "Hallo Lucía, entschuldigen Sie die Unannehmlichkeiten. Ich melde mich morgen bei Ihnen.",
        COMPLAINT,
        "non_apology",
    ),
    case(
        "de",
        "sorry for die Unannehmlichkeiten, the other way round, typed without umlauts",
        "Hallo Lucía, fuer etwaige Unannehmlichkeiten bitten wir um Entschuldigung. Wir "
        "melden uns morgen.",
        COMPLAINT,
        "non_apology",
    ),
    case(
        "de",
        "passing them to accounts",
        "Hallo Lucía, es tut mir leid. Bitte wenden Sie sich an unsere Buchhaltung.",
        LATER,
        "passing_around",
        "no_next_step",
    ),
    case(
        "de",
        "asking accounts ourselves is taking it on",
        "Hallo Lucía, es tut mir leid. Ich frage heute bei unserer Buchhaltung nach und melde "
        "mich morgen.",
        LATER,
    ),
    case(
        "de",
        "telling them to turn to customer service, the verb at the end",
        "Hallo Lucía, Sie müssen sich an den Kundenservice wenden. Wir melden uns morgen.",
        LATER,
        "passing_around",
    ),
    case(
        "de",
        "taking care of it is a next step",
        "Hallo Lucía, danke für Ihre Geduld. Wir kümmern uns darum.",
        LATER,
    ),
    case(
        "de",
        "a complaint nobody has said sorry for",
        "Hallo Lucía, Ihr Paket ist gestern bei uns eingegangen. Ich melde mich am Montag.",
        COMPLAINT,
        "no_apology",
    ),
    case(
        "de",
        "nothing says what happens next",
        "Hallo Lucía, danke für Ihre Nachricht. Ihr Paket ist gestern bei uns eingegangen.",
        LATER,
        "no_next_step",
    ),
    case(
        "de",
        '"Guten Morgen" is a greeting, not a when',
        "Guten Morgen Lucía, danke für Ihre Nachricht. Ihr Paket ist gestern eingegangen.",
        LATER,
        "no_next_step",
    ),
    case(
        "de",
        "an upset question is owed an apology",
        "Hallo Lucía, die App funktioniert seit heute früh wieder.",
        upset("Ich warte immer noch auf eine Antwort. Das ist eine Frechheit!"),
        "no_apology",
    ),
    # French ----------------------------------------------------------------------------------
    case(
        "fr",
        "a good first reply",
        "Bonjour Lucía, je suis vraiment désolée que votre colis soit arrivé abîmé. Je vous "
        "rappellerai jeudi pour organiser l'échange.",
        COMPLAINT,
    ),
    case(
        "fr",
        "blame: tried it?, as said before, not our fault",
        "Bonjour Lucía, avez-vous essayé de redémarrer l'application ? Comme indiqué "
        "précédemment, ce n'est pas notre faute. Je reviens vers vous vendredi.",
        LATER,
        "blame",
    ),
    case(
        "fr",
        "should have received it is our fault, not blame",
        "Bonjour Lucía, toutes nos excuses : vous auriez dû recevoir le colis lundi. Je vous "
        "rappellerai demain.",
        LATER,
    ),
    case(
        "fr",
        "should have read the manual is blame",
        "Bonjour Lucía, vous auriez dû lire la notice. Je vous rappellerai demain.",
        LATER,
        "blame",
    ),
    case(
        "fr",
        "a form letter",
        "Madame, Monsieur, nous prenons votre réclamation très au sérieux. Nous étudierons "
        "votre dossier lundi.",
        LATER,
        "stock_phrase",
    ),
    case(
        "fr",
        "sorry for la gêne occasionnée",
        "Bonjour Lucía, nous sommes désolés pour la gêne occasionnée. Je vous écrirai demain.",
        COMPLAINT,
        "non_apology",
    ),
    case(
        "fr",
        "passing them to customer service",
        "Bonjour Lucía, toutes nos excuses. Je vous invite à contacter notre service client.",
        LATER,
        "passing_around",
        "no_next_step",
    ),
    case(
        "fr",
        "contacting logistics ourselves is taking it on",
        "Bonjour Lucía, toutes nos excuses. Je vais contacter notre service logistique et je "
        "reviens vers vous demain.",
        LATER,
    ),
    case(
        "fr",
        "telling them they must go to accounts",
        "Bonjour Lucía, vous devez vous adresser au service comptabilité. Nous vous "
        "rembourserons ensuite.",
        LATER,
        "passing_around",
    ),
    case(
        "fr",
        "a refund we will make is a next step",
        "Bonjour Lucía, merci pour votre patience. Nous vous rembourserons le montant total.",
        LATER,
    ),
    case(
        "fr",
        "a complaint nobody has said sorry for",
        "Bonjour Lucía, votre colis est parti hier. Je vous appellerai à sa livraison.",
        COMPLAINT,
        "no_apology",
    ),
    case(
        "fr",
        '"nous regrettons de vous informer" is bad news, not an apology',
        "Bonjour Lucía, nous regrettons de vous informer que cet article est épuisé. Je vous "
        "proposerai un remplacement lundi.",
        COMPLAINT,
        "stock_phrase",
        "no_apology",
    ),
    case(
        "fr",
        "nothing says what happens next",
        "Bonjour Lucía, merci pour votre message. Votre colis est parti hier de notre entrepôt.",
        LATER,
        "no_next_step",
    ),
    case(
        "fr",
        '"nous espérons" is a hope, not a next step',
        "Bonjour Lucía, merci pour votre message. Nous espérons que le colis arrivera bien.",
        LATER,
        "no_next_step",
    ),
    case(
        "fr",
        "an upset question is owed an apology",
        "Bonjour Lucía, l'application fonctionne de nouveau depuis ce matin.",
        upset("C'est la troisième fois que j'écris et toujours rien. J'en ai marre."),
        "no_apology",
    ),
    # Arabic: no words, so a notice and only the rules that need none --------------------------
    case(
        "ar",
        "a reply in Arabic is not covered, and nothing is said about sorry or a next step",
        "مرحبا لوسيا، نعتذر عن التأخير في طلبك. سنتصل بك غدا.",
        replace(COMPLAINT, preferred_name="لوسيا"),
        "not_covered",
    ),
    case(
        "ar",
        "the rules that need no words still apply: exclamation marks",
        "مرحبا لوسيا، تم شحن طلبك اليوم!!!",
        replace(COMPLAINT, preferred_name="لوسيا"),
        "not_covered",
        "shouting",
    ),
]


@pytest.mark.parametrize("c", CASES, ids=lambda c: f"{c.language}: {c.why}")
def test_each_language_is_checked_with_its_own_words(c: Case) -> None:
    assert detect(c.text) == c.language
    found = {finding.code for finding in check_tone(c.text, c.context)}
    assert found == c.expected


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("Hola Lucía, disculpe las molestias ocasionadas.", "disculpe las molestias ocasionadas"),
        (
            "Hallo Lucía, entschuldigen Sie die Unannehmlichkeiten.",
            "entschuldigen Sie die Unannehmlichkeiten",
        ),
        (
            "Bonjour Lucía, désolé pour la gêne occasionnée.",
            "désolé pour la gêne occasionnée",
        ),
    ],
)
def test_the_non_apology_is_quoted_as_typed_with_its_accents(text: str, quote: str) -> None:
    (finding,) = [f for f in check_tone(text, LATER) if f.code == "non_apology"]
    assert finding.quotes == (quote,)


def test_the_stock_phrase_advice_is_the_phrase_s_own() -> None:
    findings = check_tone(
        "Hola Lucía, le llamaremos a la mayor brevedad posible. Lo sentimos mucho.", LATER
    )
    (finding,) = [f for f in findings if f.code == "stock_phrase"]
    assert finding.quotes == ("a la mayor brevedad posible",)
    assert finding.advice == "Say when: a day or a date."


def test_the_generic_greeting_names_the_name_they_chose() -> None:
    (finding, *_) = check_tone("Sehr geehrter Kunde, es tut uns leid. Ich rufe morgen an.", LATER)
    assert finding.code == "stock_phrase"
    assert finding.advice == 'Greet them by the name they chose: "Lucía".'


@pytest.mark.parametrize(
    ("language", "typed", "folded"),
    [
        ("fr", "Désolé pour la GÊNE", ["desole", "pour", "la", "gene"]),
        ("de", "Rückerstattung", ["rueckerstattung"]),
        ("de", "Rueckerstattung", ["rueckerstattung"]),
        ("de", "Straße", ["strasse"]),
        ("es", "año, pingüino", ["ano", "pinguino"]),
        ("fr", "n'hésitez pas", ["n", "hesitez", "pas"]),
        ("fr", "cœur", ["coeur"]),
        ("en", "You   Didn't", ["you", "didnt"]),
    ],
)
def test_normalising_folds_accents_umlauts_and_eszett(
    language: str, typed: str, folded: list[str]
) -> None:
    assert words(typed, language) == folded


def test_a_name_typed_without_its_accent_is_still_their_name() -> None:
    text = "Hola Lucia, lo siento mucho. Le llamaré mañana."
    assert "not_addressed" not in {f.code for f in check_tone(text, COMPLAINT)}


# Which language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fallback", "expected"),
    [
        ("Gracias por su paciencia, le escribiremos pronto.", None, "es"),
        ("Vielen Dank für Ihre Geduld, wir schreiben Ihnen bald.", None, "de"),
        ("Merci pour votre patience, nous vous écrirons bientôt.", None, "fr"),
        ("Thank you for your patience, we will write soon.", None, "en"),
        ("شكرا", None, "ar"),  # Arabic script, however short
        # Too short to tell: the conversation's language, else English.
        ("Gracias", "es", "es"),
        ("Danke!", "de", "de"),
        ("Danke!", None, "en"),
        ("OK", "fr-FR", "fr"),
        # Mixed halfway: not sure enough, so the conversation's language.
        ("We are sorry, lo siento", "de", "de"),
    ],
)
def test_the_reply_s_language_is_told_from_its_text(
    text: str, fallback: str | None, expected: str
) -> None:
    assert detect(text, fallback) == expected


def test_a_short_reply_is_read_in_the_conversation_s_language() -> None:
    # "Lo siento." alone is too short to tell: on a Spanish item it is an apology.
    assert "no_apology" not in {
        f.code for f in check_tone("Lo siento.", replace(COMPLAINT, language="es"))
    }
    assert apologises("Lo siento.", "es")
    assert not apologises("Lo siento.")  # read as English, it says nothing


def test_staff_s_earlier_apology_counts_in_its_own_language() -> None:
    assert apologises("Hallo Lucía, es tut mir wirklich leid, dass das passiert ist.")
    assert not apologises("Hallo Lucía, entschuldigen Sie die Unannehmlichkeiten.")
    assert not apologises("Bonjour, nous avons le regret de vous informer que c'est épuisé.")


def test_the_customer_s_upset_words_are_read_in_their_language() -> None:
    assert upset_words("Estoy harta: es la tercera vez que escribo. ¡Inaceptable!") == [
        "harta",
        "tercera vez",
        "Inaceptable",
    ]


# Not covered -----------------------------------------------------------------------------------


def test_an_arabic_reply_is_told_plainly_and_holds_nothing() -> None:
    (notice,) = check_tone("مرحبا، نعتذر عن التأخير. سنتصل بك غدا.", COMPLAINT)[:1]
    assert notice.code == "not_covered"
    assert not notice.holds
    assert notice.message == (
        "The tone check does not cover Arabic yet. It only looked at capitals, the name they "
        "chose and words used before: read it through yourself for blame, an apology and a "
        "next step."
    )


def test_every_finding_in_a_covered_language_holds() -> None:
    findings = check_tone("Hola Lucía, disculpe las molestias ocasionadas.", COMPLAINT)
    assert findings and all(finding.holds for finding in findings)
