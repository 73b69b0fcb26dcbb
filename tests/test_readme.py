"""The README's Python example runs as written (from the repository root, on the bundled sample)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO, needs_weights


def _python_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@needs_weights
def test_python_example_runs_as_written() -> None:
    code = _python_example()
    assert "facebench.accuracy(" in code
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "acc_kfold_mean" in done.stdout and "roc_" in done.stdout
