"""The shape of the code: no import circle, the core never imports plugins, every expected error is a BenchError."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import bench
from bench.errors import BenchError
from tests.conftest import REPO

INTERNAL = {"UnreadableImage"}  # caught inside the pipeline and recorded as data, never shown as an error


def _imports(path: Path) -> set[str]:
    """Every module imported anywhere in the file (top level, in functions, under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # from bench import report
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {f"bench.{p.stem}": p for p in (REPO / "bench").glob("*.py") if p.stem != "__init__"}
    return {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}


def test_core_never_imports_plugins() -> None:
    for path in (REPO / "bench").glob("*.py"):
        assert not any(m.split(".")[0] in ("plugins", "facebench_plugins") for m in _imports(path)), path.name


def test_no_import_circle_in_the_core() -> None:
    graph = _graph()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, f"import circle: {' -> '.join([*trail, node, nxt])}"
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


def test_every_core_error_class_is_a_bench_error() -> None:
    for info in pkgutil.iter_modules(bench.__path__):
        module = importlib.import_module(f"bench.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Exception) and cls.__module__ == module.__name__ and name not in INTERNAL:
                assert issubclass(cls, BenchError), f"bench.{info.name}.{name} is not a BenchError"


def test_the_plugins_folder_installs_under_its_own_name() -> None:
    """No generic top-level ``plugins`` package in site-packages: the folder is ``facebench_plugins`` there."""
    import facebench_plugins

    assert Path(facebench_plugins.__file__).resolve().parent == REPO / "plugins"
    text = (REPO / "pyproject.toml").read_text()
    assert '"facebench_plugins" = "plugins"' in text and '"plugins.' not in text
