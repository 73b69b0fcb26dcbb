"""The LFW leaderboard: every real recognizer (and its ``+flip``) x every real detector on pairsDevTest, then LFW
View 2 for each recognizer with its best detector and with ``retinaface-mnet``.

"Real": registered by facebench's plugins and runnable here (modules installed, weight files found); detectors that
do not detect (``skip``, dataset-given faces) are left out. A plugin merged later joins the grid by itself.

Each cell is one ``bench operating`` run (with ``bench accuracy`` on the same sweep) through the Python API, in its
own run folder under ``--runs``: a finished cell (status ``complete``) is read back, not rerun, and detections and
embeddings live in facebench's cache, so a killed run restarted continues where it stopped. Writes
``leaderboard-lfw.md``, ``.csv`` and ``.png`` (accuracy against ms per face, Pareto front drawn) into ``--out``.

    python benchmarks/leaderboard.py                 # the full grid (hours on a CPU)
    python benchmarks/leaderboard.py --grid small    # SFace x opencv, retinaface-mnet: a check of the machinery
    python benchmarks/leaderboard.py --models Dlib,Dlib+flip@retinaface-mnet --no-flip-view2   # a variant on one
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import facebench
from bench.interface.api import make_settings
from bench.measure import ranks
from bench.plugins import Plugins
from bench.run.config import Settings
from bench.run.runs import read_run

HERE = Path(__file__).resolve().parent
SMALL = (("SFace",), ("opencv", "retinaface-mnet"))
"""``--grid small``: recognizers, detectors."""
REFERENCE_DETECTOR = "retinaface-mnet"
FMR = 1e-3
NOT_DETECTORS = ("none", "given")
"""Detector families that find no face themselves (whole image, dataset-given boxes)."""
DEEPFACE_LFW = {
    "Facenet512": (98.4, 99.6),
    "Facenet": (97.4, 99.2),
    "Dlib": (96.8, 99.3),
    "VGG-Face": (96.7, 98.9),
    "ArcFace": (96.7, 99.5),
    "GhostFaceNet": (93.3, 99.7),
    "SFace": (93.0, 99.5),
    "OpenFace": (78.7, 92.9),
    "DeepFace": (69.0, 97.3),
    "DeepID": (66.5, 97.4),
}
"""DeepFace's README table "Measured Score / Declared Score" (LFW accuracy %, serengil/deepface README, section on
face recognition models; as quoted e.g. in ZhangXinNan/LearnPractice Face/dataset/deepface/README.md)."""
DEEPFACE_SOURCE = "DeepFace README (serengil/deepface), table 'Measured Score / Declared Score' on LFW"


@dataclass(frozen=True)
class Cell:
    """One combination on one dataset."""

    stage: str  # "devtest" or "view2"
    dataset: str  # a datasets.yaml name, or a folder
    model: str
    detector: str

    @property
    def run_id(self) -> str:
        """Its run folder's name."""
        return f"{self.stage}-{self.model}-{self.detector}".replace("/", "_")


def _command_name(plugins: Plugins, command: str) -> str:
    """The evaluation registered for a CLI command (its name may differ from the command's)."""
    return next(spec.name for spec in plugins.evaluations if spec.command == command)


def real_grid(settings: Settings, flip: bool = True) -> tuple[list[str], list[str]]:
    """(recognizers, detectors) that can run here, in registration order; recognizers also as ``NAME+flip``."""
    plugins = settings.plugins()
    models = [m.name for m in plugins.recognizers if m.unavailable_reason(settings.weights_dir) is None]
    detectors = [
        d.name
        for d in plugins.detectors
        if d.settings.get("family") not in NOT_DETECTORS and d.unavailable_reason(settings.weights_dir) is None
    ]
    return [*models, *([f"{m}+flip" for m in models] if flip else [])], detectors


def run_cell(cell: Cell, runs: Path, settings: Settings, pairs: str | None) -> Path:
    """The cell's run folder: read back when complete, else (re)run into it (the cache keeps what was computed)."""
    folder = runs / cell.run_id
    manifest = folder / "manifest.json"
    if manifest.is_file() and read_run(folder).manifest.get("status") == "complete":
        return folder
    plugins = settings.plugins()
    where: dict[str, Any] = {"dataset": cell.dataset} if not Path(cell.dataset).is_dir() else {"data": cell.dataset}
    facebench.evaluate(
        _command_name(plugins, "operating"),
        **where,
        **({"pairs": pairs} if pairs else {}),
        model=cell.model,
        backend=cell.detector,
        metric="cosine",
        extra_evaluations=[_command_name(plugins, "accuracy")],
        output=runs,
        run_id=cell.run_id,
        overwrite=True,
        weights_dir=settings.weights_dir,
        cache_dir=settings.cache_dir,
        quiet=True,
    )
    return folder


