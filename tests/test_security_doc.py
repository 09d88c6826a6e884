"""SECURITY.md stays true: every test it names exists, and its OWASP ASVS 5.0 list names each
Level 1 and 2 requirement exactly once, at its right level, and no requirement that does not
exist."""

from __future__ import annotations

import ast
import re
from collections import Counter
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECURITY_MD = ROOT / "SECURITY.md"

# OWASP ASVS 5.0.0 (git tag v5.0.0_release, 5.0/en/0x10 to 0x26): the requirements of Levels 1
# and 2, as runs of numbers within each section ("6.2.1-12" is 6.2.1 to 6.2.12).
ASVS_5_0_0_LEVELS_1_AND_2 = """
1.1.1-2 1.2.1-9 1.3.1-11 1.4.1-3 1.5.1-2 2.1.1-3 2.2.1-3 2.3.1-4 2.4.1 3.2.1-2 3.3.1-4 3.4.1-6
3.5.1-5 3.7.1-2 4.1.1-3 4.2.1 4.3.1-2 4.4.1-4 5.1.1 5.2.1-3 5.3.1-2 5.4.1-3 6.1.1-3 6.2.1-12
6.3.1-4 6.4.1-4 6.5.1-5 6.6.1-3 6.8.1-4 7.1.1-3 7.2.1-4 7.3.1-2 7.4.1-5 7.5.1-2 7.6.1-2 8.1.1-2
8.2.1-3 8.3.1 8.4.1 9.1.1-3 9.2.1-4 10.1.1-2 10.2.1-2 10.3.1-4 10.4.1-11 10.5.1-5 10.6.1-2
10.7.1-3 11.1.1-2 11.2.1-3 11.3.1-3 11.4.1-4 11.5.1 11.6.1 12.1.1-3 12.2.1-2 12.3.1-4 13.1.1
13.2.1-5 13.3.1-2 13.4.1-5 14.1.1-2 14.2.1-4 14.3.1-3 15.1.1-3 15.2.1-3 15.3.1-7 16.1.1 16.2.1-5
16.3.1-4 16.4.1-3 16.5.1-3 17.1.1 17.2.1-4 17.3.1-2
"""
# Of those, the Level 1 ones; the rest are Level 2.
ASVS_5_0_0_LEVEL_1 = """
1.2.1-5 1.3.1-2 1.5.1 2.1.1 2.2.1-2 2.3.1 3.2.1-2 3.3.1 3.4.1-2 3.5.1-3 4.1.1 4.4.1 5.2.1-2
5.3.1-2 6.1.1 6.2.1-8 6.3.1-2 6.4.1-2 7.2.1-4 7.4.1-2 8.1.1 8.2.1-2 8.3.1 9.1.1-3 9.2.1
10.4.1-5 11.3.1-2 11.4.1 12.1.1 12.2.1-2 13.4.1 14.2.1 14.3.1 15.1.1 15.2.1 15.3.1
"""

_TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:::(\w+))?`")
_REQUIREMENT = re.compile(r"\bV(\d+\.\d+\.\d+)\b")
_ROW = re.compile(r"^\| V(\d+\.\d+\.\d+) \| (L[12]) \|")
_NOT_APPLICABLE = re.compile(r"^- ((?:V\d+\.\d+\.\d+(?:, )?)+):")


def _expand(runs: str) -> set[str]:
    ids: set[str] = set()
    for run in runs.split():
        section, _, numbers = run.rpartition(".")
        first, _, last = numbers.partition("-")
        ids.update(f"{section}.{n}" for n in range(int(first), int(last or first) + 1))
    return ids


def _asvs_section(text: str) -> list[str]:
    start = text.index("\n## OWASP ASVS 5.0\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None].splitlines()


@cache
def _tests_in(path: str) -> frozenset[str]:
    """Test functions of a module, and Class::method for those inside test classes."""
    tree = ast.parse((ROOT / path).read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return frozenset(n for n in names if n.split("::")[-1].startswith("test"))


def missing_tests(text: str) -> list[str]:
    """The test references in this text that name no test in the repository."""
    missing = []
    for path, name, method in _TEST_REFERENCE.findall(text):
        wanted = f"{name}::{method}" if method else name
        if not (ROOT / path).is_file() or wanted not in _tests_in(path):
            missing.append(f"{path}::{wanted}")
    return missing


def asvs_problems(text: str) -> list[str]:
    """What is wrong with the ASVS list: requirements missing, listed twice, unknown, at the
    wrong level or in the wrong chapter, and "met" rows that name no test."""
    expected, level_1 = _expand(ASVS_5_0_0_LEVELS_1_AND_2), _expand(ASVS_5_0_0_LEVEL_1)
    problems: list[str] = []
    listed: Counter[str] = Counter()
    subsection = chapter = ""
    for line in _asvs_section(text):
        if line.startswith("### "):
            subsection, chapter = line, ""
        elif line.startswith("#### V"):
            chapter = line.split()[1]
        for known in _REQUIREMENT.findall(line):
            if known not in expected:
                problems.append(f"V{known} is not a Level 1 or 2 requirement of ASVS 5.0.0")
        row = _ROW.match(line)
        if row:
            requirement, level = row.groups()
            listed[requirement] += 1
            if level != ("L1" if requirement in level_1 else "L2"):
                problems.append(f"V{requirement} is not {level}")
            if chapter and not requirement.startswith(chapter[1:] + "."):
                problems.append(f"V{requirement} is listed under {chapter}")
            if subsection.startswith("### Met, and the tests") and not _TEST_REFERENCE.search(line):
                problems.append(f"V{requirement} is listed as shown by tests but names none")
        bullet = _NOT_APPLICABLE.match(line)
        if bullet:
            listed.update(_REQUIREMENT.findall(bullet.group(1)))
    problems += [f"V{r} is listed {n} times" for r, n in sorted(listed.items()) if n > 1]
    problems += [f"V{r} is not listed" for r in sorted(expected - set(listed))]
    return problems


def test_every_test_security_md_names_exists() -> None:
    text = SECURITY_MD.read_text()
    assert _TEST_REFERENCE.search(text), "SECURITY.md names tests as `tests/path.py::test_name`"
    assert missing_tests(text) == []


def test_security_md_lists_every_asvs_level_1_and_2_requirement_once() -> None:
    assert len(_expand(ASVS_5_0_0_LEVELS_1_AND_2)) == 253
    assert len(_expand(ASVS_5_0_0_LEVEL_1)) == 70
    assert asvs_problems(SECURITY_MD.read_text()) == []


def test_the_checks_find_a_missing_test_and_a_wrong_list() -> None:
    """The checks themselves: a renamed test, a forgotten requirement, a wrong level, an
    invented id and a row claimed as tested without a test are each reported."""
    text = SECURITY_MD.read_text()
    renamed = text.replace("::test_a_redirect_is_not_followed`", "::test_redirects_are_followed`")
    assert missing_tests(renamed) == [
        "tests/services/test_webhooks.py::test_redirects_are_followed"
    ]
    row = next(line for line in _asvs_section(text) if line.startswith("| V7.4.1 | L1 |"))
    assert "V7.4.1 is not listed" in asvs_problems(text.replace(row + "\n", ""))
    assert "V7.4.1 is not L2" in asvs_problems(text.replace("| V7.4.1 | L1 |", "| V7.4.1 | L2 |"))
    invented = text.replace("| V7.4.1 | L1 |", "| V7.4.9 | L1 |")
    assert "V7.4.9 is not a Level 1 or 2 requirement of ASVS 5.0.0" in asvs_problems(invented)
    untested = row.split("`")[0] + "nothing |"
    assert "V7.4.1 is listed as shown by tests but names none" in asvs_problems(
        text.replace(row, untested)
    )
