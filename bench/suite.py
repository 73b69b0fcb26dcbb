"""Suite files: a declared sweep (datasets x evaluations, with models, detectors, metrics and options) in YAML.

```yaml
name: sample-suite           # run folders: <output>/<name>/<evaluation>-<dataset>/
output: results
models: [Dlib, SFace]
backends: [opencv, yunet]
metrics: [cosine]
datasets: [{input: datasets/sample}, {dataset: lfw-devtest}]
evaluations:
  - verification
  - {evaluation: identification, options: {gallery_per_identity: 1}, n: 4}
```
Top-level keys other than these are request fields applied to every run (``face``, ``seed``, ``n``, ...); an entry
under ``evaluations`` or ``datasets`` may override them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from bench.config import Settings
from bench.errors import BenchError
from bench.requests import SweepRequest
from bench.runner import Outcome, execute

FIELDS = {f.name for f in fields(SweepRequest)}
LISTS = ("models", "backends", "metrics")


class SuiteError(BenchError):
    """A suite file that cannot be run as written."""


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise SuiteError(f"{path}{f':{mark.line + 1}' if mark else ''}: invalid YAML") from err
    if not isinstance(data, dict) or not data.get("evaluations") or not data.get("datasets"):
        raise SuiteError(f"{path}: a suite needs 'datasets:' and 'evaluations:' lists (see `bench run --help`)")
    return data


def _fields(raw: dict[str, Any], path: Path, base: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        key = {"input": "input_dir"}.get(key, key)
        if key not in FIELDS:
            raise SuiteError(f"{path}: unknown key '{key}'; known: {', '.join(sorted(FIELDS - {'evaluation'}))}")
        if key in LISTS and isinstance(value, list):
            value = ",".join(map(str, value))
        if key in ("input_dir", "pairs") and value is not None:
            value = (base / str(value)) if not Path(str(value)).is_absolute() else Path(str(value))
        out[key] = value
    return out


def _entry(raw: Any, name_key: str) -> dict[str, Any]:
    return {name_key: raw} if isinstance(raw, str) else dict(raw)


def requests(path: Path, output: Path | None = None, overwrite: bool = False) -> list[SweepRequest]:
    """Every run the suite declares, as typed requests (datasets x evaluations)."""
    data = _load(path)
    base = path.parent
    name = str(data.pop("name", path.stem))
    root = Path(output or data.pop("output", "results")) / name
    data.pop("output", None)
    datasets, evaluations = data.pop("datasets"), data.pop("evaluations")
    common = _fields(data, path, base)
    out = []
    for dataset in datasets:
        source = _fields(_entry(dataset, "dataset"), path, base)
        label = str(source.get("dataset") or Path(str(source.get("input_dir", "data"))).name)
        for evaluation in evaluations:
            entry = _entry(evaluation, "evaluation")
            evaluation_name = str(entry.pop("evaluation"))
            merged = {**common, **source, **_fields(entry, path, base)}
            run_id = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{evaluation_name}-{label}")
            out.append(
                SweepRequest(
                    evaluation=evaluation_name, **{"output": root, "run_id": run_id, "overwrite": overwrite, **merged}
                )
            )
    return out


def run_suite(path: Path, settings: Settings, output: Path | None = None, overwrite: bool = False) -> list[Outcome]:
    """Run every request of the suite; each run folder gets a copy of the suite and its sha256 in the manifest."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    outcomes = []
    for request in requests(path, output, overwrite):
        outcome = execute(request, settings, {"suite": {"file": str(path), "sha256": digest}})
        outcome.run.write_file("suite.yaml", path.read_bytes())
        outcomes.append(outcome)
    return outcomes
