"""Detector agreement on real LFW photos: each ONNX re-implementation against its reference, and every new
detector's face-found rate and speed.

``python benchmarks/detector_agreement.py`` detects faces on ``--n`` LFW deep-funneled images (evenly spaced in the
sorted file list) with each detector, one thread, and writes ``--out`` (Markdown):

- agreement of a detector with its reference on the images where both find a face: the largest faces' box IoU
  (mean, % >= 0.5) and the mean landmark error (pixel distance / the reference's inter-ocular distance, over the
  landmarks both give): ``mtcnn-onnx`` vs the ``mtcnn`` package (TensorFlow) at the same thresholds
  (0.6/0.7/0.7), fp32 ``yunet`` vs ``yunet-int8bq`` (both DeepFace's YuNet), ``blazeface`` vs MediaPipe's own
  short-range BlazeFace (``mediapipe==0.10.21`` run by ``--mediapipe-python``, a separate environment: it needs
  numpy < 2), and every detector vs ``retinaface-mnet``;
- per detector: faces found (after its screening: ``min_confidence``, ``min_face_size``) and ms/image.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared"
DETECTORS = ("retinaface-mnet", "retinaface-mbv2", "mtcnn-onnx", "blazeface", "blazeface-back", "rfb320")
DETECTORS += ("yunet", "yunet-int8bq")
PAIRS = (
    ("mtcnn-onnx", "mtcnn (package, TF)"),
    ("yunet", "yunet-int8bq"),
    ("blazeface", "mediapipe (0.10.21)"),
    *((name, "retinaface-mnet") for name in DETECTORS[1:]),
    ("mtcnn (package, TF)", "retinaface-mnet"),
    ("mediapipe (0.10.21)", "retinaface-mnet"),
)
Detection = dict[str, Any]  # {"box": [x, y, w, h], "landmarks": {name: [x, y]}} of the largest face, or {}


def images(root: Path, n: int) -> list[Path]:
    """``n`` images evenly spaced in the sorted list of LFW's files."""
    paths = sorted(root.glob("*/*.jpg"))
    if len(paths) < n:
        raise SystemExit(f"{root}: {len(paths)} images, fewer than --n {n}")
    return [paths[i] for i in np.linspace(0, len(paths) - 1, n).round().astype(int)]


def _largest(faces: list[Any]) -> Detection:
    if not faces:
        return {}
    face = max(faces, key=lambda f: f.area)
    return {"box": [face.x, face.y, face.w, face.h], "landmarks": {k: list(v) for k, v in face.landmarks.items()}}


def run_facebench(name: str, paths: list[Path], weights: Path) -> tuple[list[Detection], float]:
    """Largest screened face per image and ms/image for a facebench detector."""
    from bench import plugins
    from bench.data.images import decode

    spec = plugins.load().detectors.get(name)
    detector = spec.build(weights)
    low, small = spec.settings["min_confidence"], spec.settings["min_face_size"]
    decoded = [decode(p) for p in paths]
    detector.detect(decoded[0])  # warm-up
    out, start = [], time.perf_counter()
    for image in decoded:
        faces = [f for f in detector.detect(image) if f.confidence >= low and min(f.w, f.h) >= small]
        out.append(_largest(faces))
    return out, 1000 * (time.perf_counter() - start) / len(paths)


def run_mtcnn_package(paths: list[Path]) -> tuple[list[Detection], float]:
    """The ``mtcnn`` package (TensorFlow) at MTCNN's published thresholds, unrounded (its numpy output: image id,
    x, y, w, h, score, 5 x, 5 y with the image-left eye and mouth corner first)."""
    import cv2
    from mtcnn import MTCNN

    names = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")  # person-centred
    model = MTCNN()
    rgbs = [cv2.imread(str(p))[:, :, ::-1] for p in paths]
    model.detect_faces(rgbs[0], threshold_onet=0.7)
    out, start = [], time.perf_counter()
    for rgb in rgbs:
        rows = np.asarray(model.detect_faces(rgb, threshold_onet=0.7, output_type="numpy"), dtype=np.float64)
        best = rows[np.argmax(rows[:, 3] * rows[:, 4])] if len(rows) else None
        out.append(
            {
                "box": best[1:5].tolist(),
                "landmarks": {name: [best[6 + k], best[11 + k]] for k, name in enumerate(names)},
            }
            if best is not None
            else {}
        )
    return out, 1000 * (time.perf_counter() - start) / len(paths)


def mediapipe_worker(list_file: Path) -> None:
    """Run inside the mediapipe environment: MediaPipe's short-range BlazeFace on each listed image, JSON out."""
    import cv2
    import mediapipe as mp  # type: ignore[import-not-found]

    paths = list_file.read_text().split("\n")
    rgbs = [cv2.imread(p)[:, :, ::-1].copy() for p in paths]
    out = []
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as model:
        model.process(rgbs[0])
        start = time.perf_counter()
        for rgb in rgbs:
            h, w = rgb.shape[:2]
            found = model.process(rgb).detections or []
            boxes = [d.location_data.relative_bounding_box for d in found]
            if not found:
                out.append({})
                continue
            i = int(np.argmax([b.width * b.height for b in boxes]))
            b, points = boxes[i], found[i].location_data.relative_keypoints
            marks = {
                name: [points[k].x * w, points[k].y * h] for k, name in enumerate(("right_eye", "left_eye", "nose"))
            }
            out.append({"box": [b.xmin * w, b.ymin * h, b.width * w, b.height * h], "landmarks": marks})
        ms = 1000 * (time.perf_counter() - start) / len(rgbs)
    print(json.dumps({"detections": out, "ms": ms}))


