"""Distance metrics between embeddings, vectorised over pairs; DeepFace's definitions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], np.ndarray]


class UnknownMetric(ValueError):
    """A metric name that is not defined here."""


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - cos(a, b), row by row."""
    return 1.0 - np.sum(_unit(a) * _unit(b), axis=-1)


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a - b||, row by row."""
    return np.linalg.norm(a - b, axis=-1)


def euclidean_l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a/|a| - b/|b| ||, row by row."""
    return euclidean(_unit(a), _unit(b))


def angular(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """arccos(cos(a, b)) / pi, row by row."""
    return np.arccos(np.clip(np.sum(_unit(a) * _unit(b), axis=-1), -1.0, 1.0)) / np.pi


METRICS: dict[str, Metric] = {
    "cosine": cosine,
    "euclidean": euclidean,
    "euclidean_l2": euclidean_l2,
    "angular": angular,
}
"""Every metric here is a distance: lower means more similar (``higher_is_more_similar=False``)."""


def select(names: str) -> list[str]:
    """Metric names from a comma list or ``all``; ValueError naming the valid ones."""
    if names.strip().lower() == "all":
        return list(METRICS)
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in METRICS]
    if unknown:
        raise UnknownMetric(f"unknown metric {', '.join(unknown)}; valid: {', '.join(METRICS)}, all")
    return chosen


def pair_distances(vectors: np.ndarray, left: np.ndarray, right: np.ndarray, metric: str) -> np.ndarray:
    """Distances for index pairs into ``vectors`` (float64 for stable statistics)."""
    x = vectors[left].astype(np.float64)
    y = vectors[right].astype(np.float64)
    return METRICS[metric](x, y)


def cross_distances(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """All-pairs distances (len(a), len(b)) from dot products: no (N, M, D) intermediate."""
    if metric not in METRICS:
        raise UnknownMetric(f"unknown metric {metric}; valid: {', '.join(METRICS)}")
    x, y = a.astype(np.float64), b.astype(np.float64)
    if metric == "euclidean":
        squared = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
        return np.sqrt(np.maximum(squared, 0.0))
    cos = np.clip(_unit(x) @ _unit(y).T, -1.0, 1.0)
    if metric == "cosine":
        return 1.0 - cos
    if metric == "euclidean_l2":
        return np.sqrt(np.maximum(2.0 - 2.0 * cos, 0.0))
    return np.arccos(cos) / np.pi
