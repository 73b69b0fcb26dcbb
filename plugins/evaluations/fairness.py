"""Demographic differentials (ISO/IEC 19795-10): per-group FMR, FNMR and failure-to-detect at one threshold.

The numbers come from :mod:`bench.fairness`; this module picks the pairs and groups of each combination, writes the
tables and draws the plots. Tables (long format, one CSV each in the run folder):

``fairness.csv`` -- one row per dataset x model x detector x metric x FMR target x group (each label, ``all``,
``cross-group``, ``unlabelled``): ``attribute, fmr_target, threshold`` (the global one), ``fmr_achieved,
insufficient``, counts ``n_genuine, n_impostor, n_false_match, n_false_nonmatch, n_subjects``, ``fmr, fmr_ci_low,
fmr_ci_high, fnmr, fnmr_ci_low, fnmr_ci_high, group_insufficient``, the group's own threshold ``group_threshold,
group_threshold_fmr, group_threshold_fnmr, group_threshold_insufficient``, and detection ``n_images,
n_failed_detection, ftd_rate, ftd_ci_low, ftd_ci_high`` (the detector's, over the images the pairs use).

``fairness_differentials.csv`` -- one row per dataset x model x detector x metric x FMR target: ``attribute,
groups, fmr_target, threshold, fmr_achieved, insufficient, fmr_ratio, fnmr_ratio, garbe, fdr`` each with
``_ci_low`` / ``_ci_high``, ``alpha, n_bootstrap, seed``.

``det_by_group.csv`` -- per-group DET curves: ``group, fmr, fnmr`` per candidate threshold; a data file written at
the end, not a manifest table (and not prefixed ``fairness``), so no report dumps curve points.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
import numpy as np
import pandas as pd

from bench.compute import estimates
from bench.compute.sweep import Combination
from bench.data.attributes import UNLABELLED, attributes_of, coverage, image_groups, sample_group_pairs
from bench.data.datasets import Dataset, Pairs, restrict
from bench.errors import BenchError
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.hookspecs import hookimpl
from bench.measure import differentials as fairness
from bench.measure.accuracy import scored_pairs
from bench.measure.operating import MIN_IMPOSTORS_PER_ERROR, det_curve, normal_deviate
from bench.measures import ESTIMATED, AttributeEstimator
from bench.metrics import Metric
from bench.report import figures
from bench.report.figures import Plot
from bench.report.plots import slug
from bench.run.context import Context, Input
from bench.run.requests import SweepRequest
from bench.run.sources import pairs_for

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TARGETS = (1e-3, 1e-2, 1e-1)
"""FMR targets ``--at-fmr auto`` tries, strictest first: the first the impostor count supports is used."""

KEYS = ("dataset", "model", "detector", "metric")

DET_FILE = "det_by_group"
"""The per-group DET curve points (a data file beside the tables, not a table the report shows)."""

CARD_COLUMNS = {
    "fairness": (
        "dataset",
        "metric",
        "attribute",
        "fmr_target",
        "group",
        "n_impostor",
        "n_false_match",
        "fmr",
        "fmr_ci_low",
        "fmr_ci_high",
        "n_genuine",
        "n_false_nonmatch",
        "fnmr",
        "fnmr_ci_low",
        "fnmr_ci_high",
        "ftd_rate",
    ),
    "fairness_differentials": (
        "dataset",
        "metric",
        "fmr_target",
        "fmr_ratio",
        "fnmr_ratio",
        "garbe",
        "garbe_ci_low",
        "garbe_ci_high",
        "fdr",
        "fdr_ci_low",
        "fdr_ci_high",
    ),
}
"""What a report card shows of each table (the spec's ``extras["card_columns"]``)."""


class FairnessError(BenchError):
    """A fairness evaluation that cannot run as asked (no attribute, one group, a bad FMR target)."""


@dataclass(frozen=True)
class FairnessOptions:
    """The evaluation's own options."""

    attribute: str | None = None  # None: the dataset's only attribute
    at_fmr: str = "auto"  # "auto" or comma-separated targets
    bootstrap: int = 1000
    seed: int = 0
    alpha: float = fairness.ALPHA


def choose_attribute(dataset: Dataset, asked: str | None) -> str:
    """The attribute to group by: the one asked for, else the dataset's only one."""
    known = attributes_of(dataset)
    if asked is not None and asked not in known:
        raise FairnessError(
            f"dataset '{dataset.name}' has no attribute '{asked}'; it has: {', '.join(known) or 'none'}"
        )
    if asked is None and len(known) != 1:
        declare = "declare one under 'attributes:' in datasets.yaml" if not known else "pass --attribute"
        raise FairnessError(f"dataset '{dataset.name}' has attributes [{', '.join(known)}]; {declare}")
    return asked or known[0]


def choose_estimator(ctx: Context, asked: str | None) -> AttributeEstimator:
    """The estimator ``--attribute`` names (``gender`` or ``gender (estimated)``), else the only one whose weights
    are found; a missing weight file is an error naming it."""
    registry = ctx.plugins.attribute_estimators
    weights_dir = ctx.sweep.pipeline.weights_dir
    if asked is not None:
        name = asked.removesuffix(f" ({ESTIMATED})")
        if name not in registry.names():
            raise FairnessError(f"no attribute estimator '{name}'; registered: {', '.join(registry.names()) or 'none'}")
        chosen = registry.get(name)
        if chosen.missing_weights(weights_dir):
            raise FairnessError(
                f"attribute estimator '{name}' needs {', '.join(chosen.missing_weights(weights_dir))}, not found "
                f"under {weights_dir}; bench weights import FILE --as {chosen.missing_weights(weights_dir)[0]}"
            )
        return chosen
    ready = [e for e in registry if not e.missing_weights(weights_dir)]
    if len(ready) != 1:
        raise FairnessError(
            f"--attributes estimated: pass --attribute NAME; estimators with their weights found: "
            f"{', '.join(e.name for e in ready) or 'none'}"
        )
    return ready[0]


def estimation_detector(ctx: Context) -> Any:
    """The detector whose faces the estimator labels: the first of the sweep that can run (one labelling for every
    combination, so each compares the same groups)."""
    weights_dir = ctx.sweep.pipeline.weights_dir
    for detector in ctx.sweep.detectors:
        if detector.unavailable_reason(weights_dir) is None:
            return detector
    raise FairnessError("--attributes estimated: none of the chosen detectors can run, so no face to estimate from")


def fmr_targets(at_fmr: str, n_impostor: int) -> list[float]:
    """The FMR targets: given ones, or (``auto``) the strictest of :data:`TARGETS` with 10 / FMR impostors."""
    if at_fmr.strip().lower() != "auto":
        try:
            targets = [float(t) for t in at_fmr.split(",") if t.strip()]
        except ValueError as err:
            raise FairnessError(f"--at-fmr takes 'auto' or comma-separated rates, got {at_fmr!r}") from err
        if not targets or not all(0 < t <= 1 for t in targets):
            raise FairnessError(f"--at-fmr rates must lie in (0, 1], got {at_fmr!r}")
        return targets
    supported = [t for t in TARGETS if n_impostor >= MIN_IMPOSTORS_PER_ERROR / t]
    return [supported[0] if supported else TARGETS[-1]]


def pair_set(combo: Combination, pairs: Pairs, metric: Metric, attribute: str) -> fairness.PairSet:
    """The combination's scored pairs (both images embedded) with each side's group and subject."""
    valid = scored_pairs(combo, pairs)
    left, right = pairs.left[valid], pairs.right[valid]
    groups = image_groups(combo.dataset, attribute)
    subjects = np.array([img.identity for img in combo.dataset.images], dtype=object)
    return fairness.PairSet(
        combo.pair_scores(metric, left, right),  # the face-selection rule (deepface: closest face pair)
        pairs.same[valid],
        metric.higher_is_more_similar,
        groups[left],
        groups[right],
        subjects[left],
        subjects[right],
    )


def detection_rows(
    combo: Combination, pairs: Pairs, attribute: str, settings: FairnessOptions
) -> dict[str, dict[str, Any]]:
    """Failure-to-detect per group over the images the pairs use, keyed by group."""
    used = np.unique(np.concatenate([pairs.left, pairs.right]))
    groups = image_groups(combo.dataset, attribute)[used]
    failed = np.array([combo.detections[i].status != "ok" for i in used])
    subjects = np.array([combo.dataset.images[i].identity for i in used], dtype=object)
    rows = fairness.detection_by_group(groups, failed, subjects, settings.bootstrap, settings.seed)
    return {row.pop("group"): row for row in rows}


def _det_rows(pairs: fairness.PairSet, groups: Sequence[str]) -> list[dict[str, Any]]:
    kind = fairness.pair_groups(pairs.left_group, pairs.right_group)
    rows = []
    for group in groups:
        mask = kind == group
        if pairs.same[mask].all() or not pairs.same[mask].any():
            continue
        fmr, fnmr, _ = det_curve(pairs.scores[mask], pairs.same[mask], pairs.higher_is_more_similar)
        rows += [{"group": group, "fmr": a, "fnmr": b} for a, b in zip(fmr, fnmr)]
    return rows


def combination_rows(
    combo: Combination, pairs: Pairs, metrics: Sequence[Metric], settings: FairnessOptions
) -> dict[str, list[dict[str, Any]]]:
    """Rows of the three tables for one combination: every metric, every FMR target."""
    attribute = choose_attribute(combo.dataset, settings.attribute)
    base = {"dataset": combo.dataset.name, "model": combo.model.name, "detector": combo.detector.name}
    detection = detection_rows(combo, pairs, attribute, settings)
    out: dict[str, list[dict[str, Any]]] = {"fairness": [], "fairness_differentials": [], DET_FILE: []}
    for metric in metrics:
        scored = pair_set(combo, pairs, metric, attribute)
        tag = {**base, "metric": metric.name, "attribute": attribute}
        for target in fmr_targets(settings.at_fmr, int((~scored.same).sum())):
            rows, summary = fairness.analyse(scored, target, settings.bootstrap, settings.seed, settings.alpha)
            out["fairness"] += [{**tag, **row, **detection.get(row["group"], {})} for row in rows]
            out["fairness_differentials"].append({**tag, **summary})
        groups = fairness.groups_of(fairness.pair_groups(scored.left_group, scored.right_group))
        out[DET_FILE] += [{**tag, **row} for row in _det_rows(scored, groups)]
    return out


def _combo_label(row: pd.Series) -> str:
    return f"{row.model}\n{row.detector}"


def rate_plots(table: pd.DataFrame) -> list[Plot]:
    """Per dataset, metric and FMR target: per-group FMR and FNMR bars with 95 % CIs, a bar group per combination."""
    written = []
    labelled = table[~table.group.isin([fairness.ALL, fairness.CROSS, UNLABELLED])]
    for (dataset, metric, target), part in labelled.groupby(["dataset", "metric", "fmr_target"]):
        name = f"fairness_rates_{slug(str(dataset), str(metric), f'fmr{target:g}')}.png"
        written.append(figures.plot(name, _rate_figure, dataset, metric, target, part))
    return written


def _rate_figure(dataset: str, metric: str, target: float, part: pd.DataFrame) -> Figure:
    plt = figures.pyplot()
    combos = part[["model", "detector"]].drop_duplicates()
    groups = sorted(part.group.unique())
    width = 0.8 / len(groups)
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 2.2 * len(combos) + 3), 4.6), layout="constrained")
    for ax, rate, name in ((axes[0], "fmr", "false match rate"), (axes[1], "fnmr", "false non-match rate")):
        for k, group in enumerate(groups):
            rows = combos.merge(part[part.group == group], on=["model", "detector"], how="left")
            x = np.arange(len(rows)) + (k - (len(groups) - 1) / 2) * width
            value = rows[rate].to_numpy(dtype=float)
            err = np.abs(np.vstack([value - rows[f"{rate}_ci_low"], rows[f"{rate}_ci_high"] - value]))
            bars = ax.bar(x, value, width, yerr=np.nan_to_num(err), capsize=3, label=str(group), color=f"C{k}")
            if rate == "fmr":  # hatched: too few within-group impostors for this target
                for bar, thin in zip(bars, rows.group_insufficient.fillna(True).astype(bool)):
                    if thin:
                        bar.set(hatch="//", alpha=0.55)
            counts = rows.n_false_match if rate == "fmr" else rows.n_false_nonmatch
            totals = rows.n_impostor if rate == "fmr" else rows.n_genuine
            for xi, top, c, t in zip(x, np.nan_to_num(rows[f"{rate}_ci_high"].to_numpy(float)), counts, totals):
                ax.annotate(
                    f"{int(c)}/{int(t)}",
                    (xi, top),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
        if rate == "fmr":
            ax.axhline(target, ls="--", color="gray", lw=1, label=f"target {target:g}")
        ax.set_xticks(np.arange(len(combos)), [_combo_label(r) for _, r in combos.iterrows()], fontsize=8)
        ax.set(ylabel=name, title=name.capitalize())
        ax.set_ylim(bottom=0)
        ax.margins(y=0.15)
    from matplotlib.patches import Patch

    handles = [Patch(color=f"C{k}", label=str(g)) for k, g in enumerate(groups)]
    handles += [
        Patch(facecolor="white", edgecolor="gray", hatch="//", label="< 10 / FMR impostors"),
        *axes[0].get_legend_handles_labels()[0][:1],
    ]  # the target line
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=len(handles),
        fontsize=8,
        title=str(part.attribute.iloc[0]),
        title_fontsize=8,
    )
    fig.suptitle(
        f"{dataset}: per-group error rates at the global threshold for FMR {target:g} ({metric}); "
        "whiskers: 95 % subject-bootstrap CI, labels: errors/comparisons,\nhatched: fewer than 10 / FMR "
        "within-group impostors (the rate rests on too few comparisons)",
        fontsize=9,
    )
    return fig


