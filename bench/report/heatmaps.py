"""What ``bench similarity`` writes per combination and metric, readable at any dataset size.

- ``similarity_<combo>_identities.csv``: per identity, its same-identity mean and the identity it is closest to;
- ``similarity_<combo>_confused.csv``: the most-confused identity pairs (most similar cross-identity means);
- the identity x identity matrix: ``similarity_<combo>.csv`` while it is small, else ``similarity_<combo>.npy``
  (float32, rows and columns in the order of the identities table);
- ``similarity_<combo>.png``: a heatmap of every identity while few, else of a chosen (``identities``), or the
  ``top`` most-confused, subset in clustered order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.measure.identity_matrix import IdentityTotals, cluster_order, long_rows, most_confused, per_identity
from bench.metrics import Metric
from bench.registry import unknown_message
from bench.report import figures
from bench.report.figures import Plot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SQUARE_CSV_LIMIT = 100
"""Largest identity count written as a square CSV (and as every cell in the long table)."""
HEATMAP_ALL = 40
"""Up to this many identities the heatmap shows all; beyond, a subset (``DEFAULT_TOP`` most-confused)."""
DEFAULT_TOP = 30
HEATMAP_LIMIT = 100
"""Most identities a heatmap can label legibly."""
CONFUSED_ROWS = 1000


class HeatmapSubsetError(BenchError):
    """``--identities`` names an identity the dataset lacks, or asks for more than a heatmap can show."""


@dataclass(frozen=True)
class HeatmapChoice:
    """Which identities the heatmap shows: ``identities`` (names, shown in that order) or the ``top`` most-confused."""

    identities: tuple[str, ...] = ()
    top: int | None = None


def subset(totals: IdentityTotals, metric: Metric, choice: HeatmapChoice) -> tuple[np.ndarray, str]:
    """Indices of the identities to draw, in drawing order, and a phrase saying which they are."""
    k = len(totals.identities)
    if choice.identities:
        check_identities(choice, totals.identities)
        index = {name.lower(): i for i, name in enumerate(totals.identities)}
        picked = np.array([index[n.lower()] for n in choice.identities])
        return _capped(picked), f"{len(picked)} chosen of {k:,} identities"
    if choice.top is None and k <= HEATMAP_ALL:
        return np.arange(k), f"all {k} identities"
    top = choice.top or DEFAULT_TOP
    picked = _capped(_from_confused(totals, metric, top))
    order = cluster_order(totals.means[np.ix_(picked, picked)], metric)
    return picked[order], f"the {len(picked)} most-confused of {k:,} identities, clustered"


def check_identities(choice: HeatmapChoice, identities: list[str]) -> None:
    """:class:`HeatmapSubsetError` naming the first chosen identity the dataset lacks (any case matches)."""
    known = {name.lower() for name in identities}
    missing = [n for n in choice.identities if n.lower() not in known]
    if missing:
        shown = identities[:20] + (["..."] if len(identities) > 20 else [])
        raise HeatmapSubsetError(unknown_message("identity", missing[0], shown))


def _capped(picked: np.ndarray) -> np.ndarray:
    if len(picked) > HEATMAP_LIMIT:
        raise HeatmapSubsetError(
            f"a heatmap of {len(picked)} identities is unreadable; ask for at most "
            f"{HEATMAP_LIMIT} (--identities or --top)"
        )
    return picked


def _from_confused(totals: IdentityTotals, metric: Metric, top: int) -> np.ndarray:
    """The first ``top`` distinct identities met going down the most-confused pairs."""
    index = {name: i for i, name in enumerate(totals.identities)}
    seen: dict[int, None] = {}
    wanted = min(top, len(totals.identities))
    pairs = most_confused(totals, metric, max(wanted, 1) * 4)
    for a, b in zip(pairs.identity_a, pairs.identity_b):
        for name in (a, b):
            if len(seen) < wanted:
                seen.setdefault(index[name], None)
    return np.array(list(seen), dtype=int)


def files(
    totals: IdentityTotals, metric: Metric, name: str, title: str, choice: HeatmapChoice
) -> tuple[dict[str, pd.DataFrame | bytes], Plot]:
    """Every file for one combination and metric, by file name (tables, the matrix), and the heatmap."""
    written: dict[str, pd.DataFrame | bytes] = {
        f"similarity_{name}_identities.csv": per_identity(totals, metric),
        f"similarity_{name}_confused.csv": most_confused(totals, metric, CONFUSED_ROWS),
    }
    means = totals.means
    if len(means) <= SQUARE_CSV_LIMIT:
        square = pd.DataFrame(means, index=totals.identities, columns=totals.identities)
        written[f"similarity_{name}.csv"] = square.rename_axis("identity_a").reset_index()
    else:
        import io

        buffer = io.BytesIO()
        np.save(buffer, means.astype(np.float32), allow_pickle=False)
        written[f"similarity_{name}.npy"] = buffer.getvalue()
    picked, phrase = subset(totals, metric, choice)
    return written, heatmap(totals, metric, picked, f"{title}: {phrase}", f"similarity_{name}.png")


def heatmap(totals: IdentityTotals, metric: Metric, picked: np.ndarray, title: str, name: str) -> Plot:
    """The matrix of ``picked`` identities (rows and columns in that order), labelled with image counts."""
    values = totals.means[np.ix_(picked, picked)]
    labels = [f"{_short(totals.identities[i])} ({totals.n_images[i]})" for i in picked]
    higher, label = metric.higher_is_more_similar, f"mean {metric.label}"
    return figures.plot(name, _heatmap_figure, values, labels, higher, label, title, dpi=100)


def _heatmap_figure(values: np.ndarray, labels: list[str], higher: bool, label: str, title: str) -> Figure:
    n = len(labels)
    font = 8 if n <= 40 else 6
    size = max(5.0, 0.22 * n * font / 7 + 3)
    fig, ax = figures.pyplot().subplots(figsize=(size + 1.5, size))
    image = ax.imshow(values, cmap="viridis" if higher else "viridis_r")
    if n <= 15:  # small enough to print every cell
        middle = np.nanmean(values)
        for (row, col), value in np.ndenumerate(values):
            if np.isfinite(value):
                dark = value > middle if not higher else value < middle
                ax.text(
                    col, row, f"{value:.3f}", ha="center", va="center", fontsize=7, color="white" if dark else "black"
                )
    ax.set_xticks(range(n), labels, rotation=90, fontsize=font)
    ax.set_yticks(range(n), labels, fontsize=font)
    ax.set_xlabel("identity (images with a face); empty diagonal cell: a single image")
    fig.colorbar(image, ax=ax, shrink=0.8, label=label)
    ax.set_title(title, fontsize=10)
    return fig


def _short(name: str, width: int = 26) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def long_table(totals: IdentityTotals, metric: Metric) -> pd.DataFrame:
    """The run's ``similarity.csv`` rows: every cell while the matrix is small, else every same-identity cell
    and the most-confused cross cells."""
    if len(totals.identities) <= SQUARE_CSV_LIMIT:
        return long_rows(totals)
    index = {name: i for i, name in enumerate(totals.identities)}
    confused = most_confused(totals, metric, CONFUSED_ROWS)
    diag = np.arange(len(totals.identities))
    a = np.r_[diag, confused.identity_a.map(index).to_numpy(int)]
    b = np.r_[diag, confused.identity_b.map(index).to_numpy(int)]
    return long_rows(totals, (a, b))
