"""Every reader on random valid files of its format gives back exactly the pairs, labels, folds and identities
written; random damage (an unknown label, a disagreeing pair, a missing image, a cut file) is a DatasetError,
never a number. Images are tiny real JPEG / PNG files in temporary folders (hypothesis, fast tier)."""

from __future__ import annotations

import csv
import functools
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import plugins, protocols
from bench.data.datasets import AT_ROOT, Carries, Dataset, DatasetError, Pairs, scan
from facebench_plugins.protocols.pair_formats import DIFF_WORDS, SAME_WORDS
from facebench_plugins.protocols.protocols_bin import consecutive_folds, write_bin

FAST = settings(max_examples=25, deadline=None)
JPEG = cv2.imencode(".jpg", np.full((4, 4, 3), 120, np.uint8))[1].tobytes()
PNG = cv2.imencode(".png", np.full((3, 5, 3), 40, np.uint8))[1].tobytes()
NAME = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=8)
UNICODE_NAME = st.text(st.characters(categories=["L", "Nd"], exclude_characters="\x85"), min_size=1, max_size=6)

Row = tuple[str, str, bool]
SamePair = tuple[str, int, int]
DiffPair = tuple[str, int, str, int]


SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None
"""Memory-backed temporary folders where there are (hundreds of tiny files per test)."""


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        yield Path(tmp)


def put(path: Path, data: bytes = JPEG) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@functools.cache
def _readers() -> tuple[protocols.ProtocolSpec, ...]:
    """The registered readers, loaded once per process (a plugin load for each hypothesis example was most of
    this module's time)."""
    return tuple(plugins.load().protocols)


def registry() -> list[protocols.ProtocolSpec]:
    return list(_readers())


def read_back(dataset: Dataset, pairs: Pairs) -> tuple[list[Row], list[int] | None]:
    rows = [
        (dataset.images[a].rel, dataset.images[b].rel, bool(s)) for a, b, s in zip(pairs.left, pairs.right, pairs.same)
    ]
    return rows, None if pairs.folds is None else pairs.folds.tolist()


def read_list(dataset: Dataset, path: Path, declared: str | None = None) -> tuple[list[Row], list[int] | None]:
    return read_back(dataset, protocols.read_pairs(registry(), dataset, path, declared))


def opened(path: Path, declared: str | None = None) -> tuple[Dataset, Pairs]:
    dataset, pairs = protocols.open_benchmark(registry(), path, declared)
    assert pairs is not None
    return dataset, pairs


# ---- LFW's line format --------------------------------------------------------------------------------------


@st.composite
def people(draw: st.DrawFn, names: st.SearchStrategy[str] = NAME) -> dict[str, int]:
    """Identity -> number of images (numbered 1..k), 2 to 4 identities of 2 to 4 images."""
    ids = draw(st.lists(names, min_size=2, max_size=4, unique_by=str.lower))
    return {name: draw(st.integers(2, 4)) for name in ids}


def same_pool(who: dict[str, int]) -> list[SamePair]:
    return [(n, a, b) for n, k in who.items() for a in range(1, k + 1) for b in range(a + 1, k + 1)]


def diff_pool(who: dict[str, int]) -> list[DiffPair]:
    names = sorted(who)
    return [(x, a, y, b) for i, x in enumerate(names) for y in names[i + 1 :] for a in range(1, who[x] + 1)
            for b in range(1, who[y] + 1)]  # fmt: skip


def lfw_rel(name: str, number: int) -> str:
    return f"{name}/{name}_{number:04d}.jpg"


def lfw_row(pair: SamePair | DiffPair) -> Row:
    if len(pair) == 3:
        return lfw_rel(pair[0], pair[1]), lfw_rel(pair[0], pair[2]), True
    return lfw_rel(pair[0], pair[1]), lfw_rel(pair[2], pair[3]), False


def write_people(root: Path, who: dict[str, int]) -> None:
    for name, k in who.items():
        for number in range(1, k + 1):
            put(root / lfw_rel(name, number))


