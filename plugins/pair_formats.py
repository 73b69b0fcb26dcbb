"""The pair-list formats every dataset folder may carry: LFW's ``pairs.txt`` and a CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from bench.datasets import Dataset, DatasetError, PairRow, Pairs, pairs_from_rows, scan
from bench.hookspecs import hookimpl
from bench.protocols import ProtocolSpec


def _head(path: Path, size: int = 4096) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(size).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _dataset(path: Path, dataset: Dataset | None) -> Dataset:
    return dataset if dataset is not None else scan(path.parent)


def _lfw_path(name: str, number: str) -> str:
    return f"{name}/{name}_{int(number):04d}.jpg"


def sniff_lfw(path: Path) -> bool:
    """A first line of one or two integers (``n`` or ``folds n``), then 3- or 4-field lines."""
    lines = _head(path).splitlines()
    first = lines[0].split() if lines else []
    return (
        1 <= len(first) <= 2
        and all(f.isdigit() for f in first)
        and all(len(ln.split()) in (3, 4) for ln in lines[1:-1] if ln.strip())
    )


def read_lfw(path: Path, dataset: Dataset | None) -> tuple[Dataset, Pairs]:
    """LFW format: header ``folds n`` (View 2) or ``n``; same lines ``name a b``, different ``n1 a n2 b``."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    header, body = lines[0], lines[1:]
    rows: list[PairRow] = []
    for lineno, parts in enumerate(body, start=2):
        if len(parts) == 3:
            rows.append((_lfw_path(parts[0], parts[1]), _lfw_path(parts[0], parts[2]), True))
        elif len(parts) == 4:
            rows.append((_lfw_path(parts[0], parts[1]), _lfw_path(parts[2], parts[3]), False))
        else:
            raise DatasetError(f"{path}:{lineno}: expected 3 or 4 fields, got {len(parts)}")
    folds = None
    if len(header) == 2:  # View 2: folds x (n same + n different), fold after fold
        n_folds, per = int(header[0]), int(header[1])
        if n_folds * 2 * per != len(rows):
            raise DatasetError(f"{path}: header says {n_folds}x2x{per} pairs but lists {len(rows)}")
        folds = [i // (2 * per) for i in range(len(rows))]
    data = _dataset(path, dataset)
    return data, pairs_from_rows(data, rows, folds, path)


def sniff_csv(path: Path) -> bool:
    """A header naming ``file_x`` and ``file_y``."""
    lines = _head(path).splitlines()
    fields = {f.strip() for f in lines[0].split(",")} if lines else set()
    return {"file_x", "file_y"} <= fields


def read_csv(path: Path, dataset: Dataset | None) -> tuple[Dataset, Pairs]:
    """CSV with header ``file_x,file_y,same`` (optional ``fold`` column)."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        need = {"file_x", "file_y", "same"}
        if not need <= set(reader.fieldnames or ()):
            raise DatasetError(f"{path}: CSV pairs need columns file_x,file_y,same; found {reader.fieldnames}")
        records = list(reader)
    rows = [(r["file_x"], r["file_y"], str(r["same"]).strip().lower() in {"1", "true", "yes"}) for r in records]
    folds = [int(r["fold"]) for r in records] if records and "fold" in records[0] else None
    data = _dataset(path, dataset)
    return data, pairs_from_rows(data, rows, folds, path)


@hookimpl
def register_protocols(register: Callable[[ProtocolSpec], None]) -> None:
    """LFW pairs.txt (View 1 / View 2) and the CSV pair list."""
    register(
        ProtocolSpec(
            "lfw-pairs",
            read_lfw,
            sniff_lfw,
            "LFW pairs.txt: header 'n' or 'folds n', then 'name a b' (same) and 'name1 a name2 b' (different) lines",
        )
    )
    register(ProtocolSpec("csv-pairs", read_csv, sniff_csv, "CSV file_x,file_y,same[,fold]"))
