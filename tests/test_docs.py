"""Every command `bench --help` lists, and every plugin hook, has an entry in the docs (docs/*.md).

A command is documented when a page mentions `bench COMMAND` (a group's subcommands as `bench GROUP SUB`) or
names it in a heading; a hook when the extending page names it. A new command, an evaluation a plugin registers
with a command, or a new hook fails here until the docs say what it is.
"""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from tests.conftest import REPO

DOCS = REPO / "docs"
EXTENSIONS = REPO / "tests" / "extensions"


def _docs() -> str:
    return "\n".join(page.read_text() for page in sorted(DOCS.glob("*.md")))


def _listed(*options: str) -> list[str]:
    """The command names the `Commands:` section of `bench [OPTIONS] --help` lists."""
    from bench.interface.cli import main

    result = CliRunner().invoke(main, [*options, "--help"])
    assert result.exit_code == 0, result.output
    section = result.output.split("\nCommands:\n", 1)[1]
    return [line.split()[0] for line in section.splitlines() if line.startswith("  ") and line.split()]


def _commands(*options: str) -> list[str]:
    """Every command of `bench [OPTIONS] --help`, and each group's subcommands as `GROUP SUB`."""
    from bench.interface.cli import main

    ctx = click.Context(main, info_name="bench")
    names: list[str] = []
    for name in _listed(*options):
        names.append(name)
        command = main.get_command(ctx, name)
        if isinstance(command, click.Group):
            names += [f"{name} {sub}" for sub in command.list_commands(ctx)]
    return names


def _documented(command: str, docs: str) -> bool:
    mention = re.compile(rf"\bbench {re.escape(command)}(?![\w-])")
    heading = re.compile(rf"^#+ .*`(bench )?{re.escape(command)}`", re.M)
    return bool(mention.search(docs) or heading.search(docs))


def _undocumented(commands: list[str], docs: str) -> list[str]:
    return [name for name in commands if not _documented(name, docs)]


def test_every_command_of_bench_help_has_an_entry_in_the_docs() -> None:
    commands = _commands()
    assert {"accuracy", "similarity", "operating", "fairness", "run", "weights download"} <= set(commands)
    assert _undocumented(commands, _docs()) == [], "document these commands in docs/*.md"


def test_plugin_registered_evaluation_commands_are_checked_too() -> None:
    """The check sees commands a plugin folder registers: the example evaluation's `spread` is listed, undocumented."""
    commands = _commands("--plugins-dir", str(EXTENSIONS))
    assert "spread" in commands
    assert _undocumented(commands, _docs()) == ["spread"]


def test_every_hook_has_an_entry_in_the_extending_page() -> None:
    from bench import hookspecs

    hooks = [name for name, obj in vars(hookspecs).items() if hasattr(obj, "bench_spec")]
    assert "register_recognizers" in hooks and "register_quality" in hooks
    extending = (DOCS / "extending.md").read_text()
    assert [hook for hook in hooks if f"`{hook}`" not in extending] == [], "add these hooks to docs/extending.md"


def test_the_check_catches_a_missing_entry() -> None:
    assert _undocumented(["accuracy", "quality"], "bench accuracy --i x\nbench quality-measures") == ["quality"]
    assert _undocumented(["run"], "## Suite files (`bench run`)") == []


def _nav_pages() -> list[str]:
    import yaml

    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    pages: list[str] = []

    def walk(entries: list) -> None:  # type: ignore[type-arg]
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            if isinstance(value, list):
                walk(value)
            else:
                pages.append(value)

    walk(config["nav"])
    return pages


def test_every_docs_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    pages = _nav_pages()
    assert sorted(pages) == sorted(p.name for p in DOCS.glob("*.md"))


@pytest.mark.parametrize("path", ["README.md", *(f"docs/{p.name}" for p in sorted(DOCS.glob("*.md")))])
def test_no_page_names_a_file_that_is_gone(path: str) -> None:
    """Repository paths a page names in backticks (`benchmarks/results/x.md`, `examples/...`) exist."""
    text = (REPO / path).read_text()
    named = set(
        re.findall(r"`((?:bench|plugins|facebench|benchmarks|examples|scripts|tests|docs|notes)/[\w./:-]+?)`", text)
    )
    missing = sorted(p for p in named if "*" not in p and not (REPO / p.split("::")[0]).exists())
    assert missing == []


def test_nothing_in_the_repository_is_named_after_a_ticket() -> None:
    tracked = [
        p
        for top in ("bench", "plugins", "facebench", "docs", "benchmarks", "examples", "scripts", "tests", "notes")
        for p in (REPO / top).rglob("*")
        if "__pycache__" not in p.parts
    ]
    assert [str(p.relative_to(REPO)) for p in tracked if re.search(r"issue[-_]?\d", p.name, re.I)] == []


def test_every_import_in_the_docs_code_resolves() -> None:
    """`from bench... import X` in a page's Python blocks names a module and attribute that exist (files move)."""
    import importlib

    blocks = re.findall(r"```python\n(.*?)```", _docs(), re.S)
    imports = re.findall(r"^from ((?:bench|facebench)[\w.]*) import ([\w, ]+)$", "\n".join(blocks), re.M)
    assert imports
    missing = [
        f"{module}.{name.strip()}"
        for module, names in imports
        for name in names.split(",")
        if not hasattr(importlib.import_module(module), name.strip())
    ]
    assert missing == []