def det_plots(det: pd.DataFrame, table: pd.DataFrame) -> list[Plot]:
    """Per dataset and metric: per-group DET curves on one axis per combination, global operating points marked."""
    written = []
    for (dataset, metric), part in det.groupby(["dataset", "metric"]):
        points = table[(table.dataset == dataset) & (table.metric == metric)]
        name = f"fairness_det_{slug(str(dataset), str(metric))}.png"
        written.append(figures.plot(name, _det_figure, dataset, metric, part, points))
    return written


def _det_figure(dataset: str, metric: str, part: pd.DataFrame, table: pd.DataFrame) -> Figure:
    plt = figures.pyplot()
    ticks = np.array([1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5, 0.8])
    combos = list(part.groupby(["model", "detector"], sort=False))
    cols = min(3, len(combos))
    nrows = int(np.ceil(len(combos) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.9 * nrows), squeeze=False, layout="constrained")
    for ax, ((model, detector), curves) in zip(axes.flat, combos):
        points = table[(table.model == model) & (table.detector == detector)]
        for k, (group, curve) in enumerate(curves.groupby("group")):
            color = f"C{k}"
            ax.plot(normal_deviate(curve.fmr), normal_deviate(curve.fnmr), color=color, label=str(group))
            for _, p in points[points.group == group].iterrows():
                ax.plot(normal_deviate(p.fmr), normal_deviate(p.fnmr), "o", color=color, ms=5, mfc="white")
        ax.set_xticks(normal_deviate(ticks), [f"{t:g}" for t in ticks], fontsize=7)
        ax.set_yticks(normal_deviate(ticks), [f"{t:g}" for t in ticks], fontsize=7)
        ax.set_xlim(normal_deviate(1e-4), normal_deviate(0.8))
        ax.set_ylim(normal_deviate(1e-4), normal_deviate(0.8))
        ax.grid(alpha=0.3)
        ax.set(xlabel="FMR (within-group impostors)", ylabel="FNMR", title=f"{model} / {detector}")
        ax.legend(fontsize=7, loc="upper right")
    for ax in list(axes.flat)[len(combos) :]:
        ax.axis("off")
    fig.suptitle(
        f"{dataset}: DET per group ({metric}); circles: the global threshold(s) (off the axes where a rate is 0)",
        fontsize=10,
    )
    return fig


