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
  - {evaluation: identify, options: {gallery_per_identity: 1}, n: 4}
```
Top-level keys other than these are request fields applied to every run (``face``, ``seed``, ``n``, ...); an entry
under ``evaluations`` or ``datasets`` may override them.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from bench.data.yaml_files import read_yaml
from bench.errors import BenchError
from bench.run.config import Settings
from bench.run.requests import SweepRequest, check
from bench.run.runner import Outcome, execute

RENAMED = {"input": "input_dir"}
"""A suite's own name for a request field."""


class SuiteError(BenchError):
    """A suite file that cannot be run as written."""


def _load(path: Path) -> dict[str, Any]:
    data = read_yaml(path, SuiteError)
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), list) and data[k] for k in ("datasets", "evaluations")
    ):
        raise SuiteError(f"{path}: a suite needs 'datasets:' and 'evaluations:' lists (see `bench run --help`)")
    return data


def _fields(raw: dict[str, Any], path: Path, key: str) -> dict[str, Any]:
    """The request fields of one section of the suite (``key`` says where it is), validated; relative paths are
    resolved against the suite's folder."""
    at = f"{key}." if key else ""
    if "evaluation" in raw:
        raise SuiteError(f"{path}: {at}evaluation: an evaluation is named only under 'evaluations:'")
    given: dict[str, Any] = {}
    shown: dict[str, str] = {}
    for name, value in raw.items():
        field = RENAMED.get(name, name)
        given[field], shown[field] = value, f"{at}{name}"
    section = SweepRequest.model_validate({**given, "evaluation": ""}, context={"where": f"{path}: ", "shown": shown})
    out = {k: getattr(section, k) for k in given}
    for field in ("input_dir", "pairs"):
        if out.get(field) is not None:
            out[field] = path.parent / out[field]  # an absolute path stays as it is
    return out


def _entry(raw: Any, name_key: str, path: Path, key: str) -> dict[str, Any]:
    if isinstance(raw, str):
        return {name_key: raw}
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: {key}: expected a name or a mapping, got {type(raw).__name__}")
    return dict(raw)


def _label(source: dict[str, Any]) -> str:
    return str(source.get("dataset") or Path(str(source.get("input_dir", "data"))).name)


def requests(path: Path, output: Path | None = None, overwrite: bool = False) -> list[SweepRequest]:
    """Every run the suite declares, as validated requests (datasets x evaluations)."""
    data = _load(path)
    name = data.pop("name", path.stem)
    if not isinstance(name, str):
        raise SuiteError(f"{path}: name={name!r}: should be a string (got {type(name).__name__})")
    datasets, evaluations = data.pop("datasets"), data.pop("evaluations")
    common = _fields(data, path, "")
    root = (output or common.pop("output", Path("results"))) / name
    out = []
    for i, dataset in enumerate(datasets):
        source = _fields(_entry(dataset, "dataset", path, f"datasets[{i}]"), path, f"datasets[{i}]")
        for j, evaluation in enumerate(evaluations):
            entry = _entry(evaluation, "evaluation", path, f"evaluations[{j}]")
            evaluation_name = entry.pop("evaluation", None)
            merged = {**common, **source, **_fields(entry, path, f"evaluations[{j}]")}
            run_id = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{evaluation_name}-{_label(source)}")
            fields = {"output": root, "run_id": run_id, "overwrite": overwrite, **merged, "evaluation": evaluation_name}
            context = {"where": f"{path}: ", "shown": {"evaluation": f"evaluations[{j}].evaluation"}}
            out.append(SweepRequest.model_validate(fields, context=context))
    return out


def run_suite(path: Path, settings: Settings, output: Path | None = None, overwrite: bool = False) -> list[Outcome]:
    """Run every request of the suite; each run folder gets a copy of the suite and its sha256 in the manifest."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    outcomes = []
    checked = [check(r, settings, f"{path}: run {r.run_id}: ") for r in requests(path, output, overwrite)]
    for request in checked:  # every request is checked before the first runs
        outcome = execute(request, settings, {"suite": {"file": str(path), "sha256": digest}})
        outcome.run.write_file("suite.yaml", path.read_bytes())
        outcomes.append(outcome)
    return outcomes
