"""The audit's HTML page: one self-contained file, thumbnails inlined as base64 JPEG, the face used boxed."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from bench.data.datasets import Dataset
from bench.data.faces import Face
from bench.data.images import UnreadableImage, decode

THUMB_HEIGHT = 120
STYLE = """
body{font-family:sans-serif;margin:20px;color:#222} h1{font-size:22px} h2{font-size:18px;margin-top:28px}
p.note{color:#555;max-width:70em} table{border-collapse:collapse} td{border-top:1px solid #ddd;padding:6px 10px;
vertical-align:top;font-size:13px} td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:0 6px 0 0;text-align:center} figcaption{font-size:11px;max-width:140px;
overflow-wrap:anywhere} img{height:120px;border:1px solid #ccc}
"""


def thumbnail(path: Path, face: Face | None) -> str:
    """A data URI of the image scaled to :data:`THUMB_HEIGHT` px high, the face used outlined in green."""
    import cv2

    try:
        image = decode(path).copy()
    except UnreadableImage:
        image = np.full((THUMB_HEIGHT, THUMB_HEIGHT, 3), 200, np.uint8)
        face = None
    if face is not None and not face.whole_image:
        top_left, bottom_right = (int(face.x), int(face.y)), (int(face.x + face.w), int(face.y + face.h))
        cv2.rectangle(image, top_left, bottom_right, (0, 200, 0), max(1, image.shape[0] // 120))
    scale = THUMB_HEIGHT / image.shape[0]
    small = cv2.resize(image, (max(1, round(image.shape[1] * scale)), THUMB_HEIGHT), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode() if ok else ""


class Page:
    """Figures of dataset images (each thumbnail made once) laid out in tables; ``counts``: faces found per image
    (a figure of an image with several says so: the boxed face may not be the person it is filed under)."""

    def __init__(self, dataset: Dataset, faces: list[Face | None], counts: list[int]) -> None:
        self.dataset = dataset
        self.faces = faces
        self.counts = counts
        self._thumbs: dict[int, str] = {}

    def figure(self, i: int, caption: str = "") -> str:
        """One image with its path (and ``caption``) under it."""
        if i not in self._thumbs:
            self._thumbs[i] = thumbnail(self.dataset.images[i].path, self.faces[i])
        rel = html.escape(self.dataset.images[i].rel)
        several = f"{self.counts[i]} faces found" if self.counts[i] > 1 else ""
        notes = [html.escape(c) for c in (caption, several) if c]
        text = "<br>".join([rel, *notes])
        return f'<figure><img src="{self._thumbs[i]}" alt="{rel}"><figcaption>{text}</figcaption></figure>'


def _rows(cells: list[list[str]]) -> str:
    return "<table>" + "".join("<tr>" + "".join(cells_row) + "</tr>" for cells_row in cells) + "</table>"


def _num(value: float) -> str:
    return f'<td class="n">{value:.3f}</td>'


def render(
    page: Page,
    model: str,
    detector: str,
    suspects: pd.DataFrame,
    duplicates: pd.DataFrame,
    faces: pd.DataFrame,
    duplicate_distance: float,
    top: int,
) -> str:
    """The whole page."""
    name = html.escape(page.dataset.name)
    head = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Audit of {name}</title>"
        f"<style>{STYLE}</style></head><body><h1>Audit of {name}</h1>"
    )
    intro = (
        f"<p class='note'>{len(page.dataset.images)} images, {len(page.dataset.identities())} identities; "
        f"model {html.escape(model)}, detector {html.escape(detector)}; cosine distances between "
        "L2-normalised embeddings. Green box: the face that was embedded.</p>"
    )
    parts = [head, intro]
    flagged = suspects[suspects.margin > 0].head(top)
    parts.append(
        f"<h2>Mislabel suspects ({int((suspects.margin > 0).sum())} closer to another identity's centre "
        f"than to their own; top {len(flagged)})</h2><p class='note'>Own: distance to the centre of the "
        "image's own identity without it; nearest: to the closest other identity's centre. Beside it: "
        "its own identity's closest other image, and the other identity's closest image. Where several faces "
        "were found, the boxed one may be someone else in the photo rather than a wrong label.</p>"
    )
    header = ["<td></td><td>own</td><td>nearest</td><td>margin</td><td>own identity</td><td>nearest identity</td>"]
    parts.append(
        _rows(
            [header]
            + [
                [
                    f"<td>{page.figure(r.image, r.identity)}</td>",
                    _num(r.own_distance),
                    _num(r.nearest_distance),
                    _num(r.margin),
                    f"<td>{page.figure(r.own_image)}</td>",
                    f"<td>{page.figure(r.nearest_image, r.nearest_identity)}</td>",
                ]
                for r in flagged.itertuples()
            ]
        )
    )
    shown = duplicates.head(top)
    parts.append(
        f"<h2>Near-duplicates across identities ({len(duplicates)} pair(s) within distance "
        f"{duplicate_distance:.3f}; top {len(shown)})</h2>"
    )
    parts.append(
        _rows(
            [
                [
                    f"<td>{page.figure(r.image, r.identity)}</td>",
                    f"<td>{page.figure(r.other_image, r.other_identity)}</td>",
                    _num(r.distance),
                ]
                for r in shown.itertuples()
            ]
        )
    )
    counted = faces.head(top)
    parts.append(
        f"<h2>Images with no face or several ({int((faces.n_faces == 0).sum())} none, "
        f"{int((faces.n_faces > 1).sum())} several; top {len(counted)})</h2>"
    )
    parts.append(
        "<div>"
        + "".join(page.figure(r.image, "no face" if r.n_faces == 0 else "") for r in counted.itertuples())
        + "</div>"
    )
    return "\n".join(parts) + "</body></html>\n"
