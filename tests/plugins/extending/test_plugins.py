"""Plugin plumbing: a plugin from outside the repo registers a recognizer that runs in a sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from bench import plugins
from bench.interface.cli import main
from bench.registry import DuplicateName
from tests.conftest import SAMPLE

# A deliberately simple recognizer: its "embedding" is a colour histogram. Plumbing only.
PLUGIN = """
import numpy as np
from bench.hookspecs import hookimpl
from bench.registry import RecognizerSpec


class Histogram:
    def crop(self, image, face):
        x, y, w, h = (int(v) for v in (face.x, face.y, face.w, face.h))
        return image[max(0, y):y + h, max(0, x):x + w].reshape(-1, 3)[:1000].astype(np.float32)

    def embed(self, crops):
        return np.stack([np.histogram(c, bins=16, range=(0, 255))[0] for c in crops]).astype(np.float32)


@hookimpl
def register_recognizers(register):
    register(RecognizerSpec(name="Histogram", load=lambda files: Histogram(), dim=16, input_size=(0, 0)))
"""


@pytest.fixture()
def plugin_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "my_plugins"
    folder.mkdir()
    (folder / "histogram_plugin.py").write_text(PLUGIN)
    return folder


def test_plugins_dir_adds_a_recognizer(plugin_dir: Path) -> None:
    registry = plugins.load((plugin_dir,))
    assert registry.recognizers.get("histogram").name == "Histogram"
    listed = json.loads(CliRunner().invoke(main, ["--plugins-dir", str(plugin_dir), "plugins"]).output)
    assert any(p.get("recognizers") == ["Histogram"] for p in listed)


def test_env_var_plugins_dir(plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_PLUGINS_DIR", str(plugin_dir))
    assert "Histogram" in plugins.load().recognizers.names()


def test_third_party_recognizer_runs_in_a_sweep(plugin_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "--plugins-dir",
            str(plugin_dir),
            "accuracy",
            "--i",
            str(SAMPLE),
            "--model",
            "Histogram",
            "--backend",
            "skip",
            "--metric",
            "cosine",
            "--o",
            str(tmp_path),
            "--run-id",
            "h",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "h" / "accuracy.csv")
    assert table.model.tolist() == ["Histogram"] and table.n_pairs_scored[0] == 180


def test_duplicate_names_are_rejected(plugin_dir: Path) -> None:
    (plugin_dir / "again.py").write_text(PLUGIN)
    with pytest.raises(DuplicateName, match="'Histogram' is registered by both"):
        plugins.load((plugin_dir,))


def test_misspelled_hook_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "typo.py").write_text(
        "from bench.hookspecs import hookimpl\n@hookimpl\ndef register_recogniser(register):\n    pass\n"
    )
    with pytest.raises(plugins.PluginError, match="register_recogniser"):
        plugins.load((tmp_path,))


def test_broken_plugin_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import does_not_exist\n")
    result = CliRunner().invoke(main, ["--plugins-dir", str(tmp_path), "models"])
    assert result.exit_code == 1 and "broken.py failed to import" in result.output
