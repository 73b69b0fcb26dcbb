"""Tables and plots made only from a run's long-format CSVs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.metrics import Metric
from bench.report import figures
from bench.report.figures import Plot

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def slug(*parts: str) -> str:
    """A file-name-safe join of parts."""
    return "_".join(re.sub(r"[^A-Za-z0-9._-]+", "-", p) for p in parts)


def accuracy_pivots(accuracy: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """model x detector tables of numbers (k-fold mean, k-fold std, AUC), one per dataset, metric and subset, by
    file name."""
    written = {}
    subsets = accuracy.subset if "subset" in accuracy else pd.Series("all", index=accuracy.index)
    scored = accuracy.assign(subset=subsets)
    scored = scored[scored.acc_kfold_mean.notna()] if "acc_kfold_mean" in scored else scored.iloc[:0]
    for (dataset, metric, subset), part in scored.groupby(["dataset", "metric", "subset"]):
        suffix = () if subset == "all" else (str(subset),)
        for value in ("acc_kfold_mean", "acc_kfold_std", "auc"):
            table = part.pivot_table(index="model", columns="detector", values=value, sort=False)
            written[f"pivot_{slug(value, str(dataset), str(metric), *suffix)}.csv"] = table.reset_index()
    return written


LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))


MARKERS = ("o", "s", "^", "D", "v", "P", "X")
"""Marker shapes by series, so that overlapping curves are told apart."""


def line_styles(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, object]]:
    """A colour per model/detector pair while there are colours enough (10); past that a colour per model and a
    line style per detector, so a dozen curves stay told apart."""
    models = list(dict.fromkeys(frame.model))
    detectors = list(dict.fromkeys(frame.detector))
    pairs = [(m, d) for m in models for d in detectors]
    if len(pairs) <= 10:
        return {pair: {"color": f"C{i}", "linestyle": LINESTYLES[0]} for i, pair in enumerate(pairs)}
    colours = [f"C{i % 10}" for i in range(len(models))]
    return {
        (m, d): {"color": colours[models.index(m)], "linestyle": LINESTYLES[detectors.index(d) % len(LINESTYLES)]}
        for m, d in pairs
    }


def _metric(metrics: list[Metric], name: str) -> Metric:
    return next(m for m in metrics if m.name == name)


def roc_plots(scores: pd.DataFrame, metrics: list[Metric]) -> list[Plot]:
    """One ROC figure per dataset and metric, a curve per model/detector."""
    from bench.measure.kfold import Roc

    written = []
    for (dataset, name), part in scores.groupby(["dataset", "metric"]):
        higher = _metric(metrics, str(name)).higher_is_more_similar
        style = line_styles(part)
        curves = []
        for (model, detector), curve in part.groupby(["model", "detector"]):
            values, same = curve.score.to_numpy(), curve.same.to_numpy().astype(bool)
            curve = Roc.of(values, same, higher)
            label = f"{model} / {detector} (AUC {curve.auc():.4f})"
            curves.append((curve.fpr, curve.tpr, style[(model, detector)], label))
        file = f"roc_{slug(str(dataset), str(name))}.png"
        written.append(figures.plot(file, _roc_figure, f"ROC — {dataset}, {name}", curves))
    return written


def _roc_figure(title: str, curves: list[tuple[np.ndarray, np.ndarray, dict[str, object], str]]) -> Figure:
    fig, ax = figures.pyplot().subplots(figsize=(6, 5))
    for fpr, tpr, style, label in curves:
        ax.plot(fpr, tpr, **style, label=label)
    ax.plot([0, 1], [0, 1], ":", color="gray")
    ax.set(xlabel="false accept rate", ylabel="true accept rate", title=title)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def cmc_plots(cmc: pd.DataFrame) -> list[Plot]:
    """One CMC figure per dataset and metric, a curve per model/detector."""
    written = []
    for (dataset, metric), part in cmc.groupby(["dataset", "metric"]):
        drawn = part[["model", "detector", "rank", "identification_rate"]].reset_index(drop=True)
        name = f"cmc_{slug(str(dataset), str(metric))}.png"
        written.append(figures.plot(name, _cmc_figure, f"CMC — {dataset}, {metric}", drawn))
    return written


def _cmc_figure(title: str, part: pd.DataFrame) -> Figure:
    from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter

    fig, ax = figures.pyplot().subplots(figsize=(6, 4.5))
    style = line_styles(part)
    groups = list(part.groupby(["model", "detector"]))
    for i, ((model, detector), curve) in enumerate(groups):
        ax.plot(  # wider lines and larger markers first: a curve equal to another still shows around it
            curve["rank"],
            curve.identification_rate,
            marker=MARKERS[i % len(MARKERS)],
            markersize=max(3.0, 9.0 - 2.0 * i),
            linewidth=max(1.0, 1.0 + 2.5 * (len(groups) - 1 - i) / max(1, len(groups) - 1)),
            **style[(model, detector)],
            label=f"{model} / {detector}",
        )
    ax.set(xlabel="rank", ylabel="identification rate", ylim=(0, 1.02), title=title)
    if part["rank"].max() > 20:  # many ranks: a log axis labelled 1, 10, 100 (not 10^0, nor 2x10^0)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, loc="lower right")
    return fig


def rotation_curves(robustness: pd.DataFrame) -> list[Plot]:
    """Accuracy against rotation angle (clean at 0), a line per model/detector, a figure per metric."""
    written = []
    rotated = robustness[robustness.family.isin(["rotate", "clean"])]
    for metric, part in rotated.groupby("metric"):
        drawn = part.sort_values("level")[["model", "detector", "level", "acc_kfold_mean"]].reset_index(drop=True)
        name = f"rotation_{slug(str(metric))}.png"
        written.append(figures.plot(name, _rotation_figure, f"Rotation robustness — {metric}", drawn))
    return written


def _rotation_figure(title: str, part: pd.DataFrame) -> Figure:
    fig, ax = figures.pyplot().subplots(figsize=(6.5, 4.5))
    for (model, detector), line in part.groupby(["model", "detector"]):
        ax.plot(line.level, line.acc_kfold_mean, marker="o", label=f"{model} / {detector}")
    ax.axhline(0.5, ls=":", color="gray")
    ax.set(
        xlabel="in-plane rotation (degrees, counter-clockwise)",
        ylabel="k-fold verification accuracy",
        title=title,
        ylim=(0.4, 1.01),
    )
    ax.legend(fontsize=7)
    return fig


def perturbation_bars(robustness: pd.DataFrame) -> list[Plot]:
    """Accuracy drop from clean per perturbation (not rotation), a bar per model/detector, a figure per metric."""
    written = []
    other = robustness[~robustness.family.isin(["rotate", "clean"])]
    for metric, part in other.groupby("metric"):
        table = part.pivot_table(
            index="variant", columns=["model", "detector"], values="acc_kfold_mean_drop", sort=False
        )
        title = f"Perturbation robustness — {metric}"
        written.append(figures.plot(f"perturbations_{slug(str(metric))}.png", _perturbation_figure, title, table))
    return written


def _perturbation_figure(title: str, table: pd.DataFrame) -> Figure:
    fig, ax = figures.pyplot().subplots(figsize=(max(6.0, 0.6 * len(table) + 2), 4.5))
    width = 0.8 / max(1, table.shape[1])
    for k, column in enumerate(table.columns):
        ax.bar(np.arange(len(table)) + k * width, table[column], width, label=" / ".join(column))
    ax.set_xticks(np.arange(len(table)) + 0.4 - width / 2, table.index, rotation=45, ha="right", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set(ylabel="accuracy drop from clean", title=title)
    ax.legend(fontsize=7)
    return fig


def distance_plots(scores: pd.DataFrame, metrics: list[Metric]) -> list[Plot]:
    """Same vs different score histograms, a panel per model/detector, a figure per dataset and metric."""
    written = []
    for (dataset, name), part in scores.groupby(["dataset", "metric"]):
        xlabel = _metric(metrics, str(name)).label
        drawn = part[["model", "detector", "score", "same"]].reset_index(drop=True)
        file = f"distances_{slug(str(dataset), str(name))}.png"
        written.append(figures.plot(file, _distance_figure, str(dataset), str(name), xlabel, drawn, dpi=100))
    return written


def _distance_figure(dataset: str, name: str, xlabel: str, part: pd.DataFrame) -> Figure:
    groups = list(part.groupby(["model", "detector"]))
    cols = min(3, len(groups))
    rows = int(np.ceil(len(groups) / cols))
    fig, axes = figures.pyplot().subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows + 0.6), squeeze=False)
    for ax, ((model, detector), g) in zip(axes.flat, groups):
        same = g.same.to_numpy().astype(bool)
        bins = np.linspace(g.score.min(), g.score.max(), 40)
        ax.hist(g.score[same], bins=bins, alpha=0.6, label="same identity")
        ax.hist(g.score[~same], bins=bins, alpha=0.6, label="different identities")
        ax.set_title(f"{model} / {detector}", fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel("pairs", fontsize=8)
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{dataset}: {name} score distributions ({len(part) // max(1, len(groups))} pairs per panel)")
    fig.tight_layout()
    return fig
