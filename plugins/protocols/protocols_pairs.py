"""Official pair files of the standard verification sets: CFP (FP / FF), CALFW / CPLFW, RFW.

Each reader takes the benchmark's own folder as distributed and returns its images and pairs, folds included:

- CFP: ``Protocol/Pair_list_F.txt`` / ``Pair_list_P.txt`` (``index path``, paths relative to ``Protocol/``) and
  ``Protocol/Split/FP|FF/01..10/same.txt, diff.txt`` (``i,j``: 1-based indices into the frontal list, and into
  the profile list (FP) or the frontal list again (FF)); the folder number ``01..10`` is the fold.
- CALFW / CPLFW: ``pairs_*.txt``, two lines a pair (``Name_0001.jpg label``; label 0: different identities, a
  positive integer: same; both lines of a pair must agree), 6,000 pairs in 10 folds of consecutive pairs; images
  flat in ``aligned images/`` (or ``images/``).
- RFW: ``test/txts/<Group>/<Group>_pairs.txt`` in LFW's line format (``name a b`` / ``name1 a name2 b``, read by
  :func:`~facebench_plugins.protocols.pair_formats.parse_lfw`), images ``test/data/<Group>/<name>/<name>_<a:04d>.jpg``;
  a group file's ``folds n`` header gives its folds, else its pairs fall in 10 consecutive folds.
  Every image carries its group as the attribute ``group`` (the fairness evaluation's input).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from bench.data.datasets import Carries, Dataset, DatasetError, Image, PairRow, Pairs, pairs_from_rows
from facebench_plugins.protocols.pair_formats import parse_lfw, read_text
from facebench_plugins.protocols.protocols_bin import consecutive_folds

CFP_SPLITS = {"cfp-fp": ("FP", "Pair_list_P.txt"), "cfp-ff": ("FF", "Pair_list_F.txt")}
IMAGE_FOLDERS = ("aligned images", "aligned_images", "images")


def _numbered(path: Path) -> list[tuple[int, list[str]]]:
    """The non-blank lines of ``path`` as (line number, fields), commas read as spaces."""
    lines = read_text(path).splitlines()
    return [(k, line.replace(",", " ").split()) for k, line in enumerate(lines, start=1) if line.strip()]


def _checked(images: list[Image], where: Path) -> list[Image]:
    """``images``, or a one-line error naming how many listed files are missing and the first."""
    missing = [img for img in images if not img.path.is_file()]
    if missing:
        raise DatasetError(f"{where}: {len(missing)} listed images are missing, e.g. {missing[0].path}")
    return images


def _cfp_protocol(path: Path) -> Path:
    return path if (path / "Pair_list_F.txt").is_file() else path / "Protocol"


def sniff_cfp(path: Path) -> bool:
    """A CFP folder (or its ``Protocol/``): the frontal list and the ``Split`` folder."""
    protocol = _cfp_protocol(path)
    return (protocol / "Pair_list_F.txt").is_file() and (protocol / "Split").is_dir()


def _cfp_list(protocol: Path, name: str, root: Path) -> dict[int, str]:
    """1-based index -> image path relative to the CFP root."""
    listed = {}
    for lineno, parts in _numbered(protocol / name):
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetError(f"{protocol / name}:{lineno}: expected 'index path'")
        rel = os.path.normpath(
            os.path.join(protocol.name, parts[1])
        )  # "../Data/..." -> "Data/..." (no symlinks followed)
        if rel.startswith(".."):
            raise DatasetError(f"{protocol / name}:{lineno}: path {parts[1]!r} leaves the CFP folder {root}")
        listed[int(parts[0])] = rel.replace(os.sep, "/")
    return listed


def read_cfp(path: Path, split: str) -> tuple[Dataset, Pairs]:
    """CFP's ``split`` ("cfp-fp" or "cfp-ff") from the folder at ``path``."""
    folder, second = CFP_SPLITS[split]
    protocol = _cfp_protocol(path)
    root = protocol.parent
    frontal, other = _cfp_list(protocol, "Pair_list_F.txt", root), _cfp_list(protocol, second, root)
    rels = sorted(set(frontal.values()) | set(other.values()))
    images = _checked(
        [Image(rel, Path(rel).parts[-3], root / rel, {"pose": Path(rel).parts[-2]}) for rel in rels], protocol
    )
    dataset = Dataset(
        split,
        root,
        images,
        protocol,
        f"CFP {folder}: frontal-{'profile' if folder == 'FP' else 'frontal'}",
        carries=frozenset({Carries.IDENTITIES, Carries.PAIR_LABELS, Carries.FOLDS}),
    )
    rows, folds, places = [], [], []
    fold_dirs = sorted(d for d in (protocol / "Split" / folder).iterdir() if d.is_dir())
    if not fold_dirs:
        raise DatasetError(f"{protocol / 'Split' / folder}: no fold folders 01..10")
    for fold, fold_dir in enumerate(fold_dirs):
        for name, same in (("same.txt", True), ("diff.txt", False)):
            for lineno, parts in _numbered(fold_dir / name):
                try:
                    rows.append((frontal[int(parts[0])], other[int(parts[1])], same))
                except (KeyError, ValueError, IndexError):
                    raise DatasetError(
                        f"{fold_dir / name}:{lineno}: expected 'i,j' indices into the pair lists"
                    ) from None
                folds.append(fold)
                places.append(f"{fold_dir / name}:{lineno}")
    return dataset, pairs_from_rows(dataset, rows, folds, protocol / "Split" / folder, places)


