"""datasets.yaml's edited sets: a search path of environment variables, and a one-line message when one is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.data.catalog import load_catalog
from bench.data.datasets import DatasetError
from tests.conftest import REPO, SHARED, bench

SETS = ("hairstyle", "makeup", "rotation", "synthetic")
ROOT = "${FACEBENCH_ROBUSTNESS:-${FACEBENCH_DATA:-../shared/data}/robustness}"


def _catalog(tmp_path: Path) -> Path:
    path = tmp_path / "datasets.yaml"
    path.write_text(f"datasets:\n  makeup:\n    root: {ROOT}/makeup\n    protocol: edits\n")
    return path


def test_the_search_path_takes_the_first_variable_set_then_the_shared_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACEBENCH_ROBUSTNESS", raising=False)
    monkeypatch.delenv("FACEBENCH_DATA", raising=False)
    path = _catalog(tmp_path)
    assert load_catalog(path)["makeup"].root == (tmp_path / "../shared/data/robustness/makeup").resolve()
    monkeypatch.setenv("FACEBENCH_DATA", "/data")
    assert load_catalog(path)["makeup"].root == Path("/data/robustness/makeup")
    monkeypatch.setenv("FACEBENCH_ROBUSTNESS", "/edits")
    assert load_catalog(path)["makeup"].root == Path("/edits/makeup")


def test_an_absent_set_names_the_path_looked_at_and_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEBENCH_ROBUSTNESS", str(tmp_path / "nowhere"))
    entry = load_catalog(_catalog(tmp_path))["makeup"]
    with pytest.raises(DatasetError) as err:
        entry.check_present()
    message = str(err.value)
    assert f"{tmp_path / 'nowhere' / 'makeup'} does not exist" in message
    assert "set FACEBENCH_ROBUSTNESS or FACEBENCH_DATA" in message and "\n" not in message
    code, output = bench("--datasets", str(_catalog(tmp_path)), "accuracy", "--dataset", "makeup")
    assert code != 0 and "dataset 'makeup' is not here" in output


@pytest.mark.skipif(not (SHARED / "data" / "robustness" / "manifest.csv").is_file(), reason="no robustness sets")
def test_the_shipped_entries_find_the_shared_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEBENCH_ROBUSTNESS", raising=False)
    monkeypatch.delenv("FACEBENCH_DATA", raising=False)
    catalog = load_catalog(REPO / "datasets.yaml")
    for name in SETS:
        assert catalog[name].present() and catalog[name].protocol == "edits"
        assert catalog[name].root == (SHARED / "data" / "robustness" / name).resolve()
