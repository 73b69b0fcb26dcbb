"""The figure cache: a figure drawn before is copied, byte for byte what drawing writes; new data is drawn."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.metrics import Metric
from bench.report import figures
from bench.report import plots as report
from bench.run.runs import Run

COSINE = Metric("cosine", lambda a, b: (a * b).sum(-1), lambda a, b: a @ b.T, higher_is_more_similar=True)


def _scores(nudge: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    same = np.tile([True, False], 20)
    rows = [
        {"dataset": "d", "metric": "cosine", "model": model, "detector": "det", "score": s, "same": t}
        for model in ("A", "B")
        for s, t in zip(rng.normal(same * 0.5, 0.2), same)
    ]
    frame = pd.DataFrame(rows)
    frame.loc[0, "score"] += nudge  # one genuine pair's score (below impostors: the ROC changes too)
    return frame


def _plot(scores: pd.DataFrame, out: Path, cache: Path | None) -> list[bytes]:
    out.mkdir(exist_ok=True)
    run = Run.create(out, "test", "r", figure_cache=cache)
    paths = run.plots(report.roc_plots(scores, [COSINE]) + report.distance_plots(scores, [COSINE]))
    assert run.manifest["plots"] == [p.name for p in paths]
    return [p.read_bytes() for p in paths]


def _count_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    drawn: list[str] = []
    render = figures.render

    def counting(draw, *args):  # type: ignore[no-untyped-def]
        drawn.append(draw.__name__)
        return render(draw, *args)

    monkeypatch.setattr(figures, "render", counting)
    return drawn


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes], list[str], int]:
    """``_scores()`` drawn once into a fresh cache, for both tests (drawing is most of this module's time):
    the cache, the PNGs, what was drawn and how many figures the cache then kept."""
    root = tmp_path_factory.mktemp("figures")
    with pytest.MonkeyPatch.context() as monkeypatch:
        drawn = _count_renders(monkeypatch)
        first = _plot(_scores(), root / "a", root / "cache")
    return root / "cache", first, drawn, len(list((root / "cache" / "figures").iterdir()))


def test_the_same_figure_is_copied_and_equals_a_fresh_draw(
    first: tuple[Path, list[bytes], list[str], int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, first_pngs, first_drawn, kept = first
    assert first_drawn == ["_roc_figure", "_distance_figure"] and kept == 2
    drawn = _count_renders(monkeypatch)
    shutil.copytree(cache, tmp_path / "cache")
    copied = _plot(_scores(), tmp_path / "b", tmp_path / "cache")
    assert drawn == [] and copied == first_pngs
    assert _plot(_scores(), tmp_path / "c", None) == first_pngs and drawn == ["_roc_figure", "_distance_figure"]


def test_changed_data_is_drawn_again(
    first: tuple[Path, list[bytes], list[str], int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(first[0], tmp_path / "cache")  # a cache holding the figures of _scores()
    drawn = _count_renders(monkeypatch)
    changed = _plot(_scores(nudge=-1.0), tmp_path / "b", tmp_path / "cache")
    assert drawn == ["_roc_figure", "_distance_figure"]
    assert len(list((tmp_path / "cache" / "figures").iterdir())) == 4
    assert changed == _plot(_scores(nudge=-1.0), tmp_path / "c", None)


def test_a_figure_is_drawn_by_a_module_level_function_only(tmp_path: Path) -> None:
    title = "hidden"  # what a closure would show without it being in the key
    with pytest.raises(TypeError, match="module-level function"):
        figures.png(figures.plot("x.png", lambda: title), cache=tmp_path)
