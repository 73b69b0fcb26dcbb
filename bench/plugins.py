"""The plugin manager: the built-in plugins (``DEFAULT_PLUGINS``), third-party entry points and plugin folders,
one registry per kind. Built-ins are registered exactly like third-party plugins, from one list."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from bench import hookspecs
from bench.errors import BenchError
from bench.evaluations import EvaluationSpec
from bench.measures import AttributeEstimator, QualityMeasure
from bench.metrics import Metric
from bench.protocols import ProtocolSpec
from bench.registry import DetectorSpec, RecognizerSpec, Registry
from bench.selection import FaceSelector

ENTRY_POINT_GROUP = "bench"
DEFAULT_PLUGINS: dict[str, str] = {
    "deepface_detectors": "facebench_plugins.detectors.deepface_detectors",
    "deepface_recognizers": "facebench_plugins.recognizers.deepface_recognizers",
    "basic_detectors": "facebench_plugins.detectors.basic_detectors",
    "onnx_detectors": "facebench_plugins.detectors.onnx_detectors",
    "onnx_recognizers": "facebench_plugins.recognizers.onnx_recognizers",
    "metrics": "facebench_plugins.measures.distances",
    "pair_formats": "facebench_plugins.protocols.pair_formats",
    "face_selectors": "facebench_plugins.measures.face_selectors",
    "verification": "facebench_plugins.evaluations.verification",
    "identification": "facebench_plugins.evaluations.identification",
    "similarity": "facebench_plugins.evaluations.similarity",
    "robustness": "facebench_plugins.evaluations.robustness",
    "standard_protocols": "facebench_plugins.protocols.standard_protocols",
    "operating_points": "facebench_plugins.evaluations.operating_points",
    "fairness": "facebench_plugins.evaluations.fairness",
    "quality_measures": "facebench_plugins.measures.quality_measures",
    "face_attributes": "facebench_plugins.measures.face_attributes",
    "edit_sets": "facebench_plugins.protocols.edit_sets",
    "edits": "facebench_plugins.evaluations.edit_robustness",
}
"""The built-in plugins: name -> module, imported only when the plugins load (llm's DEFAULT_PLUGINS)."""
PLUGINS_DIR_ENV = "BENCH_PLUGINS_DIR"

KINDS: dict[str, tuple[str, str, type[Any]]] = {
    "recognizers": ("register_recognizers", "model", RecognizerSpec),
    "detectors": ("register_detectors", "detector", DetectorSpec),
    "metrics": ("register_metrics", "metric", Metric),
    "protocols": ("register_protocols", "protocol", ProtocolSpec),
    "evaluations": ("register_evaluations", "evaluation", EvaluationSpec),
    "face_selectors": ("register_face_selectors", "face selector", FaceSelector),
    "quality": ("register_quality", "quality measure", QualityMeasure),
    "attribute_estimators": ("register_attribute_estimators", "attribute estimator", AttributeEstimator),
}
"""Registry attribute -> (hook, the kind's name in messages, the type its objects must have)."""


class PluginError(BenchError):
    """A plugin could not be loaded."""


@dataclass
class Plugins:
    """Everything the loaded plugins registered, one registry per kind."""

    manager: pluggy.PluginManager
    recognizers: Registry[RecognizerSpec]
    detectors: Registry[DetectorSpec]
    metrics: Registry[Metric]
    protocols: Registry[ProtocolSpec]
    evaluations: Registry[EvaluationSpec]
    face_selectors: Registry[FaceSelector]
    quality: Registry[QualityMeasure]
    attribute_estimators: Registry[AttributeEstimator]


def _load_dir(pm: pluggy.PluginManager, folder: Path) -> None:
    if not folder.is_dir():
        raise PluginError(f"plugins folder {folder} does not exist")
    for path in sorted(folder.glob("*.py")):
        name = f"bench_dir_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PluginError(f"cannot import plugin file {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before running it: dataclasses and pickling look it up
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[name]
            raise PluginError(f"plugin file {path} failed to import: {err}") from err
        pm.register(module, name=str(path))


def _registries(pm: pluggy.PluginManager) -> Plugins:
    registries: dict[str, Registry[Any]] = {
        attr: Registry(kind, spec_type) for attr, (_, kind, spec_type) in KINDS.items()
    }
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or repr(plugin)
        for attr, (hook, _, _) in KINDS.items():
            impl = getattr(plugin, hook, None)
            if impl is not None:
                impl(register=lambda spec, _r=registries[attr], _n=name: _r.register(spec, plugin=_n))
    return Plugins(pm, **registries)


def folders(plugins_dirs: tuple[Path, ...] = ()) -> tuple[Path, ...]:
    """The plugin folders: ``$BENCH_PLUGINS_DIR``'s, then ``plugins_dirs``, each once."""
    env_dirs = [Path(p) for p in os.environ.get(PLUGINS_DIR_ENV, "").split(os.pathsep) if p]
    return tuple(dict.fromkeys((*env_dirs, *map(Path, plugins_dirs))))


def load(plugins_dirs: tuple[Path, ...] = (), extra: tuple[ModuleType, ...] = ()) -> Plugins:
    """Register the built-ins, entry-point plugins, every ``*.py`` in the plugin folders, and ``extra`` modules."""
    pm = pluggy.PluginManager("bench")
    pm.add_hookspecs(hookspecs)
    for name, path in DEFAULT_PLUGINS.items():
        pm.register(importlib.import_module(path), name=name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)  # a name already registered (a built-in) is skipped
    for folder in folders(plugins_dirs):
        _load_dir(pm, folder)
    for module in extra:
        pm.register(module)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        raise PluginError(f"plugin {err.plugin!r} implements an unknown hook: {err}") from err
    return _registries(pm)


def _source(name: str) -> str:
    """Where a loaded plugin came from: built-in, a plugins folder or a package's entry point."""
    if name in DEFAULT_PLUGINS:
        return "built-in"
    return "plugins folder" if name.endswith(".py") else "entry point"


def describe(plugins: Plugins) -> list[dict[str, object]]:
    """What each loaded plugin provides, kind by kind (for ``bench plugins``)."""
    out = []
    for plugin in plugins.manager.get_plugins():
        name = plugins.manager.get_name(plugin)
        record: dict[str, object] = {
            "name": name,
            "module": getattr(plugin, "__name__", repr(plugin)),
            "source": _source(str(name)),
        }
        for attr in KINDS:
            provided = [s.name for s in getattr(plugins, attr) if s.plugin == name]
            if provided:
                record[attr] = provided
        out.append(record)
    return out
