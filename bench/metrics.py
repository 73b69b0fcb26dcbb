"""A comparison metric as one object: its pairwise form, its all-against-all form, and its direction.

Keeping both forms and ``higher_is_more_similar`` together means no caller can pick a cross form from a different
branch than the pair form, and every protocol figure and plot reads the direction from the metric itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Pairwise = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Metric:
    """A comparison score between embeddings; ``pair`` row by row, ``cross`` all rows of a against all of b."""

    name: str
    pair: Pairwise  # (N, D), (N, D) -> (N,)
    cross: Pairwise  # (N, D), (M, D) -> (N, M)
    higher_is_more_similar: bool = False
    range: tuple[float, float] = (0.0, float("inf"))
    description: str = ""
    plugin: str = ""

    @property
    def label(self) -> str:
        """Axis label: the name and which way is more similar."""
        return f"{self.name} ({'higher' if self.higher_is_more_similar else 'lower'} = more similar)"

    def pairs(self, vectors: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Scores for index pairs into ``vectors`` (float64 for stable statistics)."""
        return self.pair(vectors[left].astype(np.float64), vectors[right].astype(np.float64))

    def all_against(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(len(a), len(b)) scores in float64."""
        return self.cross(a.astype(np.float64), b.astype(np.float64))

    def similarity(self, scores: np.ndarray) -> np.ndarray:
        """Scores turned so that higher always means more similar (for ranking)."""
        return scores if self.higher_is_more_similar else -scores
