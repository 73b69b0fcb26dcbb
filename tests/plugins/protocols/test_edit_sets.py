"""The edits protocol: roles, pair construction, same-person exclusions and strict reading, on files built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.data.datasets import Carries, DatasetError
from facebench_plugins.protocols.edit_sets import edit_pairs, open_edits, pair_edits, read_edits, sniff_edits


def _image(path: Path, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32), (shade, 100, 200 - shade)).save(path)


def _set(tmp_path: Path, rows: list[tuple[str, str, str]], alias: dict[str, str] | None = None) -> Path:
    """``tmp/robustness/hair/<identity>/<file>`` per row, and the manifest one folder up (as in ../shared)."""
    root = tmp_path / "robustness" / "hair"
    lines = ["set,identity,file,role,folder_in_extraction"]
    for k, (identity, file, role) in enumerate(rows):
        _image(root / identity / file, 10 * k)
        lines.append(f"hair,{identity},hair/{identity}/{file},{role},{(alias or {}).get(file, identity)}")
    (tmp_path / "robustness" / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


ROWS = [
    ("ann", "a0.jpg", "original"),
    ("ann", "a1.jpg", "hair_edited"),
    ("ann", "a2.jpg", "hair_removed"),
    ("bob", "b0.jpg", "original"),
    ("bob", "b1.jpg", "hair_edited"),
    ("bob", "b2.jpg", "hair_transferred"),
    ("cat", "c0.jpg", "original"),
    ("cat", "c1.jpg", "hair_edited"),
]


def _pairs_of(root: Path, seed: int = 0, edited_vs_edited: bool = False):  # type: ignore[no-untyped-def]
    data = open_edits(root)
    pairs = edit_pairs(data, seed, edited_vs_edited)
    named = [(data.images[a].rel, data.images[b].rel, bool(s)) for a, b, s in zip(pairs.left, pairs.right, pairs.same)]
    return data, pairs, named


def test_genuine_pairs_are_each_original_against_its_edits_and_impostors_match_their_number(tmp_path: Path) -> None:
    data, pairs, named = _pairs_of(_set(tmp_path, ROWS))
    genuine = sorted((a, b) for a, b, s in named if s)
    assert genuine == [
        ("ann/a0.jpg", "ann/a1.jpg"),
        ("ann/a0.jpg", "ann/a2.jpg"),
        ("bob/b0.jpg", "bob/b1.jpg"),
        ("bob/b0.jpg", "bob/b2.jpg"),
        ("cat/c0.jpg", "cat/c1.jpg"),
    ]
    impostor = [(a, b) for a, b, s in named if not s]
    assert len(impostor) == 5 and len(set(impostor)) == 5
    assert all(
        a.split("/")[0] != b.split("/")[0] and a.endswith("0.jpg") and not b.endswith("0.jpg") for a, b in impostor
    )
    assert Carries.ROLES in data.carries
    edits = pair_edits(data, pairs)[pairs.same]
    assert sorted(edits) == ["hair changed", "hair changed", "hair changed", "hair removed", "hair transferred"]


def test_impostors_are_reproducible_for_a_seed_and_change_with_it(tmp_path: Path) -> None:
    root = _set(tmp_path, ROWS)
    first, again, other = (_pairs_of(root, seed)[2] for seed in (3, 3, 4))
    assert first == again
    assert first != other  # 5 of the 10 possible impostors: another seed draws another five
    assert [p for p in first if p[2]] == [p for p in other if p[2]]


def test_edited_vs_edited_adds_pairs_between_two_edits_of_one_identity(tmp_path: Path) -> None:
    data, pairs, named = _pairs_of(_set(tmp_path, ROWS), edited_vs_edited=True)
    genuine = {(a, b) for a, b, s in named if s}
    assert ("ann/a1.jpg", "ann/a2.jpg") in genuine and ("bob/b1.jpg", "bob/b2.jpg") in genuine
    assert int(pairs.same.sum()) == 7 == int((~pairs.same).sum())
    assert "edited x edited" in set(pair_edits(data, pairs))


def test_identities_merged_in_the_manifest_or_listed_as_one_person_are_never_impostors(tmp_path: Path) -> None:
    root = _set(tmp_path, ROWS, alias={"b1.jpg": "ann"})  # bob's b1 came from ann's folder: one person
    data, _, named = _pairs_of(root, edited_vs_edited=True)
    assert {img.attrs["subject"] for img in data.images if img.identity in ("ann", "bob")} == {"ann"}
    people = {("ann", "bob"), ("bob", "ann")}
    assert not any((a.split("/")[0], b.split("/")[0]) in people for a, b, s in named if not s)
    plain = _set(tmp_path / "listed", ROWS)
    (plain.parent / "same_person.txt").write_text("# cat is ann too\nann, cat\n")
    _, _, named = _pairs_of(plain, edited_vs_edited=True)
    assert all("bob" in (a.split("/")[0], b.split("/")[0]) for a, b, s in named if not s)


def test_an_identity_without_a_reference_role_gets_the_folder_rule(tmp_path: Path) -> None:
    rows = [*ROWS[:6], ("dan", "d0.jpg", "accessory set"), ("dan", "d1.jpg", "accessory set")]
    data, _, named = _pairs_of(_set(tmp_path, rows))
    assert ("dan/d0.jpg", "dan/d1.jpg", True) in named
    assert any("folder rule" in note and "dan" in note for note in data.notes)


def test_without_a_manifest_every_image_is_genuine_and_original_or_the_first_file_is_the_reference(
    tmp_path: Path,
) -> None:
    for identity, files in {"ann": ["b.jpg", "original.png", "c.jpg"], "bob": ["x.jpg", "y.jpg"]}.items():
        for k, file in enumerate(files):
            _image(tmp_path / "set" / identity / file, 20 * k)
    data, pairs = read_edits(tmp_path / "set")
    named = {(data.images[a].rel, data.images[b].rel) for a, b, s in zip(pairs.left, pairs.right, pairs.same) if s}
    assert named == {("ann/original.png", "ann/b.jpg"), ("ann/original.png", "ann/c.jpg"), ("bob/x.jpg", "bob/y.jpg")}
    assert any("no manifest.csv" in note for note in data.notes)
    assert not sniff_edits(tmp_path / "set")  # a plain folder is not taken for an edited set


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("hair_removed", "hair_dyed"), "role 'hair_dyed' is not a known edit role"),
        (lambda t: t + "hair,ann,hair/ann/a1.jpg,hair_edited,ann\n", "is listed twice"),
        (
            lambda t: t + "hair,ann,hair/ann/gone.jpg,hair_edited,ann\n",
            "ann/gone.jpg is not in .*1 listed files missing",
        ),
        (lambda t: t.replace("hair,bob,hair/bob/b2.jpg", "hair,cat,hair/bob/b2.jpg"), "listed as identity cat"),
        (lambda t: t.replace("file,role", "path,kind"), "needs the columns file and role"),
        (lambda t: "\n".join(ln for ln in t.splitlines() if "c1.jpg" not in ln) + "\n", "lists no row for cat/c1.jpg"),
    ],
)
def test_a_wrong_manifest_is_a_one_line_error_naming_the_place(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    root = _set(tmp_path, ROWS)
    manifest = root.parent / "manifest.csv"
    manifest.write_text(change(manifest.read_text()))
    with pytest.raises(DatasetError, match=message) as err:
        open_edits(root)
    assert "\n" not in str(err.value) and "manifest.csv" in str(err.value)


def test_a_same_person_group_of_one_and_a_missing_folder_are_refused(tmp_path: Path) -> None:
    root = _set(tmp_path, ROWS)
    (root / "same_person.txt").write_text("ann\n")
    with pytest.raises(DatasetError, match="same_person.txt:1: a same-person group needs 2"):
        open_edits(root)
    with pytest.raises(DatasetError, match="does not exist"):
        open_edits(tmp_path / "nowhere")


def test_pairs_need_two_persons(tmp_path: Path) -> None:
    root = _set(tmp_path, ROWS[:3])
    with pytest.raises(DatasetError, match="2\\+ persons"):
        edit_pairs(open_edits(root))
    assert np.array_equal(open_edits(root).identities(), ["ann"])
