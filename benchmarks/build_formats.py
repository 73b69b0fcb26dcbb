"""Build the standard benchmarks' file formats from an identity-per-folder dataset (LFW here), faithfully.

The real sets (insightface .bin files, CFP, CALFW/CPLFW, IJB-B/C, TinyFace, RFW) cannot be downloaded here, so
each adapter is tested on a copy of LFW written in that format and checked against the folder path on the same
pairs. The tests and this script share these builders::

    python benchmarks/build_formats.py bin ../shared/data/lfw --pairs pairs.txt --out /tmp/lfw.bin
    python benchmarks/build_formats.py ijb ../shared/data/lfw --out /tmp/IJBL --identities 400
    python benchmarks/build_formats.py cfp|calfw|rfw ../shared/data/lfw --pairs pairs.txt --out DIR
    python benchmarks/build_formats.py tinyface ../shared/data/lfw --out DIR --identities 200

Images other than the ``.bin``'s are symbolic links to the originals (same bytes, so the same cache entries).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.data.datasets import Dataset, Pairs, scan
from bench.data.faces import Face


def detect_faces(
    dataset: Dataset,
    detector: str = "retinaface-mnet",
    cache_dir: Path | None = None,
    weights_dir: Path | None = None,
    quiet: bool = True,
) -> list[Face | None]:
    """The face the pipeline uses per image (cached like any detection), None where there is none."""
    from bench import plugins
    from bench.compute.executors import LocalExecutor
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store, default_cache_dir
    from bench.compute.weights import default_weights_dir

    spec = plugins.load().detectors.get(detector)
    pipeline = Pipeline(
        Store(cache_dir or default_cache_dir()), weights_dir or default_weights_dir(), "skip", LocalExecutor(quiet)
    )
    return [d.face for d in pipeline.detect(dataset, spec)]


def aligned_crop(path: Path, face: Face | None, ext: str = ".jpg") -> bytes:
    """The 112x112 crop aligned on ``face``'s 5 points to the ArcFace template, encoded as insightface's .bin
    images are (OpenCV, JPEG quality 95); without a face, the centred square of the whole image."""
    import cv2

    from bench.compute.alignment import align
    from bench.data.images import decode

    image = decode(path)
    face = face or Face.whole(*image.shape[:2])
    crop, _ = align(image, face.landmarks, (face.x, face.y, face.w, face.h), "arcface112", (112, 112))
    ok, encoded = cv2.imencode(ext, crop)
    if not ok:
        raise ValueError(f"cannot encode {path} as {ext}")
    return encoded.tobytes()


def build_bin(dataset: Dataset, pairs: Pairs, faces: Sequence[Face | None], out: Path, ext: str = ".jpg") -> None:
    """insightface's .bin of ``pairs``: two aligned, encoded crops per pair, the pair order (so the folds) kept."""
    from facebench_plugins.protocols.protocols_bin import write_bin

    crops = {i: aligned_crop(dataset.images[i].path, faces[i], ext) for i in np.unique([pairs.left, pairs.right])}
    images = [crops[i] for pair in zip(pairs.left, pairs.right) for i in pair]
    write_bin(out, images, [bool(s) for s in pairs.same])


def fold_subset(pairs: Pairs, per_class: int) -> Pairs:
    """The first ``per_class`` same and ``per_class`` different pairs of each fold, in the list's order (a
    small View 2 whose consecutive folds are still its folds)."""
    assert pairs.folds is not None
    keep = np.zeros(len(pairs), bool)
    for fold in np.unique(pairs.folds):
        for label in (True, False):
            keep[np.flatnonzero((pairs.folds == fold) & (pairs.same == label))[:per_class]] = True
    return Pairs(pairs.left[keep], pairs.right[keep], pairs.same[keep], pairs.folds[keep], pairs.source)


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        os.symlink(target.resolve(), link)


def _pair_rels(dataset: Dataset, pairs: Pairs) -> list[tuple[str, str, bool]]:
    return [
        (dataset.images[a].rel, dataset.images[b].rel, bool(s)) for a, b, s in zip(pairs.left, pairs.right, pairs.same)
    ]


