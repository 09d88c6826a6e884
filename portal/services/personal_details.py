"""The guard for personal details: words about to be made public are read for phone numbers,
email addresses, card numbers, IBANs, order or account references, street addresses and UK
postcodes, and the writer is asked before they go out.

Two layers. `find_details(text, region)` is pure: what it finds, each piece quoted exactly as
typed, in the order the reader meets them. `check_public_words` is what the commands call
(feedback.submit_feedback and add_comment; workflow's tone check for staff's public words): it
reads the site's region and contact details, and raises PersonalDetailsHeld unless the writer
chose to post anyway, the same shape as the tone check's ToneHeld.

Phone numbers are found by `phonenumbers` (Google's libphonenumber), valid numbers only, in the
site's region (site_region) or in international form. The site's own contact address and phone
number are not personal details.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.core import get_global

from portal.models import SiteSettings
from portal.services.errors import DomainError
from portal.services.site import get_site_settings
from portal.services.tone import ToneFinding
from portal.services.wording import Text, say, t

# Where a site's language names no country, the region its phone numbers are read in: English
# is written here the British way (and the guard knows UK postcodes).
LANGUAGE_REGIONS = {"en": "GB"}
DEFAULT_REGION = "GB"


@dataclass(frozen=True)
class Detail:
    """One personal detail found in a text: its kind, and the words as typed, with where."""

    code: str
    quote: str
    start: int
    end: int


# Finding kinds, in the order overlapping matches win: an email address is not also read as a
# reference, a card number not also as a phone number.
CODES = (
    "email_address",
    "card_number",
    "iban",
    "phone_number",
    "postcode",
    "street_address",
    "reference",
)


def _what(code: str) -> Text:
    return {
        "email_address": t("An email address"),
        "card_number": t("A card number"),
        "iban": t("A bank account number (IBAN)"),
        "phone_number": t("A phone number"),
        "postcode": t("A postcode"),
        "street_address": t("A street address"),
        "reference": t("An order or account reference"),
    }[code]


# Patterns --------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 13 to 19 digits, perhaps in groups split by spaces or dashes (the Luhn check decides).
_CARD = re.compile(r"(?<![\w.,])\d(?:[ -]?\d){12,18}(?![\w])")
# Two letters, two check digits, then groups of letters and digits (the mod-97 check decides).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8}\b")
# A "#" or a word such as order, account, invoice, reference (perhaps with "number", "no."),
# then four or more letters and digits with at least one digit.
_REFERENCE_WORDS = (
    "order|account|acct|invoice|inv|reference|ref|booking|customer|membership|policy|"
    "ticket|case|tracking|contract|claim|transaction|receipt"
)
_REFERENCE = re.compile(
    rf"(?:#|\b(?i:{_REFERENCE_WORDS})s?\b(?:\s+(?i:no|number|num|id|code)\b)?\.?\s*[:#]?\s*)"
    r"(?P<ref>(?=[A-Za-z-]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,})\b"
)
# A house number, one to three words of the street's name, and a street word. Words that are
# also everyday words (way, close, court, park...) count only with a capital letter, and the
# name's words are not small words ("5 miles down the road" is no address).
_STREET_ANY_CASE = "street|st|road|rd|avenue|ave|lane|ln|crescent|cres|boulevard|blvd|mews|terrace"
_STREET_CAPITALISED = (
    "Way|Close|Walk|Row|Place|Court|Ct|Hill|Park|Square|Sq|Drive|Dr|Gardens|Grove|Parade|Green|"
    "Rise|View|Yard|Wharf"
)
_SMALL_WORDS = (
    "a|an|the|and|or|of|in|on|at|by|to|up|down|along|across|from|for|with|my|your|our|their|"
    "his|her|its|this|that|these|those|any|one|no|some|every|each|other|same|more|times|"
    "seconds|minutes|hours|days|weeks|months|years|miles|km|metres|meters|yards|feet|items|"
    "people|pounds|euros|dollars|times|is|was|were|are|be|been"
)
_ADDRESS = re.compile(
    r"\b\d{1,5}[A-Za-z]?,?\s+"
    rf"(?:(?!(?i:{_SMALL_WORDS})\b)[A-Za-z][\w'-]*\s+){{1,3}}"
    rf"(?:(?i:{_STREET_ANY_CASE})|{_STREET_CAPITALISED})\b"
)
# UK postcodes (outward code, inward code), all in capitals or all in small letters.
_POSTCODE = re.compile(
    r"\b(?:[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}"
    r"|[a-z]{1,2}\d[a-z\d]? ?\d[abd-hjlnp-uw-z]{2})\b"
)


# The detector ----------------------------------------------------------------------------------


def find_details(
    text: str, region: str = DEFAULT_REGION, *, allowed: Iterable[str] = ()
) -> list[Detail]:
    """Personal details in `text`, in reading order; phone numbers as `region` writes them (or
    international). `allowed` are the site's own contact details, which are not flagged."""
    allowed_keys = {_key(value, region) for value in allowed if value.strip()}
    found: list[Detail] = []
    for detail in _candidates(text, region):
        if any(detail.start < kept.end and kept.start < detail.end for kept in found):
            continue  # the same words, already found as a kind that comes first
        if _key(detail.quote, region) in allowed_keys:
            continue
        found.append(detail)
    return sorted(found, key=lambda d: d.start)


