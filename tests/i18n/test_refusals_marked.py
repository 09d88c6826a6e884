"""Every refusal a service raises is catalog words (t or tn from portal.services.wording), never
an English string or an f-string: a DomainError's message is shown to people, in their
language. A new raise with plain words fails here before any page shows it."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import portal.services
from portal.services.errors import DomainError

SERVICES = Path(portal.services.__file__).parent


def _refusal_names() -> set[str]:
    for module in pkgutil.walk_packages(portal.services.__path__, "portal.services."):
        importlib.import_module(module.name)
    found: set[str] = set()
    waiting: list[type] = [DomainError]
    while waiting:
        kind = waiting.pop()
        found.add(kind.__name__)
        waiting.extend(kind.__subclasses__())
    return found


def _plain_words(node: ast.expr) -> bool:
    """Words written out in place: a string, an f-string, or words joined with +."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _plain_words(node.left) or _plain_words(node.right)
    if isinstance(node, ast.IfExp):
        return _plain_words(node.body) or _plain_words(node.orelse)
    return False


def test_every_refusal_a_service_raises_is_catalog_words() -> None:
    refusals = _refusal_names()
    plain = []
    for path in sorted(SERVICES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            called = node.exc.func
            name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", "")
            if name in refusals and any(_plain_words(arg) for arg in node.exc.args):
                plain.append(f"{path.relative_to(SERVICES.parent.parent)}:{node.lineno}")
    assert plain == []


def test_the_check_sees_plain_words() -> None:
    assert _plain_words(ast.parse('f"#{n} is done"', mode="eval").body)
    assert _plain_words(ast.parse('"Not " + label', mode="eval").body)
    assert not _plain_words(ast.parse('t("#%(id)d is done", id=n)', mode="eval").body)
