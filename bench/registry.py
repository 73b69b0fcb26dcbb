"""Typed plugin specs and the registry that owns their names."""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from bench.compute.weights import WeightFile, find, missing_message, require
from bench.data.faces import Detector, Recognizer
from bench.errors import BenchError


class UnknownName(BenchError):
    """A model or detector name that nothing registered."""


class DuplicateName(BenchError):
    """Two plugins registered the same name."""


class WrongType(BenchError):
    """A plugin registered an object of the wrong type for a kind."""


@dataclass(frozen=True)
class _Spec:
    name: str
    load: Callable[[dict[str, Path]], Any]  # weight name -> resolved path; returns the loaded plugin object
    weights: tuple[WeightFile, ...] = ()
    requires: tuple[str, ...] = ()  # importable modules it needs
    extra: str = ""  # pip extra that installs them
    check: Callable[[], str | None] | None = (
        None  # further cheap availability test (imports no framework): reason or None
    )
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
        absent = [w for w in self.weights if find(w, weights_dir) is None]
        return missing_message(absent[0], weights_dir) if absent else None

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

    def with_flip(self) -> RecognizerSpec:
        """The same model with flip test-time augmentation (face + mirror embeddings summed), named
        ``<name>+flip``, ``flip: true`` in its settings (so in cache keys and the manifest); already flipped: itself."""
        from bench.compute.flip import FlipRecognizer

        if self.settings.get("flip"):
            return self
        load = self.load
        return dataclasses.replace(
            self,
            name=f"{self.name}{FLIP_SUFFIX}",
            load=lambda files: FlipRecognizer(load(files)),
            settings={**self.settings, "flip": True},
            batch_size=max(1, self.batch_size // 2),
            description=f"{self.description} + flip TTA".strip(),
        )


SCREENING_OPTIONS = ("min_confidence", "min_face_size")
"""Settings every detector has, applied by the pipeline to the faces it found (see ``bench.data.faces.screen``)."""


class BadDetectorOption(BenchError):
    """A ``--detector-option`` key the detector does not know, or a value of the wrong type."""


@dataclass(frozen=True)
class DetectorSpec(_Spec):
    """A face detector: metadata listing needs, and how to load it.

    ``settings`` hold every detector's screening keys (``min_confidence``, ``min_face_size``; the pipeline applies
    them) and the keys named in ``options``, which ``load`` receives as keyword arguments.
    """

    options: tuple[str, ...] = ()  # settings keys passed to ``load(files, **options)``

    def __post_init__(self) -> None:
        defaults = {"min_confidence": 0.0, "min_face_size": 0}
        object.__setattr__(
            self, "settings", {**self.settings, **{k: v for k, v in defaults.items() if k not in self.settings}}
        )

    def build(self, weights_dir: Path) -> Detector:
        """Load the detector (imports its heavy dependencies)."""
        kwargs = {key: self.settings[key] for key in self.options}
        return self.load(self.resolve_weights(weights_dir), **kwargs)  # type: ignore[call-arg, no-any-return]

    def with_options(self, values: dict[str, Any]) -> DetectorSpec:
        """This detector with some settings changed (strings are converted to the setting's type).

        Only the screening keys and ``options`` may change; anything else is a :class:`BadDetectorOption` naming
        the valid keys. The new settings are in the cache key, so changed options never reuse old detections.
        """
        valid = sorted({*SCREENING_OPTIONS, *self.options})
        settings = dict(self.settings)
        for key, value in values.items():
            if key not in valid:
                raise BadDetectorOption(f"detector {self.name} has no option '{key}'; valid: {', '.join(valid)}")
            settings[key] = _convert(self.name, key, value, settings[key])
        return dataclasses.replace(self, settings=settings)


def parse_detector_options(items: tuple[str, ...] | list[str]) -> dict[str, dict[str, str]]:
    """``NAME.KEY=VALUE`` strings (``--detector-option``) -> {lower-case detector name: {key: value}}."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        target, eq, value = item.partition("=")
        name, dot, key = target.rpartition(".")
        if not (eq and dot and name and key):
            raise BadDetectorOption(
                f"--detector-option {item!r}: expected NAME.KEY=VALUE, e.g. retinaface-mnet.max_side=1024"
            )
        out.setdefault(name.strip().lower(), {})[key.strip()] = value.strip()
    return out


def with_detector_options(specs: list[DetectorSpec], items: tuple[str, ...] | list[str]) -> list[DetectorSpec]:
    """``specs`` with the ``--detector-option`` values applied; an option for a detector not in ``specs`` is an
    error."""
    options = parse_detector_options(items)
    names = {spec.name.lower() for spec in specs}
    unused = sorted(set(options) - names)
    if unused:
        raise BadDetectorOption(
            f"--detector-option for {', '.join(unused)}, which is not among the detectors "
            f"run ({', '.join(spec.name for spec in specs)})"
        )
    return [spec.with_options(options.get(spec.name.lower(), {})) for spec in specs]


def _convert(detector: str, key: str, value: Any, default: Any) -> Any:
    """``value`` as the type of ``default`` (bool, int or float); other types pass through."""
    if not isinstance(value, str) or isinstance(default, str):
        return value
    kind = type(default)
    try:
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        return kind(value) if kind in (int, float) else value
    except ValueError:
        message = f"detector {detector} option {key}={value!r}: expected a value of type {kind.__name__}"
        raise BadDetectorOption(message) from None


FLIP_SUFFIX = "+flip"
"""A recognizer name with this suffix is that recognizer with :meth:`RecognizerSpec.with_flip`."""

S = TypeVar("S")


class Registry(Generic[S]):
    """Name -> registered object of one kind; case-insensitive lookup, collisions and typos reported clearly."""

    def __init__(self, kind: str, spec_type: type[Any] = object) -> None:
        self.kind = kind
        self.spec_type = spec_type
        self._specs: dict[str, S] = {}
        self._aliases: dict[str, str] = {}  # an old spelling -> the registered name (lower case)

    def register(self, spec: S, plugin: str = "") -> None:
        """Add ``spec``; a name registered twice, or an object of the wrong type, is an error naming the plugin."""
        if not isinstance(spec, self.spec_type):
            raise WrongType(
                f"plugin {plugin} registered a {type(spec).__name__} as a {self.kind}; "
                f"expected a {self.spec_type.__name__}"
            )
        name: str = spec.name  # type: ignore[attr-defined]
        key = name.lower()
        if key in self._specs:
            other = self._specs[key].plugin  # type: ignore[attr-defined]
            raise DuplicateName(f"{self.kind} '{name}' is registered by both {other} and {plugin}")
        object.__setattr__(spec, "plugin", plugin)
        self._specs[key] = spec
        self._aliases.update({alias.lower(): key for alias in getattr(spec, "aliases", ())})

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return [s.name for s in self._specs.values()]  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[S]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._specs

    def get(self, name: str) -> S:
        """The object called ``name`` (any case); :class:`UnknownName` with a "did you mean" otherwise."""
        key = name.strip().lower()
        if key.endswith(FLIP_SUFFIX) and key.removesuffix(FLIP_SUFFIX) in self._specs:
            base = self._specs[key.removesuffix(FLIP_SUFFIX)]
            if isinstance(base, RecognizerSpec):  # e.g. "FaceRes+flip": resolvable anywhere, Ray workers too
                return base.with_flip()  # type: ignore[return-value]
        if key not in self._specs and key in self._aliases:
            key = self._aliases[key]
            new: str = self._specs[key].name  # type: ignore[attr-defined]
            print(
                f"note: {self.kind} '{name.strip()}' is now called '{new}' (the old name still works)", file=sys.stderr
            )
        found = self._specs.get(key)
        if found is None:
            raise UnknownName(unknown_message(self.kind, name, self.names()))
        return found

    def select(self, names: str) -> list[S]:
        """Objects for a comma list, or every registered one for ``all``."""
        if names.strip().lower() == "all":
            return list(self._specs.values())
        return [self.get(n.strip()) for n in names.split(",") if n.strip()]


def unknown_message(kind: str, name: str, valid: list[str]) -> str:
    """``unknown KIND 'NAME' (did you mean 'X'?); valid: ...`` -- case-insensitive and prefix-aware."""
    return f"unknown {kind} '{name}'{did_you_mean(name, valid)}; valid: {', '.join(valid)}"


def closest(name: str, valid: Iterable[str], n: int = 1) -> list[str]:
    """Up to ``n`` of ``valid`` closest to ``name``: those it begins, shortest first (a family's own name before its
    variants: ``retinafac`` -> ``retinaface``, not ``retinaface-mnet``), then difflib's (case-insensitive)."""
    lowered = {v.lower(): v for v in valid}
    key = name.strip().lower()
    close = sorted((k for k in lowered if k.startswith(key)), key=len) if key else []
    close += [k for k in difflib.get_close_matches(key, list(lowered), n=n, cutoff=0.6) if k not in close]
    return [lowered[k] for k in close[:n]]


def did_you_mean(name: str, valid: Iterable[str], n: int = 1) -> str:
    """`` (did you mean 'X' or 'Y'?)`` for the closest of ``valid``, or ``""``."""
    close = closest(name, valid, n)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
