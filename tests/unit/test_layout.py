"""The package's shape, as ARCHITECTURE.md states it: no import cycles, a core that knows nothing of click.

Read from the source with `ast`, every import counted: at the top of a module, inside a function (a lazy
import still makes one module depend on another), and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import ROOT

PACKAGE = ROOT / "xrayctl"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(module: str, path: Path) -> Iterator[str]:
    """The modules of the package that `module` imports, and the outside top-level packages."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: the package imports absolutely"
            base = node.module or ""
            # `from xrayctl.trace import labels` imports the module xrayctl.trace.labels.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
            ]
        else:
            continue
        for name in names:
            # The deepest module of the package the name is, or is in; an outside package by its top name.
            while name not in MODULES and "." in name and name.startswith("xrayctl."):
                name = name.rpartition(".")[0]
            yield name if name in MODULES else name.partition(".")[0]


GRAPH = {
    module: {name for name in _imported(module, path) if name in MODULES} - {module}
    for module, path in MODULES.items()
}


def _cycles() -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in GRAPH:
        if start in index:
            continue
        work = [(start, iter(sorted(GRAPH[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_the_checker_sees_the_imports() -> None:
    # A checker that read nothing would find no cycle: it must see what is known to be there.
    assert "xrayctl.trace.model" in GRAPH["xrayctl.trace.build"]
    assert "xrayctl.local.stack" in GRAPH["xrayctl.local.running"]  # a lazy import, inside a function


def test_no_module_imports_itself_back_through_others() -> None:
    assert _cycles() == []


def test_the_core_never_imports_click() -> None:
    core = [m for m in MODULES if not m.startswith("xrayctl.cli") and m not in ("xrayctl.__main__",)]
    users = [m for m in core if "click" in set(_imported(m, MODULES[m]))]
    assert users == []
