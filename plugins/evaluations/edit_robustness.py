"""Edit robustness (``bench edits``): what a hair, makeup, pose or rendering edit costs each model x detector.

Per edited set (``--dataset`` and ``--sets``, read by the ``edits`` protocol): TAR at FAR targets with the
threshold fixed on a clean baseline (``--baseline``, default lfw-devtest, through the same model and detector) and,
separately, fixed on the set itself; the genuine (original x edited) score distribution against the baseline's;
failure to detect and TAR per edit; the identity x identity similarity matrix. Every TAR carries a 95 % bootstrap
interval over persons (identities; the manifest's merges count as one), and models whose intervals overlap share a
group letter: they cannot be told apart on this set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.compute.sweep import Combination
from bench.data.datasets import Dataset, Pairs, restrict
from bench.errors import BenchError
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.hookspecs import hookimpl
from bench.measure import operating, ranks
from bench.measure.accuracy import scored_pairs
from bench.metrics import Metric
from bench.report import heatmaps as similarity_report
from bench.report.plots import slug
from bench.run.context import Context, Input
from bench.run.runner import console_table
from bench.run.runs import TableInfo, read_run_table
from bench.run.sources import named, open_source, pairs_for
from facebench_plugins.evaluations.edit_plots import distance_plot, tar_heatmap
from facebench_plugins.evaluations.similarity import totals_of
from facebench_plugins.protocols.edit_sets import edit_pairs, open_edits, pair_edits

BASELINE, EDITED = "baseline", "edited"
NOTE = (
    "tar_lfw: TAR at the threshold fixed on the baseline at far_target (far_lfw: the FAR it gives on this set's "
    "impostors); tar_own: at the set's own threshold; [lo, hi]: 95 % bootstrap over persons; group: models sharing "
    "a letter cannot be told apart (intervals overlap)"
)


class EditsError(BenchError):
    """An edits run that cannot give its figures as asked (no baseline thresholds, a --variants run without rows)."""


def _fars(text: str) -> tuple[float, ...]:
    try:
        values = tuple(sorted({float(x) for x in str(text).split(",") if x.strip()}))
    except ValueError as err:
        raise EditsError(f"--at-far takes numbers like 1e-2,1e-1, got {text!r}") from err
    if not values or not all(0 < v < 1 for v in values):
        raise EditsError(f"--at-far values must be in (0, 1), got {text!r}")
    return values


@dataclass(frozen=True)
class Scored:
    """One metric's scores on one combination's scorable pairs."""

    scores: np.ndarray
    same: np.ndarray
    left: np.ndarray  # person of each pair's two images
    right: np.ndarray
    edits: np.ndarray  # the edit each pair measures ("" on the baseline)
    hims: bool


def score(combo: Combination, pairs: Pairs, metric: Metric, edits: np.ndarray | None) -> Scored:
    """Scores of the pairs whose two images have an embedding, with each side's person."""
    valid = scored_pairs(combo, pairs)
    images = combo.dataset.images
    left, right = pairs.left[valid], pairs.right[valid]

    def person(index: np.ndarray) -> np.ndarray:
        return np.array([images[i].attrs.get("subject", images[i].identity) for i in index])

    return Scored(
        combo.pair_scores(metric, left, right),
        pairs.same[valid],
        person(left),
        person(right),
        np.full(len(left), "") if edits is None else edits[valid],
        metric.higher_is_more_similar,
    )


def genuine_tar(s: Scored, threshold: float, weights: np.ndarray | None, mask: np.ndarray | None = None) -> dict:
    """TAR of the genuine pairs (those of ``mask``) at ``threshold``, with its bootstrap interval."""
    pick = s.same if mask is None else s.same & mask
    accept = operating.accepted(s.scores[pick], threshold, s.hims).astype(float)
    if not len(accept):
        return {"tar": None, "tar_lo": None, "tar_hi": None, "n_genuine": 0}
    row: dict[str, Any] = {"tar": float(accept.mean()), "tar_lo": None, "tar_hi": None, "n_genuine": len(accept)}
    if weights is not None:
        w = weights[:, pick]
        with np.errstate(invalid="ignore", divide="ignore"):
            lo, hi = operating.interval((w @ accept) / w.sum(axis=1))
        row |= {"tar_lo": float(lo), "tar_hi": float(hi)}
    return row


