"""An evaluation as a unit: what it needs, which options it adds, which tables it writes.

Its steps are the :class:`bench.run.context.Evaluation` protocol.

The runner (``bench.runner``) owns the lifecycle -- open the run, prepare, sweep the combinations, write each table
after each combination, finish, close the record -- so a new evaluation is one file: its command appears in
``bench --help``, its tables in the manifest, the HTML report and ``bench compare``, with no edit elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Rows = dict[str, list[dict[str, Any]]]
"""Table name -> rows to append to that table."""


@dataclass(frozen=True)
class Option:
    """An evaluation's own option; the CLI turns it into a click option, the API into a keyword argument."""

    name: str  # python name, e.g. "gallery_per_identity" (CLI: --gallery-per-identity)
    type: Any = str  # str, int, float, bool (a flag), or a click ParamType
    default: Any = None
    help: str = ""


@dataclass(frozen=True)
class Table:
    """A long-format CSV an evaluation writes into the run folder (``<name>.csv``)."""

    name: str
    description: str
    keys: tuple[str, ...] = ("dataset", "model", "detector", "metric")  # what identifies a row
    figures: tuple[str, ...] = ()  # the columns ``bench compare`` and the report's cross-run table show


@dataclass(frozen=True)
class EvaluationSpec:
    """A registered evaluation."""

    name: str
    factory: Callable[[], Any]  # -> an :class:`~bench.run.context.Evaluation`
    help: str = ""
    command: str = ""  # CLI command that runs it ("" = only as an extra evaluation of another command)
    needs: frozenset[str] = frozenset()  # "pairs", "identities", "attributes"
    tables: tuple[Table, ...] = ()
    options: tuple[Option, ...] = ()
    default_metric: str = "all"
    plugin: str = ""
    extras: dict[str, Any] = field(default_factory=dict)  # free-form metadata (e.g. report section order)
    aliases: tuple[str, ...] = ()  # old names still accepted (suite files, --eval, the API), with a note
