"""YAML files the user writes (datasets.yaml, suites, models.yaml): read with YAML 1.2 numbers, errors with lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bench.errors import BenchError


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats: ``1e-3`` is a number, as a user means it (YAML 1.1 reads a
    string unless it has a dot)."""


Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "-+0123456789.":
    Loader.yaml_implicit_resolvers[_first] = [
        (tag, rx) for tag, rx in Loader.yaml_implicit_resolvers.get(_first, []) if tag != "tag:yaml.org,2002:float"
    ]
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def syntax_error(path: Path, err: yaml.YAMLError, error: type[BenchError]) -> BenchError:
    """``error`` naming the file, the line and the problem."""
    mark = getattr(err, "problem_mark", None)
    where = f":{mark.line + 1}" if mark is not None else ""
    return error(f"{path}{where}: invalid YAML ({getattr(err, 'problem', None) or err})")


def read_yaml(path: Path, error: type[BenchError]) -> Any:
    """The document in ``path``; ``error`` naming the file (and line) when it cannot be read or parsed."""
    try:
        return yaml.load(path.read_text(), Loader=Loader)
    except yaml.YAMLError as err:
        raise syntax_error(path, err, error) from err
    except OSError as err:
        raise error(f"cannot read {path}: {err.strerror}") from err
