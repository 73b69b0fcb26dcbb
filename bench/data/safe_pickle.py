"""A restricted unpickler for insightface's verification ``.bin`` files: builds data, never runs code.

A ``.bin`` is ``pickle.dump((list of encoded images, issame list))``, written by Python 2 (``str`` images) or 3
(``bytes``; protocol 2 spells them ``_codecs.encode(text, "latin1")``), the issame list being Python bools or a
numpy bool array. ``pickle.load`` on such a file would call whatever global it names (a ``__reduce__`` payload
runs ``os.system``); this unpickler resolves only the few globals those files use, each wrapped to accept only
what builds bytes or a bool array, and refuses any other global with :class:`UnsafePickle`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from bench.errors import BenchError


class UnsafePickle(BenchError):
    """A pickle that names something other than bytes, lists, tuples, bools and numpy bool arrays."""


def _latin1(text: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for ``bytes``: a str and latin1, nothing else."""
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickle(f"_codecs.encode called with {type(text).__name__}, {encoding!r}: not a bytes literal")
    return text.encode("latin1")


def _bool_dtype(name: Any, align: Any = False, copy: Any = False) -> np.dtype:
    if name != "b1":
        raise UnsafePickle(f"numpy dtype {name!r} refused: only bool arrays ('b1') are accepted")
    return np.dtype("b1")


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> np.ndarray:
    if cls is not np.ndarray:
        raise UnsafePickle(f"numpy _reconstruct of {cls!r} refused: only numpy.ndarray")
    return np.ndarray.__new__(np.ndarray, shape, "b1")  # the state set next must then be a bool array too


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    if not isinstance(buffer, (bytes, bytearray)) or not isinstance(dtype, np.dtype) or dtype != np.dtype("b1"):
        raise UnsafePickle("numpy _frombuffer refused: only bool arrays from bytes")
    return np.frombuffer(bytes(buffer), dtype=dtype).reshape(shape, order=order).copy()


ALLOWED: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("_codecs", "encode"): _latin1,
    ("numpy", "dtype"): _bool_dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
}
"""The only globals a pickle may name, each a checked stand-in (``numpy.ndarray`` is only ever an argument)."""


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` knows only :data:`ALLOWED`; py2 ``str`` becomes ``bytes``."""

    def __init__(self, handle: BinaryIO) -> None:
        super().__init__(handle, encoding="bytes")

    def find_class(self, module: str, name: str) -> Any:
        """The checked stand-in for an allowed global; :class:`UnsafePickle` for anything else."""
        found = ALLOWED.get((module, name))
        if found is None:
            raise UnsafePickle(
                f"refuses to load global '{module}.{name}': only bytes, lists, tuples, bools and "
                "numpy bool arrays are accepted (nothing in the file is run)"
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        """Persistent ids are refused (they would need a resolver that runs code)."""
        raise UnsafePickle("persistent ids are not accepted")


def _check_ndarray(value: Any, path: Path) -> None:
    if isinstance(value, np.ndarray) and value.dtype != np.bool_:
        raise UnsafePickle(f"{path}: numpy array of dtype {value.dtype} refused: only bool arrays")


def load_verification_bin(path: Path) -> tuple[list[bytes], np.ndarray]:
    """(encoded images, issame per pair) from an insightface ``.bin``; :class:`UnsafePickle` or
    :class:`~bench.errors.BenchError` for anything that is not exactly that shape."""
    try:
        with path.open("rb") as handle:
            data = RestrictedUnpickler(handle).load()
    except UnsafePickle as err:
        raise UnsafePickle(f"{path}: {err}") from None
    except OSError as err:
        raise BenchError(f"cannot read {path}: {err.strerror or err}") from err
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise BenchError(f"{path}: not a readable verification .bin ({type(err).__name__}: {err})") from None
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise BenchError(f"{path}: expected a pickled (images, issame) pair, got {type(data).__name__}")
    images, issame = data
    _check_ndarray(issame, path)
    if not isinstance(images, (list, tuple)) or not all(isinstance(b, (bytes, bytearray)) for b in images):
        raise BenchError(f"{path}: the first element must be a list of encoded images (bytes)")
    labels = np.asarray(issame)
    if labels.ndim != 1 or not (labels.dtype == np.bool_ or all(isinstance(v, bool) for v in issame)):
        raise BenchError(f"{path}: the second element must be a list of bools (one per pair)")
    if len(images) != 2 * len(labels):
        raise BenchError(f"{path}: {len(images)} images for {len(labels)} pairs; expected two images per pair")
    return [bytes(b) for b in images], labels.astype(bool)
