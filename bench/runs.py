"""Run folders: a fresh ``results/<run-id>/`` per run, its manifest, and atomic result files."""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

import bench
from bench.errors import BenchError
from bench.store import atomic_write

PACKAGES = ("numpy", "pandas", "scikit-learn", "opencv-python", "opencv-contrib-python-headless", "deepface",
            "tensorflow", "tf-keras", "onnxruntime", "dlib-bin", "mtcnn", "pluggy", "click")


class RunExists(BenchError):
    """The run folder exists and the user did not ask to overwrite it."""


def new_run_dir(output: Path, command: str, run_id: str | None, overwrite: bool) -> Path:
    """Create ``output/<run-id>``; an existing one is an error unless ``overwrite``."""
    if run_id is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{command}"
        suffix = 1
        while (output / run_id).exists():
            suffix += 1
            run_id = f"{stamp}-{command}-{suffix}"
    path = output / run_id
    if path.exists() and not overwrite:
        raise RunExists(f"run folder {path} already exists; choose another --run-id or pass --overwrite")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _git_commit() -> str | None:
    root = Path(bench.__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def manifest_base(command: str) -> dict[str, Any]:
    """What every manifest records about the tool and the machine."""
    return {
        "command": command,
        "argv": sys.argv,
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "facebench_version": bench.__version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": _versions(),
    }


def write_json(path: Path, data: Any) -> None:
    """Atomic pretty JSON."""
    atomic_write(path, (json.dumps(data, indent=2, default=str) + "\n").encode())


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Atomic CSV without the index."""
    atomic_write(path, frame.to_csv(index=False).encode())


RESULT_TABLES = ("accuracy", "identify", "robustness", "similarity", "quality", "failures", "unavailable")
"""The long-format CSVs a run folder may hold, in the order reports show them."""


class NotARun(BenchError):
    """A folder that is not a facebench run (no manifest.json)."""


@dataclass
class SavedRun:
    """A run folder as saved: its manifest, its result tables, its plots. Nothing is recomputed."""

    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    plots: list[Path]

    @property
    def name(self) -> str:
        """The run id (the folder name)."""
        return self.path.name


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def read_run(path: Path) -> SavedRun:
    """Load a run folder written by any command."""
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise NotARun(f"{path} is not a run folder (no manifest.json)")
    tables = {name: _read_table(path / f"{name}.csv") for name in RESULT_TABLES if (path / f"{name}.csv").is_file()}
    return SavedRun(path, json.loads(manifest_path.read_text()), tables, sorted(path.glob("*.png")))
