"""The named datasets of ``datasets.yaml``: where each lives, its pairs, protocol, baseline and attributes."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.data import attributes
from bench.data.datasets import Dataset, DatasetError, scan
from bench.data.yaml_files import read_yaml


@dataclass(frozen=True)
class DatasetEntry:
    """One entry of datasets.yaml."""

    name: str
    root: Path
    pairs: Path | None
    layout: str
    description: str
    baseline: str = ""
    protocol: str = ""  # the reader of ``pairs``; without ``pairs``, of ``root`` itself (a .bin, an IJB folder...)
    attributes: tuple[Any, ...] = ()  # bench.data.attributes sources (a CSV, label lists)
    variables: tuple[str, ...] = ()  # environment variables its root names (said when it is absent)

    def present(self) -> bool:
        """Whether its folder (or benchmark file) and pairs file, if any, exist."""
        if self.protocol and self.pairs is None:
            return self.root.exists()
        return self.root.is_dir() and (self.pairs is None or self.pairs.is_file())

    def check_present(self) -> None:
        """A one-line error naming the path looked at (and the variables that move it) when the set is absent."""
        if self.present():
            return
        where = self.pairs if self.root.exists() and self.pairs is not None else self.root
        move = f"; set {' or '.join(self.variables)} to where it lives" if self.variables else ""
        raise DatasetError(f"dataset '{self.name}' is not here: {where} does not exist{move}")

    def open(self) -> Dataset:
        """Scan the folder into a :class:`Dataset`, with the declared attributes on its images."""
        dataset = scan(self.root, self.name, self.pairs, self.description)
        dataset = dataclasses.replace(dataset, baseline=self.baseline, protocol=self.protocol)
        return attributes.attach(dataset, self.attributes) if self.attributes else dataset


VARIABLE = re.compile(r"\$\{(\w+)(?::-([^{}]*))?\}")


def _expand(text: str) -> str:
    """``${VAR}`` and ``${VAR:-default}`` from the environment; a default may hold another (a search path:
    ``${A:-${B:-../x}/y}``), expanded innermost first."""
    while (expanded := VARIABLE.sub(lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), text)) != text:
        text = expanded
    return text


def _variables(text: str) -> list[str]:
    """The environment variables a datasets.yaml path names, outermost first."""
    return re.findall(r"\$\{(\w+)", text)


def _entry(name: str, raw: Any, base: Path, source: Path) -> DatasetEntry:
    if not isinstance(raw, dict) or "root" not in raw:
        raise DatasetError(f"{source}: dataset '{name}' needs a mapping with at least 'root:'")
    unknown = set(raw) - {"root", "pairs", "layout", "description", "baseline", "protocol", "attributes"}
    if unknown:
        raise DatasetError(f"{source}: dataset '{name}' has unknown keys {sorted(unknown)}")
    root = (base / _expand(str(raw["root"]))).resolve()
    pairs = (root / str(raw["pairs"])) if raw.get("pairs") else None
    layout, description = str(raw.get("layout", "identity-per-folder")), str(raw.get("description", ""))
    declared = attributes.parse(raw["attributes"], root, f"{source}: dataset '{name}'") if "attributes" in raw else ()
    return DatasetEntry(
        name,
        root,
        pairs,
        layout,
        description,
        str(raw.get("baseline", "")),
        str(raw.get("protocol", "")),
        declared,
        tuple(_variables(str(raw["root"]))),
    )


def load_catalog(path: Path) -> dict[str, DatasetEntry]:
    """Parse datasets.yaml; paths are relative to the file's folder."""
    data = read_yaml(path, DatasetError)
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), dict):
        raise DatasetError(f"{path}: expected a top-level 'datasets:' mapping")
    return {name: _entry(name, raw, path.parent, path) for name, raw in data["datasets"].items()}
