"""Domain events: a command emits one when it has changed something, and what follows the
change (timeline, audit, emails, webhooks, caches) subscribes to it, so adding a consumer
touches no command.

Consumers connected with `on()` run inside the command's transaction: what they write commits
or rolls back with the change. Work that must wait for the commit (waking a deliverer,
clearing a cache another request could fill again with old data) is registered with
`after_commit()` and dropped if the transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from blinker import Namespace
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

E = TypeVar("E")

_signals = Namespace()
AFTER_COMMIT_KEY = "portal.after_commit"


def _signal_for(event_type: type[Any]) -> Any:
    return _signals.signal(f"{event_type.__module__}.{event_type.__qualname__}")


def emit(event: object) -> None:
    """Tell every consumer of this kind of event, in the current transaction."""
    _signal_for(type(event)).send(event)


def on(event_type: type[E]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Subscribe a consumer to one kind of event (kept for the life of the process)."""

    def connect(consumer: Callable[[E], None]) -> Callable[[E], None]:
        _signal_for(event_type).connect(_receiver(consumer), weak=False)
        return consumer

    return connect


def _receiver(consumer: Callable[[E], None]) -> Callable[[E], None]:
    # blinker calls receivers with the sender (the event) positionally and no keywords.
    def receive(sender: E, **_: Any) -> None:
        consumer(sender)

    receive.__name__ = receive.__qualname__ = consumer.__qualname__
    return receive


def after_commit(session: Session | Any, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed; never if it rolls back."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(AFTER_COMMIT_KEY, []):
        callback()


def _drop_after_commit(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(AFTER_COMMIT_KEY, None)


if not sa_event.contains(Session, "after_commit", _run_after_commit):
    sa_event.listen(Session, "after_commit", _run_after_commit)
    sa_event.listen(Session, "after_soft_rollback", _drop_after_commit)
