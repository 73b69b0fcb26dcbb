"""``bench edits`` end to end on an edited set built here, with the fake plugins (plumbing, not figures)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image

from tests.conftest import SAMPLE, bench_fakes


def _edited_set(root: Path) -> Path:
    """Four identities (a colour each), an original and three edits apiece; the manifest one folder up."""
    lines = ["file,role"]
    for k, colour in enumerate([(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]):
        for j, role in enumerate(["original", "hair_edited", "hair_edited", "hair_removed"]):
            path = root / "hair" / f"id{k}" / f"img{j}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (40, 40), tuple(c + 5 * j for c in colour)).save(path)
            lines.append(f"hair/id{k}/img{j}.png,{role}")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root / "hair"


def test_edits_writes_tar_at_the_baseline_threshold_with_intervals_per_edit_and_a_heatmap(tmp_path: Path) -> None:
    data = _edited_set(tmp_path / "sets")
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text(f"datasets:\n  clean:\n    root: {SAMPLE}\n    pairs: pairs.csv\n")
    out = tmp_path / "out"
    code, output = bench_fakes(
        "edits", data, out, "--datasets", str(catalog), "--baseline", "clean", "--bootstrap", "50", "--run-id", "e"
    )
    assert code == 0, output
    run = out / "e"
    table = pd.read_csv(run / "edits.csv")
    assert sorted(table.far_target) == [0.01, 0.1] and set(table.set) == {"hair"}
    assert (table.n_genuine == 12).all() and (table.n_impostor == 12).all() and (table.n_persons == 4).all()
    assert table.tar_lfw.between(0, 1).all() and (table.tar_lfw_lo <= table.tar_lfw).all()
    assert set(table.group) == {"a"}
    by_edit = pd.read_csv(run / "edits_by_edit.csv")
    assert dict(zip(by_edit.edit, by_edit.n_genuine)) == {"hair changed": 8, "hair removed": 4}
    ftd = pd.read_csv(run / "edits_ftd.csv")
    assert dict(zip(ftd.edit, ftd.n_images)) == {"hair changed": 8, "hair removed": 4, "original": 4}
    overview = pd.read_csv(run / "edits_overview.csv")
    assert list(overview.columns) == ["model", "detector", "metric", "far_target", "hair TAR"]
    for name in (
        "edits_heatmap_cosine.png",
        "edits_genuine_hair_cosine.png",
        "similarity_hair_FakeNet_fake-box_cosine.png",
    ):
        assert (run / name).stat().st_size > 1000
    assert "tar_lfw" in output and "cannot be told apart" in output


def test_edits_refuses_a_folder_without_roles(tmp_path: Path) -> None:
    code, output = bench_fakes("edits", SAMPLE, tmp_path / "out")
    assert code != 0 and "no image roles" in output
