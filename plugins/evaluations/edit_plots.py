"""Plots of the edits evaluation: the TAR heatmap (model x detector rows, sets as columns) and the genuine-score
distributions of each set against the clean baseline's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.report import figures
from bench.report.figures import Plot

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def cell_text(tar: float, lo: float, hi: float, group: str) -> str:
    """``0.950 a`` over ``[0.900, 0.990]``: the TAR, its group letter and its interval."""
    interval = "" if pd.isna(lo) else f"\n[{lo:.2f}, {hi:.2f}]"
    return f"{tar:.3f} {group}{interval}"


def tar_heatmap(table: pd.DataFrame, name: str, metric: str, baseline: str) -> Plot:
    """TAR at the baseline-fixed threshold: a panel per FAR target, rows model x detector, columns sets."""
    part = table.assign(row=table.model + " x " + table.detector)
    return figures.plot(
        name,
        _heatmap_figure,
        part[["row", "set", "far_target", "tar_lfw", "tar_lfw_lo", "tar_lfw_hi", "group"]].reset_index(drop=True),
        metric,
        baseline,
    )


def _heatmap_figure(part: pd.DataFrame, metric: str, baseline: str) -> Figure:
    plt = figures.pyplot()
    fars = sorted(part.far_target.unique())
    rows, sets = sorted(part.row.unique()), list(dict.fromkeys(part.set))
    fig, axes = plt.subplots(
        1, len(fars), figsize=(1.9 * len(sets) * len(fars) + 3.5, 0.55 * len(rows) + 1.8), squeeze=False
    )
    fig.subplots_adjust(top=1 - 0.5 / fig.get_figheight())  # the title half an inch above the panels
    for ax, far in zip(axes[0], fars):
        at = part[part.far_target == far].set_index(["row", "set"])
        values = np.array([[at.tar_lfw.get((r, s), np.nan) for s in sets] for r in rows], dtype=float)
        image = ax.imshow(values, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                r = at.loc[(rows[i], sets[j])]
                ax.text(
                    j, i, cell_text(value, r.tar_lfw_lo, r.tar_lfw_hi, r.group), ha="center", va="center", fontsize=7
                )
        ax.set_xticks(range(len(sets)), sets, fontsize=8)
        ax.set_yticks(range(len(rows)), rows if ax is axes[0][0] else [], fontsize=8)
        ax.set_title(f"FAR {far:.0e} (threshold fixed on {baseline})", fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="TAR")
    fig.suptitle(
        f"TAR on edited faces, {metric}: 95 % bootstrap over persons; a shared letter within a column: "
        "cannot be told apart",
        fontsize=9,
        y=0.99,
    )

    return fig


def distance_plot(
    series: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]], name: str, set_name: str, baseline: str, label: str
) -> Plot:
    """Genuine scores original x edited (solid) against the baseline's genuine scores (dashed), a colour per model,
    a panel per detector."""
    data = [(model, detector, edited, clean) for (model, detector), (edited, clean) in sorted(series.items())]
    return figures.plot(name, _distance_figure, data, set_name, baseline, label, dpi=100)


def _distance_figure(
    data: list[tuple[str, str, np.ndarray, np.ndarray]], set_name: str, baseline: str, label: str
) -> Figure:
    plt = figures.pyplot()
    detectors = sorted({d for _, d, _, _ in data})
    models = sorted({m for m, _, _, _ in data})
    colours = {m: plt.get_cmap("tab10")(k % 10) for k, m in enumerate(models)}
    fig, axes = plt.subplots(1, len(detectors), figsize=(5.2 * len(detectors), 3.8), squeeze=False, sharey=True)
    for ax, detector in zip(axes[0], detectors):
        for model, det, edited, clean in data:
            if det != detector:
                continue
            both = np.concatenate([edited, clean])
            bins = np.linspace(np.nanmin(both), np.nanmax(both), 30)  # each model's own range: shapes stay visible
            for values, style, where in ((edited, "-", set_name), (clean, "--", baseline)):
                if len(values):
                    counts = np.histogram(values, bins)[0].astype(float)
                    ax.stairs(
                        counts / counts.max(),
                        bins,
                        color=colours[model],
                        ls=style,
                        lw=1.6 if style == "-" else 1.0,
                        label=f"{model}: {where} (n={len(values)})",
                    )
        ax.set_title(f"detector {detector}", fontsize=9)
        ax.set_xlabel(label, fontsize=8)
    axes[0][0].set_ylabel("genuine pairs per bin (each series' peak = 1)", fontsize=8)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle(
        f"{set_name}: genuine scores, original x edited (solid) vs {baseline} genuine pairs (dashed)", fontsize=10
    )
    fig.tight_layout()
    return fig
