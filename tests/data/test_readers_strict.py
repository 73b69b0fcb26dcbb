"""Readers are right or loud: one test per defect on tiny folders (fast) and on files built from the real LFW
images (slow): label spellings, given folds and View 2 blocks, headerless LFW files, nested and flat folders,
TinyFace's missing folders and unmated probes, formats without image pairs, file counts."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bench import plugins, protocols
from bench.data.datasets import AT_ROOT, Carries, Dataset, DatasetError, Pairs, restrict, scan
from benchmarks.build_formats import build_calfw, build_tinyface
from facebench_plugins.evaluations.standard_evaluations import tinyface_rows
from tests.conftest import LFW, needs_lfw, read_pairs

JPEG = bytes.fromhex("ffd8ffe0") + bytes(16)  # sniffed as JPEG; never decoded here


def _registry() -> list[protocols.ProtocolSpec]:
    return list(plugins.load().protocols)


def _tinyface(root: Path, probes: list[str], gallery: list[str], distractors: list[str] | None) -> Path:
    for folder, names in (("Probe", probes), ("Gallery_Match", gallery), ("Gallery_Distractor", distractors)):
        if names is not None:
            (root / "Testing_Set" / folder).mkdir(parents=True)
        for name in names or []:
            (root / "Testing_Set" / folder / name).write_bytes(JPEG)
    return root


def test_tinyface_without_distractor_folder_is_an_error(tmp_path: Path) -> None:
    _tinyface(tmp_path, ["1_1.jpg"], ["1_0.jpg"], None)
    with pytest.raises(DatasetError, match="no Gallery_Distractor/ folder.*create it empty"):
        protocols.open_benchmark(_registry(), tmp_path)


def test_tinyface_unmated_probes_are_noted_and_left_out_of_the_ranks(tmp_path: Path) -> None:
    _tinyface(tmp_path, ["1_1.jpg", "2_1.jpg", "3_1.jpg", "bad.jpg"], ["1_0.jpg", "2_0.jpg"], [])
    dataset, pairs = protocols.open_benchmark(_registry(), tmp_path)
    assert pairs is None and dataset.carries == {Carries.GALLERY}
    assert dataset.skipped == [("Probe/bad.jpg", "not named <identity>_<n>.<ext>: its identity is unknown")]
    assert dataset.file_counts() == {"found": 6, "used": 5, "ignored": 1}
    assert any("Gallery_Distractor/ holds no images" in n for n in dataset.notes)
    assert any("1 probes have no gallery-match image" in n and "Probe/3_1.jpg" in n for n in dataset.notes)
    roles = [img.attrs["role"] for img in dataset.images]
    ids = [img.identity for img in dataset.images]
    vectors = np.array([[float(i == "1"), float(i == "2"), float(i == "3")] for i in ids])
    vectors[roles.index("probe") + 1] = np.nan  # probe 2_1: no face
    combo = SimpleNamespace(
        dataset=dataset, vectors=vectors, model=SimpleNamespace(name="m"), detector=SimpleNamespace(name="d")
    )
    (row,) = tinyface_rows(combo, plugins.load().metrics.select("cosine"))
    assert (row["n_probes"], row["n_probes_no_gallery"], row["n_probes_no_embedding"]) == (2, 1, 1)
    assert row["rank1"] == 0.5 and row["n_probes_missed"] == 1


def test_ijb_has_no_image_pairs_and_read_pairs_refuses_it(tmp_path: Path) -> None:
    meta = tmp_path / "meta"
    meta.mkdir()
    (meta / "x_face_tid_mid.txt").write_text("a.jpg 1 1\nb.jpg 2 2\n")
    (meta / "x_name_5pts_score.txt").write_text(
        "".join(f"{n} {' '.join(['1'] * 10)} 0.9\n" for n in ("a.jpg", "b.jpg"))
    )
    (meta / "x_template_pair_label.txt").write_text("1 2 1\n")
    dataset, pairs = protocols.open_benchmark(_registry(), tmp_path)
    assert pairs is None and dataset.carries == {Carries.TEMPLATES, Carries.LANDMARKS}
    with pytest.raises(DatasetError, match="read as ijb, which has no image pairs"):
        protocols.read_pairs(_registry(), dataset, tmp_path, "ijb")
    (meta / "x_template_pair_label.txt").write_text("1 2 1\n1 2 -1\n")
    with pytest.raises(DatasetError, match=r"x_template_pair_label\.txt: template pair 2 has label -1"):
        protocols.open_benchmark(_registry(), tmp_path)


def test_a_pair_list_without_pairs_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "1.jpg").write_bytes(JPEG)
    (tmp_path / "pairs.csv").write_text("file_x,file_y,same\n")
    with pytest.raises(DatasetError, match=r"pairs\.csv: lists no pairs"):
        read_pairs(scan(tmp_path), tmp_path / "pairs.csv")


def test_scan_follows_session_folders_but_not_a_link_back_up(tmp_path: Path) -> None:
    (tmp_path / "A" / "s").mkdir(parents=True)
    (tmp_path / "A" / "s" / "1.jpg").write_bytes(JPEG)
    (tmp_path / "A" / "s" / "up").symlink_to(tmp_path / "A")  # a loop
    (tmp_path / "B").symlink_to(tmp_path / "A")  # another identity's folder, linked
    assert [(img.rel, img.identity) for img in scan(tmp_path).images] == [("A/s/1.jpg", "A"), ("B/s/1.jpg", "B")]


# ---- on the real LFW images (slow) ----------------------------------------------------------------------------


def _view2_lines() -> list[str]:
    return (LFW / "pairs.txt").read_text().splitlines()


def _csv(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    path.write_text("file_x,file_y,same,fold\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def _lfw_rows(lines: list[str]) -> list[tuple[str, str, bool]]:
    from facebench_plugins.protocols.pair_formats import lfw_row

    return [lfw_row(line.split(), "") for line in lines]


@needs_lfw
def test_csv_labels_only_in_known_spellings_on_lfw(tmp_path: Path) -> None:
    rows = _lfw_rows(_view2_lines()[1:11] + _view2_lines()[301:311])
    data = scan(LFW)
    spelled = [(a, b, "genuine" if s else "Impostor", "0") for a, b, s in rows]
    pairs = read_pairs(data, _csv(tmp_path / "ok.csv", spelled))
    assert pairs.same.tolist() == [s for _, _, s in rows]
    minus = [(a, b, "1" if s else "-1", "0") for a, b, s in rows]
    with pytest.raises(DatasetError, match=r"minus\.csv:12: label '-1' .*ambiguous"):
        read_pairs(data, _csv(tmp_path / "minus.csv", minus))


@needs_lfw
def test_calfw_pair_whose_lines_disagree_on_lfw(tmp_path: Path) -> None:
    data = scan(LFW)
    pairs = read_pairs(data, LFW / "pairs.txt")
    first = np.r_[np.arange(10), np.arange(300, 310)]
    sub = Pairs(pairs.left[first], pairs.right[first], pairs.same[first], pairs.folds[first])
    pairs_file = build_calfw(data, sub, tmp_path / "calfw")
    lines = pairs_file.read_text().splitlines()
    lines[3] = lines[3].rsplit(" ", 1)[0] + " 0"  # the second pair's second line says different
    pairs_file.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"pairs_LFW\.txt:4: label 0 disagrees with label 1 of line 3"):
        protocols.open_benchmark(_registry(), tmp_path / "calfw")


@needs_lfw
def test_given_folds_are_used_as_given_and_view2_blocks_checked(tmp_path: Path) -> None:
    data = scan(LFW)
    view2 = read_pairs(data, LFW / "pairs.txt")
    order = random.Random(0).sample(range(len(view2)), 200)
    rows = [
        (data.images[view2.left[k]].rel, data.images[view2.right[k]].rel, str(int(view2.same[k])), str(view2.folds[k]))
        for k in order
    ]
    shuffled = read_pairs(data, _csv(tmp_path / "shuffled.csv", rows))
    assert shuffled.folds is not None and shuffled.folds.tolist() == [int(r[3]) for r in rows]
    rows[5] = (*rows[5][:3], "two")
    with pytest.raises(DatasetError, match=r"bad\.csv:7: fold 'two' is not an integer"):
        read_pairs(data, _csv(tmp_path / "bad.csv", rows))
    lines = _view2_lines()
    lines[300], lines[301] = lines[301], lines[300]  # fold 1's last same pair after its first different one
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"pairs\.txt:301: header '10 300' says 10 block.*expects a same pair"):
        read_pairs(data, tmp_path / "pairs.txt")


@needs_lfw
def test_headerless_lfw_file_keeps_its_first_pair(tmp_path: Path) -> None:
    (tmp_path / "pairs.txt").write_text("\n".join(_view2_lines()[1:]) + "\n")
    data = scan(LFW)
    for declared in ("lfw-pairs", None):
        pairs = protocols.read_pairs(_registry(), data, tmp_path / "pairs.txt", declared)
        assert len(pairs) == 6000 and pairs.folds is None
        first = data.images[pairs.left[0]].rel, data.images[pairs.right[0]].rel
        assert first == ("Abel_Pacheco/Abel_Pacheco_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0004.jpg")


@needs_lfw
def test_scan_of_sessions_root_images_and_a_flat_folder_on_lfw(tmp_path: Path) -> None:
    lfw = scan(LFW)
    assert lfw.skipped == [] and lfw.file_counts() == {"found": 13233, "used": 13233, "ignored": 0}
    subset = restrict(lfw, read_pairs(lfw, LFW / "pairs.txt"))[0]
    assert len(subset.images) < 13233 and subset.file_counts() == lfw.file_counts()  # as read, not as subset
    people = ["Colin_Powell", "George_W_Bush", "Tony_Blair"]
    for name in people:
        for k, src in enumerate(sorted((LFW / name).glob("*.jpg"))[:6]):
            (tmp_path / "nested" / name / f"session{k % 2}").mkdir(parents=True, exist_ok=True)
            (tmp_path / "nested" / name / f"session{k % 2}" / src.name).symlink_to(src)
    shutil.copy(LFW / "Tony_Blair" / "Tony_Blair_0010.jpg", tmp_path / "nested" / "loose.jpg")
    nested = scan(tmp_path / "nested")
    assert len(nested.images) == 18 and nested.identities() == people
    assert nested.images[0].rel == "Colin_Powell/session0/Colin_Powell_0001.jpg"
    assert nested.skipped == [("loose.jpg", AT_ROOT)]
    flat = tmp_path / "flat"
    flat.mkdir()
    for src in sorted((LFW / "Tony_Blair").glob("*.jpg"))[:7]:
        (flat / src.name).symlink_to(src)
    with pytest.raises(DatasetError, match="holds 7 images but none in identity folders"):
        scan(flat)


@needs_lfw
def test_tinyface_from_lfw_missing_distractors_and_unmated_probes(tmp_path: Path) -> None:
    data = scan(LFW)
    build_tinyface(Dataset("lfw", LFW, data.images[:400], carries=data.carries), tmp_path / "t", identities=20)
    test = tmp_path / "t" / "Testing_Set"
    gone = sorted((test / "Gallery_Match").iterdir())[0]
    gone.unlink()
    tiny, pairs = protocols.open_benchmark(_registry(), tmp_path / "t")
    assert pairs is None
    unmated = [
        img.rel for img in tiny.images if img.attrs["role"] == "probe" and img.identity == gone.stem.split("_")[0]
    ]
    assert unmated and any(f"{len(unmated)} probes have no gallery-match image" in n for n in tiny.notes)
    shutil.rmtree(test / "Gallery_Distractor")
    with pytest.raises(DatasetError, match="no Gallery_Distractor/ folder"):
        protocols.open_benchmark(_registry(), tmp_path / "t")