def _only(table: pd.DataFrame, what: str, folder: Path) -> pd.Series:
    if len(table) != 1:
        raise SystemExit(f"{folder}: expected one {what} row, found {len(table)}")
    return table.iloc[0]


def cell_row(cell: Cell, folder: Path) -> dict[str, Any]:
    """The leaderboard figures of one finished cell."""
    tables = read_run(folder).tables
    summary = _only(tables["operating_summary"], "operating_summary", folder)
    accuracy = _only(tables["accuracy"], "accuracy", folder)
    efficiency = _only(tables["efficiency"], "efficiency", folder)
    points = tables["operating_points"]
    point = _only(points[np.isclose(points.fmr_target, FMR)], f"FMR {FMR:g}", folder)
    published = DEEPFACE_LFW.get(cell.model.removesuffix("+flip"), (np.nan, np.nan))
    return {
        "stage": cell.stage,
        "dataset": str(accuracy.dataset),
        "model": cell.model,
        "detector": cell.detector,
        "n_pairs_scored": int(accuracy.n_pairs_scored),
        "acc": float(summary.acc_kfold_mean),
        "acc_std": float(summary.acc_kfold_std),
        "acc_lo": float(summary.acc_kfold_lo),
        "acc_hi": float(summary.acc_kfold_hi),
        "tar_at_far_1e-3": 1 - float(point.fnmr),
        "tar_lo": 1 - float(point.fnmr_hi),
        "tar_hi": 1 - float(point.fnmr_lo),
        "tar_insufficient": bool(point.insufficient),
        "ftd_pct": 100 * float(accuracy.failure_to_detect_rate),
        "detect_ms_per_image": efficiency.detect_ms_per_image,
        "embed_ms_per_face": efficiency.embed_ms_per_face,
        "ms_per_face": efficiency.ms_per_face,
        "deepface_measured": published[0],
        "deepface_declared": published[1],
        "run": folder.name,
    }


def pareto(cost: Sequence[float], value: Sequence[float]) -> np.ndarray:
    """Mask of the points no other point beats: none at most as costly and at least as good, better in one."""
    c, v = np.asarray(cost, float), np.asarray(value, float)
    ok = ~(np.isnan(c) | np.isnan(v))
    le_cost, ge_value = c[None, :] <= c[:, None], v[None, :] >= v[:, None]
    strictly = (c[None, :] < c[:, None]) | (v[None, :] > v[:, None])
    beaten = (le_cost & ge_value & strictly & ok[None, :]).any(axis=1)
    return ok & ~beaten


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """Per stage: rank and group letter by accuracy from the 95 % bootstrap intervals (shared letter: cannot be
    told apart) and the Pareto flag (accuracy against ms per face)."""
    parts = []
    for _, part in frame.groupby("stage", sort=False):
        names = (part.model + " x " + part.detector).tolist()
        apart = ranks.apart_by_intervals(part.acc_lo.to_numpy(float), part.acc_hi.to_numpy(float))
        ranking = ranks.rank_items(names, part.acc.to_numpy(float), apart, lower_is_better=False)
        flags = pareto(part.ms_per_face.to_numpy(float), part.acc.to_numpy(float))
        parts.append(part.assign(rank=ranking.rank, group=ranking.group, pareto=flags).iloc[ranking.order])
    return pd.concat(parts, ignore_index=True)


def grid_cells(dataset: str, models: Sequence[str], detectors: Sequence[str]) -> list[Cell]:
    """Every model x detector; a model written ``NAME@A/B`` runs on detectors A and B only."""
    cells = []
    for entry in models:
        model, _, only = entry.partition("@")
        cells += [Cell("devtest", dataset, model, d) for d in (only.split("/") if only else detectors)]
    return cells


def view2_cells(devtest: pd.DataFrame, view2: str, flip: bool = True) -> list[Cell]:
    """Per recognizer: its best detector on pairsDevTest (highest accuracy, then fastest) and retinaface-mnet;
    ``flip`` False leaves the ``+flip`` recognizers out."""
    cells = []
    for model, part in devtest.groupby("model", sort=False):
        if not flip and str(model).endswith("+flip"):
            continue
        best = part.sort_values(["acc", "ms_per_face"], ascending=[False, True]).detector.iloc[0]
        for detector in dict.fromkeys([best, REFERENCE_DETECTOR]):
            if detector in set(part.detector):
                cells.append(Cell("view2", view2, str(model), str(detector)))
    return cells


