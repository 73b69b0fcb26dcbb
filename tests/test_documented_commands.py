"""Every shell and Python block of the README and docs/*.md runs as written, in a fresh copy of the repository.

A ```bash, ```sh, ```console or ```python block is a test. The copy sits beside ``shared`` (a symlink to the real
``../shared``), as a fresh clone would; shell blocks run with ``bash -euo pipefail`` and the venv's ``bin`` first on
``PATH``; Python blocks run as a plain script (``python block.py``, no ``__main__`` guard). All blocks share one cache
folder. Blocks without a language tag are output, not commands.

An HTML comment on the line above a block says what it needs or why it does not run here (never skipped silently):

- ``<!-- docs-test: needs weights:FaceRes,SFace data:lfw -->``: skipped with that reason where a plugin's weight files
  are not in ``../shared/weights`` or ``../shared/data/<name>`` is absent;
- ``<!-- docs-test: skip REASON -->``: not run (set-up on a fresh machine, long jobs, placeholders), with its reason.

Each block runs in its own fresh copy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED, WEIGHTS

PAGES = ["README.md", *(f"docs/{p.name}" for p in sorted((REPO / "docs").glob("*.md")))]
LANGUAGES = {"bash": "shell", "sh": "shell", "console": "shell", "python": "python"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
MARKER = re.compile(r"<!--\s*docs-test:\s*(skip|needs)\s+(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One code block of a page: where it is, its kind (shell/python), its text and its marker, if any."""

    page: str
    line: int
    kind: str
    code: str
    marker: tuple[str, str] | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: str, text: str) -> list[Block]:
    """The runnable blocks of ``text``, with the marker on the line above each."""
    found = []
    for match in FENCE.finditer(text):
        if match.group(1) not in LANGUAGES:
            continue
        line = text.count("\n", 0, match.start()) + 1
        above = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(above)
        kind = LANGUAGES[match.group(1)]
        found.append(Block(page, line, kind, match.group(2), (marker.group(1), marker.group(2)) if marker else None))
    return found


def _all_blocks() -> list[Block]:
    return [b for page in PAGES for b in blocks(page, (REPO / page).read_text())]


def missing_needs(needs: str) -> list[str]:
    """Why each of a ``needs`` marker's items (``weights:A,B``, ``data:NAME``) is absent here; empty when all are."""
    from bench import plugins

    registry = plugins.load()
    absent = []
    for item in needs.split():
        kind, _, names = item.partition(":")
        for name in names.split(","):
            if kind == "data":
                if not (SHARED / "data" / name).exists():
                    absent.append(f"{SHARED / 'data' / name} absent")
            elif kind == "weights":
                spec = registry.recognizers.get(name) if name in registry.recognizers else registry.detectors.get(name)
                reason = spec.unavailable_reason(WEIGHTS)
                if reason:
                    absent.append(reason)
            else:
                raise ValueError(f"unknown need {item!r} (weights:NAMES or data:NAME)")
    return absent


def test_the_block_reader_sees_fences_languages_and_markers() -> None:
    text = (
        "x\n<!-- docs-test: skip a long job -->\n```bash\nbench run\n```\n```\noutput\n```\n```python\nprint(1)\n```\n"
    )
    found = blocks("p.md", text)
    assert [(b.kind, b.code, b.marker, b.line) for b in found] == [
        ("shell", "bench run\n", ("skip", "a long job"), 3),
        ("python", "print(1)\n", None, 9),
    ]


def test_every_marker_is_one_the_test_reads() -> None:
    """A misspelt marker would leave a block unmarked: every ``docs-test`` comment parses, and is above a block."""
    marked = {b.id for b in _all_blocks() if b.marker}
    for page in PAGES:
        text = (REPO / page).read_text()
        for match in re.finditer(r"docs-test", text):
            line = text.count("\n", 0, match.start()) + 2
            assert f"{page}:{line}" in marked, f"{page}:{line - 1}: a docs-test marker not above a code block"
    needs = [b.marker[1] for b in _all_blocks() if b.marker and b.marker[0] == "needs"]
    assert needs and all(re.fullmatch(r"((weights|data):[\w,.-]+ ?)+", n) for n in needs)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh copy of the repository's files beside ``shared`` (a symlink to ../shared), with the venv linked."""
    root = tmp_path
    copy = root / "facebench"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source, target = REPO / name, copy / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        else:
            shutil.copy2(source, target)
    _link_venv(copy / ".venv")
    (root / "shared").symlink_to(SHARED)
    return copy


def _link_venv(venv: Path) -> None:
    """The checkout's venv, linked entry by entry, with an ``activate`` of its own: a venv copied from another
    folder keeps that folder's path in its ``activate`` (and would run another checkout's ``bench``)."""
    real = REPO / ".venv"
    (venv / "bin").mkdir(parents=True)
    for entry in real.iterdir():
        if entry.name != "bin":
            (venv / entry.name).symlink_to(entry)
    for entry in (real / "bin").iterdir():
        if not entry.name.startswith("activate"):
            (venv / "bin" / entry.name).symlink_to(entry)
    (venv / "bin" / "activate").write_text(f'export VIRTUAL_ENV="{real}"\nexport PATH="{real / "bin"}:$PATH"\n')


@pytest.mark.slow
@pytest.mark.parametrize("block", _all_blocks(), ids=lambda b: b.id)
def test_documented_block_runs_as_written(block: Block, clone: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    if block.marker and block.marker[0] == "skip":
        pytest.skip(f"marked in the page: {block.marker[1]}")
    if block.marker and block.marker[0] == "needs":
        absent = missing_needs(block.marker[1])
        if absent:
            pytest.skip("; ".join(absent))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    env["BENCH_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "docs-cache")
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    if block.kind == "python":
        script = clone / "docs_block.py"
        script.write_text(block.code)
        command = [sys.executable, script.name]
    else:
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    done = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, f"{block.id} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
