"""Settings every command shares (where plugins, weights, cache and datasets are), and their defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.plugins import Plugins

DATASETS_ENV = "BENCH_DATASETS"


def default_datasets_file() -> Path:
    """``$BENCH_DATASETS``, else ``./datasets.yaml``, else the one shipped with facebench."""
    if os.environ.get(DATASETS_ENV):
        return Path(os.environ[DATASETS_ENV])
    local = Path("datasets.yaml")
    return local if local.is_file() else Path(__file__).resolve().parent.parent / "datasets.yaml"


def _weights_dir() -> Path:
    from bench.compute.weights import default_weights_dir

    return default_weights_dir()


def _cache_dir() -> Path:
    from bench.compute.store import default_cache_dir

    return default_cache_dir()


@dataclass
class Settings:
    """Where things are; built by the CLI from its options or by the Python API from keyword arguments."""

    plugins_dirs: tuple[Path, ...] = ()
    weights_dir: Path = field(default_factory=_weights_dir)
    cache_dir: Path = field(default_factory=_cache_dir)
    datasets_file: Path = field(default_factory=default_datasets_file)
    quiet: bool = False
    _plugins: Plugins | None = field(default=None, repr=False, compare=False)

    def plugins(self) -> Plugins:
        """The loaded plugins (cheap: no framework is imported), loaded once."""
        if self._plugins is None:
            from bench import plugins

            self._plugins = plugins.load(self.plugins_dirs)
        return self._plugins
