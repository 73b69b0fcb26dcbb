"""What a per-image quality measure is (``register_quality``) and what it sees of one image (:class:`Sample`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

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
    plugin: str = ""

    @property
    def key(self) -> str:
        """The cache key of this measure's values."""
        return f"{self.name}@{self.version}"