def _fmt(value: float, lo: float, hi: float, digits: int = 4) -> str:
    if value is None or np.isnan(value):
        return "-"
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def summary_text(table: pd.DataFrame, differentials: pd.DataFrame) -> str:
    """Per combination: each group's FMR / FNMR / FTD at the global threshold, and GARBE and FDR, with CIs."""
    lines = []
    for _, d in differentials.iterrows():
        rows = table[(table[list(KEYS)] == d[list(KEYS)]).all(axis=1) & (table.fmr_target == d.fmr_target)]
        head = (
            f"{d.model} / {d.detector} / {d.metric}, FMR target {d.fmr_target:g} "
            f"(threshold {d.threshold:.4f}, achieved {d.fmr_achieved:.4f}"
            f"{', insufficient impostors' if d.insufficient else ''})"
        )
        lines.append(head)
        for _, r in rows[~rows.group.isin([UNLABELLED])].iterrows():
            ftd = "" if pd.isna(r.get("ftd_rate")) else f"  FTD {r.ftd_rate:.4f}"
            lines.append(
                f"  {r.group:<12} FMR {_fmt(r.fmr, r.fmr_ci_low, r.fmr_ci_high)} "
                f"({int(r.n_false_match)}/{int(r.n_impostor)})  "
                f"FNMR {_fmt(r.fnmr, r.fnmr_ci_low, r.fnmr_ci_high)} "
                f"({int(r.n_false_nonmatch)}/{int(r.n_genuine)}){ftd}"
            )
        lines.append(
            f"  GARBE {_fmt(d.garbe, d.garbe_ci_low, d.garbe_ci_high, 3)}  "
            f"FDR {_fmt(d.fdr, d.fdr_ci_low, d.fdr_ci_high, 3)}  "
            f"FMR max/min {d.fmr_ratio:.2f}  FNMR max/min {d.fnmr_ratio:.2f}"
        )
    return "\n".join(lines)


