"""TinyFace 1:N identification: ``Testing_Set/Probe``, ``Gallery_Match`` and ``Gallery_Distractor`` folders.

Probe and gallery-match files are named ``<identity>_<n>.<ext>``; distractors belong to no identity (each gets
one of its own, never matching a probe). Every image carries its ``role`` (probe, gallery, distractor).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.datasets import IMAGE_SUFFIXES, Carries, Dataset, DatasetError, Image, Pairs

ROLES = {"Probe": "probe", "Gallery_Match": "gallery", "Gallery_Distractor": "distractor"}


def _testing_set(path: Path) -> Path:
    return path / "Testing_Set" if (path / "Testing_Set").is_dir() else path


def sniff_tinyface(path: Path) -> bool:
    """A folder (or its ``Testing_Set/``) with ``Probe/`` and ``Gallery_Match/``."""
    test = _testing_set(path)
    return (test / "Probe").is_dir() and (test / "Gallery_Match").is_dir()


def read_tinyface(path: Path, dataset: Dataset | None = None) -> tuple[Dataset, Pairs]:
    """Probe, gallery and distractor images (attribute ``role``); no pairs: scored by the ``tinyface`` evaluation."""
    test = _testing_set(path)
    images = []
    for folder, role in ROLES.items():
        files = sorted(p for p in (test / folder).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        for file in files:
            identity = f"distractor/{file.stem}" if role == "distractor" else file.stem.split("_")[0]
            images.append(Image(f"{folder}/{file.name}", identity, file, {"role": role}))
    if not any(img.attrs["role"] == "probe" for img in images):
        raise DatasetError(f"{test}: no probe images in Probe/ (TinyFace layout)")
    empty = np.zeros(0, dtype=int)
    data = Dataset(
        "tinyface",
        test,
        images,
        test,
        "TinyFace 1:N: probe vs gallery match + distractors",
        carries=frozenset({Carries.GALLERY}),
    )
    return data, Pairs(empty, empty, np.zeros(0, bool), None, "tinyface: 1:N, see the tinyface evaluation")