@st.composite
def lfw_list(draw: st.DrawFn, who: dict[str, int], header: str) -> tuple[list[str], list[Row], list[int] | None]:
    """(lines, rows, folds): ``header`` "none" (pairs in any order), "view1" (``n``) or "view2" (``folds n``)."""
    same, diff = draw(st.permutations(same_pool(who))), draw(st.permutations(diff_pool(who)))
    if header == "none":
        chosen = draw(st.lists(st.sampled_from([*same, *diff]), min_size=1, max_size=12, unique=True))
        return [" ".join(map(str, p)) for p in chosen], [lfw_row(p) for p in chosen], None
    per = draw(st.integers(1, min(3, len(same))))
    blocks = 1 if header == "view1" else draw(st.integers(1, min(3, len(same) // per)))
    chosen = [p for k in range(blocks) for p in (*same[k * per : (k + 1) * per], *diff[k * per : (k + 1) * per])]
    head = [str(per)] if header == "view1" else [f"{blocks}\t{per}"]
    folds = None if header == "view1" else [k // (2 * per) for k in range(len(chosen))]
    return head + ["\t".join(map(str, p)) for p in chosen], [lfw_row(p) for p in chosen], folds


@FAST
@given(st.data(), people(), st.sampled_from(["none", "view1", "view2"]))
def test_lfw_pairs_read_back(data: st.DataObject, who: dict[str, int], header: str) -> None:
    lines, rows, folds = data.draw(lfw_list(who, header))
    with folder() as root:
        write_people(root, who)
        eol = data.draw(st.sampled_from(["\n", "\r\n"]))
        (root / "pairs.txt").write_bytes((eol.join(lines) + eol).encode())
        dataset = scan(root)
        for declared in (None, "lfw-pairs"):  # sniffed, and declared: the header is recognised by content
            assert read_list(dataset, root / "pairs.txt", declared) == (rows, folds)
        got, _ = protocols.choose(registry(), root / "pairs.txt").read(root / "pairs.txt", None)
        assert (Carries.FOLDS in got.carries) == (folds is not None) and Carries.PAIR_LABELS in got.carries


def _cut_before_last_line(lines: list[str], at: float) -> str:
    text = "\n".join(lines) + "\n"
    start, end = len(lines[0]) + 1, len(text) - len(lines[-1]) - 1
    return text[: start + int(at * (end - start))]


LFW_DAMAGE: dict[str, Callable[[list[str], float], str]] = {
    "unknown token": lambda lines, at: "\n".join([*lines[:-1], lines[-1] + "\tx"]),
    "number not an integer": lambda lines, at: "\n".join([*lines[:-1], lines[-1].rsplit("\t", 1)[0] + "\t1.5"]),
    "different line naming one person": lambda lines, at: "\n".join(
        [lines[0], "\t".join(lines[1].split()[:2] * 2), *lines[2:]]
    ),
    "cut short": _cut_before_last_line,
}


@FAST
@given(st.data(), people(), st.sampled_from(["view1", "view2"]), st.sampled_from([*LFW_DAMAGE, "missing image"]))
def test_damaged_lfw_pairs_are_errors(data: st.DataObject, who: dict[str, int], header: str, damage: str) -> None:
    lines, rows, _ = data.draw(lfw_list(who, header))
    with folder() as root:
        write_people(root, who)
        text = "\n".join(lines) + "\n"
        if damage == "missing image":
            (root / data.draw(st.sampled_from(rows))[1]).unlink()
        else:
            text = LFW_DAMAGE[damage](lines, data.draw(st.floats(0, 0.999)))
        (root / "pairs.txt").write_text(text)
        with pytest.raises(DatasetError, match=r"pairs\.txt"):
            read_list(scan(root), root / "pairs.txt", "lfw-pairs")


# ---- CSV ----------------------------------------------------------------------------------------------------


@st.composite
def csv_dataset(draw: st.DrawFn) -> tuple[dict[str, bytes], list[Row], list[int] | None]:
    """(image rel -> bytes, rows with random labels, given folds or None); unicode names, JPEG and PNG files."""
    ids = draw(st.lists(UNICODE_NAME, min_size=2, max_size=4, unique_by=str.lower))
    files = {}
    for name in ids:
        for stem in draw(st.lists(UNICODE_NAME, min_size=1, max_size=3, unique_by=str.lower)):
            suffix, data = draw(st.sampled_from([(".jpg", JPEG), (".png", PNG)]))
            files[f"{name}/{stem}{suffix}"] = data
    rels = sorted(files)
    pool = [(a, b) for i, a in enumerate(rels) for b in rels[i + 1 :]]
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=10, unique=True))
    rows = [(b, a, s) if flip else (a, b, s) for (a, b), s, flip in ((p, draw(st.booleans()), draw(st.booleans()))
            for p in chosen)]  # fmt: skip
    folds = draw(st.none() | st.lists(st.integers(-3, 12), min_size=len(rows), max_size=len(rows)))
    return files, rows, folds


def spelled(data: st.DataObject, same: bool) -> str:
    word = data.draw(st.sampled_from(sorted(SAME_WORDS if same else DIFF_WORDS)))
    return "".join(c.upper() if data.draw(st.booleans()) else c for c in word)


def csv_text(records: list[dict[str, str]], columns: list[str], eol: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator=eol)
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def csv_records(data: st.DataObject, rows: list[Row], folds: list[int] | None) -> list[dict[str, str]]:
    return [
        {"file_x": a, "file_y": b, "same": spelled(data, s), **({} if folds is None else {"fold": str(folds[k])})}
        for k, (a, b, s) in enumerate(rows)
    ]


def csv_columns(data: st.DataObject, folds: list[int] | None) -> list[str]:
    return data.draw(st.permutations(["file_x", "file_y", "same", *([] if folds is None else ["fold"])]))


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        put(root / rel, data)


@FAST
@given(st.data(), csv_dataset())
def test_csv_pairs_read_back(data: st.DataObject, made: tuple[dict[str, bytes], list[Row], list[int] | None]) -> None:
    """Every documented spelling in any case, folds as given (any integers, any order), columns in any order, LF or
    CRLF line ends."""
    files, rows, folds = made
    with folder() as root:
        write_files(root, files)
        eol = data.draw(st.sampled_from(["\n", "\r\n"]))
        text = csv_text(csv_records(data, rows, folds), csv_columns(data, folds), eol)
        (root / "pairs.csv").write_bytes(text.encode())
        dataset = scan(root)
        assert {img.rel: img.identity for img in dataset.images} == {rel: rel.split("/")[0] for rel in files}
        assert read_list(dataset, root / "pairs.csv") == (rows, folds)


def _not_a_label(word: str) -> bool:
    return word.strip().lower() not in SAME_WORDS | DIFF_WORDS


def _not_an_int(word: str) -> bool:
    try:
        int(word)
    except ValueError:
        return True
    return False


@FAST
@given(
    st.data(),
    csv_dataset(),
    st.sampled_from(["unknown label", "-1 label", "bad fold", "contradiction", "missing image", "cut short"]),
)
def test_damaged_csv_pairs_are_errors(
    data: st.DataObject, made: tuple[dict[str, bytes], list[Row], list[int] | None], damage: str
) -> None:
    files, rows, folds = made
    folds = folds if damage != "bad fold" else [0] * len(rows)
    records = csv_records(data, rows, folds)
    k = data.draw(st.integers(0, len(rows) - 1))
    if damage == "unknown label":
        records[k]["same"] = data.draw(st.text(max_size=6).filter(_not_a_label))
    elif damage == "-1 label":
        records[k]["same"] = "-1"
    elif damage == "bad fold":
        records[k]["fold"] = data.draw(st.text(max_size=4).filter(_not_an_int))
    elif damage == "contradiction":
        a, b, same = rows[k]
        records.append({**records[k], "file_x": b, "file_y": a, "same": spelled(data, not same)})
    if damage == "cut short":  # keep part of the last row: a label of 1 / 0 (no longer label is a prefix of another)
        records[-1]["same"] = str(int(rows[-1][2]))
        records = [{c: v for c, v in r.items() if c != "fold"} for r in records]
    text = csv_text(records, csv_columns(data, None if damage == "cut short" else folds))
    if damage == "cut short":
        last = text.rstrip("\n").rsplit("\n", 1)[1]
        text = text[: len(text) - 1 - len(last) + data.draw(st.integers(1, len(last) - 1))]
    with folder() as root:
        write_files(root, files)
        if damage == "missing image":
            (root / data.draw(st.sampled_from(rows))[0]).unlink()
        (root / "pairs.csv").write_text(text)
        with pytest.raises(DatasetError, match=r"pairs\.csv"):
            read_list(scan(root), root / "pairs.csv", "csv-pairs")


# ---- CALFW / CPLFW two-line, CFP folder, RFW, .bin -----------------------------------------------------------


@st.composite
def two_line(draw: st.DrawFn) -> tuple[dict[str, int], list[tuple[str, int, str, int, bool]], list[str]]:
    """(people, pairs (name, n, name, n, same), label per pair as written: 0, or a positive integer for same)."""
    who = draw(people())
    same = [(n, a, n, b, True) for n, a, b in same_pool(who)]
    diff = [(*p, False) for p in diff_pool(who)]
    chosen = draw(st.lists(st.sampled_from(same + diff), min_size=1, max_size=12, unique=True))
    labels = [str(draw(st.integers(1, 9))) if p[4] else "0" for p in chosen]
    return who, chosen, labels


def calfw_file(n: str, k: int) -> str:
    return f"{n}_{k:04d}.jpg"


def write_calfw(root: Path, who: dict[str, int], lines: list[str]) -> Path:
    for name, k in who.items():
        for number in range(1, k + 1):
            put(root / "aligned images" / calfw_file(name, number))
    (root / "pairs_TEST.txt").write_text("\n".join(lines) + "\n")
    return root / "pairs_TEST.txt"


def calfw_lines(chosen: list[tuple[str, int, str, int, bool]], labels: list[str]) -> list[str]:
    return [
        f"{calfw_file(n, k)} {label}" for (x, a, y, b, _), label in zip(chosen, labels) for n, k in ((x, a), (y, b))
    ]


@FAST
@given(two_line())
def test_calfw_two_line_reads_back(
    made: tuple[dict[str, int], list[tuple[str, int, str, int, bool]], list[str]],
) -> None:
    who, chosen, labels = made
    with folder() as root:
        write_calfw(root, who, calfw_lines(chosen, labels))
        dataset, pairs = opened(root)
        rows = [(calfw_file(x, a), calfw_file(y, b), s) for x, a, y, b, s in chosen]
        assert read_back(dataset, pairs) == (rows, consecutive_folds(len(rows)).tolist())
        assert {img.rel: img.identity for img in dataset.images} == {
            calfw_file(n, k): n for x, a, y, b, _ in chosen for n, k in ((x, a), (y, b))
        }


@FAST
@given(two_line(), st.sampled_from(["disagree", "unknown label", "cut short", "missing image"]), st.data())
def test_damaged_calfw_is_an_error(
    made: tuple[dict[str, int], list[tuple[str, int, str, int, bool]], list[str]], damage: str, data: st.DataObject
) -> None:
    who, chosen, labels = made
    lines = calfw_lines(chosen, labels)
    k = data.draw(st.integers(0, len(lines) - 1))
    name, label = lines[k].split()
    if damage == "disagree":
        lines[k] = f"{name} {'0' if label != '0' else '1'}"
    elif damage == "unknown label":
        lines[k] = f"{name} {data.draw(st.sampled_from(['-1', 'yes', 'same', '1.0', 'x']))}"
    elif damage == "cut short":
        lines = lines[:-1]
    with folder() as root:
        pairs_file = write_calfw(root, who, lines)
        if damage == "missing image":
            (root / "aligned images" / name).unlink()
        with pytest.raises(DatasetError, match=r"pairs_TEST\.txt"):
            opened(pairs_file, "calfw-cplfw")


CfpSplit = tuple[dict[str, list[str]], list[list[tuple[int, int]]]]


@st.composite
def cfp_split(draw: st.DrawFn) -> CfpSplit:
    """(pose -> image rels in list order, per fold the (frontal, profile) index pairs)."""
    who = draw(st.dictionaries(NAME, st.tuples(st.integers(1, 3), st.integers(1, 3)), min_size=2, max_size=4))
    rels = {pose: [f"Data/Images/{n}/{pose}/{k:02d}.jpg" for n in who for k in range(1, who[n][i] + 1)]
            for i, pose in enumerate(("frontal", "profile"))}  # fmt: skip
    pool = [(i, j) for i in range(len(rels["frontal"])) for j in range(len(rels["profile"]))]
    return rels, [draw(st.lists(st.sampled_from(pool), min_size=1, max_size=5)) for _ in range(draw(st.integers(1, 3)))]


def cfp_same(rels: dict[str, list[str]], i: int, j: int) -> bool:
    return rels["frontal"][i].split("/")[2] == rels["profile"][j].split("/")[2]


def write_cfp(
    root: Path, rels: dict[str, list[str]], chosen: list[list[tuple[int, int]]]
) -> tuple[list[Row], list[int]]:
    """The CFP-FP layout; the rows and folds it lists (per fold its same pairs, then its different ones)."""
    for pose, name in (("frontal", "Pair_list_F.txt"), ("profile", "Pair_list_P.txt")):
        for rel in rels[pose]:
            put(root / rel)
        put(root / "Protocol" / name, "".join(f"{k} ../{rel}\n" for k, rel in enumerate(rels[pose], 1)).encode())
    rows, folds = [], []
    for fold, fold_pairs in enumerate(chosen):
        for same, name in ((True, "same.txt"), (False, "diff.txt")):
            mine = [(i, j) for i, j in fold_pairs if cfp_same(rels, i, j) == same]
            put(root / "Protocol" / "Split" / "FP" / f"{fold + 1:02d}" / name,
                "".join(f"{i + 1},{j + 1}\n" for i, j in mine).encode())  # fmt: skip
            rows += [(rels["frontal"][i], rels["profile"][j], same) for i, j in mine]
            folds += [fold] * len(mine)
    return rows, folds


@FAST
@given(cfp_split())
def test_cfp_folder_reads_back(made: CfpSplit) -> None:
    """CFP-FP: per fold folder same.txt / diff.txt of 1-based indices into the frontal and profile lists."""
    with folder() as root:
        rows, folds = write_cfp(root, *made)
        dataset, pairs = opened(root, "cfp-fp")
        assert read_back(dataset, pairs) == (rows, folds)
        assert all(img.identity == img.rel.split("/")[2] for img in dataset.images)


@FAST
@given(cfp_split(), st.sampled_from(["disagree", "index past the list", "not an index", "missing image"]), st.data())
def test_damaged_cfp_is_an_error(made: CfpSplit, damage: str, data: st.DataObject) -> None:
    rels, chosen = made
    with folder() as root:
        rows, _ = write_cfp(root, rels, chosen)
        fold = root / "Protocol" / "Split" / "FP" / "01"
        i, j = chosen[0][0]
        line = {
            "disagree": (("diff.txt" if cfp_same(rels, i, j) else "same.txt"), f"{i + 1},{j + 1}\n"),
            "index past the list": ("same.txt", f"{len(rels['frontal']) + 1},1\n"),
            "not an index": ("diff.txt", "x,1\n"),
        }.get(damage)
        if line is None:
            (root / data.draw(st.sampled_from(rows))[1]).unlink()
        else:
            with (fold / line[0]).open("a") as handle:
                handle.write(line[1])
        with pytest.raises(DatasetError, match="Protocol"):
            opened(root, "cfp-fp")


@FAST
@given(st.data(), st.lists(st.sampled_from(["African", "Asian", "Caucasian", "Indian"]), min_size=1, max_size=3,
                           unique=True))  # fmt: skip
def test_rfw_reads_back(data: st.DataObject, groups: list[str]) -> None:
    """Each group's LFW-line file, with or without a ``folds n`` header; identities and the group per image."""
    rows: list[Row] = []
    folds: list[int] = []
    headers = []
    with folder() as root:
        for group in sorted(groups):
            who = data.draw(people())
            header = data.draw(st.sampled_from(["none", "view2"]))
            lines, mine, given_folds = data.draw(lfw_list(who, header))
            write_people(root / "test" / "data" / group, who)
            put(root / "test" / "txts" / group / f"{group}_pairs.txt", ("\n".join(lines) + "\n").encode())
            rows += [(f"{group}/{a}", f"{group}/{b}", s) for a, b, s in mine]
            folds += given_folds if given_folds is not None else consecutive_folds(len(mine)).tolist()
            headers.append(header)
        dataset, pairs = opened(root)
        assert read_back(dataset, pairs) == (rows, folds)
        assert all(img.identity == "/".join(img.rel.split("/")[:2]) for img in dataset.images)
        assert all(img.attrs["group"] == img.rel.split("/")[0] for img in dataset.images)
        assert (Carries.FOLDS in dataset.carries) == all(h == "view2" for h in headers)


@FAST
@given(st.data(), people(), st.sampled_from([*LFW_DAMAGE, "missing image"]))
def test_damaged_rfw_is_an_error(data: st.DataObject, who: dict[str, int], damage: str) -> None:
    lines, rows, _ = data.draw(lfw_list(who, "view2"))
    with folder() as root:
        write_people(root / "test" / "data" / "Asian", who)
        if damage == "missing image":
            (root / "test" / "data" / "Asian" / data.draw(st.sampled_from(rows))[0]).unlink()
            text = "\n".join(lines) + "\n"
        else:
            text = LFW_DAMAGE[damage](lines, data.draw(st.floats(0, 0.999)))
        put(root / "test" / "txts" / "Asian" / "Asian_pairs.txt", text.encode())
        with pytest.raises(DatasetError, match=r"Asian_pairs\.txt|missing"):
            opened(root, "rfw")


@FAST
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 255), st.booleans()), min_size=1, max_size=24))
def test_bin_reads_back(pairs: list[tuple[bool, int, bool]]) -> None:
    blobs = [cv2.imencode(".png" if png else ".jpg", np.full((2, 2, 3), v, np.uint8))[1].tobytes()
             for _, v, png in pairs for _ in range(2)]  # fmt: skip
    with folder() as root:
        write_bin(root / "x.bin", blobs, [s for s, _, _ in pairs])
        dataset, got = opened(root / "x.bin")
        assert [img.data for img in dataset.images] == blobs and {img.identity for img in dataset.images} == {""}
        assert got.same.tolist() == [s for s, _, _ in pairs] and dataset.carries == {Carries.PAIR_LABELS}
        assert got.left.tolist() == list(range(0, 2 * len(pairs), 2)) and (got.right == got.left + 1).all()
        assert got.folds is not None and (got.folds == consecutive_folds(len(pairs))).all()
        whole = (root / "x.bin").read_bytes()
        (root / "cut.bin").write_bytes(whole[: len(whole) // 2])
        with pytest.raises(DatasetError, match=r"cut\.bin"):
            opened(root / "cut.bin", "insightface-bin")


def test_empty_bin_is_an_error(tmp_path: Path) -> None:
    write_bin(tmp_path / "none.bin", [], [])
    with pytest.raises(DatasetError, match=r"none\.bin: .* no pairs"):
        opened(tmp_path / "none.bin")


# ---- scan ---------------------------------------------------------------------------------------------------


@st.composite
def tree(draw: st.DrawFn) -> tuple[dict[str, bytes], dict[str, str], dict[str, str]]:
    """(files to write, image rel -> identity expected, skipped rel -> reason expected)."""
    files: dict[str, bytes] = {}
    images, skipped = {}, {}
    for identity in draw(st.lists(NAME, min_size=1, max_size=3, unique=True)):
        for depth_names in draw(st.lists(st.lists(NAME, max_size=2), min_size=1, max_size=4)):
            stem = draw(NAME)
            kind, data = draw(st.sampled_from([(".jpg", JPEG), (".PNG", PNG), ("", JPEG), (".txt", b"notes\n")]))
            rel = "/".join([identity, *depth_names, f"{stem}{kind}"])
            if any(rel.startswith(f"{other}/") or other.startswith(f"{rel}/") for other in files):
                continue  # a file where another rel needs a folder
            files[rel] = data
            (skipped if kind == ".txt" else images)[rel] = identity
    for stem in draw(st.lists(NAME, max_size=2, unique=True)):
        rel = f"{stem}.jpg" if draw(st.booleans()) else f"{stem}.md"
        files[rel] = JPEG if rel.endswith(".jpg") else b"# readme\n"
        if rel.endswith(".jpg"):
            skipped[rel] = AT_ROOT
    return files, images, skipped


@FAST
@given(tree())
def test_scan_uses_images_at_any_depth(made: tuple[dict[str, bytes], dict[str, str], dict[str, str]]) -> None:
    files, images, skipped = made
    with folder() as root:
        write_files(root, files)
        if not images:
            with pytest.raises(DatasetError, match="no images found|none in identity folders"):
                scan(root)
            return
        dataset = scan(root)
        assert {img.rel: img.identity for img in dataset.images} == images and len(dataset.images) == len(images)
        assert {rel for rel, _ in dataset.skipped} == set(skipped)
        assert all(why == AT_ROOT for rel, why in dataset.skipped if skipped[rel] == AT_ROOT)
        assert dataset.file_counts() == {"found": len(images) + len(skipped), "used": len(images),
                                         "ignored": len(skipped)}  # fmt: skip


@FAST
@given(st.lists(NAME, min_size=1, max_size=5, unique=True))
def test_a_flat_folder_is_an_error_that_says_what_to_do(stems: list[str]) -> None:
    with folder() as root:
        for stem in stems:
            put(root / f"{stem}.jpg")
        with pytest.raises(DatasetError, match=f"holds {len(stems)} images but none in identity folders.*<identity>/"):
            scan(root)
