"""Run folders: the one place that knows a run folder's format.

A :class:`Run` owns ``results/<run-id>/`` while it is written: the manifest (with a schema version), every table
(rewritten after each unit of work, atomically), every plot, and the final status -- ``complete``, ``incomplete``,
or ``failed`` with the error (and its traceback in ``error.log``). The manifest is written twice: ``running`` at the
start and its final state at the end; ``progress.json`` says how far a run got while it runs. :class:`SavedRun`
reads a folder back for ``bench report`` and ``bench compare``: which tables a run holds, what identifies their
rows and which columns are its figures are all recorded in the manifest.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

import bench
from bench.compute.store import atomic_write
from bench.errors import BenchError

SCHEMA_VERSION = 2
MANIFEST = "manifest.json"
PROGRESS = "progress.json"
ERROR_LOG = "error.log"
PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "opencv-python",
    "opencv-contrib-python-headless",
    "deepface",
    "tensorflow",
    "tf-keras",
    "onnxruntime",
    "dlib-bin",
    "mtcnn",
    "pluggy",
    "click",
)
OUTPUT_SUFFIXES = (".csv", ".png", ".html", ".md", ".json", ".npy", ".parquet", ".log")
"""What a run writes; ``--overwrite`` clears these so no stale file of an earlier run survives."""


class Figure(Protocol):
    """What a run can draw: a file name and the PNG bytes (``bench.report.figures.Plot`` is one)."""

    @property
    def name(self) -> str:
        """The PNG's file name in the run folder."""
        ...

    def png(self, cache: Path | None) -> bytes:
        """The PNG, copied from ``cache`` when it was drawn before."""
        ...


class RunExists(BenchError):
    """The run folder exists and the user did not ask to overwrite it."""


class NotARun(BenchError):
    """A folder that is not a facebench run (no manifest.json)."""


@dataclass(frozen=True)
class TableInfo:
    """What the manifest records of a table: its description, row keys and figure columns."""

    description: str = ""
    keys: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()


