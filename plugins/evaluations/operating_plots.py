"""Plots of the operating-points evaluation: DET curves on normal-deviate axes, and the speed/accuracy Pareto plot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.measure import operating
from bench.report import figures
from bench.report.figures import Plot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TICKS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 5e-2, 0.1, 0.2, 0.5, 0.8, 0.95)


def _tick_label(p: float) -> str:
    return f"{p:.0e}".replace("e-0", "e-") if p < 0.01 else f"{100 * p:g}%"


@dataclass(frozen=True)
class Curve:
    """One combination's scores for a DET plot, and its operating points (rows of ``operating_points``)."""

    label: str
    scores: np.ndarray
    same: np.ndarray
    higher_is_more_similar: bool
    points: pd.DataFrame


def det_plot(curves: Sequence[Curve], name: str, title: str) -> Plot:
    """FNMR against FMR on normal-deviate axes, a line per combination; operating points marked (hollow and grey
    where ``insufficient``: too few impostors for that FMR)."""
    return figures.plot(name, _det_figure, list(curves), title, tight=False)


def _det_figure(curves: list[Curve], title: str) -> Figure:
    plt = figures.pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 6))
    smallest = min(1.0 / max(1, min(int((~c.same).sum()), int(c.same.sum()))) for c in curves) if curves else 1e-3
    floor = max(min(TICKS), smallest / 2)
    for curve in curves:
        fmr, fnmr, _ = operating.det_curve(curve.scores, curve.same, curve.higher_is_more_similar)
        x, y = operating.normal_deviate(fmr, floor), operating.normal_deviate(fnmr, floor)
        (line,) = ax.plot(x, y, lw=1.4, label=curve.label, drawstyle="steps-post")
        pts = curve.points
        for flag, style in ((False, {"color": line.get_color()}), (True, {"facecolor": "none", "edgecolor": "0.6"})):
            part = pts[pts.insufficient.astype(bool) == flag]
            if len(part):
                ax.scatter(
                    operating.normal_deviate(part.fmr, floor),
                    operating.normal_deviate(part.fnmr, floor),
                    s=36,
                    zorder=3,
                    marker="o",
                    **style,
                )
    ticks = [t for t in TICKS if t >= floor]
    for axis, setter in ((ax.xaxis, ax.set_xticks), (ax.yaxis, ax.set_yticks)):
        setter(operating.normal_deviate(ticks), [_tick_label(t) for t in ticks])
        axis.set_tick_params(labelsize=8)
    lo = operating.normal_deviate([floor])[0]
    ax.set_xlim(lo, operating.normal_deviate([0.6])[0])
    ax.set_ylim(lo, operating.normal_deviate([0.6])[0])
    ax.grid(True, color="0.9")
    ax.set_xlabel("FMR (false match rate, normal-deviate scale)")
    ax.set_ylabel("FNMR (false non-match rate, normal-deviate scale)")
    ax.set_title(title, fontsize=10)
    ax.scatter([], [], s=36, color="0.3", label="operating points (achieved FMR per target)")
    ax.scatter([], [], s=36, facecolor="none", edgecolor="0.6", label="insufficient: < 10/FMR impostors")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)  # beside the curves
    fig.subplots_adjust(left=0.09, right=0.68, bottom=0.11, top=0.92)
    return fig


def pareto_plot(rows: pd.DataFrame, name: str, title: str, budget_ms: float | None = None) -> Plot:
    """FNMR at one FMR (column ``fnmr``) against ms per face (``ms_per_face``), a point per ``label``; the
    non-dominated points joined, an optional latency-budget line, insufficient figures hollow."""
    return figures.plot(name, _pareto_figure, rows, title, budget_ms, tight=False)


def _pareto_figure(rows: pd.DataFrame, title: str, budget_ms: float | None) -> Figure:
    plt = figures.pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 5))
    rows = rows[rows.ms_per_face.notna() & rows.fnmr.notna()].sort_values("ms_per_face")
    for _, row in rows.iterrows():
        hollow = bool(row.insufficient)
        ax.errorbar(
            row.ms_per_face,
            row.fnmr,
            yerr=_yerr(row),
            fmt="o",
            ms=7,
            capsize=3,
            mfc="none" if hollow else None,
            color="0.55" if hollow else None,
        )
        ax.annotate(row.label, (row.ms_per_face, row.fnmr), textcoords="offset points", xytext=(6, 4), fontsize=8)
    front = rows[rows.fnmr.cummin() == rows.fnmr]
    if len(front) > 1:
        ax.plot(front.ms_per_face, front.fnmr, "--", color="0.4", lw=1, label="Pareto front")
    if budget_ms is not None:
        ax.axvline(budget_ms, color="tab:red", lw=1.2, label=f"latency budget {budget_ms:g} ms/face")
    ax.margins(x=0.25)
    ax.set_xlabel("ms per face (detection + embedding, this machine)")
    ax.set_ylabel("FNMR at the FMR target (lower is better)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, color="0.9")
    ax.errorbar([], [], fmt="o", ms=7, color="0.3", label="FNMR, 95 % interval")
    if rows.insufficient.astype(bool).any():
        ax.errorbar([], [], fmt="o", ms=7, mfc="none", color="0.55", label="hollow: insufficient (< 10/FMR impostors)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)  # beside the points
    fig.subplots_adjust(left=0.09, right=0.68, bottom=0.11, top=0.92)
    return fig


def _yerr(row: pd.Series) -> np.ndarray | None:
    if "fnmr_lo" not in row or pd.isna(row.fnmr_lo):
        return None
    return np.array([[max(row.fnmr - row.fnmr_lo, 0)], [max(row.fnmr_hi - row.fnmr, 0)]])
