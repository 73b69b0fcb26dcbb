"""Operating points (``bench operating``, ``bench calibrate``): FNMR at fixed FMR with subject-bootstrap intervals,
threshold transfer from a calibration set, failures by cause, efficiency, DET and Pareto plots, the report card."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import protocols
from bench.compute.sweep import Combination
from bench.data.datasets import Pairs, restrict
from bench.errors import BenchError
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.hookspecs import hookimpl
from bench.measure import kfold as protocol
from bench.measure import operating, ranks
from bench.measure.accuracy import scored_pairs
from bench.metrics import Metric
from bench.report import card
from bench.report.figures import Plot
from bench.report.plots import slug
from bench.run.context import Context, Input
from bench.run.runner import console_table
from bench.run.runs import read_run_table
from bench.run.sources import named, open_source, pairs_for
from facebench_plugins.evaluations.operating_plots import Curve, det_plot, pareto_plot

KEYS = ("dataset", "subset", "model", "detector", "metric")
CALIBRATION = ("calibration", "dev")
"""Input subsets whose thresholds are transferred to the others."""

NOTE = "fnmr at the most permissive threshold with fmr <= fmr_target (fmr: achieved); ci: 95 % subject bootstrap"

FAILURE_CAUSES = (
    "unreadable",
    "no_face",
    "face_too_small",
    "below_confidence",
    "alignment_failed",
    "detector_failed",
    "embed_failed",
)
"""ISO/IEC 19795-1 style causes, in report order; any other status a failure record carries is counted too."""


class CalibrationError(BenchError):
    """A ``--threshold-from`` source that gives no thresholds for what is being evaluated."""


def _fmrs(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in str(text).split(",") if x.strip())
    except ValueError as err:
        raise CalibrationError(f"--at-fmr takes numbers like 1e-3 or 1e-2,1e-3, got {text!r}") from err
    if not values or not all(0 < v <= 1 for v in values):
        raise CalibrationError(f"--at-fmr values must be in (0, 1], got {text!r}")
    return values


def _subjects(combo: Combination, index: np.ndarray) -> np.ndarray:
    """The subject of each indexed image: its ``subject`` attribute, else its identity."""
    images = combo.dataset.images
    return np.array([images[i].attrs.get("subject", images[i].identity) for i in index])


@dataclasses.dataclass(frozen=True)
class Scored:
    """One metric's scores on one combination's scorable pairs, and what the bootstrap needs."""

    metric: Metric
    scores: np.ndarray
    same: np.ndarray
    left_subject: np.ndarray
    right_subject: np.ndarray
    folds: np.ndarray | None
    n_listed_genuine: int
    n_listed_impostor: int


def _kfold_correct(s: Scored) -> tuple[protocol.FoldResult, np.ndarray]:
    """The k-fold result and each pair's correctness under its test fold's threshold (for the accuracy CI; NaN in
    the folds the k-fold mean leaves out, so the interval rests on the same pairs as the mean)."""
    n = len(s.same)
    folds = s.folds if s.folds is not None else protocol.make_folds(n, min(10, n), 0, s.same)
    hims = s.metric.higher_is_more_similar
    result = protocol.kfold_accuracy(s.scores, s.same, folds, hims)
    thresholds = np.asarray(result.thresholds)[np.searchsorted(np.unique(folds), folds)]
    accept = s.scores >= thresholds if hims else s.scores <= thresholds
    left_out = np.isin(folds, list(result.left_out))
    return result, np.where(left_out, np.nan, (accept == s.same).astype(float))


def _ci(pair: np.ndarray | tuple[float, float] | None, prefix: str) -> dict[str, float | None]:
    if pair is None:
        return {f"{prefix}_lo": None, f"{prefix}_hi": None}
    return {f"{prefix}_lo": float(pair[0]), f"{prefix}_hi": float(pair[1])}


def evaluate_scores(s: Scored, fmrs: tuple[float, ...], n_boot: int, seed: int) -> tuple[list[dict], dict]:
    """Rows of ``operating_points`` (one per FMR target) and the ``operating_summary`` row, without keys."""
    hims = s.metric.higher_is_more_similar
    points = operating.operating_points(s.scores, s.same, hims, fmrs)
    kfold, correct = _kfold_correct(s)
    ci = (
        operating.bootstrap_intervals(
            s.scores, s.same, hims, s.left_subject, s.right_subject, n_boot, seed, fmrs, correct
        )
        if n_boot
        else None
    )
    rows = []
    for k, op in enumerate(points):
        accepted_genuine = round(op.tar * op.n_genuine)
        rows.append(
            {
                "fmr_target": op.fmr_target,
                "fnmr": op.fnmr,
                **_ci(None if ci is None else ci.fnmr[k], "fnmr"),
                "tar": op.tar,
                "fmr": op.fmr,
                **_ci(None if ci is None else ci.fmr[k], "fmr"),
                "threshold": op.threshold,
                **_ci(None if ci is None else ci.threshold[k], "threshold"),
                "n_false_matches": op.n_false_matches,
                "n_impostor": op.n_impostor,
                "n_genuine": op.n_genuine,
                "insufficient": op.insufficient,
                "gfmr": op.n_false_matches / s.n_listed_impostor,
                "gfnmr": 1 - accepted_genuine / s.n_listed_genuine,
                "higher_is_more_similar": hims,
            }
        )
    summary = {
        "eer": protocol.eer(s.scores, s.same, hims)[0],
        **_ci(None if ci is None else ci.eer, "eer"),
        "auc": protocol.roc_auc(s.scores, s.same, hims),
        **_ci(None if ci is None else ci.auc, "auc"),
        "acc_kfold_mean": kfold.accuracy_mean,
        "acc_kfold_std": kfold.accuracy_std,
        "folds_left_out": kfold.describe_left_out(),
        **_ci(None if ci is None else ci.accuracy, "acc_kfold"),
        "n_subjects": operating.subject_index(s.left_subject, s.right_subject)[2],
        "n_pairs_scored": len(s.same),
        "bootstrap": n_boot,
        "bootstrap_seed": seed,
    }
    return rows, summary


def transfer_rows(s: Scored, thresholds: dict[float, dict[str, Any]], n_boot: int, seed: int) -> list[dict]:
    """Thresholds fixed elsewhere applied to these scores: achieved FMR and FNMR against each target."""
    hims = s.metric.higher_is_more_similar
    weights = operating.subject_weights(s.left_subject, s.right_subject, n_boot, seed) if n_boot else None
    rows = []
    for target, source in sorted(thresholds.items(), reverse=True):
        accept = operating.accepted(s.scores, source["threshold"], hims)
        fmr, fnmr = operating.rates_at(s.scores, s.same, source["threshold"], hims)
        own = operating.threshold_at_fmr(s.scores, s.same, target, hims)
        ci = (
            None
            if weights is None
            else operating.interval(np.stack(operating.weighted_rates(accept, s.same, weights), axis=1))
        )
        rows.append(
            {
                "fmr_target": target,
                "calibration": source["calibration"],
                "threshold": source["threshold"],
                "calibration_fmr": source["fmr"],
                "calibration_fnmr": source["fnmr"],
                "calibration_insufficient": source["insufficient"],
                "fmr": fmr,
                **_ci(None if ci is None else (ci[0][0], ci[1][0]), "fmr"),
                "fnmr": fnmr,
                **_ci(None if ci is None else (ci[0][1], ci[1][1]), "fnmr"),
                "fmr_over_target": fmr / target,
                "n_false_matches": int((accept & ~s.same).sum()),
                "n_impostor": int((~s.same).sum()),
                "own_threshold": own.threshold,
                "own_fnmr": own.fnmr,
            }
        )
    return rows


def failure_rows(ctx: Context, combo: Combination) -> list[dict[str, Any]]:
    """Failure to acquire by cause for this detector (and this model's embedding failures) over the images used."""
    n_images = len(combo.dataset.images)
    used = {img.rel for img in combo.dataset.images}
    seen = {  # the sweep records a dataset's failures each time it is swept (dev and eval halves): count once
        (f["image"], f["model"], str(f["status"]))
        for f in ctx.sweep.failures
        if f["dataset"] == combo.dataset.name
        and f["detector"] == combo.detector.name
        and f["model"] in ("", combo.model.name)
        and f["image"] in used
    }
    counts: dict[str, int] = {}
    for _, _, status in seen:
        counts[status] = counts.get(status, 0) + 1
    causes = [*FAILURE_CAUSES, *sorted(set(counts) - set(FAILURE_CAUSES))]
    rows = [
        {
            "cause": c,
            "n_images": counts.get(c, 0),
            "rate": _share(counts.get(c, 0), n_images),
            "n_images_used": n_images,
            "policy": ctx.sweep.pipeline.policy,
        }
        for c in causes
    ]
    total = sum(counts.values())
    return [
        *rows,
        {
            "cause": "total (failure to acquire)",
            "n_images": total,
            "rate": _share(total, n_images),
            "n_images_used": n_images,
            "policy": ctx.sweep.pipeline.policy,
        },
    ]


def _share(count: int, total: int) -> float | None:
    """``count / total``, None when there is nothing to count over."""
    return count / total if total else None


def comparison_us(metric: Metric, vectors: np.ndarray, n: int = 400, repeats: int = 3) -> float | None:
    """Microseconds per comparison of ``metric.all_against`` on up to ``n`` x ``n`` of these templates (best of 3)."""
    ok = vectors[~np.isnan(vectors).any(axis=1)][:n]
    if len(ok) < 2:
        return None
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        metric.all_against(ok, ok)
        best = min(best, time.perf_counter() - start)
    return 1e6 * best / len(ok) ** 2


def _stage_ms(ctx: Context, stage: str, plugin: str, detector: str) -> float | None:
    stats = ctx.sweep.stage_stats(stage, plugin)
    if stats is None:
        return None
    if detector in stats.cache_ms_per_item:
        return float(stats.cache_ms_per_item[detector])
    return 1000 * stats.seconds / stats.computed if stats.computed else None


def _file_bytes(spec: Any, weights_dir: Path) -> int | None:
    try:
        return sum(p.stat().st_size for p in spec.resolve_weights(weights_dir).values())
    except (OSError, BenchError):
        return None


def efficiency_row(ctx: Context, combo: Combination, metric: Metric) -> dict[str, Any]:
    """Template size, comparison cost, stage timings and model size of one combination and metric."""
    det_ms = _stage_ms(ctx, "detect", combo.detector.name, combo.detector.name)
    emb_ms = _stage_ms(ctx, "embed", combo.model.name, combo.detector.name)
    weights_dir = ctx.sweep.pipeline.weights_dir
    return {
        "template_dim": combo.vectors.shape[1],
        "template_dtype": str(combo.vectors.dtype),
        "template_bytes": combo.vectors.shape[1] * combo.vectors.dtype.itemsize,
        "us_per_comparison": comparison_us(metric, combo.vectors),
        "detect_ms_per_image": det_ms,
        "embed_ms_per_face": emb_ms,
        "ms_per_face": det_ms + emb_ms if det_ms is not None and emb_ms is not None else None,
        "model_file_bytes": _file_bytes(combo.model, weights_dir),
        "detector_file_bytes": _file_bytes(combo.detector, weights_dir),
    }


class OperatingPoints:
    """FNMR@FMR with intervals per input; thresholds of calibration inputs (or a run) transferred to the rest."""

    def __init__(self) -> None:
        self.op_scores: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, bool]] = {}  # for the DET plots
        self.thresholds: dict[tuple[str, str, str], dict[float, dict[str, Any]]] = {}  # model, detector, metric

    def prepare(self, ctx: Context) -> None:
        """The pairs; a calibration input first when ``--threshold-from`` names a set or ``--split-by-subject``."""
        if not ctx.inputs:
            dataset, pairs = restrict(ctx.dataset, pairs_for(ctx.settings, ctx.request, ctx.dataset, ctx.given_pairs))
            ctx.run.record(pairs={"source": pairs.source, "n_pairs": len(pairs), "n_same": int(pairs.same.sum())})
            ctx.inputs.append(Input(dataset, pairs, {"subset": "all"}))
        self.fmrs = tuple(sorted({*operating.FMRS, *_fmrs(ctx.request.option("at_fmr", "1e-3"))}, reverse=True))
        self.at = _fmrs(ctx.request.option("at_fmr", "1e-3"))
        fraction = ctx.request.option("split_by_subject")
        if fraction:
            self._split(ctx, float(fraction))
        source = ctx.request.option("threshold_from")
        if source:
            self._calibration(ctx, str(source))

    def _split(self, ctx: Context, fraction: float) -> None:
        main = ctx.inputs[0]
        assert main.pairs is not None
        images = main.dataset.images
        left = [images[i].attrs.get("subject", images[i].identity) for i in main.pairs.left]
        right = [images[i].attrs.get("subject", images[i].identity) for i in main.pairs.right]
        dev, held = operating.subject_split(left, right, fraction, ctx.request.seed)

        def part(mask: np.ndarray, tag: str) -> Input:
            p = main.pairs
            assert p is not None
            folds = None if p.folds is None else p.folds[mask]
            sub = Pairs(p.left[mask], p.right[mask], p.same[mask], folds, f"{p.source} ({tag}, subject split)")
            return Input(main.dataset, sub, {**main.tags, "subset": tag})

        ctx.inputs[0:1] = [part(dev, "dev"), part(held, "eval")]
        ctx.run.record(
            subject_split={
                "dev_fraction": fraction,
                "seed": ctx.request.seed,
                "dev_pairs": int(dev.sum()),
                "eval_pairs": int(held.sum()),
                "dropped_cross_pairs": int((~(dev | held)).sum()),
            }
        )

    def _calibration(self, ctx: Context, source: str) -> None:
        """A run folder gives thresholds directly; a pair file, dataset name or folder becomes a calibration input."""
        path = Path(source)
        if (path / "manifest.json").is_file():
            self.thresholds = {
                key: {t: row for t, row in by_target.items() if any(np.isclose(t, self.at))}
                for key, by_target in _run_thresholds(path).items()
            }
            ctx.run.record(calibration={"run": str(path)})
            return
        if path.is_file():
            dataset, pairs = ctx.dataset, protocols.read_pairs(ctx.plugins.protocols, ctx.dataset, path)
        else:
            request = (
                ctx.request.with_(pairs=None, n=None, dataset=None, input_dir=path)
                if path.is_dir()
                else ctx.request.with_(pairs=None, n=None, dataset=source, input_dir=None)
            )
            dataset, given = (
                open_source(ctx.settings, request) if path.is_dir() else (named(ctx.settings, source).open(), None)
            )
            pairs = pairs_for(ctx.settings, request, dataset, given)
        dataset, pairs = restrict(dataset, pairs)
        ctx.inputs.insert(0, Input(dataset, pairs, {"subset": "calibration"}))
        ctx.run.record(calibration={"source": source, "pairs": pairs.source, "n_pairs": len(pairs)})

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """Operating points, summary, transfer, efficiency and failure rows for every metric."""
        pairs = ctx.input.pairs
        assert pairs is not None
        subset = str(ctx.input.tags.get("subset", "all"))
        valid = scored_pairs(combo, pairs)
        left, right, same = pairs.left[valid], pairs.right[valid], pairs.same[valid]
        n_boot, seed = int(ctx.request.option("bootstrap", 1000)), ctx.request.seed
        base = {
            "dataset": combo.dataset.name,
            "subset": subset,
            "model": combo.model.name,
            "detector": combo.detector.name,
        }
        rows: Rows = {
            "operating_points": [],
            "operating_summary": [],
            "transfer": [],
            "efficiency": [],
            "failures_by_cause": [{**base, **r} for r in failure_rows(ctx, combo)],
        }
        for metric in ctx.metrics:
            keyed = {**base, "metric": metric.name}
            rows["efficiency"].append({**keyed, **efficiency_row(ctx, combo, metric)})
            if not 0 < same.sum() < len(same):
                rows["operating_summary"].append({**keyed, "status": "too few scored pairs of each class"})
                continue
            s = Scored(
                metric,
                combo.pair_scores(metric, left, right),  # the face-selection rule
                same,
                _subjects(combo, left),
                _subjects(combo, right),
                None if pairs.folds is None else pairs.folds[valid],
                int(pairs.same.sum()),
                int((~pairs.same).sum()),
            )
            points, summary = evaluate_scores(s, self.fmrs, n_boot, seed)
            rows["operating_points"] += [{**keyed, **p} for p in points]
            rows["operating_summary"].append({**keyed, "status": "ok", **summary})
            self.op_scores[(combo.dataset.name, subset, combo.model.name, combo.detector.name, metric.name)] = (
                s.scores,
                s.same,
                metric.higher_is_more_similar,
            )
            key = (combo.model.name, combo.detector.name, metric.name)
            if subset in CALIBRATION:
                self.thresholds[key] = {
                    p["fmr_target"]: {"calibration": f"{combo.dataset.name} ({subset})", **p}
                    for p in points
                    if p["fmr_target"] in self.at
                }
            elif key in self.thresholds:
                rows["transfer"] += [{**keyed, **r} for r in transfer_rows(s, self.thresholds[key], n_boot, seed)]
        return rows

    def finish(self, ctx: Context) -> None:
        """Threshold table, DET and Pareto plots, the report card."""
        calibrated = ctx.request.option("threshold_from") or ctx.request.option("split_by_subject")
        if calibrated and not ctx.run.rows.get("transfer"):
            raise CalibrationError(
                "no thresholds could be transferred: the calibration source has no operating "
                "points for these model x detector x metric combinations"
            )
        points = ctx.run.table("operating_points")
        if points.empty:
            return
        points = ranked_points(points)
        ctx.run.rows["operating_points"] = points.to_dict("records")
        ctx.run.write_table("operating_points", points)
        ctx.run.write_table("thresholds", threshold_table(points))
        ctx.run.plots(self._det_plots(points))
        budget = ctx.request.option("latency_budget_ms")
        efficiency = ctx.run.table("efficiency")
        ctx.run.plots(pareto_plots(points, efficiency, self.at[0], None if budget is None else float(budget)))
        pages = card.files(ctx.run.path, ctx.run.manifest, _tables(ctx))
        ctx.run.record(card=[ctx.run.write_file(name, text).name for name, text in pages.items()])

    def _det_plots(self, points: pd.DataFrame) -> list[Plot]:
        written = []
        groups: dict[tuple[str, str, str], list[Curve]] = {}
        for (dataset, subset, model, detector, metric), (scores, same, hims) in self.op_scores.items():
            mine = points[
                (points.dataset == dataset)
                & (points.subset == subset)
                & (points.model == model)
                & (points.detector == detector)
                & (points.metric == metric)
            ]
            groups.setdefault((dataset, subset, metric), []).append(
                Curve(f"{model} x {detector}", scores, same, hims, mine)
            )
        for (dataset, subset, metric), curves in groups.items():
            n_imp = int((~curves[0].same).sum())
            title = f"DET, {dataset} ({subset}), {metric}: {n_imp} impostor pairs"
            written.append(det_plot(curves, f"det_{slug(dataset, subset, metric)}.png", title))
        return written

    def summary(self, ctx: Context) -> str:
        """FNMR at FMR with 95 % intervals; the transfer table when thresholds were transferred."""
        points = ctx.run.table("operating_points")
        if points.empty:
            return "no operating points (no combination had scored pairs of both classes)"
        insufficient = points.insufficient.astype(bool)
        small = _too_few_impostors(points[insufficient])
        points = points[~insufficient]
        lines = [f"no operating point: {small}"] if points.empty else self._points_lines(points, small)
        transfer = ctx.run.table("transfer")
        if not transfer.empty:
            shown = transfer.assign(
                fmr_target=[f"{v:.0e}" for v in transfer.fmr_target],
                fmr_ci=[_interval_text(r.fmr_lo, r.fmr_hi) for r in transfer.itertuples()],
            )
            lines += [
                "",
                "thresholds transferred from the calibration set:",
                console_table(
                    shown,
                    [
                        "model",
                        "detector",
                        "metric",
                        "fmr_target",
                        "calibration_fmr",
                        "fmr",
                        "fmr_ci",
                        "fnmr",
                        "own_fnmr",
                    ],
                ),
            ]
        return "\n".join(lines)

    @staticmethod
    def _points_lines(points: pd.DataFrame, small: str) -> list[str]:
        """The supported operating points as a table, its notes, and the sentence on the unsupported targets."""
        shown = points.assign(
            ci=[_interval_text(r.fnmr_lo, r.fnmr_hi) for r in points.itertuples()],
            fmr_target=[f"{v:.0e}" for v in points.fmr_target],
        )
        lines = [
            console_table(
                shown,
                [
                    "subset",
                    "model",
                    "detector",
                    "metric",
                    "fmr_target",
                    "fnmr",
                    "ci",
                    "rank",
                    "group",
                    "fmr",
                    "n_impostor",
                ],
            ),
            NOTE,
            f"rank, group: model x detector by FNMR at each target; {ranks.OVERLAP_RULE}",
            *([f"not shown: {small}"] if small else []),
        ]
        return lines


