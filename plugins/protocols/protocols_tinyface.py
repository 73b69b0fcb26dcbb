"""TinyFace 1:N identification: ``Testing_Set/Probe``, ``Gallery_Match`` and ``Gallery_Distractor`` folders.

Probe and gallery-match files are named ``<identity>_<n>.<ext>``; distractors belong to no identity (each gets
one of its own, never matching a probe). Every image carries its ``role`` (probe, gallery, distractor). A missing
folder is an error (an empty ``Gallery_Distractor/`` is read, with a note); probes whose identity has no
gallery-match image are listed in ``Dataset.notes`` (the ``tinyface`` evaluation leaves them out of the ranks).
"""

from __future__ import annotations

from pathlib import Path

from bench.data.datasets import Carries, Dataset, DatasetError, Image, not_an_image

ROLES = {"Probe": "probe", "Gallery_Match": "gallery", "Gallery_Distractor": "distractor"}


def _testing_set(path: Path) -> Path:
    return path / "Testing_Set" if (path / "Testing_Set").is_dir() else path


def sniff_tinyface(path: Path) -> bool:
    """A folder (or its ``Testing_Set/``) with ``Probe/`` and ``Gallery_Match/``."""
    test = _testing_set(path)
    return (test / "Probe").is_dir() and (test / "Gallery_Match").is_dir()


def _identity(file: Path, role: str) -> str | None:
    """``<identity>_<n>`` -> identity; a distractor its own; None for a probe or match file named otherwise."""
    if role == "distractor":
        return f"distractor/{file.stem}"
    identity, sep, number = file.stem.partition("_")
    return identity if sep and identity and number else None


def _role(test: Path, folder: str, role: str) -> tuple[list[Image], list[tuple[str, str]]]:
    """The images of one role folder, and its other files with the reason each is not used."""
    if not (test / folder).is_dir():
        raise DatasetError(
            f"{test}: no {folder}/ folder (TinyFace layout: Probe/, Gallery_Match/, Gallery_Distractor/); restore "
            f"it{' (or create it empty to rank against the gallery match alone)' if role == 'distractor' else ''}"
        )
    images, skipped = [], []
    for file in sorted(p for p in (test / folder).iterdir() if not p.name.startswith(".") and not p.is_dir()):
        rel = f"{folder}/{file.name}"
        identity, why = _identity(file, role), not_an_image(file)
        if why is None and identity is None:
            why = "not named <identity>_<n>.<ext>: its identity is unknown"
        if why is None and identity is not None:
            images.append(Image(rel, identity, file, {"role": role}))
        else:
            skipped.append((rel, why or ""))
    return images, skipped


def unmated_probes(images: list[Image]) -> list[str]:
    """The probes (rel) whose identity has no gallery-match image."""
    gallery = {img.identity for img in images if img.attrs["role"] == "gallery"}
    return [img.rel for img in images if img.attrs["role"] == "probe" and img.identity not in gallery]


def _notes(images: list[Image]) -> tuple[str, ...]:
    """What the ranks depend on: an empty distractor set, probes whose identity has no gallery-match image."""
    unmated = unmated_probes(images)
    notes = []
    if not any(img.attrs["role"] == "distractor" for img in images):
        notes.append("Gallery_Distractor/ holds no images: probes are ranked against the gallery match alone")
    if unmated:
        notes.append(
            f"{len(unmated)} probes have no gallery-match image of their identity and are left out of the ranks, "
            f"e.g. {', '.join(unmated[:5])} (all: the manifest's probes_no_gallery)"
        )
    return tuple(notes)


def read_tinyface(path: Path, dataset: Dataset | None = None) -> tuple[Dataset, None]:
    """Probe, gallery and distractor images (attribute ``role``); no image pairs: scored by the ``tinyface``
    evaluation."""
    test = _testing_set(path)
    images, skipped = [], []
    for folder, role in ROLES.items():
        found, left = _role(test, folder, role)
        images += found
        skipped += left
    if not any(img.attrs["role"] == "probe" for img in images):
        raise DatasetError(f"{test}: no probe images in Probe/ (TinyFace layout)")
    data = Dataset(
        "tinyface",
        test,
        images,
        test,
        "TinyFace 1:N: probe vs gallery match + distractors",
        skipped=skipped,
        notes=_notes(images),
        files_found=len(images) + len(skipped),
        carries=frozenset({Carries.GALLERY}),
    )
    return data, None
