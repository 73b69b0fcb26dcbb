"""Protocol readers: a pair list, or a whole benchmark in its own file format, read into a Dataset and Pairs.

A reader is chosen by declaration (``datasets.yaml``'s ``protocol:`` or ``--protocol``) or else by sniffing the
file's content, never by its suffix alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.data.datasets import Dataset, DatasetError, Pairs

Reader = Callable[[Path, "Dataset | None"], "tuple[Dataset, Pairs | None]"]
"""(pairs or benchmark file, the dataset it refers to if any) -> (the dataset, the image pairs on it; None for a
format without image pairs, such as IJB's template pairs or TinyFace's 1:N split)."""


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


def _read(spec: ProtocolSpec, path: Path, dataset: Dataset | None) -> tuple[Dataset, Pairs | None]:
    """``spec.read``, refusing an empty pair list (a reader gives pairs with rows, or None)."""
    found, pairs = spec.read(path, dataset)
    if pairs is not None and len(pairs) == 0:
        raise DatasetError(f"{path}: the {spec.name} reader found no pairs in it; a pair list needs at least one")
    return found, pairs


def read_pairs(protocols: Iterable[ProtocolSpec], dataset: Dataset, path: Path, declared: str | None = None) -> Pairs:
    """Pairs from ``path`` on ``dataset``, by the declared or sniffed reader; one without image pairs is refused."""
    spec = choose(protocols, path, declared)
    pairs = _read(spec, path, dataset)[1]
    if pairs is None:
        raise DatasetError(
            f"{path}: read as {spec.name}, which has no image pairs; pass a pair list (lfw-pairs, csv-pairs)"
        )
    return pairs


def benchmark_at(protocols: Iterable[ProtocolSpec], path: Path, declared: str | None = None) -> ProtocolSpec | None:
    """The self-contained benchmark reader (``needs_dataset=False``) for ``path``: the declared one if it is such a
    reader, else the first whose ``sniff`` accepts ``path``; None when ``path`` is not a benchmark (a plain folder)."""
    specs = [s for s in protocols if not s.needs_dataset]
    if declared:
        found = [s for s in specs if s.name.lower() == declared.strip().lower()]
        return found[0] if found else None
    return next((s for s in specs if s.sniff(path)), None)


def open_benchmark(
    protocols: Iterable[ProtocolSpec], path: Path, declared: str | None = None
) -> tuple[Dataset, Pairs | None]:
    """A whole benchmark at ``path`` (a ``.bin``, a CFP or IJB folder...): its images and pairs (None where it has
    no image pairs), the dataset naming ``path`` as its pairs file and the reader as its ``protocol`` (so a re-read
    uses the same reader)."""
    spec = benchmark_at(protocols, path, declared) or choose(protocols, path, declared)
    dataset, pairs = _read(spec, path, None)
    return dataclasses.replace(dataset, pairs_file=path, protocol=spec.name), pairs
