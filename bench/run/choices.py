"""The closed sets of values a sweep request takes, shared by the request model and the CLI's choices (no heavy
imports: ``bench --help`` reads them)."""

from __future__ import annotations

from typing import Literal

OnNoFace = Literal["whole", "skip", "error"]
"""An image without a face: embed the whole image, drop its pairs, or stop."""
Executor = Literal["local", "ray"]
Device = Literal["cpu", "cuda"]
