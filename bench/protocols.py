"""Protocol readers: a pair list, or a whole benchmark in its own file format, read into a Dataset and Pairs.

A reader is chosen by declaration (``datasets.yaml``'s ``protocol:`` or ``--protocol``) or else by sniffing the
file's content, never by its suffix alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.datasets import Dataset, DatasetError, Pairs

Reader = Callable[[Path, "Dataset | None"], "tuple[Dataset, Pairs]"]
"""(pairs or benchmark file, the dataset it refers to if any) -> (the dataset, the pairs on it)."""


@dataclass(frozen=True)
class ProtocolSpec:
    """A registered reader: ``sniff`` says whether a file is in its format (cheap, reads a few bytes)."""

    name: str
    read: Reader
    sniff: Callable[[Path], bool]
    description: str = ""
    needs_dataset: bool = True  # False for self-contained benchmarks (e.g. a .bin with the images inside)
    plugin: str = ""


def choose(protocols: Iterable[ProtocolSpec], path: Path, declared: str | None = None) -> ProtocolSpec:
    """The declared reader, else the first whose ``sniff`` accepts ``path``; one-line error otherwise."""
    specs = list(protocols)
    if declared:
        from bench.registry import unknown_message

        found = [s for s in specs if s.name.lower() == declared.strip().lower()]
        if not found:
            raise DatasetError(unknown_message("protocol", declared, [s.name for s in specs]))
        return found[0]
    if not path.exists():
        raise DatasetError(f"pairs file {path} does not exist")
    for spec in specs:
        if spec.sniff(path):
            return spec
    names = ", ".join(s.name for s in specs)
    raise DatasetError(f"{path}: not in any known pair-list format ({names}); pass --protocol NAME")


def read_pairs(protocols: Iterable[ProtocolSpec], dataset: Dataset, path: Path, declared: str | None = None) -> Pairs:
    """Pairs from ``path`` on ``dataset``, by the declared or sniffed reader."""
    return choose(protocols, path, declared).read(path, dataset)[1]


def benchmark_at(protocols: Iterable[ProtocolSpec], path: Path, declared: str | None = None) -> ProtocolSpec | None:
    """The self-contained benchmark reader (``needs_dataset=False``) for ``path``: the declared one if it is such a
    reader, else the first whose ``sniff`` accepts ``path``; None when ``path`` is not a benchmark (a plain folder)."""
    specs = [s for s in protocols if not s.needs_dataset]
    if declared:
        found = [s for s in specs if s.name.lower() == declared.strip().lower()]
        return found[0] if found else None
    return next((s for s in specs if s.sniff(path)), None)


def open_benchmark(protocols: Iterable[ProtocolSpec], path: Path, declared: str | None = None) -> tuple[Dataset, Pairs]:
    """A whole benchmark at ``path`` (a ``.bin``, a CFP or IJB folder...): its images and pairs, the dataset
    naming ``path`` as its pairs file and the reader as its ``protocol`` (so a re-read uses the same reader)."""
    spec = benchmark_at(protocols, path, declared) or choose(protocols, path, declared)
    dataset, pairs = spec.read(path, None)
    return dataclasses.replace(dataset, pairs_file=path, protocol=spec.name), pairs
