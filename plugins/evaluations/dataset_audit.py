"""``bench audit``: what is wrong with an identity-per-folder dataset, seen through one model (:mod:`bench.audit`).

Writes ``audit.csv`` (one row per finding, ``kind`` = mislabel_suspect, near_duplicate, no_face or several_faces)
and ``audit.html`` (thumbnails, self-contained).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.compute.sweep import Combination
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.measure import audit, ranks
from bench.report import audit_page
from bench.report.plots import slug
from bench.run.context import Context, Input
from bench.run.runner import console_table

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
                    "rank": suspects["rank"],
                    "image": [rel[i] for i in suspects.image],
                    "identity": suspects.identity,
                    "other_identity": suspects.nearest_identity,
                    "other_image": [rel[i] for i in suspects.nearest_image],
                    "own_distance": suspects.own_distance,
                    "other_distance": suspects.nearest_distance,
                    "margin": suspects.margin,
                    "n_faces": [self.combo.detections[i].n_faces for i in suspects.image],
                }
            ),
            pd.DataFrame(
                {
                    **base,
                    "kind": "near_duplicate",
                    "rank": self.duplicates["rank"],
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
            audit_page.Page(self.combo.dataset, faces, [d.n_faces for d in self.combo.detections]),
            self.combo.model.name,
            self.combo.detector.name,
            self.suspects,
            self.duplicates,
            self.faces,
            self.duplicate_distance,
            top,
        )


def findings(combo: Combination, duplicate_distance: float | None = None) -> Findings:
    """Audit one combination; ``duplicate_distance`` defaults to :func:`bench.measure.audit.duplicate_threshold`."""
    identities = [img.identity for img in combo.dataset.images]
    if duplicate_distance is None:
        duplicate_distance = audit.duplicate_threshold(combo.vectors, identities)
    rel = [img.rel for img in combo.dataset.images]
    detections = combo.detections
    faces = audit.face_counts([d.n_faces - d.n_rejected for d in detections], [d.status for d in detections])
    return Findings(
        combo,
        ranked(audit.mislabel_suspects(combo.vectors, identities), rel, "margin", descending=True),
        ranked(audit.near_duplicates(combo.vectors, identities, duplicate_distance), rel, "distance"),
        by_name(faces, rel, "n_faces"),
        duplicate_distance,
    )


def by_name(frame: pd.DataFrame, rel: list[str], key: str, descending: bool = False) -> pd.DataFrame:
    """Rows by ``key``, equal keys by image name (then the other image's), whatever the order of the dataset."""
    value = frame[key].to_numpy(dtype=float)
    names = [np.asarray([rel[i] for i in frame[c]], dtype=str) for c in ("other_image", "image") if c in frame]
    return frame.iloc[np.lexsort((*names, -value if descending else value))].reset_index(drop=True)


def ranked(frame: pd.DataFrame, rel: list[str], key: str, descending: bool = False) -> pd.DataFrame:
    """:func:`by_name`, with ``rank``: 1 + the rows strictly ahead (equal keys share a rank)."""
    ordered = by_name(frame, rel, key, descending)
    value = ordered[key].to_numpy(dtype=float)
    return ordered.assign(rank=ranks.competition(-value if descending else value))


class AuditEvaluation:
    """``bench audit``: every image of the dataset through one model (or each given), findings and a page each."""

    def __init__(self) -> None:
        self.pages: list[str] = []  # the HTML pages written so far

    def prepare(self, ctx: Context) -> None:
        """All the dataset's images (no pairs)."""
        if not ctx.inputs:
            ctx.inputs.append(Input(ctx.dataset))

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """The findings; the HTML page beside the CSV (one per model x detector)."""
        distance = ctx.request.option("duplicate_distance")
        found = findings(combo, None if distance is None else float(distance))
        name = f"{slug('audit', combo.dataset.name, combo.model.name, combo.detector.name)}.html"
        page = ctx.run.write_file(name, found.page(int(ctx.request.option("top", TOP))))
        self.pages.append(page.name)
        ctx.run.record(
            audit_pages=self.pages,
            duplicate_distance={f"{combo.model.name} x {combo.detector.name}": found.duplicate_distance},
        )
        return {"audit": found.table().to_dict("records")}

    def finish(self, ctx: Context) -> None:
        """Nothing beyond the table and the pages (listed in the manifest as ``audit_pages``)."""

    def summary(self, ctx: Context) -> str:
        """Findings per kind, and the top mislabel suspects."""
        table = ctx.run.table("audit")
        if table.empty:
            return "no findings: no mislabel suspect, no near-duplicate, no image without exactly one face"
        counts = table.groupby(["model", "detector", "kind"]).size().rename("n").reset_index()
        suspects = table[table.kind == "mislabel_suspect"].head(10)
        columns = ["rank", "image", "other_identity", "own_distance", "other_distance", "margin"]
        return "\n".join(
            [
                console_table(counts, ["model", "detector", "kind", "n"]),
                "top mislabel suspects (equal margins share a rank, in image name order):",
                console_table(suspects, columns),
            ]
        )


SPEC = EvaluationSpec(
    "audit",
    AuditEvaluation,
    command="audit",
    help="Audit an identity-per-folder dataset: mislabel suspects, near-duplicates across identities, images "
    "with no face or several (audit.csv, an HTML page of thumbnails).",
    needs=frozenset({"identities"}),
    tables=(
        Table(
            "audit",
            "one row per finding: kind mislabel_suspect (own/other distance, margin > 0; largest margin first), "
            "near_duplicate (other_distance; closest first), no_face, several_faces; rank within the kind (equal "
            "values share it), equal values in image name order",
            ("dataset", "model", "detector", "kind", "image"),
        ),
    ),
    options=(
        Option(
            "duplicate_distance",
            float,
            None,
            "Near-duplicate cosine distance [default: a quarter of the "
            "median distance between two images of one identity].",
        ),
        Option("top", int, TOP, "Findings of each kind shown on the page (the CSV has all)."),
    ),
    default_metric="cosine",
)
