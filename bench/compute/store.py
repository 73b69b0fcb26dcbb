"""The on-disk cache: detections as JSON per image and embeddings as .npy packs per model call, keyed by content,
written atomically."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from bench.data.images import UNREADABLE_KEY

CACHE_ENV = "BENCH_CACHE_DIR"
PACK_PREFIX = "pack-"
"""File names of embedding packs in a namespace folder: ``pack-<hash of their keys>.npy``."""


def default_cache_dir() -> Path:
    """``$BENCH_CACHE_DIR``, else ``~/.cache/facebench``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "facebench").expanduser()


def key_of(data: Any) -> str:
    """A short stable hash of a JSON-able description (plugin settings, weight hashes...)."""
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def pack_bytes(keys: Sequence[str], vectors: np.ndarray, qualities: np.ndarray | None = None) -> bytes:
    """One pack: a structured .npy with a row per face (``key``, ``vector`` float32[, ``quality``]), which
    ``np.load`` reads without pickle."""
    encoded = [k.encode() for k in keys]
    fields = [("key", f"S{max(map(len, encoded), default=1)}"), ("vector", "<f4", (vectors.shape[1],))]
    rows = np.empty(len(keys), dtype=fields + ([("quality", "<f4")] if qualities is not None else []))
    rows["key"], rows["vector"] = encoded, vectors
    if qualities is not None:
        rows["quality"] = qualities
    buffer = io.BytesIO()
    np.save(buffer, rows, allow_pickle=False)
    return buffer.getvalue()


def _read_pack(path: str) -> np.ndarray | None:
    """A pack's rows, or None when unreadable, damaged, pickled or not a pack."""
    try:
        rows = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(rows, np.ndarray):  # an .npz archive under a pack's name
        return None
    names = rows.dtype.names or ()
    if rows.ndim != 1 or "key" not in names or "vector" not in names or rows.dtype["vector"].ndim != 1:
        return None
    return rows  # type: ignore[no-any-return]


class Embedded(NamedTuple):
    """One cached face embedding, and the model's quality output for it where the model has one."""

    vector: np.ndarray
    quality: float | None


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

    def put_vectors(
        self, namespace: str, keys: Sequence[str], vectors: np.ndarray, qualities: np.ndarray | None = None
    ) -> None:
        """Keep one model call's embeddings (one row per key) and their quality outputs, if any."""
        ...


@dataclass
class Entries:
    """Results held in memory (a Ray worker's, sent back to the driver, which writes the cache as its only writer:
    no node needs the cache folder)."""

    records: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    packs: list[tuple[str, list[str], np.ndarray, np.ndarray | None]] = field(default_factory=list)

    def put_json(self, kind: str, namespace: str, image_sha: str, record: dict[str, Any]) -> None:
        """Keep a JSON record."""
        self.records.append((kind, namespace, image_sha, record))

    def put_vectors(
        self, namespace: str, keys: Sequence[str], vectors: np.ndarray, qualities: np.ndarray | None = None
    ) -> None:
        """Keep one model call's embeddings (as float32, what :meth:`Store.put_vectors` writes)."""
        self.packs.append((namespace, list(keys), np.asarray(vectors, dtype=np.float32), qualities))

    def write(self, store: Sink) -> None:
        """Put every kept result into ``store``."""
        for kind, namespace, sha, record in self.records:
            store.put_json(kind, namespace, sha, record)
        for namespace, keys, vectors, qualities in self.packs:
            store.put_vectors(namespace, keys, vectors, qualities)


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

    def put_vectors(
        self, namespace: str, keys: Sequence[str], vectors: np.ndarray, qualities: np.ndarray | None = None
    ) -> None:
        """Store one model call's embeddings as one pack file (a file per face costs more than a small network's
        forward pass), named by the hash of its keys."""
        if not keys:
            return
        name = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]
        atomic_write(
            Path(f"{self.root}/embeddings/{namespace}/{PACK_PREFIX}{name}.npy"), pack_bytes(keys, vectors, qualities)
        )

    def embedded(self, namespace: str, keys: Iterable[str] | None = None) -> dict[str, Embedded]:
        """The cached embeddings of those ``keys`` that have one (all of the namespace's without ``keys``; a
        damaged or foreign pack counts as absent). Reads the namespace's packs, keeping the rows asked for, until
        every key asked for is found."""
        wanted = None if keys is None else set(keys)
        found: dict[str, Embedded] = {}
        if wanted == set():
            return found
        for rows in self._packs(namespace):
            has_quality = "quality" in (rows.dtype.names or ())
            for i, raw in enumerate(rows["key"].tolist()):
                key = raw.decode(errors="replace")
                if (wanted is None or key in wanted) and key not in found:
                    quality = float(rows["quality"][i]) if has_quality else None
                    found[key] = Embedded(np.array(rows["vector"][i], dtype=np.float32), quality)
            if wanted is not None and len(found) == len(wanted):
                break
        return found

    def _packs(self, namespace: str) -> Iterator[np.ndarray]:
        folder = f"{self.root}/embeddings/{namespace}"
        try:
            names = sorted(n for n in os.listdir(folder) if n.startswith(PACK_PREFIX) and n.endswith(".npy"))
        except OSError:
            return
        for name in names:
            rows = _read_pack(f"{folder}/{name}")
            if rows is not None:
                yield rows

    def results(self) -> dict[str, bytes]:
        """Every cached result by its path under the root: a detection file's bytes, an embedding's float32 bytes
        (and its quality's) under ``embeddings/NAMESPACE/KEY``; timing records are measurements, not results. What
        two caches must share to hold the same results, however their packs were cut."""
        found = {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted((self.root / "detections").rglob("*"))
            if p.is_file() and not p.name.startswith(".")  # a writer's temp file is not a result yet
        }
        for folder in sorted(p for p in (self.root / "embeddings").glob("*") if p.is_dir()):
            for key, entry in sorted(self.embedded(folder.name).items()):
                quality = b"" if entry.quality is None else np.float32(entry.quality).tobytes()
                found[f"embeddings/{folder.name}/{key}"] = entry.vector.tobytes() + quality
        return found

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
