"""Words a service says to a person (a refusal, a timeline step, an email's subject), kept as
the catalog's message and its values until shown, so they come out in the reader's language.

Services know no Flask: the app's presenter translates through Flask-Babel's catalogs, in the
language of the request or of the email being written. Without an app (a script, a unit test
of a service alone) the English source is used. Mark words with `t("...")`, and sentences that
count with `tn("one item", "%(num)d items", n)`; `make translations` extracts both:

    raise NotAllowed(t("Only %(owner)s can reply to this.", owner=owner.name))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal.services import environment


@dataclass(frozen=True, slots=True)
class Text:
    """A catalog message and its values; str() is the message in the reader's language."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    plural: str | None = None
    count: int = 1

    def values(self) -> dict[str, Any]:
        """The values, with any Text among them in the reader's language too."""
        return {
            name: str(value) if isinstance(value, Text) else value
            for name, value in self.params.items()
        }

    def english(self) -> str:
        """The source words, as written in the code."""
        values = self.values()
        if self.plural is not None:
            values.setdefault("num", self.count)
            chosen = self.message if self.count == 1 else self.plural
            return chosen % values
        return self.message % values if values else self.message

    def __str__(self) -> str:
        try:
            presenter = environment.current().presenter
        except environment.NoEnvironment:
            return self.english()
        return presenter.translate(self)


def t(message: str, /, **params: Any) -> Text:
    """Words for the catalog, with %(name)s values filled in when shown."""
    return Text(message, params)


def tn(singular: str, plural: str, count: int, /, **params: Any) -> Text:
    """Words that depend on a number; %(num)d is the number."""
    return Text(singular, params, plural=plural, count=count)


def say(text: str | Text) -> str:
    """Text or plain words as the reader reads them."""
    return str(text)
