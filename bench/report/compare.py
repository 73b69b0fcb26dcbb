"""What changed between two saved runs: settings, and figure deltas per combination.

A changed figure whose table gives it a 95 % interval (``<figure>_lo``/``_hi``, or ``<name>_lo``/``_hi`` for a
``<name>_mean``) is marked ``distinguishable`` yes where A's and B's intervals are disjoint, no where they
overlap (within noise), blank where there is no interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.measure.ranks import disjoint
from bench.run.runs import SavedRun

SETTINGS = ("git_commit", "facebench_version", "weights_dir", "face_selection")
IGNORED_REQUEST = {"run_id", "overwrite", "output"}  # where results went, not what produced them


def _settings(a: SavedRun, b: SavedRun) -> list[str]:
    lines = [
        f"  {key}: {a.manifest.get(key)} -> {b.manifest.get(key)}"
        for key in SETTINGS
        if a.manifest.get(key) != b.manifest.get(key)
    ]
    req_a, req_b = a.manifest.get("request", {}), b.manifest.get("request", {})
    keys = sorted((set(req_a) | set(req_b)) - IGNORED_REQUEST)
    lines += [f"  {key}: {req_a.get(key)} -> {req_b.get(key)}" for key in keys if req_a.get(key) != req_b.get(key)]
    for key, what in (
        ("dataset", "dataset content differs"),
        ("sample", "the images used differ (--n, --seed, pairs)"),
    ):
        hashes = [[d.get("content_sha256") for d in run.manifest.get(key, [])] for run in (a, b)]
        if hashes[0] != hashes[1]:
            lines.append(f"  {what} (content_sha256)")
    return lines


def table_deltas(
    a: pd.DataFrame, b: pd.DataFrame, keys: list[str], figures: list[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Long rows (keys..., figure, a, b, delta) where a shared numeric figure changed; and unmatched rows."""
    keys = [k for k in keys if k in a and k in b]
    if not keys:  # an empty table on either side (no columns): nothing to match
        return pd.DataFrame(), []
    numeric = [
        c
        for c in a.columns
        if c in b and c not in keys and pd.api.types.is_numeric_dtype(a[c]) and pd.api.types.is_numeric_dtype(b[c])
    ]
    figures = [f for f in figures if f in numeric] if figures else numeric
    merged = a.merge(b, on=keys, how="outer", suffixes=("__a", "__b"), indicator=True)
    unmatched = [
        f"  only in {'A' if side == 'left_only' else 'B'}: " + " / ".join(str(row[k]) for k in keys)
        for side, (_, row) in zip(merged._merge, merged.iterrows())
        if side != "both"
    ]
    both = merged[merged._merge == "both"]
    rows = []
    for figure in figures:
        va, vb = both[f"{figure}__a"].astype(float), both[f"{figure}__b"].astype(float)
        changed = ~np.isclose(va, vb, rtol=0, atol=1e-12, equal_nan=True)
        rows.append(
            both.loc[changed, keys].assign(
                figure=figure,
                a=va[changed],
                b=vb[changed],
                delta=(vb - va)[changed],
                distinguishable=_distinguishable(both[changed], figure),
            )
        )
    deltas = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return deltas, unmatched


def _distinguishable(merged: pd.DataFrame, figure: str) -> list[str]:
    """Per merged row: yes (A's and B's intervals of ``figure`` disjoint), no (overlapping), "" (no interval)."""
    for name in dict.fromkeys((figure, figure.removesuffix("_mean"))):
        ends = [f"{name}_{end}__{side}" for side in "ab" for end in ("lo", "hi")]
        if all(c in merged for c in ends):
            lo_a, hi_a, lo_b, hi_b = (merged[c].astype(float).to_numpy() for c in ends)
            known = ~np.isnan(lo_a + hi_a + lo_b + hi_b)
            apart = disjoint(lo_a, hi_a, lo_b, hi_b)
            return [("yes" if far else "no") if ok else "" for ok, far in zip(known, apart)]
    return [""] * len(merged)


def compared_tables(a: SavedRun, b: SavedRun) -> list[str]:
    """Tables either run declares figures for (in A's order, then B's)."""
    names = [*a.manifest.get("tables", {}), *b.manifest.get("tables", {})]
    return [n for n in dict.fromkeys(names) if (a.info(n).figures or b.info(n).figures)]


def compare(a: SavedRun, b: SavedRun) -> str:
    """A readable account of what differs from run A to run B."""
    lines = [f"A: {a.path} ({a.manifest.get('command')})", f"B: {b.path} ({b.manifest.get('command')})"]
    settings = _settings(a, b)
    lines += ["settings changed:", *settings] if settings else ["settings: unchanged"]
    for name in compared_tables(a, b):
        if name not in a.tables or name not in b.tables:
            if name in a.tables or name in b.tables:
                lines.append(f"{name}.csv: only in {'A' if name in a.tables else 'B'}")
            continue
        info = a.info(name) if a.info(name).keys else b.info(name)
        deltas, unmatched = table_deltas(a.tables[name], b.tables[name], list(info.keys), list(info.figures))
        lines.append(f"{name}.csv: {len(deltas)} figure(s) changed" + (":" if len(deltas) else ""))
        if len(deltas):
            shown = deltas.assign(
                a=deltas.a.map("{:.4f}".format),
                b=deltas.b.map("{:.4f}".format),
                delta=deltas.delta.map("{:+.4f}".format),
            )
            lines.append(shown.to_string(index=False))
            if deltas.distinguishable.ne("").any():
                lines.append("  distinguishable: yes where A's and B's 95 % intervals are disjoint, no: within noise")
        lines += unmatched
    return "\n".join(lines)