def set_rows(s: Scored, thresholds: dict[float, float], n_boot: int, seed: int) -> list[dict]:
    """Per FAR target: TAR at the baseline's threshold and at the set's own, with intervals over persons."""
    fars = tuple(sorted(thresholds))
    own = operating.operating_points(s.scores, s.same, s.hims, fars)
    ci = (
        operating.bootstrap_intervals(s.scores, s.same, s.hims, s.left, s.right, n_boot, seed, fars) if n_boot else None
    )
    weights = operating.subject_weights(s.left, s.right, n_boot, seed) if n_boot else None
    rows = []
    for k, far in enumerate(fars):
        fixed = genuine_tar(s, thresholds[far], weights)
        far_fixed, _ = operating.rates_at(s.scores, s.same, thresholds[far], s.hims)
        rows.append(
            {
                "far_target": far,
                "threshold_lfw": thresholds[far],
                "tar_lfw": fixed["tar"],
                "tar_lfw_lo": fixed["tar_lo"],
                "tar_lfw_hi": fixed["tar_hi"],
                "far_lfw": far_fixed,
                "threshold_own": own[k].threshold,
                "tar_own": own[k].tar,
                "tar_own_lo": None if ci is None else 1 - float(ci.fnmr[k][1]),
                "tar_own_hi": None if ci is None else 1 - float(ci.fnmr[k][0]),
                "far_own": own[k].fmr,
                "own_insufficient": own[k].insufficient,
                "n_genuine": own[k].n_genuine,
                "n_impostor": own[k].n_impostor,
                "n_persons": operating.subject_index(s.left, s.right)[2],
            }
        )
    return rows


def edit_rows(s: Scored, thresholds: dict[float, float], n_boot: int, seed: int) -> list[dict]:
    """Per edit: genuine pairs, their mean score and TAR at each baseline threshold (with intervals)."""
    weights = operating.subject_weights(s.left, s.right, n_boot, seed) if n_boot else None
    rows = []
    for edit in sorted(set(s.edits[s.same])):
        mask = s.edits == edit
        genuine = s.same & mask
        row: dict[str, Any] = {
            "edit": edit,
            "n_persons": operating.subject_index(s.left[genuine], s.right[genuine])[2],  # 1: a zero-width interval
            "genuine_mean_score": float(s.scores[genuine].mean()),
        }
        for far, threshold in sorted(thresholds.items()):
            tar = genuine_tar(s, threshold, weights, mask)
            row |= {
                "n_genuine": tar["n_genuine"],
                **{f"tar_at_far_{far:.0e}{end}": tar[f"tar{end}"] for end in ("", "_lo", "_hi")},
            }
        rows.append(row)
    return rows


def ftd_rows(ctx: Context, combo: Combination) -> list[dict]:
    """Failure to detect per edit (the reference images as ``original``) over the set's images."""
    failed = {
        f["image"]
        for f in ctx.sweep.failures
        if f["dataset"] == combo.dataset.name and f["detector"] == combo.detector.name and f["model"] == ""
    }
    counts: dict[str, list[int]] = {}
    for img in combo.dataset.images:
        counts.setdefault(img.attrs["edit"], [0, 0])
        counts[img.attrs["edit"]][0] += 1
        counts[img.attrs["edit"]][1] += img.rel in failed
    return [{"edit": e, "n_images": n, "n_no_face": k, "ftd": k / n} for e, (n, k) in sorted(counts.items())]


def ranked(table: pd.DataFrame) -> pd.DataFrame:
    """``rank`` and ``group`` of each model x detector by tar_lfw within its set x metric x FAR target."""
    parts = []
    for _, part in table.groupby(["set", "metric", "far_target"], sort=False):
        names = (part.model.astype(str) + " x " + part.detector.astype(str)).tolist()
        apart = ranks.apart_by_intervals(part.tar_lfw_lo.to_numpy(float), part.tar_lfw_hi.to_numpy(float))
        ranking = ranks.rank_items(names, part.tar_lfw.to_numpy(float), apart, lower_is_better=False)
        parts.append(part.assign(rank=ranking.rank, group=ranking.group))
    return pd.concat(parts).sort_index().assign(rank_rule=ranks.OVERLAP_RULE)


def _cell(tar: Any, lo: Any, hi: Any, group: Any = "") -> str:
    if tar is None or pd.isna(tar):
        return ""
    interval = "" if lo is None or pd.isna(lo) else f" [{lo:.2f}, {hi:.2f}]"
    return f"{tar:.3f}{interval}" + (f" {group}" if isinstance(group, str) and group else "")


