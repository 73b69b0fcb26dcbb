"""The hooks a facebench plugin may implement: one ``register_<kind>(register)`` per kind of extension.

Each hook receives a ``register`` callback; call it once per object. The core owns the names: a name registered
twice, or an object of the wrong type, is a one-line error naming the plugin.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("bench")
hookimpl = pluggy.HookimplMarker("bench")


@hookspec
def register_recognizers(register: Callable[..., None]) -> None:
    """Register face recognizers: ``register(RecognizerSpec(...))`` once per model."""


@hookspec
def register_detectors(register: Callable[..., None]) -> None:
    """Register face detectors: ``register(DetectorSpec(...))`` once per backend."""


@hookspec
def register_metrics(register: Callable[..., None]) -> None:
    """Register comparison metrics: ``register(Metric(...))`` (pairwise and cross form, direction, range)."""


@hookspec
def register_protocols(register: Callable[..., None]) -> None:
    """Register pair-list / benchmark readers: ``register(ProtocolSpec(...))`` (chosen by declaration or sniffing)."""


@hookspec
def register_evaluations(register: Callable[..., None]) -> None:
    """Register evaluations: ``register(EvaluationSpec(...))`` (what it needs, what it writes, its command)."""


@hookspec
def register_face_selectors(register: Callable[..., None]) -> None:
    """Register face-selection policies: ``register(FaceSelector(...))`` (which face of a multi-face image)."""


@hookspec
def register_quality(register: Callable[..., None]) -> None:
    """Register per-image quality measures: ``register(QualityMeasure(...))``."""


@hookspec
def register_attribute_estimators(register: Callable[..., None]) -> None:
    """Register attribute estimators: ``register(AttributeEstimator(...))`` (labels a face, e.g. its estimated age
    band; ``bench fairness --attributes estimated`` groups by them)."""