def _two_line_file(path: Path) -> Path | None:
    if path.is_file():
        return path
    found = sorted(path.glob("pairs_*.txt")) if path.is_dir() else []
    return found[0] if found else None


def sniff_calfw(path: Path) -> bool:
    """A ``pairs_*.txt`` (or a folder holding one) whose lines are ``image-file label``."""
    pairs = _two_line_file(path)
    if pairs is None:
        return False
    with pairs.open("rb") as handle:
        head = handle.read(2048).decode("utf-8", errors="replace").splitlines()[:4]
    return bool(head) and all(
        len(p := ln.split()) == 2 and re.search(r"\.(jpe?g|png)$", p[0], re.IGNORECASE) for ln in head
    )


def _identity(file_name: str) -> str:
    """``Abel_Pacheco_0001.jpg`` / ``Abel_Pacheco_1.jpg`` -> ``Abel_Pacheco``."""
    return re.sub(r"_\d+$", "", Path(file_name).stem)


def _two_line_label(parts: list[str], where: str) -> bool:
    """A CALFW / CPLFW line's label: 0 different, a positive integer same; anything else is an error."""
    if len(parts) != 2 or not parts[1].isdigit():
        raise DatasetError(f"{where}: expected 'image-file label' with label 0 (different) or 1 (same), got {parts}")
    return parts[1].lstrip("0") != ""


def _two_line_rows(pairs_file: Path, lines: list[tuple[int, list[str]]]) -> tuple[list[PairRow], list[str]]:
    """Rows (and the first line of each) of the two-line format; both lines of a pair must give the same label."""
    if len(lines) % 2:
        raise DatasetError(
            f"{pairs_file}:{lines[-1][0]}: {len(lines)} 'image label' lines, an odd number (two a pair); "
            "the file is cut short or has a stray line"
        )
    rows, starts = [], []
    for (k, a), (m, b) in zip(lines[::2], lines[1::2]):
        same = _two_line_label(a, f"{pairs_file}:{k}")
        if _two_line_label(b, f"{pairs_file}:{m}") != same or a[1] != b[1]:
            raise DatasetError(
                f"{pairs_file}:{m}: label {b[1]} disagrees with label {a[1]} of line {k}, its pair's first line; "
                "both lines of a pair carry the same label"
            )
        rows.append((a[0], b[0], same))
        starts.append(f"{pairs_file}:{k}")
    return rows, starts


