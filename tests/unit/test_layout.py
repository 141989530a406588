"""The package's shape, as ARCHITECTURE.md states it: no import cycles, a core that knows nothing of click,
Textual only in the browser.

Read from the source with `ast`, every import counted: at the top of a module, inside a function (a lazy
import still makes one module depend on another), and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import graphlib
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


def _cycle() -> list[str]:
    """One import cycle of the package, as a list of modules, or [] when there is none."""
    try:
        graphlib.TopologicalSorter(GRAPH).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return []


def test_the_checker_sees_the_imports() -> None:
    # A checker that read nothing would find no cycle: it must see what is known to be there.
    assert "xrayctl.trace.model" in GRAPH["xrayctl.trace.build"]
    assert "xrayctl.local.stack" in GRAPH["xrayctl.local.running"]  # a lazy import, inside a function


def test_no_module_imports_itself_back_through_others() -> None:
    assert _cycle() == []


def test_the_core_never_imports_click() -> None:
    core = [m for m in MODULES if not m.startswith("xrayctl.cli") and m not in ("xrayctl.__main__",)]
    users = [m for m in core if "click" in set(_imported(m, MODULES[m]))]
    assert users == []


def test_only_the_browser_imports_textual() -> None:
    # Textual costs a third of a second to import: every command but browse must start without it.
    outside = [m for m in MODULES if not m.startswith("xrayctl.tui")]
    assert [m for m in outside if "textual" in set(_imported(m, MODULES[m]))] == []
    assert any("textual" in set(_imported(m, MODULES[m])) for m in MODULES if m.startswith("xrayctl.tui"))
