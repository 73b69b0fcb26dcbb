"""One self-contained HTML page from saved run folders: tables, speed, and the plots embedded as base64 PNG.

Every text that comes from data (identity and file names, options, reasons) is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from bench.report import card
from bench.run.runs import SavedRun

MAX_ROWS = 300
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #ccc; margin-top: 2em; } h3 { margin-bottom: .3em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; } th { background: #f3f3f3; }
.scroll { overflow-x: auto; } .note { color: #666; font-size: 12px; }
figure { display: inline-block; margin: .5em; vertical-align: top; } img { max-width: 520px; }
details summary { cursor: pointer; color: #446; font-size: 12px; margin-bottom: 1em; }
figcaption { font-size: 11px; color: #666; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


HEADLINE = (
    "subset",
    "variant",
    "model",
    "detector",
    "metric",
    "acc_kfold_mean",
    "acc_kfold_std",
    "auc",
    "eer",
    "rank1",
    "rank5",
    "acc_kfold_mean_drop",
    "acc_drop_vs_baseline",
)
"""Columns a reader looks for first; the rest follow in their CSV order."""


def _table(frame: pd.DataFrame, css: str = "", columns: list[str] | None = None) -> str:
    first = [c for c in HEADLINE if c in frame.columns]
    order = columns if columns is not None else first + [c for c in frame.columns if c not in first]
    shown = frame[[c for c in order if c in frame.columns]].head(MAX_ROWS)
    body = shown.to_html(
        index=False, escape=True, na_rep="", border=0, classes=css or None, float_format=lambda v: f"{v:.4f}"
    )
    more = f"<p class='note'>first {MAX_ROWS} of {len(frame)} rows</p>" if len(frame) > MAX_ROWS else ""
    return f"<div class='scroll'>{body}</div>{more}"


def _ms(timings: dict, key: str, detector: str) -> tuple[float, str]:  # type: ignore[type-arg]
    """A stage's ms per item and who timed it: this run where it computed items, else the earlier runs that
    computed the cache's entries (the cache keeps their timing); NaN and "" when neither timed it."""
    t = timings.get(key) or {}
    if t.get("computed"):
        return float(t["ms_per_item"]), "this run"
    cached = (t.get("cache_ms_per_item") or {}).get(detector)
    return (float(cached), "earlier runs (cache)") if cached is not None else (np.nan, "")


def speed(manifest: dict) -> pd.DataFrame:  # type: ignore[type-arg]
    """ms per face for each model/detector combination, from the manifest's stage timings, and who timed them.

    A stage that computed items is timed by this run; one served wholly from the cache shows the timing the cache
    recorded when its entries were computed. Embedding is timed per detector (``embed:MODEL@DETECTOR``), so a
    detector whose faces were cached never shows another's figure.
    """
    timings = manifest.get("timings", {})
    detectors = sorted({k.split(":", 1)[1] for k in timings if k.startswith("detect:")})
    models = sorted({k.split(":", 1)[1] for k in timings if k.startswith("embed:") and "@" not in k})
    rows = []
    for model in models:
        for detector in detectors:
            per_detector = f"embed:{model}@{detector}"
            emb_key = per_detector if per_detector in timings else f"embed:{model}"
            (det, det_by), (emb, emb_by) = _ms(timings, f"detect:{detector}", detector), _ms(timings, emb_key, detector)
            computed = [timings.get(k, {}).get("computed", 0) for k in (f"detect:{detector}", emb_key)]
            rows.append(
                {
                    "model": model,
                    "detector": detector,
                    "detect_ms_per_face": det,
                    "embed_ms_per_face": emb,
                    "total_ms_per_face": det + emb,
                    "timed_by": det_by if det_by == emb_by else " / ".join(filter(None, (det_by, emb_by))),
                    "faces_timed_this_run": min(computed),
                }
            )
    return pd.DataFrame(rows)


def _stages(manifest: dict) -> pd.DataFrame:  # type: ignore[type-arg]
    rows = [{"stage": key, **values} for key, values in manifest.get("timings", {}).items()]
    return pd.DataFrame(rows)


