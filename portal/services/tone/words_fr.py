"""The words the tone check looks for in French: the same kinds as words.py, as they are
written to customers (vous).

Phrases are folded as the draft is (accents dropped, "œ" as "oe"), and in French an apostrophe
separates words ("j'appellerai" reads as "j appellerai"); patterns are over those folded words.
"""

from __future__ import annotations

from portal.models.base import N_
from portal.services.tone import words as en

BLAME_PHRASES: tuple[str, ...] = (
    # Not "vous auriez dû" alone: "vous auriez dû le recevoir hier" is our fault, not theirs.
    *("avez-vous essayé", "avez-vous bien lu", "vous auriez dû lire", "vous avez oublié"),
    *("vous auriez dû vérifier", "vous auriez dû nous prévenir"),
    *("vous n'avez pas lu", "lisez le manuel", "comme déjà indiqué", "comme indiqué précédemment"),
    *("comme nous vous l'avons déjà dit", "comme nous vous l'avons déjà indiqué"),
    *("comme je vous l'ai dit", "comme je vous l'ai déjà dit", "suite à mon dernier mail"),
    *("erreur de manipulation", "erreur de votre part", "c'est votre faute"),
    *("ce n'est pas notre faute", "ce n'est pas de notre faute", "évidemment"),
)

SALUTATIONS: tuple[str, ...] = (
    *("Madame, Monsieur", "Monsieur, Madame", "Madame, Mademoiselle, Monsieur", "Cher client"),
    *("Chère cliente", "Chère Madame, cher Monsieur", "Cher utilisateur", "À qui de droit"),
    *("Messieurs",),
)

_BAD_NEWS = N_("Say it plainly, and say sorry if it is bad news.")
_RECEIVED = N_("They know they wrote to us: say what you are doing.")
_REPLY_TO_YOU = N_("Say they can reply to you, by name.")
STOCK_PHRASES: dict[str, str] = {
    "dans les meilleurs délais": en._SAY_WHEN,
    "dans les plus brefs délais": en._SAY_WHEN,
    "en temps utile": en._SAY_WHEN,
    "nous prenons * très au sérieux": en._SHOW_IT,
    "nous prenons * * très au sérieux": en._SHOW_IT,
    "nous prenons * au sérieux": en._SHOW_IT,
    "nous prenons * * au sérieux": en._SHOW_IT,
    "votre satisfaction est notre priorité": en._SHOW_IT,
    "votre * est importante pour nous": en._SHOW_IT,
    "votre * est important pour nous": en._SHOW_IT,
    "votre * nous tient à cœur": en._SHOW_IT,
    "nous vous informons que": en._PLAINLY,
    "veuillez noter que": en._PLAINLY,
    "nous tenons à vous informer": en._PLAINLY,
    "nous avons le regret de vous informer": _BAD_NEWS,
    "nous sommes au regret de vous informer": _BAD_NEWS,
    "nous regrettons de vous informer": _BAD_NEWS,
    "nous avons bien reçu votre réclamation": _RECEIVED,
    "nous accusons réception de": _RECEIVED,
    "n'hésitez pas à nous contacter": _REPLY_TO_YOU,
    "n'hésitez pas à revenir vers nous": _REPLY_TO_YOU,
    "nous restons à votre disposition": _REPLY_TO_YOU,
    "à l'heure actuelle": N_('Say "now".'),
}

# Sorry for "la gêne occasionnée": "désolé pour la gêne occasionnée", "veuillez nous excuser
# pour ce désagrément", "pour la gêne occasionnée, nous vous prions de nous excuser".
_TROUBLE = r"(?:gene|desagrements?|derangements?|inconvenients?)"
_SORRY = (
    r"(?:(?:nous sommes |je suis )?desolee?s?|nous nous excusons|je m excuse|excusez(?: nous| moi)?"
    r"|toutes nos excuses|(?:nous vous |je vous )?prions (?:de )?(?:bien vouloir )?"
    r"(?:nous |m )?excuser|veuillez (?:nous |m )?excuser)"
)
NON_APOLOGY = (
    rf"\b{_SORRY} (?:pour |de )?(?:la|le|les|tout|toute|tous les|toutes les|ce|cette|ces"
    rf"|eventuels?|eventuelles?)(?: \w+)? {_TROUBLE}(?: (?:occasionnee?s?|causee?s?))?\b"
    rf"|\bpour (?:la|le|les|tout|toute|ce|cette) (?:\w+ )?{_TROUBLE}(?: occasionnee?s?)?"
    rf" {_SORRY}\b"
)

