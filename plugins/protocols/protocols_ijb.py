"""IJB-B / IJB-C 1:1 verification from the meta layout insightface's evaluation reads.

``<root>/meta/<p>_face_tid_mid.txt`` (``image template_id media_id`` per loose crop),
``<root>/meta/<p>_name_5pts_score.txt`` (``image x1 y1 ... x5 y5 faceness``, points in the template's order:
image-left eye, image-right eye, nose, image-left and image-right mouth corner),
``<root>/meta/<p>_template_pair_label.txt`` (``template1 template2 label``, 1 = same subject) and the crops in
``<root>/loose_crop/``; ``<p>`` is ``ijbb`` or ``ijbc``. Each image carries its template, media and faceness as
attributes and its five points as the dataset-given face (detector ``given``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.compute.alignment import TEMPLATE_ORDER
from bench.data.datasets import Carries, Dataset, DatasetError, Image
from bench.data.faces import Face
from facebench_plugins.protocols.protocols_bin import pair_groups


@dataclass(frozen=True)
class TemplatePairs:
    """The template pairs of a 1:1 protocol."""

    left: np.ndarray
    right: np.ndarray
    same: np.ndarray


def _meta(root: Path, suffix: str) -> Path | None:
    found = sorted((root / "meta").glob(f"*_{suffix}")) if (root / "meta").is_dir() else []
    return found[0] if found else None


def sniff_ijb(path: Path) -> bool:
    """A folder with ``meta/*_face_tid_mid.txt`` and ``meta/*_template_pair_label.txt``."""
    return _meta(path, "face_tid_mid.txt") is not None and _meta(path, "template_pair_label.txt") is not None


def _table(path: Path | None, columns: int, root: Path, what: str) -> list[list[str]]:
    if path is None:
        raise DatasetError(f"{root}: no meta/*_{what} (IJB meta layout)")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    bad = next((n for n, row in enumerate(rows, start=1) if len(row) != columns), None)
    if bad is not None:
        raise DatasetError(f"{path}:{bad}: expected {columns} fields, got {len(rows[bad - 1])}")
    return rows


def read_template_pairs(root: Path) -> TemplatePairs:
    """``meta/*_template_pair_label.txt`` as arrays (pandas: IJB-C lists 15.7 million pairs)."""
    import pandas as pd

    path = _meta(root, "template_pair_label.txt")
    if path is None:
        raise DatasetError(f"{root}: no meta/*_template_pair_label.txt (IJB meta layout)")
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, names=["t1", "t2", "label"], dtype=np.int64)
    except (ValueError, pd.errors.ParserError) as err:
        raise DatasetError(f"{path}: expected 'template1 template2 label' lines ({err})") from None
    labels = table.label.to_numpy()
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if len(bad):
        raise DatasetError(
            f"{path}: template pair {bad[0] + 1} has label {labels[bad[0]]}; labels are 1 (same) or 0 (different)"
        )
    if not len(labels):
        raise DatasetError(f"{path}: lists no template pairs")
    return TemplatePairs(table.t1.to_numpy(), table.t2.to_numpy(), labels == 1)


def _given(row: list[str]) -> Face:
    values = [float(v) for v in row[1:]]
    points = np.array(values[:10]).reshape(5, 2)
    marks = {name: (float(x), float(y)) for name, (x, y) in zip(TEMPLATE_ORDER, points)}
    return Face(0, 0, 0, 0, values[10], marks)  # no box: the given detector uses the whole crop


def read_ijb(path: Path, dataset: Dataset | None = None) -> tuple[Dataset, None]:
    """The loose crops as images (attributes template, media, faceness; the given 5 points as their face);
    identity: the templates joined by same-subject pairs. No image pairs: the pairs are between templates
    (:func:`read_template_pairs`), scored by the ``ijb`` evaluation."""
    prefix = _meta(path, "face_tid_mid.txt")
    faces = _table(prefix, 3, path, "face_tid_mid.txt")
    marks = {row[0]: _given(row) for row in _table(_meta(path, "name_5pts_score.txt"), 12, path, "name_5pts_score.txt")}
    missing = [row[0] for row in faces if row[0] not in marks]
    if missing:
        raise DatasetError(f"{path}: {len(missing)} crops have no line in *_name_5pts_score.txt, e.g. {missing[0]}")
    pairs = read_template_pairs(path)
    tids = np.unique(np.concatenate([pairs.left, pairs.right, [int(row[1]) for row in faces]]))
    group = pair_groups(len(tids), np.searchsorted(tids, pairs.left), np.searchsorted(tids, pairs.right), pairs.same)
    subject = dict(zip(tids.tolist(), group))
    name = prefix.name.split("_")[0] if prefix else "ijb"
    images = [
        Image(
            f"loose_crop/{img}",
            f"{name}-{subject[int(tid)]}",
            path / "loose_crop" / img,
            {"template": tid, "media": mid, "faceness": str(marks[img].confidence)},
            face=marks[img],
        )
        for img, tid, mid in faces
    ]
    data = Dataset(
        name,
        path,
        images,
        path,
        f"{name.upper()} 1:1: {len(pairs.same)} template pairs",
        carries=frozenset({Carries.TEMPLATES, Carries.LANDMARKS}),
    )
    return data, None