def build_calfw(dataset: Dataset, pairs: Pairs, out: Path, name: str = "LFW") -> Path:
    """CALFW / CPLFW layout: ``out/aligned images/<file>`` and ``out/pairs_<name>.txt``, two lines a pair
    (``file label``, label 1 same / 0 different); the pair order is kept, so 10 equal folds stay folds."""
    lines = []
    for a, b, same in _pair_rels(dataset, pairs):
        for rel in (a, b):
            _link(dataset.root / rel, out / "aligned images" / Path(rel).name)
            lines.append(f"{Path(rel).name} {int(same)}")
    path = out / f"pairs_{name}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def build_cfp(dataset: Dataset, pairs: Pairs, out: Path) -> Path:
    """CFP layout: every pair image listed in ``Protocol/Pair_list_F.txt`` (``Data/Images/<id>/frontal/``) and
    ``Pair_list_P.txt`` (``.../profile/``), and per fold ``Protocol/Split/FP|FF/NN/same.txt, diff.txt`` of
    1-based ``i,j`` (FP: frontal i, profile j; FF: frontal i, frontal j)."""
    assert pairs.folds is not None
    rows = _pair_rels(dataset, pairs)
    rels = sorted({rel for a, b, _ in rows for rel in (a, b)})
    number = {rel: k for k, rel in enumerate(rels, start=1)}
    protocol = out / "Protocol"
    for pose, list_name in (("frontal", "Pair_list_F.txt"), ("profile", "Pair_list_P.txt")):
        listed = []
        for rel in rels:
            target = Path("Data/Images") / Path(rel).parent / pose / Path(rel).name
            _link(dataset.root / rel, out / target)
            listed.append(f"{number[rel]} ../{target.as_posix()}")
        protocol.mkdir(parents=True, exist_ok=True)
        (protocol / list_name).write_text("\n".join(listed) + "\n")
    for split in ("FP", "FF"):
        for fold in np.unique(pairs.folds):
            folder = protocol / "Split" / split / f"{fold + 1:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            for name, label in (("same.txt", True), ("diff.txt", False)):
                chosen = [
                    f"{number[a]},{number[b]}" for (a, b, s), f in zip(rows, pairs.folds) if f == fold and s == label
                ]
                (folder / name).write_text("\n".join(chosen) + "\n")
    return out


def gender_groups(root: Path) -> dict[str, str]:
    """LFW image file name -> ``Female`` / ``Male`` from the gender lists (names in both lists left out)."""
    groups: dict[str, set[str]] = {}
    for group, list_name in (("Female", "female_names.txt"), ("Male", "male_names.txt")):
        for line in (root / list_name).read_text().split():
            groups.setdefault(line.strip(), set()).add(group)
    return {name: next(iter(found)) for name, found in groups.items() if len(found) == 1}


def rfw_subset(dataset: Dataset, pairs: Pairs, groups: dict[str, str]) -> tuple[Pairs, list[str]]:
    """The pairs whose two images share a group (RFW's pairs are within a group), and that group per pair."""
    keep, labels = [], []
    for k, (a, b) in enumerate(zip(pairs.left, pairs.right)):
        ga, gb = groups.get(dataset.images[a].path.name), groups.get(dataset.images[b].path.name)
        if ga is not None and ga == gb:
            keep.append(k)
            labels.append(ga)
    idx = np.array(keep, dtype=int)
    return Pairs(pairs.left[idx], pairs.right[idx], pairs.same[idx], None, pairs.source), labels


def build_rfw(dataset: Dataset, pairs: Pairs, groups: list[str], out: Path) -> Path:
    """RFW layout: ``out/test/txts/<G>/<G>_pairs.txt`` (LFW lines, no header) and ``out/test/data/<G>/<name>/``,
    one group per pair (see :func:`rfw_subset`); pairs keep their order within a group."""
    lines: dict[str, list[str]] = {}
    for (a, b, same), group in zip(_pair_rels(dataset, pairs), groups):
        for rel in (a, b):
            _link(dataset.root / rel, out / "test" / "data" / group / rel)
        (na, fa), (nb, fb) = (_name_number(a), _name_number(b))
        lines.setdefault(group, []).append(f"{na}\t{fa}\t{fb}" if same else f"{na}\t{fa}\t{nb}\t{fb}")
    for group, text in lines.items():
        folder = out / "test" / "txts" / group
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{group}_pairs.txt").write_text("\n".join(text) + "\n")
    return out


def _name_number(rel: str) -> tuple[str, int]:
    """``Name/Name_0004.jpg`` -> (``Name``, 4)."""
    stem = Path(rel).stem
    name, _, number = stem.rpartition("_")
    return name, int(number)


def _by_identity(dataset: Dataset, minimum: int, limit: int | None) -> list[list[int]]:
    """Image indices per identity with at least ``minimum`` images, the first ``limit`` identities by name."""
    by: dict[str, list[int]] = {}
    for i, img in enumerate(dataset.images):
        by.setdefault(img.identity, []).append(i)
    chosen = [by[name] for name in sorted(by) if len(by[name]) >= minimum]
    return chosen[:limit] if limit is not None else chosen


