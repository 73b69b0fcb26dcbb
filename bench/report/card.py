"""The report card: one card per model x detector in the NIST FRTE layout, as HTML (self-contained) and Markdown.

Built only from saved tables: ``operating_points``, ``operating_summary``, ``thresholds`` (derived), ``transfer``,
``failures_by_cause``, ``efficiency`` and, when those evaluations ran, every ``fairness*.csv`` / ``quality*.csv``
summary table (per-image tables, with an ``image`` column, are left out). A card is a list of blocks rendered twice,
so the HTML and the Markdown always say the same.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

EXTRA_PREFIXES = (("fairness", "Demographics"), ("quality", "Quality"))
MAX_EXTRA_ROWS = 30


class RunLike(Protocol):
    """What the card reads of a run: its folder, manifest and tables (``bench.run.runs.SavedRun`` fits)."""

    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]


@dataclass
class _Run:
    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Cell:
    """A table cell; ``grey`` marks a figure resting on too few comparisons."""

    text: str
    grey: bool = False


@dataclass
class Block:
    """A heading (level 2-3), paragraph, table or image of a card."""

    kind: str  # "h2", "h3", "p", "table", "img"
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    image: Path | None = None


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (int, float)) and abs(float(value)) >= 1e4:
        return f"{float(value):,.0f}"
    return f"{float(value):.{digits}f}" if isinstance(value, float) else str(value)


def _ci(lo: Any, hi: Any, digits: int = 4) -> str:
    return "" if lo is None or pd.isna(lo) else f" [{_num(float(lo), digits)}, {_num(float(hi), digits)}]"


def _fmr_label(f: float) -> str:
    return f"{f:.0e}"


def _where(table: pd.DataFrame | None, model: str, detector: str) -> pd.DataFrame:
    if table is None or table.empty or "model" not in table or "detector" not in table:
        return pd.DataFrame()
    return table[(table.model == model) & (table.detector == detector)]


def _per_target(part: pd.DataFrame, targets: list[Any], text: Callable[[Any], str]) -> list[Cell]:
    """One cell per FMR target: ``text`` of that target's row (greyed where insufficient), empty where none."""
    by_target = {float(r.fmr_target): r for r in part.itertuples()}
    found = [by_target.get(float(t)) for t in targets]
    return [Cell("") if r is None else Cell(text(r), bool(r.insufficient)) for r in found]


def _set_label(row: Any) -> str:
    subset = getattr(row, "subset", "all")
    return str(row.dataset) if pd.isna(subset) or subset == "all" else f"{row.dataset} ({subset})"


def _fnmr_block(points: pd.DataFrame) -> list[Block]:
    targets = sorted(points.fmr_target.unique(), reverse=True)
    rows = []
    for (_, _, metric), part in points.groupby(["dataset", "subset", "metric"], sort=False):
        first = part.iloc[0]
        cells = [Cell(_set_label(first)), Cell(str(metric)), Cell(_num(int(first.n_impostor)))]
        cells += _per_target(part, targets, lambda r: f"{r.fnmr:.4f}{_ci(r.fnmr_lo, r.fnmr_hi)} · FMR {r.fmr:.1e}")
        rows.append(cells)
    return [
        Block("h3", "FNMR at fixed FMR"),
        Block(
            "p",
            "FNMR [95 % subject-bootstrap interval] at the most permissive threshold whose achieved FMR (after "
            "·) does not exceed the target. Grey: fewer than 10/FMR impostor comparisons -- shown, but not to be "
            "relied on.",
        ),
        Block(
            "table", header=["dataset", "metric", "impostors", *[f"FMR {_fmr_label(t)}" for t in targets]], rows=rows
        ),
    ]


def _threshold_block(points: pd.DataFrame) -> list[Block]:
    targets = sorted(points.fmr_target.unique(), reverse=True)
    rows = []
    for (_, _, metric), part in points.groupby(["dataset", "subset", "metric"], sort=False):
        first = part.iloc[0]
        sense = "accept >=" if bool(first.higher_is_more_similar) else "accept <="
        cells = [Cell(_set_label(first)), Cell(f"{metric} ({sense})")]
        cells += _per_target(part, targets, lambda r: f"{r.threshold:.4f}{_ci(r.threshold_lo, r.threshold_hi)}")
        rows.append(cells)
    return [
        Block("h3", "Threshold table"),
        Block("table", header=["dataset", "metric", *[f"FMR {_fmr_label(t)}" for t in targets]], rows=rows),
    ]


