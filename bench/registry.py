"""Typed plugin specs and the registry that owns their names."""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from bench.faces import Detector, Recognizer
from bench.weights import WeightFile, find, missing_message, require


class UnknownName(Exception):
    """A model or detector name that nothing registered."""


class DuplicateName(Exception):
    """Two plugins registered the same name."""


@dataclass(frozen=True)
class _Spec:
    name: str
    load: Callable[[dict[str, Path]], Any]  # weight name -> resolved path; returns the loaded plugin object
    weights: tuple[WeightFile, ...] = ()
    requires: tuple[str, ...] = ()  # importable modules it needs
    extra: str = ""  # pip extra that installs them
    check: Callable[[], str | None] | None = None  # further cheap availability test (imports no framework): reason or None
    settings: dict[str, Any] = field(default_factory=dict)  # everything that changes its output (cache key)
    description: str = ""
    plugin: str = ""  # filled in by the registry: which plugin registered it

    def missing_modules(self) -> list[str]:
        """Required Python modules that are not installed."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def unavailable_reason(self, weights_dir: Path) -> str | None:
        """Why this plugin cannot load here (missing module or weight file), or None."""
        missing = self.missing_modules()
        if missing:
            hint = f"pip install facebench[{self.extra}]" if self.extra else f"pip install {' '.join(missing)}"
            return f"missing Python module {', '.join(missing)}: {hint}"
        reason = self.check() if self.check is not None else None
        if reason:
            return reason
        missing = [w for w in self.weights if find(w, weights_dir) is None]
        return missing_message(missing[0], weights_dir) if missing else None

    def resolve_weights(self, weights_dir: Path) -> dict[str, Path]:
        """Canonical weight name -> present file; raises MissingWeights."""
        return {w.name: require(w, weights_dir) for w in self.weights}


@dataclass(frozen=True)
class RecognizerSpec(_Spec):
    """A face recognizer: metadata listing needs, and how to load it."""

    dim: int = 0
    input_size: tuple[int, int] = (0, 0)
    thresholds: dict[str, float] = field(default_factory=dict)  # default "same" threshold per metric
    batch_size: int = 32

    def build(self, weights_dir: Path) -> Recognizer:
        """Load the recognizer (imports its heavy dependencies)."""
        return self.load(self.resolve_weights(weights_dir))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class DetectorSpec(_Spec):
    """A face detector: metadata listing needs, and how to load it."""

    def build(self, weights_dir: Path) -> Detector:
        """Load the detector (imports its heavy dependencies)."""
        return self.load(self.resolve_weights(weights_dir))  # type: ignore[no-any-return]


S = TypeVar("S", bound=_Spec)


class Registry(Generic[S]):
    """Name -> spec, case-insensitive lookup, collisions and typos reported clearly."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._specs: dict[str, S] = {}

    def register(self, spec: S, plugin: str = "") -> None:
        """Add ``spec``; a name registered twice is an error naming both plugins."""
        key = spec.name.lower()
        if key in self._specs:
            other = self._specs[key].plugin
            raise DuplicateName(f"{self.kind} '{spec.name}' is registered by both {other} and {plugin}")
        object.__setattr__(spec, "plugin", plugin)
        self._specs[key] = spec

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return [s.name for s in self._specs.values()]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._specs.values())

    def get(self, name: str) -> S:
        """The spec called ``name``; :class:`UnknownName` listing valid names otherwise."""
        spec = self._specs.get(name.lower())
        if spec is None:
            close = difflib.get_close_matches(name.lower(), list(self._specs), n=1)
            hint = f" (did you mean '{self._specs[close[0]].name}'?)" if close else ""
            raise UnknownName(f"unknown {self.kind} '{name}'{hint}; valid: {', '.join(self.names())}")
        return spec

    def select(self, names: str) -> list[S]:
        """Specs for a comma list, or every registered one for ``all``."""
        if names.strip().lower() == "all":
            return list(self._specs.values())
        return [self.get(n.strip()) for n in names.split(",") if n.strip()]
