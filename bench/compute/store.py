"""The on-disk cache: detections as JSON and embeddings as .npy, keyed by content, written atomically."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.data.images import UNREADABLE_KEY

CACHE_ENV = "BENCH_CACHE_DIR"
_VECTOR_HEADER = re.compile(
    rb"\x93NUMPY\x01\x00(..)\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+),\), \} *\n", re.DOTALL
)
"""The header ``np.save`` writes before a 1-D float32 vector (what :meth:`Store.put_vector` stores)."""


def default_cache_dir() -> Path:
    """``$BENCH_CACHE_DIR``, else ``~/.cache/facebench``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "facebench").expanduser()


def key_of(data: Any) -> str:
    """A short stable hash of a JSON-able description (plugin settings, weight hashes...)."""
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@functools.lru_cache(maxsize=64)
def _npy_header(shape: tuple[int, ...]) -> bytes:
    """The bytes ``np.save`` writes before a float32 array of ``shape`` (one per embedding size, made once)."""
    return _npy_bytes(np.zeros(shape, dtype="<f4"))[: -4 * int(np.prod(shape))]


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and a rename. The temp name is this process's
    and thread's (one open call, no random names to try; the umask applies as to any file); a leftover of a
    crashed writer with the same pid is replaced."""
    tmp = f"{path.parent}/.{path.name}.{os.getpid()}-{threading.get_ident()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    try:  # the folder usually exists: a mkdir call per write only when it does not
        fd = os.open(tmp, flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FileHashes:
    """sha256 of files across runs, kept in one JSON file keyed by path with the size, mtime and inode it had (as
    git's index does): a file changed or replaced gets a new stamp, so it is hashed again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.known: dict[str, list[Any]] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.changed = False

    def sha256(self, file: Path, compute: Callable[[Path], str]) -> str:
        """``compute(file)``, or the hash kept for it while its stamp is unchanged (unstattable: always computed)."""
        try:
            st = os.stat(file)
        except OSError:
            return compute(file)
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        kept = self.known.get(str(file))
        if kept is not None and kept[:3] == stamp:
            return str(kept[3])
        sha = compute(file)
        if not sha.startswith(UNREADABLE_KEY):  # a file that could not be read is tried again next time
            self.known[str(file)] = [*stamp, sha]
            self.changed = True
        return sha

    def save(self) -> None:
        """Write the file if a hash was added (a read-only cache keeps working, unkept)."""
        if self.changed:
            with contextlib.suppress(OSError):
                atomic_write(self.path, json.dumps(self.known).encode())
            self.changed = False


class Sink(Protocol):
    """Where computed results go: the cache folder (:class:`Store`), or :class:`Entries` for another process to
    write."""

    def put_json(self, kind: str, namespace: str, image_sha: str, record: dict[str, Any]) -> None:
        """Keep a JSON record."""
        ...

    def put_vector(self, namespace: str, image_sha: str, vector: np.ndarray) -> None:
        """Keep an embedding."""
        ...


@dataclass
class Entries:
    """Results held in memory (a Ray worker's, sent back to the driver, which writes the cache as its only writer:
    no node needs the cache folder)."""

    records: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    vectors: list[tuple[str, str, np.ndarray]] = field(default_factory=list)

    def put_json(self, kind: str, namespace: str, image_sha: str, record: dict[str, Any]) -> None:
        """Keep a JSON record."""
        self.records.append((kind, namespace, image_sha, record))

    def put_vector(self, namespace: str, image_sha: str, vector: np.ndarray) -> None:
        """Keep an embedding (as float32, what :meth:`Store.put_vector` writes)."""
        self.vectors.append((namespace, image_sha, np.asarray(vector, dtype=np.float32)))

    def write(self, store: Sink) -> None:
        """Put every kept result into ``store``."""
        for kind, namespace, sha, record in self.records:
            store.put_json(kind, namespace, sha, record)
        for namespace, sha, vector in self.vectors:
            store.put_vector(namespace, sha, vector)


class Store:
    """One cache folder; entries are immutable once written, so concurrent writers cannot conflict."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, kind: str, namespace: str, image_sha: str, suffix: str) -> str:
        """An entry's file, as a str: building a Path per entry costs as much as reading the entry."""
        return f"{self.root}/{kind}/{namespace}/{image_sha[:2]}/{image_sha}{suffix}"

    def get_json(self, kind: str, namespace: str, image_sha: str) -> dict[str, Any] | None:
        """A cached JSON record, or None when absent or unreadable."""
        try:
            with open(self._path(kind, namespace, image_sha, ".json"), "rb") as handle:
                return json.loads(handle.read())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return None

    def put_json(self, kind: str, namespace: str, image_sha: str, record: dict[str, Any]) -> None:
        """Store a JSON record."""
        atomic_write(Path(self._path(kind, namespace, image_sha, ".json")), json.dumps(record).encode())

    def get_vector(self, namespace: str, image_sha: str) -> np.ndarray | None:
        """A cached embedding, or None (never unpickles)."""
        try:
            with open(self._path("embeddings", namespace, image_sha, ".npy"), "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        header = _VECTOR_HEADER.match(data)
        if (
            header is not None
            and header.end() == 10 + int.from_bytes(header[1], "little")
            and len(data) == header.end() + 4 * int(header[2])
        ):
            return np.frombuffer(data, "<f4", offset=header.end()).copy()
        try:  # any other .npy (or a damaged one): numpy's own reader
            return np.load(io.BytesIO(data), allow_pickle=False)  # type: ignore[no-any-return]
        except ValueError:
            return None

    def put_vector(self, namespace: str, image_sha: str, vector: np.ndarray) -> None:
        """Store an embedding as float32 .npy."""

        flat = np.ascontiguousarray(vector, dtype="<f4")
        data = _npy_header(flat.shape) + flat.tobytes() if flat.ndim == 1 else _npy_bytes(flat)
        atomic_write(Path(self._path("embeddings", namespace, image_sha, ".npy")), data)

    def results(self) -> dict[str, bytes]:
        """Every cached result file's bytes by its path under the root (detections, embeddings; timing records
        are measurements, not results): what two caches must share to hold the same results."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for kind in ("detections", "embeddings")
            for p in sorted((self.root / kind).rglob("*"))
            if p.is_file()
        }

    def _timing_path(self, namespace: str) -> Path:
        return self.root / "timings" / f"{namespace}.json"

    def timing(self, namespace: str) -> dict[str, float] | None:
        """Items computed into ``namespace`` so far and the seconds they took (kept so warm runs can show speed),
        and the CPU-seconds of the items whose CPU time was recorded (``cpu_computed`` of them; older records
        have none)."""
        try:
            record = json.loads(self._timing_path(namespace).read_text())
            return {
                "computed": int(record["computed"]),
                "seconds": float(record["seconds"]),
                "cpu_computed": int(record.get("cpu_computed", 0)),
                "cpu_seconds": float(record.get("cpu_seconds", 0.0)),
            }
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def add_timing(self, namespace: str, computed: int, seconds: float, cpu_seconds: float | None = None) -> None:
        """Add computed items and their seconds (and CPU-seconds) to the namespace's timing record (last writer
        wins on a race)."""
        record = self.timing(namespace) or {"computed": 0, "seconds": 0.0, "cpu_computed": 0, "cpu_seconds": 0.0}
        record["computed"] += computed
        record["seconds"] += seconds
        if cpu_seconds is not None:
            record["cpu_computed"] += computed
            record["cpu_seconds"] += cpu_seconds
        atomic_write(self._timing_path(namespace), json.dumps(record).encode())