# "Nous regrettons de vous informer", "nous avons le regret de vous informer" are not one.
APOLOGY = (
    r"\b(?:desolee?s?|excus\w*|pardon\w*|regrett?\w*(?! de vous informer)|navree?s?"
    r"|(?:notre|mon) erreur|(?:notre|ma) faute|nous nous sommes trompee?s|je me suis trompee?"
    r"|nous vous avons decue?|je vous ai decue?)\b"
)

UPSET_WORDS: tuple[str, ...] = (
    *("furieux", "furieuse", "scandalisé", "scandalisée", "scandaleux", "un scandale"),
    *("inadmissible", "inacceptable", "honteux", "une honte", "ridicule", "lamentable"),
    *("j'en ai marre", "ras le bol", "ras-le-bol", "exaspéré", "exaspérée", "très déçu"),
    *("très déçue", "vraiment déçu", "vraiment déçue", "troisième fois", "quatrième fois"),
    *("toujours pas", "toujours rien", "j'attends toujours", "personne ne m'a répondu"),
    *("plus jamais", "en colère"),
)

# Passing around, over the text as typed (case ignored): "contactez notre service client",
# "je vous invite à vous adresser au service comptabilité", "écrivez à sav@example.com".
_SEND = (
    r"(?:contact(?:ez|er)|appel(?:ez|er)|joindre|[ée]cri(?:vez|re)\s+(?:[àa]|au)"
    r"|(?:adressez[- ]vous|vous\s+adresser)\s+(?:directement\s+)?(?:[àa]|au|aux)"
    r"|(?:rapprochez[- ]vous|vous\s+rapprocher)\s+(?:directement\s+)?(?:de|du|des))"
)
_ELSEWHERE = (
    r"(?:(?:(?:notre|nos|le|la|les|votre|l'|un\s+autre|une\s+autre)\s*)?(?:[\w'-]+\s+){0,2}?"
    r"(?:service|d[ée]partement|[ée]quipe|bureau|hotline|standard|SAV|comptabilit[ée])\b"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
)
PASSING_AROUND = (
    rf"(?:(?:je\s+vous\s+(?:invite|conseille|recommande|prie)|nous\s+vous\s+(?:invitons"
    rf"|conseillons|recommandons|prions)|veuillez|merci\s+de|vous\s+(?:devez|pouvez|pourriez"
    rf"|devriez)|il\s+(?:vous\s+)?faut)\s+(?:[àa]\s+|de\s+|d')?(?:bien\s+vouloir\s+)?)?"
    rf"\b{_SEND}\s+{_ELSEWHERE}",
    r"\bne\s+rel[èe]ve\s+pas\s+de\s+(?:notre|mon)\s+(?:service|ressort|domaine)\b",
    r"\brel[èe]ve\s+d'un\s+autre\s+(?:service|d[ée]partement)\b",
    r"\bn'est\s+pas\s+de\s+notre\s+(?:ressort|responsabilit[ée])\b",
    r"\b(?:g[ée]r[ée]e?|trait[ée]e?)\s+par\s+un\s+autre\s+(?:service|d[ée]partement)\b",
)
# "Je vais contacter notre service logistique": the writer doing it ...
OUR_OWN_DOING = r"\b(?:je|nous|j')\s*(?:[\w']+\s+){0,3}$"
# ... unless the match itself tells them to ("je vous invite à contacter ...").
TELLS_THEM = r"(?:je|nous|veuillez|merci|vous|il)\b"

# A next step, over folded words: a first-person future ("je vous rappellerai", "nous vous
# rembourserons"), "je vais", "nous allons", "je m'en occupe", or "prochaines étapes".
_PRESENT = r"(?:esperons|considerons|preferons|ignorons|adorons|declarons|operons|tolerons)"
FUTURE_ACTION = (
    r"\b(?:je|j|nous)(?: (?:vous|lui|leur|le|la|les|l|y|en|ne|n|me|m|nous|s|se)){0,3}"
    rf" (?!{_PRESENT}\b)\w{{2,}}(?:rai|rons)\b"
    r"|\b(?:je vais|nous allons|on va)\b|\b(?:je m en occupe|nous nous en occupons|je m en charge"
    r"|nous nous en chargeons)\b|\b(?:prochaines?|suivantes?) etapes?\b"
)
FUTURE_CONTRACTED = r"(?!)"
WHEN = (
    r"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|aujourd hui|demain|ce soir"
    r"|cet apres midi|cette semaine|la semaine prochaine|fin de (?:la )?(?:semaine|journee|mois)"
    r"|(?:sous|dans|d ici) (?:\w+ ){1,2}(?:heures|jours|semaines|minutes)"
    r"|\d{1,2} (?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre"
    r"|decembre)|\d{1,4} \d{1,2} \d{1,4}|\d{1,2} ?h(?:\d{2})?)\b"
)
