"""The pair-list formats every dataset folder may carry: LFW's ``pairs.txt`` and a CSV.

Both are read strictly: a label, fold or line the format does not define is a one-line error naming the file and
line, never a guess. :func:`parse_lfw` is LFW's line format for every reader that uses it (RFW too).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.data.datasets import Carries, Dataset, DatasetError, PairRow, Pairs, pairs_from_rows, scan
from bench.hookspecs import hookimpl
from bench.protocols import ProtocolSpec

SAME_WORDS = frozenset({"1", "true", "yes", "same", "genuine"})
DIFF_WORDS = frozenset({"0", "false", "no", "diff", "different", "impostor"})
"""The label spellings a CSV pair list may use (any case)."""


@dataclass(frozen=True)
class PairList:
    """A pair file's rows, where each came from (``file:line``), and the folds it gives (None: it gives none)."""

    rows: list[PairRow]
    places: list[str]
    folds: list[int] | None


def _head(path: Path, size: int = 4096) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(size).decode("utf-8", errors="replace")
    except OSError:
        return ""


def read_text(path: Path) -> str:
    """A pair file's text; unreadable or not UTF-8: a one-line error."""
    try:
        return path.read_text(encoding="utf-8-sig")  # a leading BOM (spreadsheet exports) is not a field
    except OSError as err:
        raise DatasetError(f"cannot read {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: not a UTF-8 text pair list (byte {err.start})") from err


def with_pairs(dataset: Dataset, pairs: PairList) -> Dataset:
    """``dataset`` carrying pair labels, and given folds where the file gives them."""
    extra = {Carries.PAIR_LABELS} | ({Carries.FOLDS} if pairs.folds is not None else set())
    return dataclasses.replace(dataset, carries=dataset.carries | extra)


def _dataset(path: Path, dataset: Dataset | None) -> Dataset:
    return dataset if dataset is not None else scan(path.parent)


def is_header(parts: list[str]) -> bool:
    """LFW's header line: ``n`` (View 1) or ``folds n`` (View 2)."""
    return 1 <= len(parts) <= 2 and all(p.isdigit() for p in parts)


def is_lfw_line(parts: list[str]) -> bool:
    """``name a b`` (same) or ``name1 a name2 b`` (different), image numbers as integers."""
    numbers = {3: parts[1:], 4: parts[1::2]}.get(len(parts), [])
    return bool(numbers) and all(p.isdigit() for p in numbers)


def lfw_row(parts: list[str], where: str) -> PairRow:
    """One LFW line as (image a, image b, same); ``where`` (``file:line``) heads the error of a bad line."""
    if not is_lfw_line(parts):
        raise DatasetError(f"{where}: expected 'name a b' (same) or 'name1 a name2 b' (different), got {parts}")

    def image(name: str, number: str) -> str:
        return f"{name}/{name}_{int(number):04d}.jpg"

    if len(parts) == 3:
        return image(parts[0], parts[1]), image(parts[0], parts[2]), True
    if parts[0] == parts[2]:
        raise DatasetError(f"{where}: a different-pair line naming {parts[0]} twice; a same pair is 'name a b'")
    return image(parts[0], parts[1]), image(parts[2], parts[3]), False


def parse_lfw(path: Path) -> PairList:
    """An LFW-format file. A first line of one or two integers is the header (recognised by content): ``n`` is one
    block, ``folds n`` that many folds; each block is n same pairs then n different ones, and the file must agree.
    Without a header every line is a pair and the file gives no folds."""
    numbered = [(k, ln.split()) for k, ln in enumerate(read_text(path).splitlines(), start=1) if ln.strip()]
    header = numbered[0][1] if numbered and is_header(numbered[0][1]) else None
    body = numbered[1:] if header else numbered
    rows = [lfw_row(parts, f"{path}:{k}") for k, parts in body]
    places = [f"{path}:{k}" for k, _ in body]
    folds = _blocks(path, header, rows, places) if header else None
    return PairList(rows, places, folds)


