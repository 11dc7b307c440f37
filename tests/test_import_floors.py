"""The package's imports point one way: down its floors, never up, and in no circle.

Every module of ``fastsignal/`` is read as source (``ast`` for ``.py``, a regular
expression for the Cython ``.pyx``), and every import of the package it makes is
an edge: at module level or inside a function, relative or absolute. Imports
under ``if TYPE_CHECKING:`` are left out (they never run). The floors, and why,
are in ``docs/development.md`` ("Floors"); this list is the one that is enforced.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = "fastsignal"
SOURCE = Path(__file__).resolve().parent.parent / PACKAGE
DEVELOPMENT_DOCS = SOURCE.parent / "docs" / "development.md"

#: Lowest first. A module imports only modules of its own floor or of a lower one.
#: ``django`` stands for ``fastsignal.django`` and every module under it.
FLOORS: list[tuple[str, set[str]]] = [
    ("ground", {"_common", "_signal_paths", "_types", "_send_frame"}),
    ("engines", {"_engine_py", "_engine_c", "_engine"}),
    ("what the slow routes call", {"_async", "monitoring", "transaction"}),
    ("the slow routes of a send", {"_send_routes"}),
    ("public API", {"fastsignal", "dispatcher", "background", "_travel", "tasks"}),
    (
        "tools and integrations",
        {"introspect", "opentelemetry", "testing", "pytest_plugin", "django", "__main__"},
    ),
]


def module_name(path: Path, source: Path) -> str:
    parts = list(path.relative_to(source.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str, source: Path) -> bool:
    """Whether ``fastsignal.x.y`` names a module or package of the source tree."""
    path = source.parent.joinpath(*name.split("."))
    return path.is_dir() or any(path.with_suffix(s).exists() for s in (".py", ".pyx"))


def target(base: str, name: str, source: Path) -> str:
    """The module that ``from base import name`` loads: ``base.name`` if that is one."""
    if is_module(f"{base}.{name}", source):
        return f"{base}.{name}"
    return base


def resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import ...`` in ``importer``."""
    if not level:
        return module or ""
    parts = importer.split(".") if is_package else importer.split(".")[:-1]
    parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([module] if module else []))


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def python_imports(path: Path, source: Path) -> list[tuple[str, int]]:
    """``[(imported module, line), ...]`` of the package, from a ``.py`` file."""
    importer, is_package = module_name(path, source), path.name == "__init__.py"
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child):
                for other in child.orelse:
                    visit_node(other)
                continue
            visit_node(child)

    def visit_node(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(importer, is_package, node.level, node.module)
            found.extend((target(base, a.name, source), node.lineno) for a in node.names)
        visit(node)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return [(name, line) for name, line in found if name.split(".")[0] == PACKAGE]


_PYX_FROM = re.compile(
    r"^[ \t]*from[ \t]+(?P<base>\.+[\w.]*|\w[\w.]*)[ \t]+c?import[ \t]+"
    r"(?:\((?P<group>[^)]*)\)|(?P<names>[^\n]*))",
    re.MULTILINE,
)
_PYX_IMPORT = re.compile(r"^[ \t]*c?import[ \t]+(?P<names>[^\n]*)", re.MULTILINE)


def cython_imports(path: Path, source: Path) -> list[tuple[str, int]]:
    """``[(imported module, line), ...]`` of the package, from a ``.pyx`` file's text."""
    importer, text = module_name(path, source), path.read_text(encoding="utf-8")
    found: list[tuple[str, int]] = []
    for match in _PYX_FROM.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        dots = len(match["base"]) - len(match["base"].lstrip("."))
        base = resolve(importer, False, dots, match["base"].lstrip(".") or None)
        names = match["group"] if match["group"] is not None else match["names"]
        for name in names.split("#")[0].split(","):
            name = name.split(" as ")[0].strip()
            if name:
                found.append((target(base, name, source), line))
    for match in _PYX_IMPORT.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        for name in match["names"].split("#")[0].split(","):
            found.append((name.split(" as ")[0].strip(), line))
    return [(name, line) for name, line in found if name.split(".")[0] == PACKAGE]


def import_graph(source: Path) -> dict[str, list[tuple[str, int]]]:
    """``{module: [(module it imports, line), ...]}`` for every module of the package."""
    graph = {}
    for path in sorted(source.rglob("*.py")):
        graph[module_name(path, source)] = python_imports(path, source)
    for path in sorted(source.rglob("*.pyx")):
        graph[module_name(path, source)] = cython_imports(path, source)
    return graph


def floor_of(module: str) -> int | None:
    short = module.partition(".")[2] or PACKAGE
    for number, (_, members) in enumerate(FLOORS):
        if short in members or short.split(".")[0] in members:
            return number
    return None


def upward_imports(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    problems = []
    for importer, imports in sorted(graph.items()):
        low = floor_of(importer)
        for imported, line in imports:
            high = floor_of(imported)
            if low is not None and high is not None and high > low:
                problems.append(
                    f"{importer} (floor {low}, {FLOORS[low][0]}) imports {imported} "
                    f"(floor {high}, {FLOORS[high][0]}) at line {line}"
                )
    return problems


def cycles(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan's algorithm)."""
    edges = {m: sorted({t for t, _ in imports if t != m}) for m, imports in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return [shortest_cycle(edges, sorted(group)) for group in groups]


def shortest_cycle(edges: dict[str, list[str]], group: list[str]) -> list[str]:
    """A shortest cycle from ``group[0]`` back to itself, inside ``group``."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in edges.get(node, ()):
            if nxt == start:
                return [*paths[node], start]
            if nxt in members and nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


@pytest.fixture(scope="module")
def graph():
    if not SOURCE.is_dir():
        pytest.skip(f"no source tree at {SOURCE}")
    return import_graph(SOURCE)


def test_every_module_is_on_a_floor(graph):
    assert graph, SOURCE
    unplaced = sorted(m for m in graph if floor_of(m) is None)
    assert not unplaced, f"put these modules on a floor (FLOORS here, and the docs): {unplaced}"
    named = {name for _, members in FLOORS for name in members}
    present = {m.partition(".")[2].split(".")[0] or PACKAGE for m in graph}
    assert named <= present, f"FLOORS names modules that do not exist: {sorted(named - present)}"


def test_no_module_imports_a_higher_floor(graph):
    problems = upward_imports(graph)
    assert not problems, "imports that point up:\n" + "\n".join(problems)


def test_imports_form_no_cycle(graph):
    found = cycles(graph)
    assert not found, "import cycles (one per circle of modules):\n" + "\n".join(
        " -> ".join(cycle) for cycle in found
    )


def test_the_docs_list_the_floors_that_are_enforced():
    if not DEVELOPMENT_DOCS.is_file():
        pytest.skip(f"no {DEVELOPMENT_DOCS}")
    text = DEVELOPMENT_DOCS.read_text(encoding="utf-8")
    section = text.partition("## Floors")[2].partition("\n## ")[0]
    rows = re.findall(r"^\| (\d+)\. ([^|]+?) \| ([^|]+?) \|", section, re.MULTILINE)
    documented = [(name, set(re.findall(r"`(\w+)", modules))) for _, name, modules in rows]
    assert documented == FLOORS


def test_the_reader_sees_every_kind_of_import(tmp_path):
    """Module-level, function-level, relative, absolute and ``.pyx`` imports are edges;
    ``TYPE_CHECKING`` blocks are not."""
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from . import low\n")
    (package / "low.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import fastsignal.high\n"
        "if TYPE_CHECKING:\n"
        "    from .typed import T\n"
        "else:\n"
        "    from .other import name\n"
        "def f():\n"
        "    from .sub import deep\n"
    )
    (package / "high.py").write_text("")
    (package / "other.py").write_text("def f():\n    import fastsignal.low\n")
    (package / "typed.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .. import low as _\n")
    (package / "sub" / "deep.py").write_text("")
    (package / "ext.pyx").write_text(
        "from .low import (\n    a,\n    b,\n)\nfrom . import high as _h\ndef g():\n"
        "    from fastsignal.other import x\n    import fastsignal.sub.deep\n"
    )
    found = import_graph(package)
    assert {m: sorted({t for t, _ in i}) for m, i in found.items()} == {
        "fastsignal": ["fastsignal.low"],
        "fastsignal.low": ["fastsignal.high", "fastsignal.other", "fastsignal.sub.deep"],
        "fastsignal.high": [],
        "fastsignal.other": ["fastsignal.low"],
        "fastsignal.typed": [],
        "fastsignal.sub": ["fastsignal.low"],
        "fastsignal.sub.deep": [],
        "fastsignal.ext": [
            "fastsignal.high",
            "fastsignal.low",
            "fastsignal.other",
            "fastsignal.sub.deep",
        ],
    }
    assert cycles(found) == [["fastsignal.low", "fastsignal.other", "fastsignal.low"]]