def _pct(value: float, digits: int = 2) -> str:
    return "-" if pd.isna(value) else f"{100 * value:.{digits}f}"


def _ms(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):.1f}"


def markdown(board: pd.DataFrame, command: str) -> str:
    """The leaderboard as Markdown: one table per stage, best first."""
    lines = [
        "# LFW leaderboard",
        "",
        f"Written by `{command}`; every cell is a facebench run folder (`run` column of the CSV, under the "
        "runs folder). Cosine similarity, 10-fold accuracy (threshold chosen on 9 folds) ± the standard deviation "
        "over folds; "
        "[95 % subject-bootstrap interval]. **rank / group**: a shared group letter means the combinations cannot "
        "be told apart (their accuracy intervals overlap); **P**: on the Pareto front of accuracy against ms per "
        "face. TAR@FAR 1e-3 with its bootstrap interval (* fewer than 10 / FAR impostor pairs: the rate rests "
        "on too few comparisons). FTD: failure to detect, % of the images the pairs use. ms: detection per image + "
        "embedding per face = ms per face, as timed when first computed (facebench's cache keeps the timing). "
        f"DeepFace: {DEEPFACE_SOURCE}, measured / declared %, where it publishes the model.",
    ]
    headers = (
        "| rank | group | P | model | detector | accuracy % | [95 % CI] | TAR@FAR 1e-3 % | [95 % CI] | FTD % "
        "| det ms/img | emb ms/face | ms/face | DeepFace % |"
    )
    for stage, part in board.groupby("stage", sort=False):
        title = "pairsDevTest" if stage == "devtest" else "View 2"
        pairs = f"{part.n_pairs_scored.max():,} pairs scored at most"
        lines += ["", f"## {title}: {part.dataset.iloc[0]} ({pairs})", "", headers, "|" + "---|" * 14]
        for _, r in part.iterrows():
            deepface = "-" if pd.isna(r.deepface_measured) else f"{r.deepface_measured:.1f} / {r.deepface_declared:.1f}"
            lines.append(
                f"| {r['rank']} | {r.group} | {'P' if r.pareto else ''} | {r.model} | {r.detector} "
                f"| {_pct(r.acc)} ± {_pct(r.acc_std)} | [{_pct(r.acc_lo)}, {_pct(r.acc_hi)}] "
                f"| {_pct(r['tar_at_far_1e-3'])}{'*' if r.tar_insufficient else ''} "
                f"| [{_pct(r.tar_lo)}, {_pct(r.tar_hi)}] | {r.ftd_pct:.2f} | {_ms(r.detect_ms_per_image)} "
                f"| {_ms(r.embed_ms_per_face)} | {_ms(r.ms_per_face)} | {deepface} |"
            )
    lines += ["", "![accuracy against ms per face](leaderboard-lfw.png)", ""]
    return "\n".join(lines)


def _colour_order(models: list[str]) -> list[str]:
    """Each recognizer followed by its ``+flip``: with 11+ recognizers (tab20's paired shades) a model and its
    flip share a hue, dark and light."""
    bases = list(dict.fromkeys(m.removesuffix("+flip") for m in models))
    return sorted(models, key=lambda m: (bases.index(m.removesuffix("+flip")), m.endswith("+flip")))