def _summary_block(summary: pd.DataFrame) -> list[Block]:
    ok = summary[summary.get("status", "ok") == "ok"] if "status" in summary else summary
    rows = [
        [
            Cell(_set_label(r)),
            Cell(str(r.metric)),
            Cell(f"{r.eer:.4f}{_ci(r.eer_lo, r.eer_hi)}"),
            Cell(f"{r.auc:.4f}{_ci(r.auc_lo, r.auc_hi)}"),
            Cell(f"{r.acc_kfold_mean:.4f} ± {r.acc_kfold_std:.4f}{_ci(r.acc_kfold_lo, r.acc_kfold_hi)}"),
            Cell(_num(int(r.n_pairs_scored))),
            Cell(_num(int(r.n_subjects))),
        ]
        for r in ok.itertuples()
    ]
    return [
        Block("h3", "Threshold-free figures"),
        Block(
            "p",
            "95 % subject-bootstrap intervals in brackets; accuracy: k-fold mean ± std (the interval holds "
            "the fold thresholds fixed).",
        ),
        Block("table", header=["dataset", "metric", "EER", "AUC", "k-fold accuracy", "pairs", "subjects"], rows=rows),
    ]


def _transfer_block(transfer: pd.DataFrame) -> list[Block]:
    rows = [
        [
            Cell(_set_label(r)),
            Cell(str(r.metric)),
            Cell(str(r.calibration)),
            Cell(_fmr_label(r.fmr_target)),
            Cell(f"{r.threshold:.4f}"),
            Cell(f"{r.calibration_fmr:.1e}", bool(r.calibration_insufficient)),
            Cell(f"{r.fmr:.1e}{_ci(r.fmr_lo, r.fmr_hi, 4)}"),
            Cell(f"{r.fmr_over_target:.2f}"),
            Cell(f"{r.fnmr:.4f}{_ci(r.fnmr_lo, r.fnmr_hi)}"),
            Cell(f"{r.own_fnmr:.4f}"),
        ]
        for r in transfer.itertuples()
    ]
    return [
        Block("h3", "Threshold transfer"),
        Block(
            "p",
            "Thresholds fixed on the calibration set, applied to this one: the FMR a deployment would see "
            "against the target, and the FNMR beside the FNMR at this set's own threshold.",
        ),
        Block(
            "table",
            header=[
                "dataset",
                "metric",
                "calibrated on",
                "target",
                "threshold",
                "calib. FMR",
                "achieved FMR",
                "FMR / target",
                "FNMR",
                "FNMR (own thr.)",
            ],
            rows=rows,
        ),
    ]


def _failure_block(failures: pd.DataFrame) -> list[Block]:
    rows = []
    for _, part in failures.groupby(["dataset", "subset"] if "subset" in failures else ["dataset"], sort=False):
        first = part.iloc[0]
        shown = part[(part.n_images > 0) | part.cause.str.startswith("total")]
        text = "; ".join(f"{r.cause}: {int(r.n_images)} ({100 * r.rate:.2f} %)" for r in shown.itertuples())
        rows.append(
            [Cell(_set_label(first)), Cell(_num(int(first.n_images_used))), Cell(text), Cell(str(first.policy))]
        )
    return [
        Block("h3", "Failures by cause (ISO/IEC 19795-1 failure to acquire)"),
        Block(
            "p",
            "Images of the pair lists without a usable face, by cause; the generalised rates GFMR/GFNMR "
            "(operating_points.csv) charge pairs that could not be scored to the system.",
        ),
        Block("table", header=["dataset", "images", "causes", "no-face policy"], rows=rows),
    ]


