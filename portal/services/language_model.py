"""py3langid's model, loaded once per process (a second or two, on first use) and limited to
the portal's languages: shared by an item's language (services/languages.py) and a staff
reply's (services/tone/language.py)."""

from __future__ import annotations

from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# The languages the portal speaks, English (the source) first. A fifth is added here, with
# its catalog, its search configuration (services/languages.py) and, if the tone check is to
# read it, its words (services/tone/).
PORTAL_LANGUAGES: tuple[str, ...] = ("en", "es", "de", "fr", "ar")


@cache
def identifier() -> LanguageIdentifier:
    """The model, told to choose among PORTAL_LANGUAGES only, with probabilities (0 to 1)."""
    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    model.set_languages(list(PORTAL_LANGUAGES))
    return model
