"""The product's own errors. The error handler turns them into 4xx answers after a rollback."""

from __future__ import annotations

from portal.services.wording import Text


class DomainError(Exception):
    """A rule of the product refused an action; the message is shown to the person."""

    status_code = 400

    def __init__(self, message: str | Text) -> None:
        super().__init__(message)
        self._message = message

    @property
    def message(self) -> str:
        """The refusal in the reader's language (a Text is translated when read)."""
        return str(self._message)


class NotAllowed(DomainError):
    """The acting person may not do this."""

    status_code = 403


class NotFound(DomainError):
    """The thing does not exist, or this person may not know that it does."""

    status_code = 404


class EmailTaken(DomainError):
    """An account with that email address already exists."""

    status_code = 409
