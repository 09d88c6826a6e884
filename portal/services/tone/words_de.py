"""The words the tone check looks for in German: the same kinds as words.py, as they are
written to customers (Sie).

Phrases are folded as the draft is: "ä", "ö", "ü" read as "ae", "oe", "ue" (so "Rueckerstattung"
typed without umlauts matches too) and "ß" as "ss"; patterns are over those folded words.
"""

from __future__ import annotations

from portal.models.base import N_
from portal.services.tone import words as en

BLAME_PHRASES: tuple[str, ...] = (
    *("haben Sie versucht", "haben Sie schon versucht", "haben Sie probiert"),
    # "Sie hätten * sollen" alone is also "Sie hätten es gestern bekommen sollen", our fault.
    *("Sie hätten * lesen sollen", "Sie hätten * * lesen sollen", "Sie hätten * prüfen sollen"),
    *("Sie hätten * * prüfen sollen", "Sie hätten * * beachten sollen", "Sie haben vergessen"),
    *("Sie haben * vergessen",),
    *("Sie haben * nicht gelesen", "lesen Sie die Anleitung", "wie bereits erwähnt"),
    *("wie bereits mitgeteilt", "wie schon gesagt", "wie ich bereits sagte"),
    *("wie Ihnen bereits mitgeteilt", "Anwenderfehler", "Bedienfehler", "Ihr Fehler"),
    *("Ihre Schuld", "nicht unsere Schuld", "offensichtlich"),
)

SALUTATIONS: tuple[str, ...] = (
    *("Sehr geehrte Damen und Herren", "Sehr geehrter Kunde", "Sehr geehrte Kundin"),
    *("Lieber Kunde", "Liebe Kundin", "Liebe Kundinnen und Kunden", "Werter Kunde"),
    *("Sehr geehrter Nutzer", "Sehr geehrte Nutzerin"),
)

_BAD_NEWS = N_("Say it plainly, and say sorry if it is bad news.")
_RECEIVED = N_("They know they wrote to us: say what you are doing.")
_REPLY_TO_YOU = N_("Say they can reply to you, by name.")
STOCK_PHRASES: dict[str, str] = {
    "zu gegebener Zeit": en._SAY_WHEN,
    "schnellstmöglich": en._SAY_WHEN,
    "baldmöglichst": en._SAY_WHEN,
    "wir nehmen * sehr ernst": en._SHOW_IT,
    "wir nehmen * * sehr ernst": en._SHOW_IT,
    "wir nehmen * ernst": en._SHOW_IT,
    "wir nehmen * * ernst": en._SHOW_IT,
    "liegt uns am Herzen": en._SHOW_IT,
    "liegt uns sehr am Herzen": en._SHOW_IT,
    "Ihre * ist uns wichtig": en._SHOW_IT,
    "Ihre * ist uns sehr wichtig": en._SHOW_IT,
    "Ihr * ist uns wichtig": en._SHOW_IT,
    "wir möchten Sie darauf hinweisen": en._PLAINLY,
    "wir weisen Sie darauf hin": en._PLAINLY,
    "bitte beachten Sie": en._PLAINLY,
    "wir bedauern Ihnen mitteilen zu müssen": _BAD_NEWS,
    "leider müssen wir Ihnen mitteilen": _BAD_NEWS,
    "wir haben Ihre Beschwerde erhalten": _RECEIVED,
    "wir bestätigen den Eingang": _RECEIVED,
    "hiermit bestätigen wir den Eingang": _RECEIVED,
    "zögern Sie nicht uns zu kontaktieren": _REPLY_TO_YOU,
    "zögern Sie nicht sich an uns zu wenden": _REPLY_TO_YOU,
    "stehen wir Ihnen gerne zur Verfügung": _REPLY_TO_YOU,
    "stehen wir Ihnen jederzeit gerne zur Verfügung": _REPLY_TO_YOU,
    "zum jetzigen Zeitpunkt": N_('Say "now".'),
}

# Sorry for "die Unannehmlichkeiten": "entschuldigen Sie die Unannehmlichkeiten", "für etwaige
# Unannehmlichkeiten bitten wir um Entschuldigung", "wir bedauern die entstandenen Umstände".
_TROUBLE = r"(?:unannehmlichkeiten|umstaende)"
NON_APOLOGY = (
    rf"\b(?:(?:wir |ich )?entschuldig\w*|(?:wir |ich )?bedauer\w*|tut (?:uns|mir) leid)"
    rf"(?: \w+){{0,4}}? {_TROUBLE}(?: zu entschuldigen)?\b"
    rf"|\b(?:fuer )?(?:die|etwaige|eventuelle|jegliche|alle|entstandene|entstandenen|moegliche)"
    rf"(?: \w+)? {_TROUBLE}(?: \w+){{0,4}}? (?:zu entschuldigen|entschuldigung|entschuldigen"
    rf"|leid)\b"
)

