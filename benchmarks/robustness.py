"""Edit robustness of every recognizer here on the four real edited sets, written to benchmarks/results/robustness*.

One command, from a fresh cache (a cold run)::

    BENCH_CACHE_DIR=$(mktemp -d) python benchmarks/robustness.py --weights-dir ../shared/weights

runs ``bench variants --evaluate`` on 60 lfw-devtest pairs (five perturbations, retinaface-mnet) and then
``bench edits --dataset hairstyle --sets makeup,rotation,synthetic --model all --backend retinaface-mnet,yunet
--variants <that run>`` (thresholds fixed on lfw-devtest), and writes ``robustness.md``, ``robustness.csv`` (the
edits table), ``robustness-by-edit.csv``, ``robustness-ftd.csv`` and the figures in ``robustness/``.
``--from-run RUN`` only renders an edits run folder that exists.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from bench.run.runs import SavedRun, read_run

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = "rotate_+30,blur_s4,occlude_eyes,lowres_x4,jpeg_q5"
SETS = ("hairstyle", "makeup", "rotation", "synthetic")


def bench(*args: str) -> None:
    """The bench CLI of this checkout, in a subprocess; its failure stops the script."""
    code = "import sys; from bench.interface.cli import main; sys.argv[0] = 'bench'; main()"
    subprocess.run([sys.executable, "-c", code, *args], check=True)


def run_all(args: argparse.Namespace) -> Path:
    """The variants run, then the edits run beside it; the edits run folder."""
    common = ["--weights-dir", str(args.weights_dir), "--o", str(args.out), "--overwrite", "-q"]
    bench(
        "variants", "--dataset", "lfw-devtest", "--n", "60", "--only", VARIANTS, "--evaluate",
        "--to", str(args.out / "variant-images"), "--model", args.model, "--backend", "retinaface-mnet",
        "--run-id", "variants", *common,
    )  # fmt: skip
    bench(
        "edits", "--dataset", SETS[0], "--sets", ",".join(SETS[1:]), "--model", args.model,
        "--backend", args.backend, "--variants", str(args.out / "variants"), "--run-id", "edits", *common,
    )  # fmt: skip
    return args.out / "edits"


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub table; floats to 3 decimals, empty cells for missing values."""

    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _wide(table: pd.DataFrame, value: str, far: float) -> pd.DataFrame:
    at = table[table.far_target == far].assign(row=lambda f: f.model + " x " + f.detector)
    wide = at.pivot_table(index="row", columns="set", values=value, aggfunc="first")
    return wide[[s for s in SETS if s in wide.columns]].reset_index().rename(columns={"row": "model x detector"})


def _cells(table: pd.DataFrame, prefix: str) -> pd.DataFrame:
    text = [
        "" if pd.isna(t) else f"{t:.3f} [{lo:.2f}, {hi:.2f}]"
        for t, lo, hi in zip(table[prefix], table[f"{prefix}_lo"], table[f"{prefix}_hi"])
    ]
    return table.assign(**{f"{prefix}_text": text})


def sections(run: SavedRun) -> list[str]:
    """The markdown body: headline tables, per edit, FTD, distances, variants."""
    edits = _cells(_cells(run.tables["edits"], "tar_lfw"), "tar_own")
    edits = edits.assign(tar_lfw_text=edits.tar_lfw_text + " " + edits.group.astype(str))
    lines = []
    for far in sorted(edits.far_target.unique()):
        lines += [
            f"### TAR at FAR {far:.0e}, threshold fixed on lfw-devtest",
            "",
            markdown(_wide(edits, "tar_lfw_text", far)),
            "",
            f"FAR that threshold gives on each set's own impostor pairs (target {far:.0e}):",
            "",
            markdown(_wide(edits, "far_lfw", far)),
            "",
            f"### TAR at FAR {far:.0e}, threshold fixed on the set itself",
            "",
            markdown(_wide(edits, "tar_own_text", far)),
            "",
        ]
    by_edit = run.tables["edits_by_edit"]
    tar = "tar_at_far_1e-02"
    by_edit = by_edit.assign(
        row=by_edit.model + " x " + by_edit.detector,
        text=[
            f"{t:.2f} [{lo:.2f}, {hi:.2f}]"
            for t, lo, hi in zip(by_edit[tar], by_edit[f"{tar}_lo"], by_edit[f"{tar}_hi"])
        ],
    )
    per_edit = by_edit.pivot_table(
        index=["set", "edit", "n_persons", "n_genuine"], columns="row", values="text", aggfunc="first"
    )
    lines += [
        "### TAR per edit at FAR 1e-2 (lfw-devtest threshold)",
        "",
        "An edit shown on one person only (n_persons 1) has a zero-width interval: the bootstrap over persons has "
        "nothing to resample.",
        "",
        markdown(per_edit.reset_index()),
        "",
    ]
    ftd = run.tables["edits_ftd"]
    ftd = ftd[ftd.model == ftd.model.iloc[0]]  # detection does not depend on the model
    wide = ftd.pivot_table(index=["set", "edit", "n_images"], columns="detector", values="ftd", aggfunc="first")
    lines += ["### Failure to detect per edit", "", markdown(wide.reset_index()), ""]
    dist = run.tables["edits_distances"].assign(row=lambda f: f.model + " x " + f.detector)
    keep = ["set", "row", "genuine_mean", "baseline_genuine_mean", "genuine_shift", "impostor_mean"]
    lines += ["### Genuine cosine distance: original x edited against lfw-devtest", "", markdown(dist[keep]), ""]
    if "edits_overview" in run.tables:
        lines += [
            "### Real edits beside the generated LFW variants",
            "",
            "Set columns: TAR at FAR 1e-2 / 1e-1 with the lfw-devtest threshold [95 % interval] and group letter; "
            "variant columns: k-fold accuracy drop from clean on the same 60 lfw-devtest pairs (retinaface-mnet only).",
            "",
            markdown(run.tables["edits_overview"]),
            "",
        ]
    return lines