def _candidates(text: str, region: str) -> Iterator[Detail]:
    """Every match of every kind, the kinds in the order of CODES."""
    for m in _EMAIL.finditer(text):
        yield Detail("email_address", m.group(), m.start(), m.end())
    for m in _CARD.finditer(text):
        if luhn_valid(re.sub(r"\D", "", m.group())):
            yield Detail("card_number", m.group(), m.start(), m.end())
    for m in _IBAN.finditer(text):
        iban = _valid_iban_prefix(m.group())
        if iban:
            yield Detail("iban", iban, m.start(), m.start() + len(iban))
    valid = phonenumbers.Leniency.VALID
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=valid):
        yield Detail("phone_number", match.raw_string, match.start, match.end)
    for m in _POSTCODE.finditer(text):
        yield Detail("postcode", m.group(), m.start(), m.end())
    for m in _ADDRESS.finditer(text):
        yield Detail("street_address", m.group(), m.start(), m.end())
    for m in _REFERENCE.finditer(text):
        yield Detail("reference", m.group(), m.start(), m.end())


def luhn_valid(digits: str) -> bool:
    """Whether 13 to 19 digits pass the Luhn check, as every card number does."""
    if not (13 <= len(digits) <= 19 and digits.isdigit()):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# How long each country's IBANs are (the SWIFT registry), so a code that merely passes mod 97
# by chance (one in 97) is not taken for one.
_IBAN_REGISTRY = (
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 "
    "EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 "
    "IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 "
    "NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 "
    "TR26 UA29 VA22 VG24 XK20"
)
IBAN_LENGTHS = {entry[:2]: int(entry[2:]) for entry in _IBAN_REGISTRY.split(" ")}


def iban_valid(text: str) -> bool:
    """Whether the letters and digits are an IBAN: its country's length, and check digits
    that are right (mod 97)."""
    compact = text.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


def _valid_iban_prefix(matched: str) -> str:
    """The longest run of the match's groups that is a valid IBAN ("" if none): a word typed
    after the number ("... 32 THANKS") may have been read as one more group."""
    groups = matched.split(" ")
    for count in range(len(groups), 0, -1):
        candidate = " ".join(groups[:count])
        if iban_valid(candidate):
            return candidate
    return ""


def _key(value: str, region: str) -> str:
    """A detail as compared with the site's own: a phone number in E.164, anything else in
    small letters without spaces."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return "".join(value.split()).casefold()


def site_region(settings: SiteSettings) -> str:
    """The region phone numbers are read in: that of the site's own phone number when it is
    written in international form, else the country of the site's language."""
    phone = (settings.contact_phone or "").strip()
    if phone.startswith("+"):
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
        except phonenumbers.NumberParseException:
            region = None
        if region and region != "ZZ":
            return str(region)
    language = (settings.default_language or "").replace("-", "_")
    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_REGION
    if locale.territory in phonenumbers.SUPPORTED_REGIONS:
        return str(locale.territory)
    if locale.language in LANGUAGE_REGIONS:
        return LANGUAGE_REGIONS[locale.language]
    # CLDR's likely country for the language ("de" -> "de_Latn_DE"); a language of no one
    # country (Esperanto's "001", the world) falls back to the default.
    likely = str(get_global("likely_subtags").get(locale.language, "")).split("_")
    country = next((part for part in likely[1:] if part in phonenumbers.SUPPORTED_REGIONS), None)
    return country or DEFAULT_REGION


# Findings and the check the commands make -----------------------------------------------------
# Findings take the tone check's shape (code, what, advice, quotes, message), so the admin
# page's list, the forms' fragment and the API's error.findings show both alike.


def findings_in(details: Iterable[Detail], *, may_make_private: bool) -> list[ToneFinding]:
    """One finding per kind, quoting each piece once, kinds in the order first met."""
    quotes: dict[str, list[str]] = {}
    for detail in details:
        seen = quotes.setdefault(detail.code, [])
        if detail.quote not in seen:
            seen.append(detail.quote)
    advice = (
        t("Take it out, or make what you send private.")
        if may_make_private
        else t("Take it out before it goes public.")
    )
    return [
        ToneFinding(code, say(_what(code)), say(advice), tuple(found))
        for code, found in quotes.items()
    ]


def details_in(text: str, *, may_make_private: bool = True) -> list[ToneFinding]:
    """What the guard finds in words for this site (its region; its own contact details are
    not flagged)."""
    if not text.strip():
        return []
    settings = get_site_settings()
    details = find_details(
        text,
        site_region(settings),
        allowed=(settings.contact_email or "", settings.contact_phone or ""),
    )
    return findings_in(details, may_make_private=may_make_private)


class PersonalDetailsHeld(DomainError):
    """Words about to be made public hold personal details: they are held until the writer
    takes the details out, makes what they send private, or chooses to post anyway."""

    status_code = 422

    def __init__(self, by_field: Mapping[str, list[ToneFinding]], *, may_make_private: bool):
        self.by_field = dict(by_field)
        self.findings = [finding for found in self.by_field.values() for finding in found]
        self.may_make_private = may_make_private
        super().__init__(
            t(
                "%(question)s %(findings)s",
                question=question(may_make_private=may_make_private),
                findings=" ".join(finding.message for finding in self.findings),
            )
        )


def question(*, may_make_private: bool) -> Text:
    """What the writer is asked when the guard finds something."""
    if may_make_private:
        return t("This will be public: make it private, or take the details out?")
    return t("This will be public: take the details out, or post it anyway?")


def check_public_words(
    fields: Mapping[str, str], *, post_anyway: bool, may_make_private: bool
) -> None:
    """Hold words about to be made public (by field name) if the guard finds personal details
    in them, unless the writer chose to post anyway."""
    if post_anyway:
        return
    found = {
        name: findings
        for name, text in fields.items()
        if (findings := details_in(text, may_make_private=may_make_private))
    }
    if found:
        raise PersonalDetailsHeld(found, may_make_private=may_make_private)