def build_ijb(
    dataset: Dataset, faces: Sequence[Face | None], out: Path, identities: int | None = None, prefix: str = "ijbl"
) -> Path:
    """IJB meta layout from identities with 2+ images (each with a detected face): two templates per identity
    (even / odd images), media of two consecutive images of a template (a "video"), the detector's 5 points and
    confidence as faceness; template pairs: each identity's two templates (genuine) and every first template
    against every other identity's second (impostor)."""
    from bench.compute.alignment import five_points

    usable = [i for i, face in enumerate(faces) if face is not None and five_points(face.landmarks) is not None]
    kept = dataclasses.replace(dataset, images=[dataset.images[i] for i in usable])
    kept_faces = [faces[i] for i in usable]
    tid_mid, points, firsts, seconds = [], [], [], []
    template, media = 0, 0
    for members in _by_identity(kept, 2, identities):
        pair_ids = []
        for half in (members[0::2], members[1::2]):
            template += 1
            pair_ids.append(template)
            for k, i in enumerate(half):
                media += k % 2 == 0
                name = f"{template}_{k}.jpg"
                _link(kept.images[i].path, out / "loose_crop" / name)
                tid_mid.append(f"{name} {template} {media}")
                face = kept_faces[i]
                assert face is not None
                xy = " ".join(f"{v:.3f}" for v in five_points(face.landmarks).ravel())  # type: ignore[union-attr]
                points.append(f"{name} {xy} {face.confidence:.4f}")
        firsts.append(pair_ids[0])
        seconds.append(pair_ids[1])
    labels = [f"{a} {b} {int(ia == ib)}" for ia, a in enumerate(firsts) for ib, b in enumerate(seconds)]
    meta = out / "meta"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / f"{prefix}_face_tid_mid.txt").write_text("\n".join(tid_mid) + "\n")
    (meta / f"{prefix}_name_5pts_score.txt").write_text("\n".join(points) + "\n")
    (meta / f"{prefix}_template_pair_label.txt").write_text("\n".join(labels) + "\n")
    return out


def build_tinyface(dataset: Dataset, out: Path, identities: int | None = None) -> Path:
    """TinyFace layout: per identity with 2+ images, its first image in ``Gallery_Match`` and the rest in
    ``Probe`` (``<k>_<n>.jpg``, k numbering identities); single-image identities as ``Gallery_Distractor``."""
    test = out / "Testing_Set"
    for k, members in enumerate(_by_identity(dataset, 2, identities), start=1):
        for n, i in enumerate(members):
            folder = "Gallery_Match" if n == 0 else "Probe"
            _link(dataset.images[i].path, test / folder / f"{k}_{n}{dataset.images[i].path.suffix}")
    singles = [m[0] for m in _by_identity(dataset, 1, None) if len(m) == 1][:identities]
    for n, i in enumerate(singles):
        _link(dataset.images[i].path, test / "Gallery_Distractor" / f"d{n}{dataset.images[i].path.suffix}")
    return out


def _lfw(root: Path, pairs_name: str | None) -> tuple[Dataset, Pairs | None]:
    from bench import plugins, protocols

    dataset = scan(root)
    if pairs_name is None:
        return dataset, None
    return dataset, protocols.read_pairs(plugins.load().protocols, dataset, root / pairs_name)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: one sub-command per format."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=["bin", "cfp", "calfw", "rfw", "ijb", "tinyface"])
    parser.add_argument("root", type=Path, help="identity-per-folder dataset (LFW)")
    parser.add_argument("--pairs", default="pairs.txt", help="pair list inside root")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--detector", default="retinaface-mnet")
    parser.add_argument("--identities", type=int, help="ijb, tinyface: at most this many identities (by name)")
    parser.add_argument("--ext", default=".jpg", help="image encoding inside the .bin (.jpg as insightface, .png)")
    args = parser.parse_args(argv)
    if args.format in ("ijb", "tinyface"):
        dataset = scan(args.root)
        if args.format == "ijb":
            build_ijb(dataset, detect_faces(dataset, args.detector, quiet=False), args.out, args.identities)
        else:
            build_tinyface(dataset, args.out, args.identities)
        print(f"wrote {args.out}")
        return
    dataset, pairs = _lfw(args.root, args.pairs)
    assert pairs is not None
    if args.format == "bin":
        build_bin(dataset, pairs, detect_faces(dataset, args.detector, quiet=False), args.out, args.ext)
    elif args.format == "cfp":
        build_cfp(dataset, pairs, args.out)
    elif args.format == "calfw":
        build_calfw(dataset, pairs, args.out)
    elif args.format == "rfw":
        build_rfw(dataset, *rfw_subset(dataset, pairs, gender_groups(args.root)), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