def render(run_path: Path, command: str, note: str = "", similarity: str = "FaceRes_retinaface-mnet") -> None:
    """robustness.md, the CSVs and the figures from the edits run folder."""
    run = read_run(run_path)
    figures = RESULTS / "robustness"
    figures.mkdir(parents=True, exist_ok=True)
    for plot in run.plots:  # every edits figure, and one combination's similarity matrix per set
        if plot.name.startswith("edits_") or (plot.name.startswith("similarity_") and f"_{similarity}_" in plot.name):
            shutil.copy(plot, figures / plot.name)
    run.tables["edits"].to_csv(RESULTS / "robustness.csv", index=False)
    run.tables["edits_by_edit"].to_csv(RESULTS / "robustness-by-edit.csv", index=False)
    run.tables["edits_ftd"].to_csv(RESULTS / "robustness-ftd.csv", index=False)
    m = run.manifest
    variants = (m.get("request", {}).get("options") or {}).get("variants")
    wall = f"{m.get('wall_seconds')} s wall"
    if variants and (Path(variants) / "manifest.json").is_file():
        wall += f" (+ {read_run(Path(variants)).manifest.get('wall_seconds')} s for the variants run)"
    head = [
        "# Edit robustness on the real edited sets",
        "",
        f"Command (cold cache): `{command}`",
        "",
        f"Run: {m.get('started')}, git {m.get('git_commit')}, {wall}, CPU (2 shared cores), "
        f"status {m.get('status')}. Sets: {', '.join(SETS)} (`../shared/data/robustness`, roles from its "
        "manifest.csv); pairs: each original against each edited image of its identity, as many impostor "
        "pairs (original of one person against an edit of another, seed 0). Thresholds fixed on lfw-devtest "
        "(500 + 500 pairs; at FAR 1e-2 that is 5 false matches, flagged insufficient) through the same model "
        "and detector. Intervals: 95 % bootstrap over persons (1,000 draws); models sharing a group letter in a "
        "column cannot be told apart.",
        *(["", note] if note else []),
        "",
        "![TAR heatmap](robustness/edits_heatmap_cosine.png)",
        "",
    ]
    plots = [f"![{p.name}](robustness/{p.name})" for p in run.plots if p.name.startswith("edits_genuine_")]
    matrices = [f"![{p.name}](robustness/{p.name})" for p in sorted((figures).glob(f"similarity_*_{similarity}_*.png"))]
    body = [
        *head,
        *sections(run),
        "### Genuine-distance distributions",
        "",
        *plots,
        "",
        f"### Similarity matrices ({similarity.replace('_', ' x ')}; every combination's are in the run folder)",
        "",
        *matrices,
        "",
    ]
    (RESULTS / "robustness.md").write_text("\n".join(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights-dir", type=Path, default=Path("../shared/weights"))
    parser.add_argument("--model", default="all")
    parser.add_argument("--backend", default="retinaface-mnet,yunet")
    parser.add_argument("--out", type=Path, default=Path("results/robustness"))
    parser.add_argument("--from-run", type=Path, help="Only render this edits run folder.")
    parser.add_argument("--note", default="", help="A sentence for the page (e.g. how the run was made).")
    args = parser.parse_args()
    run_path = args.from_run or run_all(args)
    command = "BENCH_CACHE_DIR=$(mktemp -d) python benchmarks/robustness.py --weights-dir ../shared/weights"
    render(run_path, command, args.note)


if __name__ == "__main__":
    main()