def read_calfw(path: Path, dataset: Dataset | None = None) -> tuple[Dataset, Pairs]:
    """CALFW / CPLFW's two-line pair file at ``path`` (or in the folder ``path``)."""
    pairs_file = _two_line_file(path)
    if pairs_file is None:
        raise DatasetError(f"{path}: no pairs_*.txt (CALFW / CPLFW pair list)")
    lines = _numbered(pairs_file)
    if not lines:
        raise DatasetError(f"{pairs_file}: lists no pairs; expected two 'image label' lines a pair")
    rows, starts = _two_line_rows(pairs_file, lines)
    folder = next((pairs_file.parent / f for f in IMAGE_FOLDERS if (pairs_file.parent / f).is_dir()), pairs_file.parent)
    names = sorted({rel for a, b, _ in rows for rel in (a, b)})
    images = _checked([Image(name, _identity(name), folder / name) for name in names], pairs_file)
    data = Dataset(
        pairs_file.stem.removeprefix("pairs_").lower(),
        folder,
        images,
        pairs_file,
        "CALFW/CPLFW pairs",
        carries=frozenset({Carries.IDENTITIES, Carries.PAIR_LABELS}),
    )
    return data, pairs_from_rows(data, rows, consecutive_folds(len(rows)).tolist(), pairs_file, starts)


def _rfw_test(path: Path) -> Path:
    return path / "test" if (path / "test" / "txts").is_dir() else path


def sniff_rfw(path: Path) -> bool:
    """An RFW folder (or its ``test/``): ``txts/<Group>/<Group>_pairs.txt`` beside ``data/``."""
    test = _rfw_test(path)
    return (test / "data").is_dir() and any((test / "txts").glob("*/*_pairs.txt"))


def read_rfw(path: Path, dataset: Dataset | None = None) -> tuple[Dataset, Pairs]:
    """All RFW groups' pairs; images keyed ``<Group>/<name>/<file>``, attribute ``group``. A group file's
    ``folds n`` header gives its folds; without one its pairs fall in 10 consecutive folds."""
    test = _rfw_test(path)
    files = sorted((test / "txts").glob("*/*_pairs.txt"))
    if not files:
        raise DatasetError(f"{test}: no txts/<Group>/<Group>_pairs.txt (RFW layout)")
    rows: list[PairRow] = []
    folds: list[int] = []
    places: list[str] = []
    used: dict[str, str] = {}
    given = True
    for pairs_file in files:
        group = pairs_file.parent.name
        listed = parse_lfw(pairs_file)
        if not listed.rows:
            raise DatasetError(f"{pairs_file}: lists no pairs; an RFW group file needs 'name a b' lines")
        for a, b, same in listed.rows:
            rows.append((f"{group}/{a}", f"{group}/{b}", same))
            used.update({f"{group}/{a}": group, f"{group}/{b}": group})
        places += listed.places
        given &= listed.folds is not None
        folds += listed.folds if listed.folds is not None else consecutive_folds(len(listed.rows)).tolist()
    data_root = test / "data"
    images = _checked(
        [
            Image(rel, f"{group}/{Path(rel).parts[1]}", data_root / rel, {"group": group})
            for rel, group in sorted(used.items())
        ],
        test,
    )
    data = Dataset(
        "rfw",
        data_root,
        images,
        test / "txts",
        f"RFW: {len(files)} groups",
        carries=frozenset(
            {Carries.IDENTITIES, Carries.PAIR_LABELS, Carries.ATTRIBUTES} | ({Carries.FOLDS} if given else set())
        ),
    )
    return data, pairs_from_rows(data, rows, folds, test / "txts", places)


def pair_groups_of(dataset: Dataset, pairs: Pairs, attribute: str = "group") -> np.ndarray:
    """The ``attribute`` of each pair's left image (RFW: the group both images belong to)."""
    return np.array([dataset.images[i].attrs.get(attribute, "") for i in pairs.left])