def _too_few_impostors(rows: pd.DataFrame) -> str:
    """One sentence for the targets the impostor pairs cannot support (they stay in the CSV, flagged)."""
    if rows.empty:
        return ""
    fewest = int(rows.n_impostor.min())
    targets = ", ".join(f"{v:.0e}" for v in sorted(set(rows.fmr_target), reverse=True))
    lowest = f"the lowest supported FMR is {10 / fewest:.2g} (10/{fewest})" if fewest else "no FMR is supported"
    return (
        f"FMR {targets}: too few impostor pairs ({fewest}; a target FMR needs at least 10/FMR); {lowest}. "
        f"Use more pairs (--n, a larger dataset) or --at-fmr; the {len(rows)} rows are in operating_points.csv, "
        "flagged insufficient"
    )


def _interval_text(lo: Any, hi: Any) -> str:
    return "" if lo is None or pd.isna(lo) else f"[{lo:.4f}, {hi:.4f}]"


def _tables(ctx: Context) -> dict[str, pd.DataFrame]:
    names = ("operating_points", "operating_summary", "transfer", "efficiency", "failures_by_cause")
    return {name: ctx.run.table(name) for name in names}


def _run_thresholds(path: Path) -> dict[tuple[str, str, str], dict[float, dict[str, Any]]]:
    """Thresholds per (model, detector, metric) and FMR target from a saved run's ``operating_points.csv``."""
    saved, table = read_run_table(
        path,
        "operating_points",
        CalibrationError,
        "has no operating_points.csv; run `bench calibrate` (or `bench operating`) on the calibration set first",
    )
    found: dict[tuple[str, str, str], dict[float, dict[str, Any]]] = {}
    for row in table.to_dict("records"):
        source = f"{row['dataset']} ({row.get('subset', 'all')}, run {saved.name})"
        key = (row["model"], row["detector"], row["metric"])
        found.setdefault(key, {})[float(row["fmr_target"])] = {**row, "calibration": source}
    return found


