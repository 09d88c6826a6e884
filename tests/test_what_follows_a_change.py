"""What follows a change is written by the consumers of its event (portal/services/consumers.py),
never by the command: every audit entry is recorded there, and no command in portal/services
sends an email itself. Read from the source with `ast`, so a new command that writes its own
audit entry or email fails here, named by file and line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "portal"
CONSUMERS = ROOT / "services" / "consumers.py"
NOTIFICATIONS = ROOT / "services" / "notifications.py"


def _calls_of(tree: ast.AST, module: str, wanted: str | tuple[str, ...]) -> Iterator[ast.Call]:
    """Calls of functions of `portal.services.<module>` whose names start with `wanted`,
    however they were imported: `module.name(...)`, under an alias, or imported by name."""
    full = f"portal.services.{module}"
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "portal.services":
            modules |= {a.asname or a.name for a in node.names if a.name == module}
        elif isinstance(node, ast.ImportFrom) and node.module == full:
            functions |= {a.asname or a.name for a in node.names if a.name.startswith(wanted)}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == full}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        by_name = isinstance(func, ast.Name) and func.id in functions
        by_module = (
            isinstance(func, ast.Attribute)
            and func.attr.startswith(wanted)
            and ast.unparse(func.value) in modules
        )
        if by_name or by_module:
            yield node


def _places(paths: list[Path], module: str, wanted: str | tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT.parent)}:{call.lineno}"
        for path in paths
        for call in _calls_of(ast.parse(path.read_text(encoding="utf-8")), module, wanted)
    ]


def test_every_audit_entry_is_recorded_by_a_consumer_of_an_event() -> None:
    others = [p for p in sorted(ROOT.rglob("*.py")) if p != CONSUMERS]
    assert _places(others, "audit", "record") == []
    assert len(_places([CONSUMERS], "audit", "record")) > 30  # the checker sees them


# Emails about changes and about accounts (the outbox's own queue_email is left to
# notifications and the digests, which compose their mail).
SENDERS = ("send_", "notify_", "email_account_holder")


def test_no_command_sends_an_email_itself() -> None:
    services = sorted((ROOT / "services").glob("*.py"))
    commands = [p for p in services if p not in (CONSUMERS, NOTIFICATIONS)]
    assert _places(commands, "notifications", SENDERS) == []
    assert len(_places([CONSUMERS], "notifications", SENDERS)) > 5


def test_the_checker_finds_calls_however_the_module_was_imported() -> None:
    source = """
from portal.services import audit
from portal.services import audit as log
import portal.services.audit
from portal.services.audit import record as write, recent_entries

def command(actor):
    audit.record(actor, "a", "t", 1)
    log.record(actor, "b", "t", 1)
    portal.services.audit.record(actor, "c", "t", 1)
    write(actor, "d", "t", 1)
    recent_entries()
    other.record(actor)
"""
    found = [call.lineno for call in _calls_of(ast.parse(source), "audit", "record")]
    assert sorted(found) == [8, 9, 10, 11]
