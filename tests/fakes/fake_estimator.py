"""A fake attribute estimator for plumbing tests: ``tone`` is ``warm`` where a face's red mean beats its blue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.measures import AttributeEstimator


def tone(images: list[np.ndarray], faces: list[Face], weights_dir: Path) -> list[str]:
    """``warm`` or ``cool`` per BGR image (the face box is the whole colour patch)."""
    return ["warm" if image[..., 2].mean() > image[..., 0].mean() else "cool" for image in images]


@hookimpl
def register_attribute_estimators(register: Callable[[AttributeEstimator], None]) -> None:
    register(AttributeEstimator("tone", ("cool", "warm"), tone, description="red vs blue mean (a test fake)"))