def ranked_points(points: pd.DataFrame) -> pd.DataFrame:
    """``rank`` and ``group`` of each model x detector by FNMR among those of its dataset x subset x metric x FMR
    target, from the bootstrap intervals (:data:`bench.measure.ranks.OVERLAP_RULE`; none without them: all rank 1)."""
    parts = []
    for _, part in points.groupby(["dataset", "subset", "metric", "fmr_target"], sort=False):
        names = (part.model.astype(str) + " x " + part.detector.astype(str)).tolist()
        apart = ranks.apart_by_intervals(part.fnmr_lo.to_numpy(float), part.fnmr_hi.to_numpy(float))
        ranking = ranks.rank_items(names, part.fnmr.to_numpy(float), apart, lower_is_better=True)
        parts.append(part.assign(rank=ranking.rank, group=ranking.group))
    return pd.concat(parts).sort_index().assign(rank_rule=ranks.OVERLAP_RULE)


def threshold_table(points: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset x subset x model x detector x metric: the threshold (and its interval) for each FMR."""
    frames = []
    for keys, part in points.groupby(list(KEYS), sort=False):
        row = dict(zip(KEYS, keys))
        row["higher_is_more_similar"] = bool(part.higher_is_more_similar.iloc[0])
        for r in part.itertuples():
            name = f"{r.fmr_target:.0e}"
            row.update(
                {
                    f"threshold_at_fmr_{name}": r.threshold,
                    f"threshold_lo_{name}": r.threshold_lo,
                    f"threshold_hi_{name}": r.threshold_hi,
                    f"insufficient_{name}": bool(r.insufficient),
                }
            )
        frames.append(row)
    return pd.DataFrame(frames)


def pareto_plots(points: pd.DataFrame, efficiency: pd.DataFrame, fmr: float, budget: float | None) -> list[Plot]:
    """One Pareto plot per dataset x subset x metric: FNMR at ``fmr`` against ms per face; where no combination
    has the impostors ``fmr`` needs, at the lowest target that one has (else the least demanding), said in the
    title."""
    if efficiency.empty or "ms_per_face" not in efficiency:
        return []
    speed = efficiency[["dataset", "model", "detector", "metric", "ms_per_face"]]
    merged = points.merge(speed, on=["dataset", "model", "detector", "metric"], how="left")
    written = []
    for (dataset, subset, metric), group in merged.groupby(["dataset", "subset", "metric"]):
        if group.ms_per_face.notna().sum() == 0:
            continue
        shown = _plotted_target(group, fmr)
        part = group[np.isclose(group.fmr_target, shown)]
        part = part.assign(label=part.model + " x " + part.detector)
        name = f"pareto_{slug(str(dataset), str(subset), str(metric))}.png"
        moved = "" if np.isclose(shown, fmr) else f" (too few impostors for {fmr:.0e})"
        title = f"FNMR at FMR {shown:.0e}{moved} vs speed, {dataset} ({subset}), {metric}"
        written.append(pareto_plot(part, name, title, budget))
    return written


def _plotted_target(group: pd.DataFrame, fmr: float) -> float:
    """``fmr`` when some combination has enough impostors for it, else the lowest target that one has, else the
    least demanding target evaluated."""
    supported = sorted(set(group.fmr_target[~group.insufficient.astype(bool)]))
    if not len(group[np.isclose(group.fmr_target, fmr)]) or any(np.isclose(supported, fmr)):
        return fmr
    higher = [t for t in supported if t > fmr]
    return float(higher[0]) if higher else float(group.fmr_target.max())


OPTIONS = (
    Option("bootstrap", int, 1000, "Subject-level bootstrap samples for the 95 % intervals (0: none)."),
    Option(
        "at_fmr",
        str,
        "1e-3",
        "FMR target(s) whose thresholds are transferred (comma list); the first is the Pareto plot's.",
    ),
    Option(
        "threshold_from",
        str,
        None,
        "Fix thresholds on another set and report them here: a run folder (of "
        "`bench calibrate`), a pair file on this dataset, a datasets.yaml name, or a calibration folder.",
    ),
    Option(
        "split_by_subject",
        float,
        None,
        "Split the pair list by subject into dev (this fraction of the "
        "identities) and eval; thresholds fixed on dev are reported on eval.",
    ),
    Option("latency_budget_ms", float, None, "Draw this ms-per-face budget on the Pareto plot."),
)

TABLES = (
    Table(
        "operating_points",
        "per FMR target: FNMR at the most permissive threshold with FMR <= target, achieved "
        "FMR, threshold, 95 % subject-bootstrap intervals (_lo/_hi), counts, insufficient (< 10/FMR impostors), "
        "generalised rates gfmr/gfnmr over all listed pairs, rank and group of the model x detector by FNMR at "
        "the target (rank_rule: equal rank or a shared letter where the intervals overlap)",
        (*KEYS, "fmr_target"),
        ("fnmr", "fmr", "threshold"),
    ),
    Table(
        "operating_summary",
        "EER, AUC and k-fold accuracy with 95 % subject-bootstrap intervals (the accuracy "
        "interval holds the fold thresholds fixed)",
        KEYS,
        ("eer", "auc", "acc_kfold_mean"),
    ),
    Table(
        "transfer",
        "thresholds fixed on a calibration set applied here: achieved FMR/FNMR against the target",
        (*KEYS, "fmr_target"),
        ("fmr", "fnmr"),
    ),
    Table(
        "efficiency",
        "template size, us per comparison (vectorised), ms per image / face (kept in the cache), model file size",
        ("dataset", "model", "detector", "metric"),
        ("ms_per_face", "us_per_comparison"),
    ),
    Table(
        "failures_by_cause",
        "failure to acquire per detector (and embedding failures per model) by cause, over the images the pairs use",
        ("dataset", "subset", "model", "detector", "cause"),
        ("n_images", "rate"),
    ),
    Table("thresholds", "the threshold for each FMR target (with its interval) per model x detector x metric", KEYS),
)


@hookimpl
def register_evaluations(register: Callable[[EvaluationSpec], None]) -> None:
    """``bench operating`` and ``bench calibrate``."""
    common: dict[str, Any] = {
        "factory": OperatingPoints,
        "needs": frozenset({"pairs"}),
        "tables": TABLES,
        "options": OPTIONS,
    }
    register(
        EvaluationSpec(
            "operating",
            aliases=("operating_points",),
            command="operating",
            **common,
            help="FNMR at FMR 1e-1..1e-6 with achieved FMR, 95 % subject-bootstrap intervals, DET, threshold table, "
            "failures by cause, efficiency and a report card (card.html, card.md).",
        )
    )
    register(
        EvaluationSpec(
            "calibrate",
            command="calibrate",
            **common,
            help="Fix thresholds at FMR targets on this (calibration) set; pass the run folder to `bench operating "
            "--threshold-from RUN` to see the FMR they give on another set.",
        )
    )
