"""DeepFace's distance metrics, registered like any third-party metric: lower means more similar."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bench.hookspecs import hookimpl
from bench.metrics import Metric


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(_unit(a) * _unit(b), axis=-1)


def _cross_cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip(_unit(a) @ _unit(b).T, -1.0, 1.0)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - cos(a, b), row by row."""
    return 1.0 - _cos(a, b)


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a - b||, row by row."""
    return np.linalg.norm(a - b, axis=-1)


def euclidean_l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a/|a| - b/|b| ||, row by row."""
    return euclidean(_unit(a), _unit(b))


def angular(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """arccos(cos(a, b)) / pi, row by row."""
    return np.arccos(np.clip(_cos(a, b), -1.0, 1.0)) / np.pi


def _cross_euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def _from_cos(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return lambda a, b: fn(_cross_cos(a, b))


METRICS = (
    Metric("cosine", cosine, _from_cos(lambda c: 1.0 - c), range=(0.0, 2.0), description="1 - cos(a, b)"),
    Metric("euclidean", euclidean, _cross_euclidean, description="||a - b||"),
    Metric(
        "euclidean_l2",
        euclidean_l2,
        _from_cos(lambda c: np.sqrt(np.maximum(2.0 - 2.0 * c, 0.0))),
        range=(0.0, 2.0),
        description="||a/|a| - b/|b| ||",
    ),
    Metric(
        "angular",
        angular,
        _from_cos(lambda c: np.arccos(c) / np.pi),
        range=(0.0, 1.0),
        description="arccos(cos(a, b)) / pi",
    ),
)


@hookimpl
def register_metrics(register: Callable[[Metric], None]) -> None:
    """DeepFace's four distances."""
    for metric in METRICS:
        register(metric)
