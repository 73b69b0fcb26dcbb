"""What a per-image quality measure is (``register_quality``) and what it sees of one image (:class:`Sample`); what an
attribute estimator is (``register_attribute_estimators``: a network that labels a face, e.g. its gender)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from bench.compute.weights import WeightFile, find
from bench.data.faces import Face, Recognizer
from bench.data.images import decode
from bench.registry import RecognizerSpec


@dataclass
class Sample:
    """What a measure sees of one image: its face, and (for model measures) the model's view of it.

    ``image`` decodes on first use, so measures of the detection alone (size, pose) never decode.
    """

    path: Path
    face: Face
    vector: np.ndarray | None = None  # the stored (raw) embedding, for model measures
    extra: float | None = None  # the recognizer's own quality output stored beside it (AdaFace's norm), if any
    model: RecognizerSpec | None = None
    weights_dir: Path | None = None  # where a measure that runs its own network (``weights``) finds its files
    _recognizer: Callable[[], Recognizer] | None = field(default=None, repr=False)

    @cached_property
    def image(self) -> np.ndarray:
        """The BGR image (raises :class:`UnreadableImage`)."""
        return decode(self.path)

    def recognizer(self) -> Recognizer:
        """The loaded recognizer (built once per combination, on first use)."""
        if self._recognizer is None:
            raise ValueError("this measure needs a model (needs_model=True)")
        return self._recognizer()


@dataclass(frozen=True)
class QualityMeasure:
    """A per-image quality measure, computed once per image per detector (and per model if ``needs_model``).

    ``measure(sample)`` returns the value, NaN where it cannot be measured; ``higher_is_better`` says which end
    is good (the EDC discards the other end first). Bump ``version`` when the computation changes: it is part of
    the cache key.
    """

    name: str
    measure: Callable[[Sample], float]
    higher_is_better: bool = True
    needs_model: bool = False
    version: str = "1"
    unit: str = ""
    description: str = ""
    weights: tuple[WeightFile, ...] = ()  # files a measure that runs its own network needs (liveness)
    plugin: str = ""

    @property
    def key(self) -> str:
        """The cache key of this measure's values."""
        return f"{self.name}@{self.version}"

    def missing_weights(self, weights_dir: Path) -> list[str]:
        """The names of the weight files this measure needs and ``weights_dir``'s search path lacks."""
        return [w.name for w in self.weights if find(w, weights_dir) is None]


ESTIMATED = "estimated"
"""The suffix of every estimated attribute's name: ``gender (estimated)``, never mistaken for a declared label."""


def estimated_name(attribute: str) -> str:
    """``gender`` -> ``gender (estimated)`` (unchanged if already so named)."""
    suffix = f" ({ESTIMATED})"
    return attribute if attribute.endswith(suffix) else f"{attribute}{suffix}"


@dataclass(frozen=True)
class AttributeEstimator:
    """A network that labels a detected face with one of ``labels`` for the attribute ``name`` (``gender``).

    ``estimate(images, faces, weights_dir)`` takes BGR images and one detected face each and returns one label
    per face. Its labels are stored under :attr:`attribute` (``gender (estimated)``), so tables and plots always
    say they were estimated. Bump ``version`` when the computation changes: it is part of the cache key.
    """

    name: str
    labels: tuple[str, ...]
    estimate: Callable[[list[np.ndarray], list[Face], Path], list[str]]
    weights: tuple[WeightFile, ...] = ()
    version: str = "1"
    description: str = ""
    plugin: str = ""

    @property
    def attribute(self) -> str:
        """The attribute name its labels are stored under."""
        return estimated_name(self.name)

    @property
    def key(self) -> str:
        """The cache key of its labels."""
        return f"{self.name}@{self.version}"

    def missing_weights(self, weights_dir: Path) -> list[str]:
        """The names of the weight files it needs and ``weights_dir``'s search path lacks."""
        return [w.name for w in self.weights if find(w, weights_dir) is None]
