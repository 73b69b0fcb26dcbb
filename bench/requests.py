"""Typed requests: what a user asked a sweep to do, built by the CLI from its options or by the Python API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SweepRequest:
    """One evaluation (plus extras) over datasets x models x detectors x metrics."""

    evaluation: str  # the registered evaluation that leads (e.g. "verification")
    input_dir: Path | None = None  # a folder <identity>/<image>, or a benchmark file a protocol reads
    dataset: str | None = None  # an entry of datasets.yaml
    pairs: Path | None = None
    protocol: str | None = None  # reader for --pairs / --i (default: sniffed)
    models: str = "Dlib"
    backends: str = "opencv"
    metrics: str | None = None  # None: the evaluation's default
    flip: bool = False  # flip test-time augmentation for every model (RecognizerSpec.with_flip)
    face: str = "center"
    detector_options: tuple[str, ...] = ()  # NAME.KEY=VALUE
    n: int | None = None
    seed: int = 0
    on_no_face: str = "whole"
    output: Path = Path("results")
    run_id: str | None = None
    overwrite: bool = False
    executor: str = "local"
    ray_address: str | None = None
    jobs: int | None = None  # local executor's worker processes (None: one per core; 1: in this process)
    device: str = "cpu"  # "cpu" or "cuda"
    allow_partial: bool = False
    extra_evaluations: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)  # options the evaluations declared

    def option(self, name: str, default: Any = None) -> Any:
        """An evaluation-declared option's value."""
        value = self.options.get(name)
        return default if value is None else value

    def record(self) -> dict[str, Any]:
        """JSON-safe view for the manifest."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
