"""``bench audit``: what is wrong with an identity-per-folder dataset, seen through one model (:mod:`bench.audit`).

Writes ``audit.csv`` (one row per finding, ``kind`` = mislabel_suspect, near_duplicate, no_face or several_faces)
and ``audit.html`` (thumbnails, self-contained).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench import audit, audit_page
from bench.sweep import Combination

TOP = 50
"""Findings of each kind shown on the page (the CSV has them all)."""


@dataclass
class Findings:
    """The audit of one combination; image columns are dataset indices."""

    combo: Combination
    suspects: pd.DataFrame
    duplicates: pd.DataFrame
    faces: pd.DataFrame
    duplicate_distance: float

    def table(self) -> pd.DataFrame:
        """One row per finding, images as dataset-relative paths (mislabel rows: only those with margin > 0)."""
        rel = [img.rel for img in self.combo.dataset.images]
        base = {
            "dataset": self.combo.dataset.name,
            "model": self.combo.model.name,
            "detector": self.combo.detector.name,
        }
        suspects = self.suspects[self.suspects.margin > 0]
        parts = [
            pd.DataFrame(
                {
                    **base,
                    "kind": "mislabel_suspect",
                    "image": [rel[i] for i in suspects.image],
                    "identity": suspects.identity,
                    "other_identity": suspects.nearest_identity,
                    "other_image": [rel[i] for i in suspects.nearest_image],
                    "own_distance": suspects.own_distance,
                    "other_distance": suspects.nearest_distance,
                    "margin": suspects.margin,
                }
            ),
            pd.DataFrame(
                {
                    **base,
                    "kind": "near_duplicate",
                    "image": [rel[i] for i in self.duplicates.image],
                    "identity": self.duplicates.identity,
                    "other_identity": self.duplicates.other_identity,
                    "other_image": [rel[i] for i in self.duplicates.other_image],
                    "other_distance": self.duplicates.distance,
                }
            ),
            pd.DataFrame(
                {
                    **base,
                    "kind": ["no_face" if n == 0 else "several_faces" for n in self.faces.n_faces],
                    "image": [rel[i] for i in self.faces.image],
                    "identity": [self.combo.dataset.images[i].identity for i in self.faces.image],
                    "n_faces": self.faces.n_faces,
                }
            ),
        ]
        return (
            pd.concat([p for p in parts if len(p)], ignore_index=True)
            if any(len(p) for p in parts)
            else pd.DataFrame(columns=["dataset", "model", "detector", "kind", "image", "identity"])
        )

    def page(self, top: int = TOP) -> str:
        """The HTML page."""
        faces = [d.face for d in self.combo.detections]
        return audit_page.render(
            audit_page.Page(self.combo.dataset, faces),
            self.combo.model.name,
            self.combo.detector.name,
            self.suspects,
            self.duplicates,
            self.faces,
            self.duplicate_distance,
            top,
        )


def findings(combo: Combination, duplicate_distance: float | None = None) -> Findings:
    """Audit one combination; ``duplicate_distance`` defaults to :func:`bench.audit.duplicate_threshold`."""
    identities = [img.identity for img in combo.dataset.images]
    if duplicate_distance is None:
        duplicate_distance = audit.duplicate_threshold(combo.vectors, identities)
    return Findings(
        combo,
        audit.mislabel_suspects(combo.vectors, identities),
        audit.near_duplicates(combo.vectors, identities, duplicate_distance),
        audit.face_counts([d.n_faces for d in combo.detections], [d.status for d in combo.detections]),
        duplicate_distance,
    )


def write(found: Findings, folder: Path, top: int = TOP) -> tuple[Path, Path]:
    """``audit.csv`` and ``audit.html`` in ``folder``."""
    from bench.runs import write_csv

    folder.mkdir(parents=True, exist_ok=True)
    csv, page = folder / "audit.csv", folder / "audit.html"
    write_csv(csv, found.table())
    page.write_text(found.page(top))
    return csv, page