def _meta(run: SavedRun) -> str:
    m = run.manifest
    datasets = "; ".join(
        f"{d.get('name')} ({d.get('n_images')} images, {d.get('n_identities')} identities)"
        for d in m.get("dataset", [])
    )
    request = dict(m.get("request", m.get("options", {})))
    request |= request.pop("options", None) or {}  # the evaluation's own options beside the common ones
    options = ", ".join(f"{k}={v}" for k, v in request.items() if v not in (None, False, "", {}, [], ()))
    rows = [
        ("command", m.get("command")),
        ("status", m.get("status")),
        ("error", m.get("error")),
        ("started", m.get("started")),
        ("dataset", datasets),
        ("pairs", (m.get("pairs") or {}).get("source", "")),
        ("options", options),
        ("git commit", m.get("git_commit")),
        ("wall seconds", m.get("wall_seconds")),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows if v not in (None, ""))
    return f"<table class='meta'>{body}</table>"


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        f"<figure><img alt='{_e(path.name)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{_e(path.name)}</figcaption></figure>"
    )


def _headline(run: SavedRun) -> list[str]:
    """The section an evaluation names as its headline (manifest ``headline``: title, tables, plots), first."""
    head = run.manifest.get("headline") or {}
    if not head:
        return []
    tables = [_table(run.tables[t]) for t in head.get("tables", []) if t in run.tables and not run.tables[t].empty]
    plots = [_figure(run.path / p) for p in head.get("plots", []) if (run.path / p).is_file()]
    return [f"<h3>{_e(head.get('title', 'headline'))}</h3>", *tables, "<div>", *plots, "</div>"]


def _section(run: SavedRun) -> str:
    parts = [f"<h2>{_e(run.name)}</h2>", _meta(run), *_headline(run)]
    ms = speed(run.manifest)
    if not ms.empty:
        parts += [
            "<h3>speed (ms per face)</h3>",
            _table(ms),
            "<p class='note'>from the manifest's timings: what this run computed, else (timed_by) the timing the "
            "cache recorded when earlier runs computed its entries.</p>",
        ]
    for name, frame in run.tables.items():
        if frame.empty or name == "scores":
            continue
        info = run.info(name)
        note = f"<p class='note'>{_e(info.description)}</p>" if info.description else ""
        headline = [*info.keys, *info.figures]
        if len(info.figures) and len(frame.columns) > len(headline):
            parts += [
                f"<h3>{_e(name)}</h3>",
                note,
                _table(frame, columns=headline),
                f"<details><summary>all {len(frame.columns)} columns</summary>{_table(frame)}</details>",
            ]
        else:
            parts += [f"<h3>{_e(name)}</h3>", note, _table(frame)]
    if run.plots:
        parts += ["<h3>plots</h3>", "<div>", *(_figure(p) for p in run.plots), "</div>"]
    stages = _stages(run.manifest)
    if not stages.empty:
        parts += ["<h3>stage timings</h3>", _table(stages)]
    return "\n".join(parts)


def across(runs: list[SavedRun]) -> str:
    """One table per figure-bearing table, rows of every run side by side (a ``run`` column first)."""
    parts = []
    names = dict.fromkeys(n for r in runs for n in r.tables if r.info(n).figures)
    for name in names:
        frames = [r.tables[name].assign(run=r.name) for r in runs if name in r.tables and not r.tables[name].empty]
        if len(frames) < 2:
            continue
        info = next(r.info(name) for r in runs if name in r.tables)
        joined = pd.concat(frames, ignore_index=True)
        parts += [f"<h3>{_e(name)} across runs</h3>", _table(joined, columns=["run", *info.keys, *info.figures])]
    return "<h2>across runs</h2>" + "".join(parts) if parts else ""


def render(runs: list[SavedRun], title: str = "facebench report") -> str:
    """The whole page."""
    index = "".join(
        f"<li><a href='#run-{k}'>{_e(r.name)}</a> — {_e(r.manifest.get('command', ''))}</li>"
        for k, r in enumerate(runs)
    )
    sections = "".join(f"<section id='run-{k}'>{_section(r)}</section>" for k, r in enumerate(runs))
    cards = card.render(runs)[0]
    cards = f"<h2>report cards</h2>{cards}" if cards else ""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1><ul>{index}</ul>{across(runs)}{cards}"
        f"{sections}</body></html>\n"
    )
