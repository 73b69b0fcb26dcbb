"""The README stays a short front page (its two commands, a tour, links into docs/), and the Python examples of the
README and of the API page (docs/usage.md) run as written (from the repository root, on the bundled sample)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, needs_weights

TWO_COMMANDS = """```bash
bash scripts/demo.sh   # fresh machine: set up .venv, run similarity + accuracy on the bundled sample (offline)
bash scripts/test.sh   # fresh machine: set up .venv, run the fast tier, then the integration tier (../shared)
```"""
"""The README's two commands, exactly: set up and run the main job on the sample; set up and run the tests."""

EXAMPLES = ["README.md", "docs/usage.md"]
"""The pages whose `## Python API` section holds a Python example that must run as written."""


def _readme() -> str:
    return (REPO / "README.md").read_text()


def test_readme_has_the_two_commands_exactly() -> None:
    text = _readme()
    assert TWO_COMMANDS in text.split("## Two commands", 1)[1]
    assert TWO_COMMANDS in (REPO / "docs" / "index.md").read_text()


def test_readme_is_short_and_links_every_docs_page() -> None:
    text = _readme()
    assert len(text.splitlines()) <= 250
    links = set(re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text))
    assert {f"docs/{page.name}" for page in (REPO / "docs").glob("*.md")} <= links
    assert [link for link in links if "://" not in link and not (REPO / link).exists()] == []


def test_the_moved_text_is_in_the_docs() -> None:
    """What the README used to hold in full now lives on its topic page."""
    docs = {page.stem: page.read_text() for page in (REPO / "docs").glob("*.md")}
    assert "| `--on-no-face whole`, `skip`, `error` |" in docs["usage"]
    assert "## Suite files (`bench run`)" in docs["usage"]
    assert "## Weights: one search path" in docs["models"] and "## Which face is used: `--face`" in docs["models"]
    assert "## Standard benchmarks" in docs["datasets"] and "## What a dataset carries" in docs["datasets"]
    assert "## What each reader accepts" in docs["datasets"]
    assert "## The run record" in docs["numbers"] and "## Parity with DeepFace" in docs["numbers"]
    assert "## Past one machine: `--executor ray`" in docs["speed"]
    assert "| hook | registers |" in docs["extending"]
    for command in ("operating", "fairness", "quality", "audit", "identify", "variants", "similarity"):
        assert f"(`bench {command}`" in docs["evaluations"], command


def _python_example(page: str) -> str:
    section = (REPO / page).read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@needs_weights
@pytest.mark.parametrize("page", EXAMPLES)
def test_python_example_runs_as_written(page: str, tmp_path: Path) -> None:
    """Copied into a script (no ``__main__`` guard: the workers must not re-run it) and run from the repository root."""
    code = _python_example(page)
    assert "facebench.accuracy(" in code and "__main__" not in code
    script = tmp_path / "example.py"
    script.write_text(code)
    _runs(script, REPO)


@needs_weights
def test_python_example_runs_from_the_folder_above_a_clone_named_facebench(tmp_path: Path) -> None:
    """From the folder that holds the clone (``facebench/``), ``import facebench`` is the installed package, not the
    clone's folder as a namespace package; the example's paths are then under ``facebench/``."""
    (tmp_path / "facebench").symlink_to(REPO)
    code = _python_example("README.md").replace('"datasets/', '"facebench/datasets/').replace('"../', '"facebench/../')
    script = tmp_path / "example.py"
    script.write_text(code)
    _runs(script, tmp_path)


def _runs(script: Path, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script)], cwd=cwd, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "acc_kfold_mean" in done.stdout and "roc_" in done.stdout