def overview(table: pd.DataFrame, variants: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per model x detector x metric x FAR target, a column per set (TAR at the baseline threshold, its
    interval and group letter) and, given a variants run, a column per LFW variant (its k-fold accuracy drop)."""
    keys = ["model", "detector", "metric", "far_target"]
    cells = table.assign(cell=[_cell(r.tar_lfw, r.tar_lfw_lo, r.tar_lfw_hi, r.group) for r in table.itertuples()])
    wide = cells.pivot_table(index=keys, columns="set", values="cell", aggfunc="first", sort=False)
    wide = wide[list(dict.fromkeys(table.set))].rename(columns=lambda s: f"{s} TAR")
    if variants is not None and not variants.empty:
        drops = variants[variants.variant != "clean"].assign(
            cell=lambda f: [f"{v:+.3f}" for v in f.acc_kfold_mean_drop]
        )
        side = drops.pivot_table(index=keys[:3], columns="variant", values="cell", aggfunc="first", sort=False)
        wide = wide.join(side.rename(columns=lambda v: f"LFW {v} acc drop"), on=keys[:3])
    return wide.reset_index()


def variant_rows(path: Path) -> pd.DataFrame:
    """A ``bench variants --evaluate`` run's accuracy per variant, as rows beside the edited sets."""
    saved, table = read_run_table(
        path, "robustness", EditsError, "has no robustness.csv rows; pass a `bench variants --evaluate` run folder"
    )
    keep = ["variant", "model", "detector", "metric", "acc_kfold_mean", "acc_kfold_mean_drop"]
    return table[[c for c in keep if c in table.columns]].assign(run=saved.name)


class EditRobustness:
    """The baseline first (its thresholds and genuine scores), then every edited set."""

    def __init__(self) -> None:
        self.thresholds: dict[tuple[str, str, str], dict[float, float]] = {}  # model, detector, metric
        self.genuine: dict[tuple[str, str, str, str], np.ndarray] = {}  # set, model, detector, metric
        self.fars: tuple[float, ...] = ()

    def prepare(self, ctx: Context) -> None:
        """The baseline's pairs, then each set's edit pairs (seeded; edited x edited with the flag)."""
        request = ctx.request
        self.fars = _fars(request.option("at_far", "1e-2,1e-1"))
        name = str(request.option("baseline", "lfw-devtest"))
        entry = named(ctx.settings, name)
        entry.check_present()
        base = entry.open()
        base_req = request.with_(dataset=name, input_dir=None, pairs=None, n=None)
        dataset, pairs = restrict(base, pairs_for(ctx.settings, base_req, base))
        ctx.inputs.append(Input(dataset, pairs, {"set": name, "part": BASELINE}))
        for dataset in self._sets(ctx):
            pairs = edit_pairs(dataset, request.seed, bool(request.option("edited_vs_edited", False)))
            ctx.inputs.append(Input(dataset, pairs, {"set": dataset.name, "part": EDITED}))
        ctx.run.record(
            edits={
                "baseline": {"dataset": name, "pairs": pairs.source, "n_pairs": len(ctx.inputs[0].pairs or [])},
                "sets": {
                    i.dataset.name: {"pairs": i.pairs.source, "n_pairs": len(i.pairs), "notes": list(i.dataset.notes)}
                    for i in ctx.inputs[1:]
                    if i.pairs is not None
                },
            }
        )

    def _sets(self, ctx: Context) -> list[Dataset]:
        """The --dataset / --i set and the --sets, read with roles (a same-person list added to every set)."""
        extra = Path(ctx.request.option("same_person")) if ctx.request.option("same_person") else None
        found = [open_edits(ctx.dataset.root, extra)]
        for name in (n.strip() for n in str(ctx.request.option("sets") or "").split(",") if n.strip()):
            given = Path(name)
            request = ctx.request.with_(
                dataset=None if given.is_dir() else name, input_dir=given if given.is_dir() else None
            )
            found.append(open_edits(open_source(ctx.settings, request)[0].root, extra))
        return found

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """Baseline: thresholds and genuine scores. Edited set: TAR rows, per-edit rows, distances, similarity."""
        pairs = ctx.input.pairs
        assert pairs is not None
        edited = ctx.input.tags["part"] == EDITED
        edits = pair_edits(combo.dataset, pairs) if edited else None
        n_boot, seed = int(ctx.request.option("bootstrap", 1000)), ctx.request.seed
        base = {"model": combo.model.name, "detector": combo.detector.name}
        rows: Rows = {"edits": [], "edits_by_edit": [], "edits_distances": [], "edits_baseline": []}
        if edited:
            rows["edits_ftd"] = [{**base, **r} for r in ftd_rows(ctx, combo)]
        for metric in ctx.metrics:
            keyed = {**base, "metric": metric.name}
            key = (combo.model.name, combo.detector.name, metric.name)
            s = score(combo, pairs, metric, edits)
            self.genuine[(str(ctx.input.tags["set"]), *key)] = s.scores[s.same]
            if not 0 < s.same.sum() < len(s.same):
                rows["edits"].append({**keyed, "status": "too few scored pairs of each class"})
                continue
            if not edited:
                points = operating.operating_points(s.scores, s.same, s.hims, self.fars)
                self.thresholds[key] = {p.fmr_target: p.threshold for p in points}
                rows["edits_baseline"] += [
                    {
                        **keyed,
                        "far_target": p.fmr_target,
                        "threshold": p.threshold,
                        "tar": p.tar,
                        "far": p.fmr,
                        "n_genuine": p.n_genuine,
                        "n_impostor": p.n_impostor,
                        "insufficient": p.insufficient,
                    }
                    for p in points
                ]
                continue
            if key not in self.thresholds:
                rows["edits"].append({**keyed, "status": "no baseline threshold (the baseline did not score)"})
                continue
            thresholds = self.thresholds[key]
            rows["edits"] += [{**keyed, "status": "ok", **r} for r in set_rows(s, thresholds, n_boot, seed)]
            rows["edits_by_edit"] += [{**keyed, **r} for r in edit_rows(s, thresholds, n_boot, seed)]
            rows["edits_distances"].append({**keyed, **self._distances(ctx, key, s)})
            self._similarity(ctx, combo, metric)
        return rows

    def _distances(self, ctx: Context, key: tuple[str, str, str], s: Scored) -> dict[str, Any]:
        genuine, clean = s.scores[s.same], self.genuine.get((str(ctx.inputs[0].tags["set"]), *key), np.array([]))
        return {
            "genuine_mean": float(genuine.mean()),
            "genuine_median": float(np.median(genuine)),
            "impostor_mean": float(s.scores[~s.same].mean()),
            "baseline_genuine_mean": float(clean.mean()) if len(clean) else None,
            "baseline_genuine_median": float(np.median(clean)) if len(clean) else None,
            "genuine_shift": float(genuine.mean() - clean.mean()) if len(clean) else None,
        }

    def _similarity(self, ctx: Context, combo: Combination, metric: Metric) -> None:
        """The set's identity x identity matrix files and heatmap (``bench similarity``'s)."""
        totals = totals_of(combo, metric)
        name = slug(combo.dataset.name, combo.model.name, combo.detector.name, metric.name)
        title = f"{combo.model.name} / {combo.detector.name} on {combo.dataset.name}: mean {metric.name}"
        written, heatmap = similarity_report.files(totals, metric, name, title, similarity_report.HeatmapChoice())
        for file, data in written.items():
            ctx.run.write_file(file, data)
        ctx.run.plot(heatmap)

    def finish(self, ctx: Context) -> None:
        """Ranks and groups, the heatmap, the distance plots, the table beside the LFW variants."""
        table = ctx.run.table("edits")
        if table.empty or "tar_lfw" not in table or table.tar_lfw.isna().all():
            raise EditsError("no edited set was scored against a baseline threshold; see edits.csv's status column")
        table = ranked(table[table.status == "ok"])
        ctx.run.rows["edits"] = table.to_dict("records")
        ctx.run.write_table("edits", table)
        for metric, part in table.groupby("metric"):
            ctx.run.plot(tar_heatmap(part, f"edits_heatmap_{slug(str(metric))}.png", str(metric), self._baseline(ctx)))
        self._distance_plots(ctx)
        source = ctx.request.option("variants")
        variants = variant_rows(Path(source)) if source else None
        written = {"edits_overview": overview(table, variants)} | (
            {"edits_variants": variants} if variants is not None else {}
        )
        for spec in WRITTEN_LAST:
            if spec.name in written:
                ctx.run.declare(spec.name, TableInfo(spec.description, spec.keys, spec.figures))
                ctx.run.write_table(spec.name, written[spec.name])
        heatmaps = [f"edits_heatmap_{slug(str(m))}.png" for m in table.metric.unique()]
        ctx.run.record(headline={"title": "edit robustness", "tables": ["edits_overview"], "plots": heatmaps})

    def _baseline(self, ctx: Context) -> str:
        return str(ctx.inputs[0].tags["set"])

    def _distance_plots(self, ctx: Context) -> None:
        base = self._baseline(ctx)
        labels = {m.name: m.label for m in ctx.metrics}
        for set_name in dict.fromkeys(str(i.tags["set"]) for i in ctx.inputs[1:]):
            for metric in labels:
                series = {
                    (model, detector): (scores, self.genuine.get((base, model, detector, m), np.array([])))
                    for (s, model, detector, m), scores in self.genuine.items()
                    if s == set_name and m == metric
                }
                if series:
                    name = f"edits_genuine_{slug(set_name, metric)}.png"
                    ctx.run.plot(distance_plot(series, name, set_name, base, labels[metric]))

    def summary(self, ctx: Context) -> str:
        """TAR at the baseline threshold and at the set's own, per set, with intervals and groups."""
        table = ctx.run.table("edits")
        shown = table.assign(
            far=[f"{v:.0e}" for v in table.far_target],
            lfw_ci=[_ci(r.tar_lfw_lo, r.tar_lfw_hi) for r in table.itertuples()],
            own_ci=[_ci(r.tar_own_lo, r.tar_own_hi) for r in table.itertuples()],
        )
        columns = [
            "set",
            "model",
            "detector",
            "metric",
            "far",
            "tar_lfw",
            "lfw_ci",
            "group",
            "far_lfw",
            "tar_own",
            "own_ci",
        ]
        return "\n".join([console_table(shown, columns), NOTE])


def _ci(lo: Any, hi: Any) -> str:
    return "" if lo is None or pd.isna(lo) else f"[{lo:.3f}, {hi:.3f}]"


KEYS = ("set", "model", "detector", "metric")

TABLES = (
    Table(
        "edits",
        "per set and FAR target: TAR at the threshold fixed on the baseline (tar_lfw, far_lfw: the FAR it gives "
        "here) and at the set's own threshold (tar_own), 95 % bootstrap over persons (_lo/_hi), rank and group "
        "(models sharing a letter cannot be told apart)",
        (*KEYS, "far_target"),
        ("tar_lfw", "tar_lfw_lo", "tar_lfw_hi", "group", "tar_own"),
    ),
    Table(
        "edits_by_edit",
        "per edit (the manifest's role): genuine pairs, their mean score, TAR at each baseline threshold with its "
        "95 % bootstrap interval over persons",
        (*KEYS, "edit"),
        ("n_genuine", "genuine_mean_score"),
    ),
    Table(
        "edits_ftd", "failure to detect per edit (original: the reference images)", ("set", "model", "detector", "edit")
    ),
    Table(
        "edits_distances",
        "genuine (original x edited) and impostor mean scores against the baseline's genuine scores",
        KEYS,
        ("genuine_mean", "baseline_genuine_mean", "genuine_shift"),
    ),
    Table("edits_baseline", "the baseline's thresholds at each FAR target", (*KEYS, "far_target")),
)

WRITTEN_LAST = (
    Table(
        "edits_overview",
        "TAR at the baseline threshold per set [95 % interval] and group letter (a shared letter: cannot be told "
        "apart), beside the LFW variants' k-fold accuracy drop from clean (with --variants)",
        ("model", "detector", "metric", "far_target"),
    ),
    Table(
        "edits_variants",
        "the LFW variants of a `bench variants --evaluate` run (--variants), beside the sets",
        ("variant", "model", "detector", "metric"),
    ),
)
"""Tables written by ``finish`` (declared there, so a run without them does not list them as empty)."""

OPTIONS = (
    Option("sets", str, None, "More edited sets in the same run (comma list of datasets.yaml names or folders)."),
    Option("baseline", str, "lfw-devtest", "Clean dataset whose thresholds are fixed at each FAR target."),
    Option("at_far", str, "1e-2,1e-1", "FAR targets (comma list)."),
    Option("bootstrap", int, 1000, "Bootstrap samples over persons for the 95 % intervals (0: none)."),
    Option("edited_vs_edited", bool, False, "Genuine pairs also between two edited images of an identity."),
    Option("same_person", str, None, "A same-person list (one group of identities a line) added to each set's."),
    Option("variants", str, None, "A `bench variants --evaluate` run folder shown beside the sets."),
)


@hookimpl
def register_evaluations(register: Callable[[EvaluationSpec], None]) -> None:
    """``bench edits``."""
    register(
        EvaluationSpec(
            "edits",
            EditRobustness,
            command="edits",
            needs=frozenset({"roles"}),
            default_metric="cosine",
            help="Edit robustness on real edited faces (hairstyle, makeup, rotation, synthetic): TAR at FAR with the "
            "threshold fixed on a clean baseline and on the set, bootstrap intervals over persons, per-edit TAR "
            "and failure to detect, genuine-score distributions, similarity matrices, a heatmap.",
            tables=TABLES,
            options=OPTIONS,
        )
    )
