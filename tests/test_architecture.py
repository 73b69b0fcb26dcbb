"""The shape of the code: the tree is the architecture.

``bench/``'s top level is the extension API (the kinds a plugin registers, the hooks, the plugin manager, errors);
its sub-packages are the layers, each importing only the layers below it: data -> compute -> measure -> run ->
report -> interface. ``plugins/`` holds sub-packages by kind. No import circle, the core never imports a plugin,
no file name twice, every expected error a BenchError.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import bench
from bench.errors import BenchError
from tests.conftest import REPO

LAYERS = ("data", "compute", "measure", "run", "report", "interface")
"""bench's sub-packages, lowest first: a module may import its own layer, a lower one, or the top level."""
API_MAY_IMPORT = ("data", "compute")
"""The top level (the kinds plugins register) is made of data and compute types only."""
PLUGIN_KINDS = ("detectors", "recognizers", "protocols", "evaluations", "measures")
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


def _modules() -> dict[str, Path]:
    """Every module of bench by dotted name (packages' __init__ left out)."""
    files = (p for p in (REPO / "bench").rglob("*.py") if p.name != "__init__.py")
    return {".".join(p.relative_to(REPO).with_suffix("").parts): p for p in files}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}


def _layer(module: str) -> str | None:
    """The module's layer (its sub-package), None for the top level."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None


def test_core_never_imports_plugins() -> None:
    for name, path in _modules().items():
        assert not any(m.split(".")[0] in ("plugins", "facebench_plugins") for m in _imports(path)), name


def _upward(graph: dict[str, set[str]]) -> list[str]:
    """The imports of ``graph`` that run up the layers (or from the top level into measure and above)."""
    wrong = []
    for name, deps in graph.items():
        here = _layer(name)
        for there, dep in ((_layer(d), d) for d in deps):
            if there is None:
                continue  # the top level (the API): every layer may use it
            allowed = there in API_MAY_IMPORT if here is None else LAYERS.index(there) <= LAYERS.index(here)
            if not allowed:
                wrong.append(f"{name} ({here or 'top level'}) imports {dep} ({there})")
    return sorted(wrong)


def test_layers_import_downwards_only() -> None:
    wrong = _upward(_graph())
    assert not wrong, "imports that run up the layers:\n" + "\n".join(wrong)


def test_the_layer_rule_names_an_upward_import() -> None:
    graph = {
        "bench.data.datasets": {"bench.run.runs", "bench.errors"},
        "bench.report.card": {"bench.measure.kfold"},
        "bench.registry": {"bench.compute.weights", "bench.report.figures"},
    }
    assert _upward(graph) == [
        "bench.data.datasets (data) imports bench.run.runs (run)",
        "bench.registry (top level) imports bench.report.figures (report)",
    ]


def test_the_tree_is_the_plan() -> None:
    top = sorted(p.stem for p in (REPO / "bench").glob("*.py"))
    assert len(top) <= 10, f"bench/ has {len(top)} top-level modules: {top}"
    assert sorted(p.name for p in (REPO / "bench").iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(
        LAYERS
    )
    assert sorted(p.name for p in (REPO / "plugins").glob("*.py")) == ["__init__.py"]
    assert sorted(p.name for p in (REPO / "plugins").iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(
        PLUGIN_KINDS
    )


def test_no_file_name_twice() -> None:
    seen: dict[str, Path] = {}
    for path in sorted([*(REPO / "bench").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]):
        if path.name == "__init__.py":
            continue
        assert path.name not in seen, f"{path.relative_to(REPO)} and {seen[path.name].relative_to(REPO)}"
        seen[path.name] = path


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
    for info in pkgutil.walk_packages(bench.__path__, "bench."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Exception) and cls.__module__ == module.__name__ and name not in INTERNAL:
                assert issubclass(cls, BenchError), f"{info.name}.{name} is not a BenchError"


def test_the_plugins_folder_installs_under_its_own_name() -> None:
    """No generic top-level ``plugins`` package in site-packages: the folder is ``facebench_plugins`` there (a symlink
    in the project root, so that every package sits in the root and an editable install is a plain path entry)."""
    import facebench_plugins

    assert Path(facebench_plugins.__file__).resolve().parent == REPO / "plugins"
    assert (REPO / "facebench_plugins").is_symlink() and (REPO / "facebench_plugins").readlink() == Path("plugins")
    text = (REPO / "pyproject.toml").read_text()
    assert 'package-dir = { "" = "." }' in text and '"facebench_plugins.detectors"' in text and '"plugins.' not in text


def test_built_ins_come_from_one_list() -> None:
    from bench import plugins

    loaded = plugins.describe(plugins.load())
    built_in = {p["name"] for p in loaded if p["source"] == "built-in"}
    assert built_in == set(plugins.DEFAULT_PLUGINS)
    assert "[project.entry-points.bench]" not in (REPO / "pyproject.toml").read_text()


def test_tests_import_the_code_never_each_other() -> None:
    """A test module imports the code under test and the shared helpers (conftest, fakes), never another test."""
    for path in (REPO / "tests").rglob("test_*.py"):
        others = [
            m for m in _imports(path) if m.startswith("tests.") and not m.startswith(("tests.conftest", "tests.fakes"))
        ]
        assert not others, f"{path.relative_to(REPO)} imports {others}"