def _efficiency_block(eff: pd.DataFrame) -> list[Block]:
    first = eff.iloc[0]
    mb = first.model_file_bytes / 1e6 if pd.notna(first.model_file_bytes) else None
    facts = (
        f"template {int(first.template_dim)} x {first.template_dtype} = {int(first.template_bytes)} bytes; "
        f"model file {_num(mb, 1)} MB; detection {_num(first.detect_ms_per_image, 1)} ms/image; embedding "
        f"{_num(first.embed_ms_per_face, 1)} ms/face; total {_num(first.ms_per_face, 1)} ms/face (this machine, "
        "from the cached items' compute times)"
    )
    rows = [
        [Cell(str(r.metric)), Cell(_num(r.us_per_comparison, 3))] for r in eff.drop_duplicates("metric").itertuples()
    ]
    return [
        Block("h3", "Efficiency"),
        Block("p", facts),
        Block("table", header=["metric", "µs per comparison (vectorised)"], rows=rows),
    ]


def _extra_blocks(run: RunLike, model: str, detector: str) -> list[Block]:
    blocks = []
    for prefix, title in EXTRA_PREFIXES:
        for path in sorted(run.path.glob(f"{prefix}*.csv")):
            table = run.tables.get(path.stem)
            if table is None:
                try:
                    table = pd.read_csv(path)
                except (pd.errors.EmptyDataError, OSError):
                    continue
            mine = _where(table, model, detector)
            if mine.empty or "image" in mine:
                continue
            shown = mine.drop(columns=["model", "detector"]).head(MAX_EXTRA_ROWS)
            rows = [[Cell(_num(v)) for v in r] for r in shown.itertuples(index=False)]
            blocks += [Block("h3", f"{title}: {path.stem}"), Block("table", header=list(shown.columns), rows=rows)]
    return blocks


def _plots(run: RunLike, prefix: str, points: pd.DataFrame) -> list[Block]:
    from bench.report.plots import slug

    blocks = []
    for (dataset, subset, metric), _ in points.groupby(["dataset", "subset", "metric"], sort=False):
        path = run.path / f"{prefix}_{slug(str(dataset), str(subset), str(metric))}.png"
        if path.is_file():
            blocks.append(Block("img", text=f"{prefix.upper()} {dataset} ({subset}), {metric}", image=path))
    return blocks


def card_blocks(run: RunLike, model: str, detector: str) -> list[Block]:
    """The blocks of one model x detector card from one run."""
    points = _where(run.tables.get("operating_points"), model, detector)
    blocks = [
        Block("h2", f"{model} × {detector}"),
        Block(
            "p",
            f"run {run.path.name}; facebench {run.manifest.get('facebench_version', '?')}, commit "
            f"{str(run.manifest.get('git_commit') or '?')[:10]}; bootstrap "
            f"{_num(_first(run.tables.get('operating_summary'), 'bootstrap'))} samples",
        ),
    ]
    if not points.empty:
        if "subset" not in points:
            points = points.assign(subset="all")
        blocks += _fnmr_block(points)
        blocks += [Block("h3", "DET"), *_plots(run, "det", points)]
        blocks += _threshold_block(points)
    summary = _where(run.tables.get("operating_summary"), model, detector)
    if not summary.empty and "eer" in summary:
        blocks += _summary_block(summary.assign(subset=summary.get("subset", "all")))
    transfer = _where(run.tables.get("transfer"), model, detector)
    if not transfer.empty:
        blocks += _transfer_block(transfer.assign(subset=transfer.get("subset", "all")))
    failures = _where(run.tables.get("failures_by_cause"), model, detector)
    if not failures.empty:
        blocks += _failure_block(failures)
    efficiency = _where(run.tables.get("efficiency"), model, detector)
    if not efficiency.empty:
        blocks += _efficiency_block(efficiency)
        if not points.empty:
            blocks += _plots(run, "pareto", points)
    return blocks + _extra_blocks(run, model, detector)


def _first(table: pd.DataFrame | None, column: str) -> Any:
    if table is None or table.empty or column not in table:
        return None
    return table[column].dropna().iloc[0] if table[column].notna().any() else None