# "Wir bedauern, Ihnen mitteilen zu müssen" is not one.
APOLOGY = (
    r"\b(?:entschuldig\w*|tut (?:uns|mir) (?:\w+ )?leid|bedauer\w*(?! (?:ihnen )?mitteilen)"
    r"|(?:unser|mein) fehler|(?:unsere|meine) schuld|(?:wir haben|ich habe) (?:uns |mich )?geirrt"
    r"|(?:wir haben|ich habe) sie enttaeuscht|verzeih\w*|sorry)\b"
)

UPSET_WORDS: tuple[str, ...] = (
    *("wütend", "stinksauer", "verärgert", "empört", "unverschämt", "Frechheit", "inakzeptabel"),
    *("nicht akzeptabel", "lächerlich", "Zumutung", "eine Schande", "sehr enttäuscht"),
    *("total enttäuscht", "maßlos enttäuscht", "zum dritten Mal", "zum wiederholten Mal"),
    *("immer noch nicht", "noch immer nicht", "warte immer noch", "niemand hat geantwortet"),
    *("nie wieder", "mir reicht es", "die Nase voll"),
)

# Passing around, over the text as typed (case ignored): "wenden Sie sich an unsere
# Buchhaltung", "Sie müssen sich an den Kundenservice wenden", "rufen Sie unsere Hotline an".
_ELSEWHERE = (
    r"(?:(?:unsere[nmr]?|die|den|der|dem|das|eine\s+andere)\s+(?:[\w-]+\s+){0,2}?"
    r"[\w-]*(?:abteilung|kundenservice|kundendienst|service|team|hotline|buchhaltung|support"
    r"|stelle|zentrale)\b|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
)
PASSING_AROUND = (
    rf"(?:\b(?:wenden|melden)\s+Sie\s+)?\bsich\s+(?:bitte\s+)?(?:direkt\s+)?(?:an|bei)\s+"
    rf"{_ELSEWHERE}",
    rf"\b(?:kontaktieren|rufen|schreiben|mailen)\s+Sie\s+(?:bitte\s+)?(?:direkt\s+)?(?:bei\s+|an\s+)?"
    rf"{_ELSEWHERE}",
    r"\b(?:daf[üu]r|hierf[üu]r)\s+ist\s+(?:die|unsere|eine\s+andere|der|das)\s+(?:[\w-]+\s+){0,2}?"
    r"[\w-]*(?:abteilung|team|stelle|kundenservice)\s+zust[äa]ndig",
    r"\b(?:daf[üu]r|hierf[üu]r)\s+sind\s+wir\s+nicht\s+zust[äa]ndig",
    r"\bnicht\s+(?:unsere|meine)\s+(?:Abteilung|Zust[äa]ndigkeit)\b",
    r"\bnicht\s+(?:unser|mein)\s+(?:Bereich|Problem)\b",
)
# Every form above speaks to them ("Sie", "sich"): none is the writer's own doing.
OUR_OWN_DOING = r"(?!)"
TELLS_THEM = r"(?!)"

# A next step, over folded words: "ich werde", "wir melden uns", "ich kümmere mich", or a when.
FUTURE_ACTION = (
    r"\b(?:ich werde|wir werden|werde ich|werden wir|ich melde mich|wir melden uns"
    r"|melde ich mich|melden wir uns|ich kuemmere mich|wir kuemmern uns|kuemmere ich mich"
    r"|kuemmern wir uns|ich rufe sie|wir rufen sie|ich schreibe ihnen|wir schreiben ihnen"
    r"|(?:naechsten?|weiteren?) schritte?|als naechstes)\b"
)
FUTURE_CONTRACTED = r"(?!)"
WHEN = (
    r"\b(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag|heute"
    r"|(?<!guten )morgen|uebermorgen|diese woche|(?:naechste|kommende) woche|ende der woche"
    r"|(?:innerhalb|binnen) (?:von )?(?:\w+ ){1,2}(?:stunden|tagen|wochen)"
    r"|in (?:\w+ ){1,2}(?:stunden|tagen|wochen|minuten)"
    r"|\d{1,2} (?:januar|februar|maerz|april|mai|juni|juli|august|september|oktober|november"
    r"|dezember)|\d{1,4} \d{1,2} \d{1,4}|\d{1,2} uhr)\b"
)
