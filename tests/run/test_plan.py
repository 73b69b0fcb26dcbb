"""``--plan``: counts before any work (what is cached, what is left), and per-item times from earlier runs."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import bench_fakes
from tests.fakes.fake_models import make_dataset


def _rows(text: str) -> dict[str, list[str]]:
    return {
        " ".join(line.split()[:2]): line.split()[2:]
        for line in text.splitlines()
        if line.startswith(("detect", "embed"))
    }


def test_plan_counts_then_sees_what_a_run_cached(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", identities=3, per_identity=4)
    cache = ("--cache-dir", str(tmp_path / "cache"))
    code, text = bench_fakes("identify", data, tmp_path / "out", *cache, "--plan")
    assert code == 0, text
    assert _rows(text) == {
        "detect fake-box": ["12", "0", "12", "30.0*", "0.4"],
        "embed FakeNet@fake-box": ["12", "0", "12", "30.0*", "0.4"],
    }
    # 3 identities x 4 images, 1 gallery image each: 9 probes x 3 gallery images x 4 metrics (all, by default)
    assert "images 12, scores 108 " in text and "assumed" in text and not (tmp_path / "out").exists()  # nothing written
    code, text = bench_fakes("identify", data, tmp_path / "out", *cache)
    assert code == 0, text
    code, text = bench_fakes("identify", data, tmp_path / "out", *cache, "--plan")
    rows = _rows(text)
    assert [r[:3] for r in rows.values()] == [["12", "12", "0"], ["12", "12", "0"]]
    assert not any(r[3].endswith("*") for r in rows.values())  # measured ms/item, from the run's timings
    assert "estimated 0 CPU-s" in text


def test_plan_counts_pair_scores_per_combination_and_metric(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", identities=4, per_identity=4)
    code, text = bench_fakes("accuracy", data, tmp_path / "out", "--n", "20", "--metric", "cosine,euclidean", "--plan")
    assert code == 0, text
    assert "scores 40 " in text  # 20 pairs x 1 detector x 1 model x 2 metrics
