"""Judging quality measures by error-versus-discard curves (``bench quality``): tables and one plot per combination.

Per model x detector x metric: the threshold is fixed once on all scored pairs (at a starting FNMR, or a target
FMR); then for every quality measure, the FNMR (and FMR) as the comparisons of lowest pairwise quality are
discarded (:mod:`bench.edc`), and the pAUC over 0 .. 20 % discarded, beside the theoretical best, with a paired
bootstrap interval over the genuine pairs (the same draws for every measure) by which the measures are ranked
(:data:`bench.measure.ranks.BOOTSTRAP_RULE`: measures within noise of each other share a rank and a group letter).
``combined`` is the score ``--drop-lowest-quality`` uses (:func:`bench.compute.quality.combined`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bench.compute import quality
from bench.compute.pipeline import Pipeline
from bench.compute.sweep import Combination
from bench.compute.weights import search_path
from bench.data.datasets import Pairs, restrict
from bench.errors import BenchError
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.measure import edc, ranks
from bench.measures import QualityMeasure
from bench.metrics import Metric
from bench.report import figures
from bench.report.figures import Plot
from bench.report.plots import slug
from bench.run.context import Context, Input
from bench.run.runner import console_table
from bench.run.sources import pairs_for
from facebench_plugins.evaluations.verification import describe_pairs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

GRID = np.round(np.linspace(0, edc.MAX_DISCARD, 51), 4)
"""Discard fractions the curve table reports (the plot and pAUC use the exact steps)."""
COMBINED = "combined"
COMBINED_FROM = {"confidence": "confidence", "sharpness": "sharpness", "face_px": "face_size"}
"""The combined score's inputs (:data:`bench.compute.quality.COMBINED_OF`) -> the measures that give them."""
RANKING_RULE = (
    "rows by mean_rank (the mean over recognizers of each one's rank), then by mean pAUC, then by measure name; "
    f"per recognizer: {ranks.BOOTSTRAP_RULE}"
)


@dataclass(frozen=True)
class Rule:
    """How the fixed threshold is set on all scored pairs: a starting FNMR, or a target FMR when given."""

    fnmr: float = 0.1
    fmr: float | None = None

    def threshold(self, scores: np.ndarray, same: np.ndarray) -> float:
        """The threshold, in similarity units."""
        if self.fmr is not None:
            return edc.threshold_at_fmr(scores, same, self.fmr)
        return edc.threshold_at_fnmr(scores, same, self.fnmr)

    def describe(self) -> str:
        """e.g. ``FNMR 0.1`` or ``FMR 0.001``."""
        return f"FMR {self.fmr:g}" if self.fmr is not None else f"FNMR {self.fnmr:g}"