def plot(board: pd.DataFrame, path: Path) -> None:
    """Accuracy against ms per face, one point per combination and stage: colour = recognizer, marker = detector,
    each stage's Pareto front drawn and its points labelled; legends beside the axes, plain tick numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import LogLocator, ScalarFormatter

    stages = list(dict.fromkeys(board.stage))
    fig, axes = plt.subplots(1, len(stages), figsize=(7 * len(stages) + 2.6, 6.4), squeeze=False, layout="constrained")
    models, detectors = _colour_order(list(dict.fromkeys(board.model))), list(dict.fromkeys(board.detector))
    colours = {m: plt.get_cmap("tab10" if len(models) <= 10 else "tab20")(k) for k, m in enumerate(models)}
    markers = {d: "osD^vP*Xh<>pd"[k % 13] for k, d in enumerate(detectors)}
    for ax, stage in zip(axes[0], stages):
        part = board[board.stage == stage]
        for _, r in part.iterrows():
            ax.scatter(r.ms_per_face, 100 * r.acc, marker=markers[r.detector], color=colours[r.model], s=44)
        front = part[part.pareto].sort_values("ms_per_face")
        ax.step(front.ms_per_face, 100 * front.acc, where="post", color="black", lw=1.1)
        for k, (_, r) in enumerate(front.iterrows()):  # alternately below and above: neighbours sit close
            label, offset = f"{r.model} x {r.detector}", (5, -10) if k % 2 == 0 else (5, 5)
            ax.annotate(label, (r.ms_per_face, 100 * r.acc), fontsize=7, xytext=offset, textcoords="offset points")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.grid(alpha=0.3, which="both")
        ax.set(
            xlabel="ms per face (detection per image + embedding per face; log scale)",
            ylabel="10-fold accuracy %",
            title=f"{part.dataset.iloc[0]} ({'pairsDevTest' if stage == 'devtest' else 'View 2'})",
        )
    recognizer = [Line2D([], [], ls="", marker="o", color=colours[m], label=m) for m in models]
    detector = [Line2D([], [], ls="", marker=markers[d], color="grey", label=d) for d in detectors]
    front_line = [Line2D([], [], color="black", lw=1.1, label="Pareto front (labelled)")]
    first = fig.legend(handles=recognizer, title="recognizer (colour)", loc="outside right upper", fontsize=8)
    first.get_title().set_fontsize(8)
    second = fig.legend(handles=detector + front_line, title="detector (marker)", loc="outside right lower", fontsize=8)
    second.get_title().set_fontsize(8)
    fig.suptitle("LFW: accuracy against cost per face (cosine)", fontsize=11)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def sweep(cells: list[Cell], runs: Path, settings: Settings, pairs: str | None) -> pd.DataFrame:
    """Each cell's row, running what is not finished; a cell that fails is reported and left out."""
    rows = []
    for k, cell in enumerate(cells, start=1):
        print(f"[{k}/{len(cells)}] {cell.stage}: {cell.model} x {cell.detector}", file=sys.stderr, flush=True)
        try:
            rows.append(cell_row(cell, run_cell(cell, runs, settings, pairs)))
        except facebench.BenchError as err:
            print(f"  skipped: {err}", file=sys.stderr)
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, sweep the grid, write the three files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=["full", "small"], default="full")
    parser.add_argument("--devtest", default="lfw-devtest", help="dataset (datasets.yaml name or folder)")
    parser.add_argument("--pairs", default=None, help="pair list overriding the devtest dataset's own")
    parser.add_argument("--view2", default="lfw", help="View 2 dataset; 'none' to skip the View 2 stage")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--runs", type=Path, default=None, help="run folders [default: OUT/leaderboard-runs]")
    parser.add_argument("--no-flip", action="store_true", help="leave out the +flip recognizers")
    parser.add_argument(
        "--models", default=None, help="A,B: these recognizers instead of the grid's; NAME@D1/D2: on D1, D2 only"
    )
    parser.add_argument("--no-flip-view2", action="store_true", help="View 2 without the +flip recognizers")
    parser.add_argument("--detectors", default=None, help="A,B: these detectors instead of the grid's")
    args = parser.parse_args(argv)
    settings = make_settings()
    models, detectors = SMALL if args.grid == "small" else real_grid(settings, flip=not args.no_flip)
    models = args.models.split(",") if args.models else models
    detectors = args.detectors.split(",") if args.detectors else detectors
    runs = args.runs or args.out / "leaderboard-runs"
    devtest = sweep(grid_cells(args.devtest, models, detectors), runs, settings, args.pairs)
    if devtest.empty:
        raise SystemExit("no combination ran; see the messages above")
    cells = view2_cells(devtest, args.view2, flip=not args.no_flip_view2) if args.view2 != "none" else []
    view2 = sweep(cells, runs, settings, None) if cells else pd.DataFrame()
    board = ranked(pd.concat([devtest, view2], ignore_index=True))
    args.out.mkdir(parents=True, exist_ok=True)
    board.to_csv(args.out / "leaderboard-lfw.csv", index=False)
    command = "python benchmarks/leaderboard.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:]))
    (args.out / "leaderboard-lfw.md").write_text(markdown(board, command.strip()))
    plot(board, args.out / "leaderboard-lfw.png")
    print(f"wrote {args.out / 'leaderboard-lfw.md'} ({len(board)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
