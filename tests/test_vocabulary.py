"""One name per evaluation: the CLI's commands, ``bench evaluations``, suite files, ``--eval`` and the API agree, and
the old names still work (with a note)."""

from __future__ import annotations

import click
from click.testing import CliRunner

import facebench
from bench import plugins
from bench.interface.cli import main
from bench.run.suite import requests

CANONICAL = {
    "accuracy",
    "identify",
    "operating",
    "rfw",
    "variants",
    "quality",
    "audit",
    "similarity",
    "calibrate",
    "fairness",
    "ijb",
    "tinyface",
}
OLD = {
    "verification": "accuracy",
    "identification": "identify",
    "operating_points": "operating",
    "groups": "rfw",
    "robustness": "variants",
}


def _cli_commands() -> set[str]:
    ctx = click.Context(main, info_name="bench")
    return set(main.list_commands(ctx))


def _listed_evaluations() -> list[str]:
    result = CliRunner().invoke(main, ["evaluations"])
    assert result.exit_code == 0, result.output
    return [line.split()[0] for line in result.output.splitlines() if line.strip()]


def test_the_cli_the_listing_the_suite_and_the_api_name_each_evaluation_alike() -> None:
    registry = plugins.load().evaluations
    names = set(registry.names())
    assert names >= CANONICAL
    assert all(spec.name == spec.command for spec in registry if spec.command), "an evaluation named unlike its command"
    assert _cli_commands() >= CANONICAL
    assert set(_listed_evaluations()) == names
    api = {name for name in CANONICAL if callable(getattr(facebench, name, None))}
    assert api == {"accuracy", "identify", "similarity"}
    assert all(registry.get(name).name == name for name in api)


def test_suite_files_and_eval_take_the_command_names_and_the_old_ones(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    suite = tmp_path / "suite.yaml"
    listed = sorted(CANONICAL | set(OLD))
    suite.write_text("datasets: [{input: data}]\nevaluations: [" + ", ".join(listed) + "]\n")
    given = [r.evaluation for r in requests(suite)]
    registry = plugins.load().evaluations
    assert [registry.get(name).name for name in given] == [OLD.get(name, name) for name in listed]
    notes = capsys.readouterr().err.splitlines()
    assert "note: evaluation 'verification' is now called 'accuracy' (the old name still works)" in notes
    assert len(notes) == len(OLD)
