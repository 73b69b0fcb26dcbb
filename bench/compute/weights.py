"""Where weight files live, how they are found, hashed and reported missing."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from bench.errors import BenchError

WEIGHTS_ENV = "BENCH_WEIGHTS_DIR"


class MissingWeights(BenchError):
    """A weight file a plugin needs is not in the weights directory."""


@dataclass(frozen=True)
class WeightFile:
    """A file a plugin needs: its canonical name, accepted alternatives and where it comes from."""

    name: str
    url: str = ""
    alternatives: tuple[str, ...] = ()  # other file names holding the same network (e.g. a quantized build)
    note: str = ""
    bundled: tuple[str, ...] = ()  # "module:relative/path" inside an installed pip package that ships the file
    mirrors: tuple[str, ...] = ()  # backup download URLs serving the same file, tried in order after ``url``
    candidates: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", (self.name, *self.alternatives))

    @property
    def sources(self) -> tuple[str, ...]:
        """Download URLs in the order to try them."""
        return tuple(u for u in (self.url, *self.mirrors) if u)


USER_DEEPFACE_HOME_ENV = "BENCH_USER_DEEPFACE_HOME"
"""The user's own ``$DEEPFACE_HOME`` ("" if unset), kept when a plugin points DeepFace at a staging folder: the
staging folder (links to the files asked for last) is never a place to look for weights."""


def deepface_weights() -> Path:
    """The user's DeepFace weights folder: ``$DEEPFACE_HOME/.deepface/weights`` (home: ``~``), never the staging one."""
    home = os.environ.get(USER_DEEPFACE_HOME_ENV, os.environ.get("DEEPFACE_HOME", "")) or str(Path.home())
    return Path(home).expanduser() / ".deepface" / "weights"


def default_weights_dir() -> Path:
    """``$BENCH_WEIGHTS_DIR``, else DeepFace's ``$DEEPFACE_HOME/.deepface/weights``."""
    if os.environ.get(WEIGHTS_ENV):
        return Path(os.environ[WEIGHTS_ENV]).expanduser()
    return deepface_weights()


def _package_file(location: str) -> Path | None:
    """``module:relative/path`` resolved inside an installed package without importing it."""
    module, _, rel = location.partition(":")
    spec = importlib.util.find_spec(module)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / rel).is_file():
            return Path(folder) / rel
    return None


def search_path(weights_dir: Path) -> list[Path]:
    """Where weight files are looked for, in order: ``weights_dir`` (``--weights-dir``), ``$BENCH_WEIGHTS_DIR``,
    DeepFace's ``$DEEPFACE_HOME/.deepface/weights``, and a ``weights/`` folder in the working directory."""
    folders = [
        weights_dir,
        Path(os.environ.get(WEIGHTS_ENV) or weights_dir),
        deepface_weights(),
        Path("weights"),
    ]
    return list(dict.fromkeys(Path(f).expanduser() for f in folders))


def find(weight: WeightFile, weights_dir: Path) -> Path | None:
    """The first candidate file along the search path, else a copy a pip package ships, else None."""
    for folder in search_path(weights_dir):
        for name in weight.candidates:
            path = folder / name
            if path.is_file():
                return path
    return next(filter(None, map(_package_file, weight.bundled)), None)


def missing_message(weight: WeightFile, weights_dir: Path) -> str:
    """One line: which file is missing and every folder it was looked for in."""
    where = ", ".join(str(f) for f in search_path(weights_dir))
    return f"weight file {weight.name} not found (looked in {where})"


def fix_hints(weight: WeightFile, owner: str) -> list[str]:
    """The commands that put ``weight`` in place: a download where a source exists, an import always."""
    hints = [f"bench weights download {owner}"] if weight.sources else []
    hints.append(f"bench weights import FILE --as {weight.name}" + (f"  ({weight.note})" if weight.note else ""))
    return hints


def require(weight: WeightFile, weights_dir: Path) -> Path:
    """The path of ``weight``; :class:`MissingWeights` with a one-line reason otherwise."""
    path = find(weight, weights_dir)
    if path is None:
        raise MissingWeights(missing_message(weight, weights_dir))
    return path


@cache
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    """sha256 of a file, memoised per (path, size, mtime)."""
    stat = path.stat()
    return _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)