def run_mediapipe(paths: list[Path], python: Path) -> tuple[list[Detection], float] | str:
    """MediaPipe's detections through ``python`` (its own environment), or why they could not be had."""
    if not python.is_file():
        return f"no mediapipe environment at {python}"
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "images.txt"
        listing.write_text("\n".join(str(p) for p in paths))
        command = [str(python), __file__, "--mediapipe-worker", str(listing)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        return f"mediapipe worker failed: {done.stderr.strip().splitlines()[-1:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["detections"], float(result["ms"])


def iou(a: list[float], b: list[float]) -> float:
    """IoU of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def landmark_error(ours: Detection, ref: Detection) -> float | None:
    """Mean distance of the shared landmarks over the reference's inter-ocular distance; None without both eyes."""
    theirs = ref["landmarks"]
    shared = [k for k in ours["landmarks"] if k in theirs]
    if not {"left_eye", "right_eye"} <= set(theirs) or not shared:
        return None
    eyes = float(np.linalg.norm(np.subtract(theirs["left_eye"], theirs["right_eye"])))
    return float(np.mean([np.linalg.norm(np.subtract(ours["landmarks"][k], theirs[k])) for k in shared])) / eyes


def agreement(a: list[Detection], b: list[Detection]) -> dict[str, Any]:
    """IoU and landmark-error figures over the images where both found a face."""
    both = [(x, y) for x, y in zip(a, b) if x and y]
    ious = np.array([iou(x["box"], y["box"]) for x, y in both])
    errors = [e for e in (landmark_error(x, y) for x, y in both) if e is not None]
    shared = sorted(set.intersection(*(set(x["landmarks"]) & set(y["landmarks"]) for x, y in both))) if both else []
    return {
        "n_both": len(both),
        "iou_mean": float(ious.mean()) if len(ious) else None,
        "iou_ge_05": float((ious >= 0.5).mean()) if len(ious) else None,
        "lm_error": float(np.mean(errors)) if errors else None,
        "lm_n": len(errors),
        "landmarks": shared,
    }


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def report(results: dict[str, tuple[list[Detection], float]], notes: list[str], n: int) -> str:
    """The Markdown page."""
    lines = [
        f"# Detector agreement on LFW ({n} deep-funneled images, evenly spaced in the sorted file list)",
        "",
        "Produced by `python benchmarks/detector_agreement.py` (one thread per detector; the machine's 2 cores were"
        " shared with other jobs at a load average near 20, so ms/image is only indicative). Largest face per image"
        " after each detector's screening (`min_confidence`, `min_face_size`). Landmark error: mean pixel distance"
        " over the landmarks both give, divided by the reference's inter-ocular distance (images where both found"
        " a face).",
        "",
        "## Agreement",
        "",
        "| detector | reference | images both found | box IoU mean | IoU >= 0.5 | landmark error (IOD) | landmarks |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for a, b in PAIRS:
        if a not in results or b not in results:
            continue
        g = agreement(results[a][0], results[b][0])
        lines.append(
            f"| `{a}` | `{b}` | {g['n_both']} | {_fmt(g['iou_mean'], '.3f')} | "
            f"{_fmt(None if g['iou_ge_05'] is None else 100 * g['iou_ge_05'], '.1f')} % | "
            f"{_fmt(g['lm_error'], '.4f')} | {', '.join(g['landmarks']) or 'none'} |"
        )
    lines += ["", "## Faces found and speed", "", "| detector | faces found | ms/image |", "|---|---:|---:|"]
    for name, (found, ms) in results.items():
        rate = sum(bool(d) for d in found)
        lines.append(f"| `{name}` | {rate}/{n} ({100 * rate / n:.1f} %) | {ms:.1f} |")
    return "\n".join([*lines, "", *notes, ""])


def main() -> None:
    """Parse arguments and write the page."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lfw", type=Path, default=SHARED / "data" / "lfw")
    parser.add_argument("--weights-dir", type=Path, default=SHARED / "weights")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--mediapipe-python", type=Path, default=Path("/work/mp-venv/bin/python"))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "detectors-lfw.md")
    parser.add_argument("--mediapipe-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mediapipe_worker:
        mediapipe_worker(args.mediapipe_worker)
        return
    import cv2

    cv2.setNumThreads(1)
    paths = images(args.lfw, args.n)
    results = {name: run_facebench(name, paths, args.weights_dir) for name in DETECTORS}
    results["mtcnn (package, TF)"] = run_mtcnn_package(paths)
    notes = []
    mediapipe = run_mediapipe(paths, args.mediapipe_python)
    if isinstance(mediapipe, str):
        notes.append(f"MediaPipe's own BlazeFace was not compared: {mediapipe}.")
    else:
        results["mediapipe (0.10.21)"] = mediapipe
        notes.append(
            "MediaPipe: `mp.solutions.face_detection` (model_selection=0, the short-range model, min confidence 0.5)"
            f" in its own environment ({args.mediapipe_python}); its box is MediaPipe's, keypoints eyes and nose."
        )
    args.out.write_text(report(results, notes, args.n))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
