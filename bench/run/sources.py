"""Where a request's images and pairs come from: a folder, a datasets.yaml entry, or a benchmark file."""

from __future__ import annotations

from pathlib import Path

from bench import protocols
from bench.data.catalog import DatasetEntry, load_catalog
from bench.data.datasets import (
    Dataset,
    DatasetError,
    Pairs,
    is_reference,
    reference_pairs,
    sample_pairs,
    scan,
    subsample,
)
from bench.registry import unknown_message
from bench.run.config import Settings
from bench.run.requests import SweepRequest


def named(settings: Settings, name: str) -> DatasetEntry:
    """The datasets.yaml entry ``name`` (any case), with a "did you mean" otherwise."""
    catalog = load_catalog(settings.datasets_file)
    found = {k.lower(): v for k, v in catalog.items()}.get(name.strip().lower())
    if found is None:
        raise DatasetError(unknown_message("dataset", name, list(catalog)) + f" (in {settings.datasets_file})")
    return found


def open_source(settings: Settings, request: SweepRequest) -> tuple[Dataset, Pairs | None]:
    """The dataset named by ``--dataset`` or found at ``--i``; a benchmark file brings its own pairs (never an empty
    list: None where the benchmark has no image pairs, as IJB and TinyFace)."""
    if request.dataset and request.input_dir:
        raise DatasetError("give either --i DIR or --dataset NAME, not both")
    registry = settings.plugins().protocols
    if request.dataset:
        entry = named(settings, request.dataset)
        entry.check_present()
        if entry.pairs is None and protocols.benchmark_at(registry, entry.root, entry.protocol or None):
            return protocols.open_benchmark(registry, entry.root, entry.protocol or None)  # root: a .bin, IJB folder...
        return entry.open(), None
    if not request.input_dir:
        raise DatasetError("no dataset: pass --i DIR (identity-per-folder) or --dataset NAME")
    root = Path(request.input_dir)
    pairs = next((p for p in (root / "pairs.csv", root / "pairs.txt") if p.is_file()), None)
    if root.is_file() or (pairs is None and protocols.benchmark_at(registry, root, request.protocol)):
        return protocols.open_benchmark(registry, root, request.protocol)  # a .bin, a CFP / IJB / TinyFace folder...
    return scan(root, pairs_file=pairs), None


def pairs_for(settings: Settings, request: SweepRequest, dataset: Dataset, given: Pairs | None = None) -> Pairs:
    """The pairs to score: ``--pairs``, else the dataset's own list, else reference pairs, else ``--n`` sampled."""
    registry = settings.plugins().protocols
    if request.pairs:
        listed = protocols.read_pairs(registry, dataset, Path(request.pairs), request.protocol)
        return listed if request.n is None else subsample(listed, request.n, request.seed)
    if given is not None and request.n is None:
        return given
    if request.n is None and dataset.pairs_file is not None:
        return protocols.read_pairs(registry, dataset, dataset.pairs_file, dataset.protocol or request.protocol)
    if request.n is None and any(is_reference(img) for img in dataset.images):
        return reference_pairs(dataset, request.seed)
    return sample_pairs(dataset, request.n or 1000, request.seed)
