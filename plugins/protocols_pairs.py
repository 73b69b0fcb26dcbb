"""Official pair files of the standard verification sets: CFP (FP / FF), CALFW / CPLFW, RFW.

Each reader takes the benchmark's own folder as distributed and returns its images and pairs, folds included:

- CFP: ``Protocol/Pair_list_F.txt`` / ``Pair_list_P.txt`` (``index path``, paths relative to ``Protocol/``) and
  ``Protocol/Split/FP|FF/01..10/same.txt, diff.txt`` (``i,j``: 1-based indices into the frontal list, and into
  the profile list (FP) or the frontal list again (FF)); the folder number ``01..10`` is the fold.
- CALFW / CPLFW: ``pairs_*.txt``, two lines a pair (``Name_0001.jpg label``; label 0: different identities),
  6,000 pairs in 10 folds of consecutive pairs; images flat in ``aligned images/`` (or ``images/``).
- RFW: ``test/txts/<Group>/<Group>_pairs.txt`` in LFW's line format (``name a b`` / ``name1 a name2 b``, no
  header), images ``test/data/<Group>/<name>/<name>_<a:04d>.jpg``; each group's pairs in 10 consecutive folds.
  Every image carries its group as the attribute ``group`` (the fairness evaluation's input).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from bench.datasets import Carries, Dataset, DatasetError, Image, Pairs, pairs_from_rows
from facebench_plugins.protocols_bin import consecutive_folds

CFP_SPLITS = {"cfp-fp": ("FP", "Pair_list_P.txt"), "cfp-ff": ("FF", "Pair_list_F.txt")}
IMAGE_FOLDERS = ("aligned images", "aligned_images", "images")


def _lines(path: Path) -> list[list[str]]:
    try:
        return [line.replace(",", " ").split() for line in path.read_text().splitlines() if line.strip()]
    except OSError as err:
        raise DatasetError(f"cannot read {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: not a text pair list") from err


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
    for lineno, parts in enumerate(_lines(protocol / name), start=1):
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
    rows, folds = [], []
    fold_dirs = sorted(d for d in (protocol / "Split" / folder).iterdir() if d.is_dir())
    if not fold_dirs:
        raise DatasetError(f"{protocol / 'Split' / folder}: no fold folders 01..10")
    for fold, fold_dir in enumerate(fold_dirs):
        for name, same in (("same.txt", True), ("diff.txt", False)):
            for lineno, parts in enumerate(_lines(fold_dir / name), start=1):
                try:
                    rows.append((frontal[int(parts[0])], other[int(parts[1])], same))
                except (KeyError, ValueError, IndexError):
                    raise DatasetError(
                        f"{fold_dir / name}:{lineno}: expected 'i,j' indices into the pair lists"
                    ) from None
                folds.append(fold)
    return dataset, pairs_from_rows(dataset, rows, folds, protocol / "Split" / folder)


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


def read_calfw(path: Path, dataset: Dataset | None = None) -> tuple[Dataset, Pairs]:
    """CALFW / CPLFW's two-line pair file at ``path`` (or in the folder ``path``)."""
    pairs_file = _two_line_file(path)
    if pairs_file is None:
        raise DatasetError(f"{path}: no pairs_*.txt (CALFW / CPLFW pair list)")
    lines = _lines(pairs_file)
    if len(lines) % 2 or any(len(parts) != 2 for parts in lines):
        raise DatasetError(f"{pairs_file}: expected an even number of 'image label' lines (two a pair)")
    folder = next((pairs_file.parent / f for f in IMAGE_FOLDERS if (pairs_file.parent / f).is_dir()), pairs_file.parent)
    names = sorted({parts[0] for parts in lines})
    images = _checked([Image(name, _identity(name), folder / name) for name in names], pairs_file)
    data = Dataset(
        pairs_file.stem.removeprefix("pairs_").lower(),
        folder,
        images,
        pairs_file,
        "CALFW/CPLFW pairs",
        carries=frozenset({Carries.IDENTITIES, Carries.PAIR_LABELS}),
    )
    rows = [(a[0], b[0], a[1] != "0") for a, b in zip(lines[::2], lines[1::2])]
    return data, pairs_from_rows(data, rows, consecutive_folds(len(rows)).tolist(), pairs_file)


def _rfw_test(path: Path) -> Path:
    return path / "test" if (path / "test" / "txts").is_dir() else path


def sniff_rfw(path: Path) -> bool:
    """An RFW folder (or its ``test/``): ``txts/<Group>/<Group>_pairs.txt`` beside ``data/``."""
    test = _rfw_test(path)
    return (test / "data").is_dir() and any((test / "txts").glob("*/*_pairs.txt"))


def _lfw_line(parts: list[str], where: str) -> tuple[str, str, bool]:
    def image(name: str, number: str) -> str:
        return f"{name}/{name}_{int(number):04d}.jpg"

    if len(parts) == 3:
        return image(parts[0], parts[1]), image(parts[0], parts[2]), True
    if len(parts) == 4:
        return image(parts[0], parts[1]), image(parts[2], parts[3]), False
    raise DatasetError(f"{where}: expected 'name a b' or 'name1 a name2 b'")


def read_rfw(path: Path, dataset: Dataset | None = None) -> tuple[Dataset, Pairs]:
    """All RFW groups' pairs; images keyed ``<Group>/<name>/<file>``, attribute ``group``."""
    test = _rfw_test(path)
    files = sorted((test / "txts").glob("*/*_pairs.txt"))
    if not files:
        raise DatasetError(f"{test}: no txts/<Group>/<Group>_pairs.txt (RFW layout)")
    rows, folds, used = [], [], {}
    for pairs_file in files:
        group = pairs_file.parent.name
        lines = [parts for parts in _lines(pairs_file) if len(parts) != 2]  # some copies start with a 'folds n' header
        for lineno, parts in enumerate(lines, start=1):
            a, b, same = _lfw_line(parts, f"{pairs_file}:{lineno}")
            rows.append((f"{group}/{a}", f"{group}/{b}", same))
            used.update({f"{group}/{a}": group, f"{group}/{b}": group})
        folds += consecutive_folds(len(lines)).tolist()
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
        carries=frozenset({Carries.IDENTITIES, Carries.PAIR_LABELS, Carries.ATTRIBUTES}),
    )
    return data, pairs_from_rows(data, rows, folds, test / "txts")


def pair_groups_of(dataset: Dataset, pairs: Pairs, attribute: str = "group") -> np.ndarray:
    """The ``attribute`` of each pair's left image (RFW: the group both images belong to)."""
    return np.array([dataset.images[i].attrs.get(attribute, "") for i in pairs.left])