def qualities(
    pipeline: Pipeline, combo: Combination, measures: list[QualityMeasure], per_detector: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Every measure per image of this combination (image measures computed once per detector), plus combined."""
    name = combo.detector.name
    if name not in per_detector:
        per_detector[name] = quality.image_qualities(
            pipeline, combo.dataset, combo.detector, combo.detections, measures
        )
    model = quality.model_qualities(
        pipeline, combo.dataset, combo.detector, combo.detections, combo.model, combo.vectors, measures
    )
    frame = per_detector[name].merge(model, on="image", how="left")
    if all(source in frame for source in COMBINED_FROM.values()):
        inputs = frame[list(COMBINED_FROM.values())].set_axis(list(COMBINED_FROM), axis=1)
        frame[COMBINED] = quality.combined(inputs).where(inputs.notna().all(axis=1))
    return frame


def directions(measures: list[QualityMeasure]) -> dict[str, bool]:
    """Measure name -> higher is better (``combined`` too)."""
    return {**{m.name: m.higher_is_better for m in measures}, COMBINED: True}


def curves(
    combo: Combination, pairs: Pairs, metric: Metric, frame: pd.DataFrame, better: dict[str, bool], rule: Rule
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, edc.Curve]]:
    """Rows of the curve table (on :data:`GRID`), rows of the pAUC table, and each measure's exact FNMR curve;
    nothing when the scored pairs lack a class."""
    ok = combo.embedded()
    valid = ok[pairs.left] & ok[pairs.right]
    left, right, same = pairs.left[valid], pairs.right[valid], pairs.same[valid]
    if not 0 < same.sum() < len(same):  # every pair of one class was dropped: no threshold is defined
        return [], [], {}
    raw = combo.pair_scores(metric, left, right)
    scores = raw if metric.higher_is_more_similar else -raw
    threshold = rule.threshold(scores, same)
    start_fnmr, start_fmr = float(np.mean(scores[same] < threshold)), float(np.mean(scores[~same] >= threshold))
    base = {
        "dataset": combo.dataset.name,
        "model": combo.model.name,
        "detector": combo.detector.name,
        "metric": metric.name,
    }
    rows: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    exact: dict[str, edc.Curve] = {}
    draws, replicates = ranks.resamples(int(same.sum())), []
    for name, higher in better.items():
        if name not in frame:
            continue
        values = frame[name].to_numpy(dtype=float)
        pair_q = edc.pair_quality(values if higher else -values, left, right)
        fnmr, fmr = edc.fnmr_curve(scores, same, pair_q, threshold), edc.fmr_curve(scores, same, pair_q, threshold)
        exact[name] = fnmr
        replicates.append(edc.pauc_draws(scores[same] < threshold, pair_q[same], draws))
        rows += [
            {**base, "measure": name, "discard": x, "fnmr": a, "fmr": b}
            for x, a, b in zip(GRID, fnmr.at(GRID), fmr.at(GRID))
        ]
        summary.append(
            {
                **base,
                "measure": name,
                "pauc_fnmr": edc.pauc(fnmr),
                "pauc_fmr": edc.pauc(fmr),
                "n_unmeasured_images": int(np.isnan(values[np.unique(np.r_[left, right])]).sum()),
            }
        )
    ideal, random = edc.ideal_pauc(start_fnmr), start_fnmr * edc.PAUC_LIMIT
    raw_threshold = threshold if metric.higher_is_more_similar else -threshold
    for row in summary:
        row.update(
            {
                "pauc_fnmr_ideal": ideal,
                "pauc_fnmr_random": random,
                "pauc_fnmr_relative": (row["pauc_fnmr"] - ideal) / (random - ideal) if random > ideal else np.nan,
                "threshold": raw_threshold,
                "threshold_rule": rule.describe(),
                "start_fnmr": start_fnmr,
                "start_fmr": start_fmr,
                "n_genuine": int(same.sum()),
                "n_impostor": int((~same).sum()),
            }
        )
    return rows, ranked(summary, np.array(replicates)), exact


def ranked(summary: list[dict[str, Any]], replicates: np.ndarray) -> list[dict[str, Any]]:
    """The pAUC rows best first, each with its bootstrap interval, rank and group (from the paired draws)."""
    if not summary:
        return summary
    lo, hi = ranks.interval(replicates)
    estimate = np.array([row["pauc_fnmr"] for row in summary])
    names = [row["measure"] for row in summary]
    ranking = ranks.rank_items(names, estimate, ranks.apart_by_replicates(replicates), lower_is_better=True)
    for k, row in enumerate(summary):
        row.update(
            pauc_fnmr_lo=float(lo[k]),
            pauc_fnmr_hi=float(hi[k]),
            rank=int(ranking.rank[k]),
            group=ranking.group[k],
            rank_rule=ranks.BOOTSTRAP_RULE,
        )
    return [summary[k] for k in ranking.order]


def plot(summary: list[dict[str, Any]], exact: dict[str, edc.Curve], name: str) -> Plot:
    """The FNMR EDC of every measure (best pAUC first in the legend), the ideal curve and random discarding."""
    return figures.plot(name, _edc_figure, summary, exact, tight=False)


def _edc_figure(summary: list[dict[str, Any]], exact: dict[str, edc.Curve]) -> Figure:
    plt = figures.pyplot()
    first = summary[0]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    colours = plt.get_cmap("tab10").colors
    for k, row in enumerate(summary):
        curve = exact[row["measure"]]
        keep = curve.discard <= edc.MAX_DISCARD
        x, y = np.r_[curve.discard[keep], edc.MAX_DISCARD], np.r_[curve.error[keep], curve.error[keep][-1]]
        ax.step(
            x,
            y,
            where="post",
            color=colours[k % 10],
            linestyle="-" if k < 10 else "--",
            linewidth=1.3,
            label=f"{row['measure']} (pAUC {row['pauc_fnmr']:.4f}, rank {row['rank']}, group {row['group']})",
        )
    grid = np.linspace(0, edc.MAX_DISCARD, 201)
    ax.plot(
        grid,
        edc.ideal_curve(first["start_fnmr"], grid),
        color="black",
        linestyle=":",
        linewidth=1.5,
        label=f"theoretical best (pAUC {first['pauc_fnmr_ideal']:.4f})",
    )
    ax.axhline(
        first["start_fnmr"],
        color="gray",
        linewidth=0.8,
        linestyle="-.",
        label=f"random discarding (pAUC {first['pauc_fnmr_random']:.4f})",
    )
    ax.axvline(edc.PAUC_LIMIT, color="gray", linewidth=0.8)
    ax.text(edc.PAUC_LIMIT, ax.get_ylim()[1] * 0.98, " pAUC limit", fontsize=8, color="gray", va="top")
    ax.set(
        xlim=(0, edc.MAX_DISCARD),
        ylim=(0, None),
        xlabel="fraction of genuine comparisons discarded (lowest pairwise quality first)",
        ylabel="FNMR at the fixed threshold",
        title=f"EDC: {first['model']} x {first['detector']} on {first['dataset']} ({first['metric']})\n"
        f"threshold {first['threshold']:.4g} fixed at {first['threshold_rule']} on all "
        f"{first['n_genuine'] + first['n_impostor']} pairs (start FMR {first['start_fmr']:.4f})",
    )
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7.5, loc="center left", bbox_to_anchor=(1.01, 0.5), title="best rank first", title_fontsize=8)
    fig.tight_layout()
    return fig


def ranking(pauc: pd.DataFrame) -> pd.DataFrame:
    """Measures x recognizers: the pAUC (FNMR) and group of each, best first by mean rank (:data:`RANKING_RULE`;
    one detector, metric, dataset)."""
    keys = ["dataset", "detector", "metric"]
    tables = []
    for (dataset, detector, metric), part in pauc.groupby(keys, sort=False):
        table = part.pivot_table(index="measure", columns="model", values="pauc_fnmr", sort=False)
        groups = part.pivot_table(index="measure", columns="model", values="group", aggfunc="first", sort=False)
        table = table.join(groups.add_suffix(" group"))
        table["mean_rank"] = part.pivot_table(index="measure", columns="model", values="rank").mean(axis=1)
        by = part.groupby("measure").pauc_fnmr.mean().rename("mean_pauc")
        table = table.join(by).reset_index().sort_values(["mean_rank", "mean_pauc", "measure"], ignore_index=True)
        table = table.drop(columns="mean_pauc").assign(rank_rule=RANKING_RULE)
        table.insert(0, "metric", metric)
        table.insert(0, "detector", detector)
        table.insert(0, "dataset", dataset)
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def _rule(ctx: Context) -> Rule:
    fmr = ctx.request.option("edc_fmr")
    return Rule(float(ctx.request.option("edc_fnmr", Rule.fnmr)), None if fmr is None else float(fmr))


def available_measures(ctx: Context) -> list[QualityMeasure]:
    """The measures asked for; with ``all``, those whose weight files are missing are left out (and recorded),
    a missing file of a measure named explicitly is an error."""
    asked = str(ctx.request.option("measures", "all"))
    chosen = ctx.plugins.quality.select(asked)
    weights_dir = ctx.sweep.pipeline.weights_dir
    missing = {m.name: m.missing_weights(weights_dir) for m in chosen if m.missing_weights(weights_dir)}
    if missing and asked.strip().lower() != "all":
        name, files = next(iter(missing.items()))
        raise BenchError(
            f"quality measure '{name}' needs {', '.join(files)}, not found (looked in "
            f"{', '.join(map(str, search_path(weights_dir)))}); bench weights import FILE --as {files[0]}"
        )
    if missing:
        ctx.run.record(quality_measures_left_out={n: f"missing {', '.join(f)}" for n, f in missing.items()})
    return [m for m in chosen if m.name not in missing]


class QualityEvaluation:
    """``bench quality``: every registered (or chosen) measure's EDC and pAUC per model x detector x metric."""

    def __init__(self) -> None:
        self.measures: list[QualityMeasure] = []  # chosen in prepare
        self.per_detector: dict[str, pd.DataFrame] = {}  # image measures, computed once per detector

    def prepare(self, ctx: Context) -> None:
        """The pairs, as ``bench accuracy`` chooses them; the measures and the threshold rule."""
        self.measures = available_measures(ctx)
        ctx.run.record(
            edc={
                "threshold": _rule(ctx).describe(),
                "pauc_limit": edc.PAUC_LIMIT,
                "max_discard": edc.MAX_DISCARD,
                "measures": [m.name for m in self.measures],
            }
        )
        if ctx.inputs:
            return  # another evaluation chose the inputs
        dataset, pairs = restrict(ctx.dataset, pairs_for(ctx.settings, ctx.request, ctx.dataset, ctx.given_pairs))
        ctx.run.record(pairs=describe_pairs(pairs, len(dataset.images)))
        ctx.inputs.append(Input(dataset, pairs, {"subset": "all"}))

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """Quality per image, then per metric the curves, the pAUC rows and the plot."""
        measures = self.measures
        frame = qualities(ctx.sweep.pipeline, combo, measures, self.per_detector)
        pairs = ctx.input.pairs
        assert pairs is not None
        curve_rows, pauc_rows = [], []
        for metric in ctx.metrics:
            rows, summary, exact = curves(combo, pairs, metric, frame, directions(measures), _rule(ctx))
            curve_rows += rows
            pauc_rows += summary
            if summary:
                name = slug("edc", combo.dataset.name, combo.model.name, combo.detector.name, metric.name)
                ctx.run.plot(plot(summary, exact, f"{name}.png"))
        tags = {"dataset": combo.dataset.name, "model": combo.model.name, "detector": combo.detector.name}
        images = [{**tags, **row} for row in frame.to_dict("records")]
        return {"edc": curve_rows, "edc_pauc": pauc_rows, "image_quality": images}

    def finish(self, ctx: Context) -> None:
        """The ranking table: measures x recognizers."""
        pauc = ctx.run.table("edc_pauc")
        if not pauc.empty:
            ctx.run.write_table("edc_ranking", ranking(pauc))

    def summary(self, ctx: Context) -> str:
        """The ranking (pAUC of FNMR per recognizer, lower is better)."""
        pauc = ctx.run.table("edc_pauc")
        if pauc.empty:
            return "no combination had scored pairs of both classes: no EDC"
        models = sorted(pauc.model.unique())
        columns = ["detector", "metric", "measure", *models, *(f"{m} group" for m in models), "mean_rank"]
        note = (
            f"pAUC of FNMR over 0..{edc.PAUC_LIMIT:g} discarded (lower is better), threshold fixed at "
            f"{_rule(ctx).describe()} on all pairs; theoretical best per recognizer: "
            + ", ".join(f"{m} {v:.4f}" for m, v in pauc.groupby("model").pauc_fnmr_ideal.first().items())
        )
        return "\n".join([console_table(ranking(pauc), columns), note, RANKING_RULE])


SPEC = EvaluationSpec(
    "quality",
    QualityEvaluation,
    command="quality",
    help="Error-versus-discard curves (ISO/IEC 29794-5) of every quality measure, at a fixed threshold; "
    "pAUC ranking per recognizer.",
    needs=frozenset({"pairs"}),
    tables=(
        Table(
            "edc_ranking",
            "measures x recognizers: pAUC of FNMR over 0..0.2 discarded and group letter per recognizer, the "
            "mean rank, best first (rank_rule)",
            ("dataset", "detector", "metric", "measure"),
        ),
        Table(
            "edc_pauc",
            "pAUC of each measure's EDC over 0..0.2 discarded (pauc_fnmr_lo/_hi: 95 % bootstrap over the genuine "
            "pairs), the theoretical best and random, the fixed threshold and its starting FNMR/FMR, rank and "
            "group (measures within noise share them; rank_rule)",
            ("dataset", "model", "detector", "metric", "measure"),
            ("pauc_fnmr", "pauc_fnmr_relative", "rank"),
        ),
        Table(
            "edc",
            "FNMR and FMR at the fixed threshold after discarding each fraction of lowest pairwise "
            "quality (min of the two images'), per measure",
            ("dataset", "model", "detector", "metric", "measure", "discard"),
        ),
        Table(
            "image_quality",
            "every quality measure per image (NaN: no face found)",
            ("dataset", "model", "detector", "image"),
        ),
    ),
    options=(
        Option("measures", str, "all", "Quality measures to judge: NAME, A,B or all (bench plugins lists them)."),
        Option("edc_fnmr", float, Rule.fnmr, "Fix the threshold where the FNMR on all pairs is this."),
        Option("edc_fmr", float, None, "Fix the threshold at this FMR on all pairs instead (e.g. 0.001)."),
    ),
    default_metric="cosine",
)
