"""The portal's imports run one way: no module imports, however indirectly, a module that
imports it. A cycle is how a layer starts reaching upwards (a model into a service, a command
into what follows it), so any cycle fails here, named module by module.

The graph is read from the source with `ast`, imports inside functions included (a lazy import
hides a cycle from Python, not from the design); imports under `if TYPE_CHECKING:` are left
out, as they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE = "portal"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

ImportGraph = dict[str, dict[str, list[str]]]  # module -> imported module -> where ("file:line")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: at module level, in functions and classes, in
    try and if blocks, but not in the body of `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child):
            for branch in child.orelse:
                yield from _imports(ast.Module(body=[branch], type_ignores=[]))
        else:
            yield from _imports(child)


def _imported_modules(
    node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, modules: set[str]
) -> Iterator[str]:
    """The portal modules an import statement loads: `from portal.x import y` is module
    portal.x.y when that is a module, else portal.x."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        package = importer.split(".") if is_package else importer.split(".")[:-1]
        base = package[: len(package) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        yield submodule if submodule in modules else source


def import_graph(root: Path = ROOT) -> ImportGraph:
    """Which portal module imports which, with where each import is written."""
    files = {_module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    modules = set(files)
    graph: ImportGraph = {name: {} for name in modules}
    for importer, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        own_packages = _packages_of(importer, is_package)
        for node in _imports(tree):
            for imported in _imported_modules(node, importer, is_package, modules):
                # Importing a.b.c first runs a/b/__init__.py: a package the importer is not
                # itself inside is imported too (an __init__ that re-exports can close a cycle).
                implied = [p for p in _packages_of(imported, False) if p not in own_packages]
                for module in [*implied, imported]:
                    if module in modules and module != importer:
                        where = f"{path.relative_to(root.parent)}:{node.lineno}"
                        graph[importer].setdefault(module, []).append(where)
    return graph


def _packages_of(module: str, is_package: bool) -> list[str]:
    """The packages a module sits in (itself too, for a package's __init__)."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + (1 if is_package else 0))]


def cycles(graph: Mapping[str, Mapping[str, object]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm,
    iterative), each sorted, in order of their first module."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = lowlink[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, {})))))
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[node])
                if lowlink[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def _describe(component: list[str], graph: ImportGraph) -> str:
    members = set(component)
    lines = [f"{len(component)} modules import each other: {', '.join(component)}"]
    for importer in component:
        for imported, places in sorted(graph[importer].items()):
            if imported in members:
                lines.append(f"  {importer} -> {imported} ({', '.join(places)})")
    return "\n".join(lines)


def test_no_portal_module_imports_itself_through_others() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "Import cycles:\n" + "\n".join(_describe(c, graph) for c in found)


# The checker itself: it must see the cycles it exists to catch. -----------------------------


def _write(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def later():\n    from pkg.c import thing\n",
            "pkg/c.py": "import pkg.a\nthing = 1\n",
        },
    )
    graph = import_graph(root)
    assert graph["pkg.b"] == {"pkg.c": ["pkg/b.py:2"]}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert "pkg.b -> pkg.c (pkg/b.py:2)" in _describe(cycles(graph)[0], graph)


def test_an_import_only_for_type_checking_makes_no_cycle(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.a import A\n"
                "else:\n    import json\n"
            ),
        },
    )
    graph = import_graph(root)
    assert graph["pkg.b"] == {}
    assert cycles(graph) == []


@pytest.mark.parametrize(
    ("statement", "imported"),
    [
        ("from pkg.sub import mod", "pkg.sub.mod"),  # a module
        ("from pkg.sub import name", "pkg.sub"),  # a name in the package
        ("from . import mod", "pkg.sub.mod"),  # relative, inside pkg.sub
        ("from .. import a", "pkg.a"),
    ],
)
def test_from_imports_resolve_to_the_module_they_load(
    tmp_path: Path, statement: str, imported: str
) -> None:
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "",
            "pkg/sub/__init__.py": "name = 1\n",
            "pkg/sub/mod.py": "",
            "pkg/sub/user.py": statement + "\n",
        },
    )
    assert list(import_graph(root)["pkg.sub.user"]) == [imported]


def test_a_cycle_through_a_package_that_re_exports_is_found(tmp_path: Path) -> None:
    # pkg.a imports pkg.sub.mod, which first runs pkg/sub/__init__.py; that imports pkg.sub.rep,
    # which imports pkg.a back: importing pkg.a first found pkg.a half-made.
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.sub.mod import thing\n",
            "pkg/sub/__init__.py": "from pkg.sub.rep import report\n",
            "pkg/sub/mod.py": "thing = 1\n",
            "pkg/sub/rep.py": "from pkg.a import thing\nreport = thing\n",
        },
    )
    graph = import_graph(root)
    assert list(graph["pkg.a"]) == ["pkg.sub", "pkg.sub.mod"]
    assert cycles(graph) == [["pkg.a", "pkg.sub", "pkg.sub.rep"]]
