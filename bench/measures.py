"""A per-image quality measure as a registered object (``register_quality``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class QualityMeasure:
    """A per-image quality measure, computed once per image per detector (and per model if ``needs_model``)."""

    name: str
    measure: Callable[..., float]  # (BGR image, face) -> quality; NaN where it cannot be measured
    higher_is_better: bool = True
    needs_model: bool = False
    description: str = ""
    plugin: str = ""