def options_of(request: SweepRequest) -> FairnessOptions:
    """The evaluation's options from a request."""
    return FairnessOptions(
        request.option("attribute"),
        str(request.option("at_fmr", "auto")),
        int(request.option("bootstrap", 1000)),
        request.seed,
        float(request.option("alpha", fairness.ALPHA)),
    )


def choose_pairs(ctx: Context, attribute: str) -> Pairs:
    """``--n``: pairs sampled by group (same-group impostors unless ``--impostors all``); else the usual pairs."""
    request = ctx.request
    if request.n is not None and not request.pairs:
        return sample_group_pairs(
            ctx.dataset, request.n, attribute, request.seed, request.option("impostors", "same-group")
        )
    return pairs_for(ctx.settings, request, ctx.dataset, ctx.given_pairs)


class Fairness:
    """Per-group error rates at one global threshold per combination, metric and FMR target."""

    def __init__(self) -> None:
        self.det: list[dict[str, Any]] = []  # DET curve points of every combination, written in finish
        self.attribute = ""  # chosen in prepare
        self.estimation: dict[str, Any] = {}  # with --attributes estimated: by what, and agreement with declared

    def prepare(self, ctx: Context) -> None:
        """The attribute and (when fairness leads) the pairs; what the labels cover goes into the manifest."""
        if ctx.request.option("attributes", "declared") == ESTIMATED:
            self.attribute = self._estimate(ctx)
        else:
            self.attribute = choose_attribute(ctx.dataset, ctx.request.option("attribute"))
            if not ctx.inputs:
                self._lead(ctx, ctx.dataset, choose_pairs(ctx, self.attribute))
        attribute = self.attribute
        ctx.run.record(
            fairness={
                "attribute": attribute,
                "images_per_group": coverage(ctx.dataset, attribute),
                "images_per_group_in_pairs": {
                    i.dataset.name: coverage(i.dataset, attribute)
                    for i in ctx.inputs
                    if attribute in attributes_of(i.dataset)
                },
                **self.estimation,
            }
        )

    @staticmethod
    def _lead(ctx: Context, dataset: Dataset, pairs: Pairs) -> None:
        """Fairness leads: the pairs' images become the one input."""
        dataset, pairs = restrict(dataset, pairs)
        ctx.run.record(
            pairs={
                "source": pairs.source,
                "n_pairs": len(pairs),
                "n_same": int(pairs.same.sum()),
                "n_images_used": len(dataset.images),
            }
        )
        ctx.inputs.append(Input(dataset, pairs, {}))

    def _estimate(self, ctx: Context) -> str:
        """``--attributes estimated``: label the images the pairs use (all of them to sample ``--n`` by group) with
        the estimator, on one detector's faces; the agreement with a declared attribute of the same name is kept."""
        estimator = choose_estimator(ctx, ctx.request.option("attribute"))
        detector, pipeline = estimation_detector(ctx), ctx.sweep.pipeline
        if not ctx.inputs and ctx.request.n is not None and not ctx.request.pairs:
            ctx.dataset = estimates.attach(pipeline, ctx.dataset, detector, estimator)
            self._lead(ctx, ctx.dataset, choose_pairs(ctx, estimator.attribute))
        elif not ctx.inputs:
            self._lead(ctx, ctx.dataset, pairs_for(ctx.settings, ctx.request, ctx.dataset, ctx.given_pairs))
        for item in ctx.inputs:
            item.dataset = estimates.attach(pipeline, item.dataset, detector, estimator)
        self.estimation = {
            "estimated_by": {"estimator": estimator.name, "plugin": estimator.plugin, "detector": detector.name},
            "estimator_agreement": {
                i.dataset.name: estimates.agreement(i.dataset, estimator.name, estimator.attribute)
                for i in ctx.inputs
                if estimator.name in attributes_of(i.dataset)
            },
        }
        return estimator.attribute

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """The two tables' rows; the DET curves are kept for :meth:`finish`. An input without the attribute (e.g.
        a clean baseline) gives none."""
        settings = dataclasses.replace(options_of(ctx.request), attribute=self.attribute)
        if ctx.input.pairs is None or self.attribute not in attributes_of(combo.dataset):
            return {}
        rows = combination_rows(combo, ctx.input.pairs, ctx.metrics, settings)
        self.det.extend({**ctx.input.tags, **r} for r in rows.pop(DET_FILE))
        return rows

    def finish(self, ctx: Context) -> None:
        """``det_by_group.csv`` (curve points: a data file, not a report table), rate bars and DET plots."""
        table, det = ctx.run.table("fairness"), pd.DataFrame(self.det)
        if table.empty:
            return
        ctx.run.write_file(f"{DET_FILE}.csv", det)
        ctx.run.plots([*rate_plots(table), *det_plots(det, table)])

    def summary(self, ctx: Context) -> str:
        """Per combination: groups' FMR/FNMR/FTD with CIs and counts, GARBE and FDR."""
        text = summary_text(ctx.run.table("fairness"), ctx.run.table("fairness_differentials"))
        return "\n".join([text, *agreement_lines(self.estimation.get("estimator_agreement", {})), NOTE])


