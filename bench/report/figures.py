"""Figures as PNG, each drawn once per content: a copy kept in ``<cache>/figures`` under a hash of its inputs.

An evaluation describes a figure as a :class:`Plot` (its file name, draw function and data); the run
(:meth:`bench.run.runs.Run.plot`) turns it into bytes with :func:`png` and writes it.

A figure is ``draw(*data)``, a module-level function that takes everything the picture shows as arguments. Its
cache key hashes the data, the dpi, the draw function's name, the code (every source file of ``bench`` and of the
draw function's top-level package, so any code change draws every figure afresh once) and the drawing environment
(matplotlib, Pillow and numpy versions, rcParams, the default font file): a copy is byte for byte the PNG that
drawing would write.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.compute.store import atomic_write


def pyplot():  # type: ignore[no-untyped-def]
    """matplotlib.pyplot on the Agg backend (imported only when something is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _feed(digest: Any, value: Any) -> None:
    """Hash ``value`` exactly: frames column by column, arrays by dtype, shape and bytes, dataclasses field by field,
    scalars by type and repr."""
    if isinstance(value, pd.DataFrame):
        _feed(digest, ("frame", list(value.columns), value.index))
        for _, column in value.items():
            _feed(digest, column)
    elif isinstance(value, pd.Series | pd.Index):
        _feed(digest, (type(value).__name__, str(value.dtype), value.name, value.to_numpy()))
    elif isinstance(value, np.ndarray):
        digest.update(f"array {value.dtype.str} {value.shape}\n".encode())
        if value.dtype.hasobject:
            digest.update("\x1f".join(map(repr, value.ravel())).encode())
        else:
            digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, list | tuple):
        digest.update(f"{type(value).__name__} {len(value)}\n".encode())
        for item in value:
            _feed(digest, item)
    elif isinstance(value, dict):
        _feed(digest, ("dict", list(value.items())))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _feed(digest, (type(value).__qualname__, [getattr(value, f.name) for f in dataclasses.fields(value)]))
    elif value is None or isinstance(value, str | int | float | np.generic):
        digest.update(f"{type(value).__name__} {value!r}\n".encode())
    else:
        raise TypeError(f"cannot key a figure on a {type(value).__name__}")


@functools.cache
def _code(package: str) -> str:
    """A hash of every source file of ``package`` (of a plain module: its file)."""
    module = sys.modules[package]
    files = sorted(f for root in getattr(module, "__path__", []) for f in Path(root).rglob("*.py"))
    digest = hashlib.sha256()
    for file in files or [Path(module.__file__ or "")]:
        digest.update(f"{file.name} {file.stat().st_size}\n".encode() + file.read_bytes())
    return digest.hexdigest()


@functools.cache
def _environment() -> str:
    """What besides the data and the code changes the PNG's bytes (no pyplot import: a cache hit needs none)."""
    import matplotlib
    import PIL
    from matplotlib import font_manager

    params = sorted((k, v) for k, v in dict.items(matplotlib.rcParams) if k != "backend")  # raw: no backend lookup
    font = font_manager.findfont(font_manager.FontProperties(family=matplotlib.rcParams["font.family"]))
    return repr((matplotlib.__version__, PIL.__version__, np.__version__, params, font))


def _key(draw: Callable[..., Any], data: tuple[Any, ...], dpi: int, tight: bool) -> str:
    """The cache key of ``draw(*data)`` saved at ``dpi``."""
    if getattr(sys.modules[draw.__module__], draw.__qualname__, None) is not draw:  # a lambda, closure, method...
        raise TypeError(f"{draw.__qualname__}: a figure is drawn by a module-level function of its arguments only")
    digest = hashlib.sha256()
    code = (_code("bench"), _code(draw.__module__.partition(".")[0]))
    _feed(digest, (draw.__module__, draw.__qualname__, code, _environment()))
    _feed(digest, (dpi, tight, data))
    return digest.hexdigest()


def render(draw: Callable[..., Any], data: tuple[Any, ...], dpi: int, tight: bool) -> bytes:
    """The PNG bytes of ``draw(*data)``."""
    plt = pyplot()
    fig = draw(*data)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return buffer.getvalue()


@dataclasses.dataclass(frozen=True)
class Plot:
    """A figure to write: ``draw(*data)`` returns a matplotlib figure; ``tight`` crops to the drawn content."""

    name: str  # the PNG's file name in the run folder
    draw: Callable[..., Any]
    data: tuple[Any, ...]
    dpi: int = 110
    tight: bool = True

    def png(self, cache: Path | None) -> bytes:
        """The PNG bytes (:func:`png`)."""
        return png(self, cache)


def plot(name: str, draw: Callable[..., Any], *data: Any, dpi: int = 110, tight: bool = True) -> Plot:
    """``Plot(name, draw, data, dpi, tight)``, data given as arguments."""
    return Plot(name, draw, data, dpi, tight)


def png(figure: Plot, cache: Path | None) -> bytes:
    """The PNG of ``figure``, from ``cache/figures`` when the same figure was drawn before (``cache`` None: draw)."""
    if cache is None:
        return render(figure.draw, figure.data, figure.dpi, figure.tight)
    kept = cache / "figures" / f"{_key(figure.draw, figure.data, figure.dpi, figure.tight)}.png"
    if kept.is_file():
        return kept.read_bytes()
    drawn = render(figure.draw, figure.data, figure.dpi, figure.tight)
    with contextlib.suppress(OSError):  # a read-only cache still gets the figure drawn, just not kept
        atomic_write(kept, drawn)
    return drawn
