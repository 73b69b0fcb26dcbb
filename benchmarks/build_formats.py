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
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.datasets import Dataset, Pairs, scan
from bench.faces import Face


def detect_faces(dataset: Dataset, detector: str = "retinaface-mnet", cache_dir: Path | None = None,
                 weights_dir: Path | None = None, quiet: bool = True) -> list[Face | None]:
    """The face the pipeline uses per image (cached like any detection), None where there is none."""
    from bench import plugins
    from bench.executors import LocalExecutor
    from bench.pipeline import Pipeline
    from bench.store import Store, default_cache_dir
    from bench.weights import default_weights_dir

    spec = plugins.load().detectors.get(detector)
    pipeline = Pipeline(Store(cache_dir or default_cache_dir()), weights_dir or default_weights_dir(), "skip",
                        LocalExecutor(quiet))
    return [d.face for d in pipeline.detect(dataset, spec)]


def aligned_crop(path: Path, face: Face | None, ext: str = ".jpg") -> bytes:
    """The 112x112 crop aligned on ``face``'s 5 points to the ArcFace template, encoded as insightface's .bin
    images are (OpenCV, JPEG quality 95); without a face, the centred square of the whole image."""
    import cv2

    from bench.images import decode
    from plugins.alignment import align

    image = decode(path)
    face = face or Face.whole(*image.shape[:2])
    crop, _ = align(image, face.landmarks, (face.x, face.y, face.w, face.h), "arcface112", (112, 112))
    ok, encoded = cv2.imencode(ext, crop)
    if not ok:
        raise ValueError(f"cannot encode {path} as {ext}")
    return encoded.tobytes()


def build_bin(dataset: Dataset, pairs: Pairs, faces: Sequence[Face | None], out: Path, ext: str = ".jpg") -> None:
    """insightface's .bin of ``pairs``: two aligned, encoded crops per pair, the pair order (so the folds) kept."""
    from plugins.protocols_bin import write_bin

    crops = {i: aligned_crop(dataset.images[i].path, faces[i], ext) for i in np.unique([pairs.left, pairs.right])}
    images = [crops[i] for pair in zip(pairs.left, pairs.right) for i in pair]
    write_bin(out, images, [bool(s) for s in pairs.same])


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        os.symlink(target.resolve(), link)


def _lfw(root: Path, pairs_name: str | None) -> tuple[Dataset, Pairs | None]:
    from bench import plugins, protocols

    dataset = scan(root)
    if pairs_name is None:
        return dataset, None
    return dataset, protocols.read_pairs(plugins.load().protocols, dataset, root / pairs_name)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: one sub-command per format."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=["bin"])
    parser.add_argument("root", type=Path, help="identity-per-folder dataset (LFW)")
    parser.add_argument("--pairs", default="pairs.txt", help="pair list inside root")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--detector", default="retinaface-mnet")
    parser.add_argument("--ext", default=".jpg", help="image encoding inside the .bin (.jpg as insightface, .png)")
    args = parser.parse_args(argv)
    dataset, pairs = _lfw(args.root, args.pairs)
    assert pairs is not None
    if args.format == "bin":
        build_bin(dataset, pairs, detect_faces(dataset, args.detector, quiet=False), args.out, args.ext)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