def agreement_lines(agreement: dict[str, dict[str, Any]]) -> list[str]:
    """One line per dataset: how the estimated labels agree with the declared ones."""
    lines = []
    for dataset, a in agreement.items():
        if not a.get("n_images"):
            continue
        recall = ", ".join(f"{label} {r:.3f} (n={a['n_per_class'][label]})" for label, r in a["recall"].items())
        lines.append(
            f"estimated vs declared labels on {dataset}: accuracy {a['accuracy']:.3f} over {a['n_images']} images; "
            f"recall {recall}"
        )
    return lines


NOTE = (
    "FMR: within-group impostors (cross-group apart) at one global threshold set on all impostors; [95 % "
    "subject-bootstrap CI]; (errors/comparisons) is what each rate rests on. GARBE: 0 = equal rates; FDR: 1 = "
    "equal rates."
)


@hookimpl
def register_evaluations(register: Callable[[EvaluationSpec], None]) -> None:
    """``bench fairness``; also ``--eval fairness`` on another sweep of a dataset with attributes."""
    register(
        EvaluationSpec(
            "fairness",
            Fairness,
            command="fairness",
            help="Demographic differentials (ISO/IEC 19795-10): per-group FMR, FNMR and failure-to-detect at one "
            "global threshold, with subject-bootstrap CIs, max/min ratios, GARBE and FDR.",
            needs=frozenset({"pairs", "attributes"}),
            tables=(
                Table(
                    "fairness",
                    "per group (each label, all, cross-group, unlabelled): counts, FMR/FNMR with 95 % CI "
                    "at the global threshold, the group's own threshold, failure-to-detect rate",
                    (*KEYS, "attribute", "fmr_target", "group"),
                    ("fmr", "fnmr", "ftd_rate"),
                ),
                Table(
                    "fairness_differentials",
                    "per combination and FMR target: max/min ratios of FMR and FNMR, GARBE, FDR, each with a 95 % CI",
                    (*KEYS, "attribute", "fmr_target"),
                    ("fmr_ratio", "fnmr_ratio", "garbe", "fdr"),
                ),
            ),
            options=(
                Option("attribute", str, None, "Attribute to group by [default: the dataset's only one]."),
                Option(
                    "attributes",
                    click.Choice(["declared", ESTIMATED]),
                    "declared",
                    "Where the group labels come from: the dataset's declared files, or an attribute estimator "
                    "(bench plugins lists them) on the first detector's faces, named e.g. 'gender (estimated)'.",
                ),
                Option(
                    "at_fmr",
                    str,
                    "auto",
                    "FMR target(s) of the global threshold, e.g. 1e-3,1e-2; auto: 1e-3 "
                    "where there are 10,000+ impostors, else the strictest of 1e-2, 1e-1 with 10 / FMR.",
                ),
                Option("bootstrap", int, 1000, "Subject-bootstrap samples for the 95 % intervals (0 = none)."),
                Option("alpha", float, fairness.ALPHA, "Weight of FMR (vs FNMR) in GARBE and FDR."),
                Option(
                    "impostors",
                    click.Choice(["same-group", "all"]),
                    "same-group",
                    "With --n: sample impostors within a group (default) or across all labelled images.",
                ),
            ),
            default_metric="cosine",
            extras={"card_columns": CARD_COLUMNS},
        )
    )