def _git_commit() -> str | None:
    root = Path(bench.__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
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


def write_json(path: Path, data: Any) -> None:
    """Atomic pretty JSON."""
    atomic_write(path, (json.dumps(data, indent=2, default=str) + "\n").encode())


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Atomic CSV without the index."""
    atomic_write(path, frame.to_csv(index=False).encode())


def write_file(path: Path, data: bytes | str | pd.DataFrame) -> Path:
    """Atomic file: a frame as CSV, text as UTF-8, bytes as they are (e.g. a report beside a saved run)."""
    if isinstance(data, pd.DataFrame):
        write_csv(path, data)
    else:
        atomic_write(path, data.encode() if isinstance(data, str) else data)
    return path


def _folder(output: Path, command: str, run_id: str | None, overwrite: bool) -> Path:
    if run_id is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id, suffix = f"{stamp}-{command}", 1
        while (output / run_id).exists():
            suffix += 1
            run_id = f"{stamp}-{command}-{suffix}"
    path = output / run_id
    if path.exists() and not overwrite:
        raise RunExists(f"run folder {path} already exists; choose another --run-id or pass --overwrite")
    if path.exists():
        for old in path.iterdir():
            if old.is_file() and old.suffix in OUTPUT_SUFFIXES:
                old.unlink()
            elif old.is_dir() and old.name == "suite":
                shutil.rmtree(old)
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Run:
    """A run being written. Create with :meth:`create`; close with :meth:`finish` or :meth:`fail`."""

    path: Path
    manifest: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    figure_cache: Path | None = None  # where drawn figures are kept (see bench.figures)

    @classmethod
    def create(
        cls,
        output: Path,
        command: str,
        run_id: str | None = None,
        overwrite: bool = False,
        request: dict[str, Any] | None = None,
        figure_cache: Path | None = None,
    ) -> Run:
        """A fresh run folder (an existing one only with ``overwrite``, cleared first) and a ``running`` manifest."""
        path = _folder(Path(output), command, run_id, overwrite)
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "command": command,
            "status": "running",
            "argv": sys.argv,
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "facebench_version": bench.__version__,
            "git_commit": _git_commit(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": _versions(),
            "request": request or {},
            "tables": {},
            "plots": [],
        }
        run = cls(path, manifest, figure_cache=figure_cache)
        run.save()
        return run

    @property
    def name(self) -> str:
        """The run id (the folder name)."""
        return self.path.name

    def save(self) -> None:
        """Write the manifest as it stands."""
        write_json(self.path / MANIFEST, self.manifest)

    def record(self, **entries: Any) -> None:
        """Set manifest entries (written when the run closes)."""
        self.manifest.update(entries)

    def progress(self, done: int, total: int, what: str) -> None:
        """Say atomically in ``progress.json`` how far the run got (``what``: the unit just finished)."""
        write_json(self.path / PROGRESS, {"done": done, "total": total, "last": what})

    def write_file(self, name: str, data: bytes | str | pd.DataFrame) -> Path:
        """Write a file of the run that is not a declared table (a data CSV, an HTML page) atomically."""
        return write_file(self.path / name, data)

    def declare(self, name: str, info: TableInfo) -> None:
        """Say in the manifest what table ``name`` holds (before or when it is first written)."""
        self.manifest["tables"][name] = {
            "description": info.description,
            "keys": list(info.keys),
            "figures": list(info.figures),
        }

    def append(self, name: str, rows: list[dict[str, Any]]) -> None:
        """Add rows to table ``name`` and rewrite its CSV at once (an interrupted run keeps what finished)."""
        self.rows.setdefault(name, []).extend(rows)
        self.write_table(name, pd.DataFrame(self.rows[name]))

    def write_table(self, name: str, frame: pd.DataFrame) -> Path:
        """Write ``<name>.csv`` whole."""
        self.manifest["tables"].setdefault(name, {"description": "", "keys": [], "figures": []})
        path = self.path / f"{name}.csv"
        write_csv(path, frame)
        return path

    def table(self, name: str) -> pd.DataFrame:
        """A table written in this run (empty if none)."""
        return pd.DataFrame(self.rows.get(name, []))

    def plot(self, figure: Figure) -> Path:
        """Draw ``figure`` (or copy it from the figure cache) into the folder and list it in the manifest."""
        path = self.write_file(figure.name, figure.png(self.figure_cache))
        if figure.name not in self.manifest["plots"]:
            self.manifest["plots"].append(figure.name)
        return path

    def plots(self, figures: Sequence[Figure]) -> list[Path]:
        """:meth:`plot` each."""
        return [self.plot(f) for f in figures]

    def close(self, status: str, **entries: Any) -> None:
        """Close the record: the final status, wall time and any last entries, written once."""
        self.record(**entries, status=status, wall_seconds=round(time.perf_counter() - self.started, 2))
        self.save()
        (self.path / PROGRESS).unlink(missing_ok=True)

    def finish(self, **entries: Any) -> None:
        """Close the record as ``complete``."""
        self.close("complete", **entries)

    def fail(self, error: BaseException) -> Path:
        """Close the record as ``failed`` with the error's first line; its traceback goes to ``error.log``."""
        reason = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
        log = self.write_file(ERROR_LOG, "".join(traceback.format_exception(error)))
        self.close("failed", error=reason, error_log=log.name)
        return log


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

    def info(self, table: str) -> TableInfo:
        """The manifest's description, keys and figures of ``table``."""
        raw = self.manifest.get("tables", {}).get(table, {})
        return TableInfo(raw.get("description", ""), tuple(raw.get("keys", ())), tuple(raw.get("figures", ())))


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def read_run(path: Path) -> SavedRun:
    """Load a run folder written by any command: the tables and plots its manifest lists."""
    manifest_path = Path(path) / MANIFEST
    if not manifest_path.is_file():
        raise NotARun(f"{path} is not a run folder (no {MANIFEST}); pass a folder under results/")
    manifest = json.loads(manifest_path.read_text())
    names = manifest.get("tables") or {
        p.stem: {} for p in sorted(Path(path).glob("*.csv")) if not p.stem.startswith(("pivot_", "similarity_"))
    }
    tables = {name: _read_table(path / f"{name}.csv") for name in names if (path / f"{name}.csv").is_file()}
    listed = manifest.get("plots")
    plots = [path / p for p in listed if (path / p).is_file()] if listed is not None else sorted(path.glob("*.png"))
    return SavedRun(Path(path), manifest, tables, plots)


def read_run_table(path: Path, table: str, error: type[BenchError], missing: str) -> tuple[SavedRun, pd.DataFrame]:
    """A saved run and its ``table``; ``error`` with the run's own message when ``path`` is not a run, and
    ``f"{path} {missing}"`` when the table is absent or empty."""
    try:
        saved = read_run(path)
    except NotARun as err:
        raise error(str(err)) from err
    found = saved.tables.get(table)
    if found is None or found.empty:
        raise error(f"{path} {missing}")
    return saved, found