def _blocks(path: Path, header: list[str], rows: list[PairRow], places: list[str]) -> list[int] | None:
    """The fold per pair a header defines (None for a one-integer header), checked against the lines."""
    n_blocks, per = (1, int(header[0])) if len(header) == 1 else (int(header[0]), int(header[1]))
    said = f"header '{' '.join(header)}' says {n_blocks} block(s) of {per} same then {per} different pairs"
    if n_blocks * 2 * per != len(rows):
        raise DatasetError(
            f"{path}:1: {said} ({n_blocks * 2 * per}) but the file lists {len(rows)}; "
            "fix the header, or delete it to read the pairs without folds"
        )
    for k, (_, _, same) in enumerate(rows):
        if same != (k % (2 * per) < per):
            raise DatasetError(
                f"{places[k]}: {said}, so block {k // (2 * per) + 1} expects a "
                f"{'same' if not same else 'different'} pair here; reorder the lines, or delete the header"
            )
    return [k // (2 * per) for k in range(len(rows))] if len(header) == 2 else None


def sniff_lfw(path: Path) -> bool:
    """LFW lines, with or without a header line (``n`` or ``folds n``)."""
    lines = [ln.split() for ln in _head(path).splitlines() if ln.strip()]
    body = lines[1:] if lines and is_header(lines[0]) else lines
    whole = body[:-1] or body  # the last line read may be cut short
    return bool(body) and all(is_lfw_line(parts) for parts in whole)


def read_lfw(path: Path, dataset: Dataset | None) -> tuple[Dataset, Pairs]:
    """LFW format: header ``folds n`` (View 2), ``n`` or none; same lines ``name a b``, different ``n1 a n2 b``."""
    listed = parse_lfw(path)
    data = with_pairs(_dataset(path, dataset), listed)
    return data, pairs_from_rows(data, listed.rows, listed.folds, path, listed.places)


def sniff_csv(path: Path) -> bool:
    """A header naming ``file_x`` and ``file_y``."""
    lines = _head(path).splitlines()
    fields = {f.strip() for f in lines[0].split(",")} if lines else set()
    return {"file_x", "file_y"} <= fields


def csv_label(value: str | None, where: str) -> bool:
    """A CSV label: one of ``SAME_WORDS`` / ``DIFF_WORDS`` (any case), else an error saying which are known."""
    word = (value or "").strip().lower()
    if word in SAME_WORDS | DIFF_WORDS:
        return word in SAME_WORDS
    hint = " (-1/1 is ambiguous: write 0 for different)" if word == "-1" else ""
    raise DatasetError(
        f"{where}: label {value!r} is not a known spelling{hint}; use 1/0, true/false, yes/no, same/diff(erent) "
        "or genuine/impostor"
    )


def _fold(value: str | None, where: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise DatasetError(f"{where}: fold {value!r} is not an integer; give every pair an integer fold") from None


def parse_csv(path: Path) -> PairList:
    """CSV with header ``file_x,file_y,same`` and an optional ``fold`` column, used as given."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    try:
        fields = set(reader.fieldnames or ())
        if not {"file_x", "file_y", "same"} <= fields:
            raise DatasetError(f"{path}: CSV pairs need columns file_x,file_y,same; found {reader.fieldnames}")
        rows, places, folds = [], [], []
        for record in reader:
            where = f"{path}:{reader.line_num}"
            if any(record[c] is None for c in ("file_x", "file_y", "same")):
                raise DatasetError(f"{where}: expected file_x,file_y,same on every line; this one is cut short")
            rows.append((record["file_x"], record["file_y"], csv_label(record["same"], where)))
            places.append(where)
            if "fold" in fields:
                folds.append(_fold(record["fold"], where))
    except csv.Error as err:
        raise DatasetError(f"{path}:{reader.line_num}: not readable as CSV ({err}); fix the line") from None
    return PairList(rows, places, folds if "fold" in fields else None)


def read_csv(path: Path, dataset: Dataset | None) -> tuple[Dataset, Pairs]:
    """CSV with header ``file_x,file_y,same`` (optional ``fold`` column, used as given)."""
    listed = parse_csv(path)
    data = with_pairs(_dataset(path, dataset), listed)
    return data, pairs_from_rows(data, listed.rows, listed.folds, path, listed.places)


@hookimpl
def register_protocols(register: Callable[[ProtocolSpec], None]) -> None:
    """LFW pairs.txt (View 1 / View 2 / headerless) and the CSV pair list."""
    register(
        ProtocolSpec(
            "lfw-pairs",
            read_lfw,
            sniff_lfw,
            "LFW pairs.txt: header 'n', 'folds n' or none, then 'name a b' (same) and 'name1 a name2 b' "
            "(different) lines; a header's blocks are checked and 'folds n' gives the folds",
        )
    )
    register(
        ProtocolSpec(
            "csv-pairs",
            read_csv,
            sniff_csv,
            "CSV file_x,file_y,same[,fold]: same as 1/0, true/false, yes/no, same/diff, genuine/impostor; "
            "folds as given",
        )
    )