def combinations(run: RunLike) -> list[tuple[str, str]]:
    """(model, detector) pairs the run has operating points or efficiency rows for, in table order."""
    found: dict[tuple[str, str], None] = {}
    for name in ("operating_points", "efficiency"):
        table = run.tables.get(name)
        if table is not None and not table.empty:
            found.update(dict.fromkeys(zip(table.model.astype(str), table.detector.astype(str))))
    return list(found)


def _html_table(block: Block) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"grey" if c.grey else ""}">{html.escape(c.text)}</td>' for c in row) + "</tr>"
        for row in block.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(blocks: Iterable[Block]) -> str:
    """Blocks as an HTML fragment; images inlined as base64 PNG."""
    parts = []
    for b in blocks:
        if b.kind in ("h2", "h3"):
            parts.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{html.escape(b.text)}</p>")
        elif b.kind == "table":
            parts.append(_html_table(b))
        elif b.kind == "img" and b.image is not None:
            data = base64.b64encode(b.image.read_bytes()).decode()
            parts.append(
                f'<figure><img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(b.text)}</figcaption></figure>"
            )
    return "\n".join(parts)


def _md_cell(c: Cell) -> str:
    text = c.text.replace("|", "\\|")
    return f"*{text}* †" if c.grey and text else text


def to_markdown(blocks: Iterable[Block]) -> str:
    """Blocks as Markdown (images by file name, next to the card); grey cells in italics with a dagger."""
    parts = []
    for b in blocks:
        if b.kind == "h2":
            parts.append(f"## {b.text}")
        elif b.kind == "h3":
            parts.append(f"### {b.text}")
        elif b.kind == "p":
            parts.append(b.text)
        elif b.kind == "table":
            lines = ["| " + " | ".join(b.header) + " |", "|" + "---|" * len(b.header)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            if any(c.grey for row in b.rows for c in row):
                lines.append("\n† fewer than 10/FMR impostor comparisons: not to be relied on.")
            parts.append("\n".join(lines))
        elif b.kind == "img" and b.image is not None:
            parts.append(f"![{b.text}]({b.image.name})")
    return "\n\n".join(parts) + "\n"


STYLE = """<style>
.fb-card{font-family:system-ui,sans-serif;font-size:13px;max-width:1300px;margin:0 auto 32px;padding:8px 18px;
border:1px solid #ddd;border-radius:6px}
.fb-card h2{border-bottom:2px solid #345;padding-bottom:4px}.fb-card h3{margin:18px 0 6px;color:#345}
.fb-card table{border-collapse:collapse;margin:4px 0 10px}.fb-card th,.fb-card td{border:1px solid #ccc;
padding:3px 7px;text-align:left;vertical-align:top}.fb-card th{background:#eef1f5}
.fb-card td.grey{color:#9a9a9a;font-style:italic}.fb-card figure{display:inline-block;margin:4px 12px 4px 0}
.fb-card img{max-width:620px}.fb-card figcaption{font-size:11px;color:#555}
</style>"""


def render(runs: Sequence[RunLike]) -> tuple[str, str]:
    """(HTML section, Markdown) with a card per run and model x detector; empty strings when no run has any."""
    cards = [card_blocks(run, model, detector) for run in runs for model, detector in combinations(run)]
    if not cards:
        return "", ""
    section = STYLE + "\n" + "\n".join(f'<section class="fb-card">{to_html(c)}</section>' for c in cards)
    markdown = "\n".join(to_markdown(c) for c in cards)
    return section, markdown


def page(section: str, title: str = "facebench report card") -> str:
    """A self-contained HTML page around a rendered section."""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f'<body><h1 style="font-family:system-ui,sans-serif">{html.escape(title)}</h1>{section}</body></html>'
    )


def files(path: Path, manifest: dict[str, Any], tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """``card.html`` and ``card.md`` of the run folder ``path`` from its tables, by file name (none: no card)."""
    section, markdown = render([_Run(path, manifest, tables)])
    if not section:
        return {}
    return {
        "card.html": page(section, f"facebench report card: {path.name}"),
        "card.md": f"# facebench report card: {path.name}\n\n{markdown}",
    }
