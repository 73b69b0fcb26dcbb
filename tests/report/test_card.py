"""The report card: built from saved tables only; HTML and Markdown say the same; insufficient figures greyed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.measure import operating
from bench.report import card, figures
from facebench_plugins.evaluations.operating_plots import Curve, det_plot
from facebench_plugins.evaluations.operating_points import Scored, evaluate_scores, threshold_table

MODEL = "Net<b>"  # escaped in HTML


def _tables(tmp_path: Path) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    same = np.r_[np.ones(300, bool), np.zeros(3000, bool)]
    scores = rng.normal(size=len(same)) + 3 * same
    left = rng.integers(0, 200, len(same))
    right = np.where(same, left, (left + 1 + rng.integers(0, 199, len(same))) % 200)
    metric = type("M", (), {"higher_is_more_similar": True, "name": "cosine"})()
    s = Scored(metric, scores, same, left, right, None, 300, 3010)  # type: ignore[arg-type]
    points, summary = evaluate_scores(s, operating.FMRS, 50, 0)
    keys = {"dataset": "lfw", "subset": "all", "model": MODEL, "detector": "det", "metric": "cosine"}
    points_frame = pd.DataFrame([{**keys, **p} for p in points])
    plot = det_plot([Curve("x", scores, same, True, points_frame)], "det_lfw_all_cosine.png", "DET")
    (tmp_path / plot.name).write_bytes(figures.png(plot, None))
    fairness = pd.DataFrame([{"model": MODEL, "detector": "det", "group": "female", "fnmr": 0.1}])
    fairness.to_csv(tmp_path / "fairness.csv", index=False)
    pd.DataFrame([{"model": MODEL, "detector": "det", "image": "a.jpg", "quality": 0.5}]).to_csv(
        tmp_path / "quality.csv", index=False
    )
    return {
        "operating_points": points_frame,
        "operating_summary": pd.DataFrame([{**keys, "status": "ok", **summary}]),
        "thresholds": threshold_table(points_frame),
        "failures_by_cause": pd.DataFrame(
            [{**keys, "cause": "no_face", "n_images": 3, "rate": 0.01, "n_images_used": 300, "policy": "whole"}]
        ),
    }


def test_card_html_and_markdown(tmp_path: Path) -> None:
    tables = _tables(tmp_path)
    written = card.files(tmp_path, {"facebench_version": "0.1", "git_commit": "abc"}, tables)
    assert list(written) == ["card.html", "card.md"]
    page, md = written["card.html"], written["card.md"]
    assert "Net&lt;b&gt; × det" in page and MODEL not in page
    assert "data:image/png;base64," in page  # self-contained
    points = tables["operating_points"]
    ok = points[~points.insufficient].iloc[0]
    cell = f"{ok.fnmr:.4f} [{ok.fnmr_lo:.4f}, {ok.fnmr_hi:.4f}] · FMR {ok.fmr:.1e}"
    assert cell in page and cell in md
    # 3,000 impostors: 1e-3 and below are insufficient, shown greyed (HTML) / italic with a dagger (Markdown).
    assert page.count('class="grey"') >= 2 * 4  # FNMR and threshold tables, FMR 1e-3 .. 1e-6
    assert "† fewer than 10/FMR" in md and md.count("* †") >= 8
    assert "Demographics: fairness" in page and "female" in md
    assert "a.jpg" not in page  # per-image tables stay out
    assert "no_face: 3 (1.00 %)" in md
    assert "![DET lfw (all), cosine](det_lfw_all_cosine.png)" in md


def test_render_without_operating_points_is_empty(tmp_path: Path) -> None:
    assert card.render([card._Run(tmp_path, {}, {})]) == ("", "")
