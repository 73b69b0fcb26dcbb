"""``bench weights``: which weight files the plugins need, downloading them, importing files the user has."""

from __future__ import annotations

import bz2
import http.client
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError

from bench.compute.weights import WeightFile, find, fix_hints, sha256
from bench.errors import BenchError
from bench.plugins import Plugins
from bench.registry import DetectorSpec, RecognizerSpec, UnknownName

Spec = RecognizerSpec | DetectorSpec


class DownloadError(BenchError):
    """A weight file could not be downloaded from any of its sources (one-line message)."""


def _specs(plugins: Plugins) -> Iterator[tuple[str, Spec]]:
    yield from (("model", s) for s in plugins.recognizers)
    yield from (("detector", s) for s in plugins.detectors)


def _describe(weight: WeightFile, weights_dir: Path, verbose: bool) -> str:
    path = find(weight, weights_dir)
    source = weight.url or weight.note or "-"
    if not verbose:
        return f"{weight.name:<42} {'present' if path else 'missing'}"
    if path is None:
        return f"{weight.name:<42} missing  {weights_dir / weight.name}  source: {source}"
    size = f"{path.stat().st_size / 1e6:.1f} MB"
    return f"{weight.name:<42} present  {path}  {size}  sha256 {sha256(path)}  source: {source}"


def listing(plugins: Plugins, weights_dir: Path, verbose: bool = False) -> Iterator[str]:
    """One line per plugin and weight file: present or missing; ``verbose`` adds path, size, sha256, source."""
    for kind, spec in _specs(plugins):
        head = f"{kind:<8} {spec.name:<18}"
        if not spec.weights:
            yield f"{head} (no weight files)"
        for weight in spec.weights:
            yield f"{head} {_describe(weight, weights_dir, verbose)}"


def select(plugins: Plugins, name: str) -> list[Spec]:
    """Plugins called ``name`` (exact case first, so ``Dlib`` is the model and ``dlib`` the detector), or ``all``."""
    everything = [spec for _, spec in _specs(plugins)]
    if name.strip().lower() == "all":
        return everything
    exact = [spec for spec in everything if spec.name == name]
    if exact:
        return exact
    with suppress(UnknownName):
        return [plugins.recognizers.get(name)]
    with suppress(UnknownName):
        return [plugins.detectors.get(name)]
    raise UnknownName(f"no model or detector called '{name}'; see `bench models` and `bench detectors`")


def fix_commands(spec: Spec, weights_dir: Path) -> list[str]:
    """Every command that fixes ``spec``'s missing weight files (empty when none is missing)."""
    return [
        hint for weight in spec.weights if find(weight, weights_dir) is None for hint in fix_hints(weight, spec.name)
    ]


def _temporary(folder: Path, name: str) -> Path:
    """A fresh temporary file in ``folder`` (the weights folder: same filesystem, so ``os.replace`` is atomic)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix=f".{Path(name).name}.", suffix=".part", dir=folder)
    os.close(handle)
    return Path(path)


def _place(part: Path, target: Path) -> None:
    """Move a finished temporary file to its final name in one step."""
    target.parent.mkdir(parents=True, exist_ok=True)  # e.g. Buffalo_L's buffalo_l/ sub-folder
    part.chmod(0o644)  # temporary files are created 0600; weight files are for every user of the folder
    os.replace(part, target)


def _unpack(archive: Path, url: str, member: str, out: Path) -> None:
    """Write the file inside a ``.bz2`` or ``.zip`` download to ``out`` (as DeepFace's downloader does)."""
    suffix = Path(urllib.parse.urlparse(url).path).suffix
    if suffix == ".bz2":
        with bz2.open(archive) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    elif suffix == ".zip":
        with zipfile.ZipFile(archive) as bundle, bundle.open(Path(member).name) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        os.replace(archive, out)


def _fetch(url: str, weights_dir: Path, name: str, timeout: float) -> None:
    raw, unpacked = _temporary(weights_dir, name), _temporary(weights_dir, name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "facebench"})
        with urllib.request.urlopen(request, timeout=timeout) as response, open(raw, "wb") as out:
            if response.headers.get_content_type() == "text/html":
                raise DownloadError("the server sent a web page, not the file")
            shutil.copyfileobj(response, out)
        _unpack(raw, url, name, unpacked)
        _place(unpacked, weights_dir / name)
    finally:
        raw.unlink(missing_ok=True)
        unpacked.unlink(missing_ok=True)


def missing_files(specs: list[Spec], weights_dir: Path) -> list[WeightFile]:
    """The weight files of ``specs`` not in ``weights_dir``, each once."""
    files = {w.name: w for spec in specs for w in spec.weights if find(w, weights_dir) is None}
    return list(files.values())


def download(weight: WeightFile, weights_dir: Path, timeout: float = 30) -> Path:
    """Fetch ``weight`` from its sources in order into ``weights_dir``; :class:`DownloadError` if none works."""
    if not weight.sources:
        raise DownloadError(f"{weight.name}: no download URL known; get the file and run `bench weights import FILE`")
    errors = []
    for url in weight.sources:
        try:
            _fetch(url, weights_dir, weight.name, timeout)
            return weights_dir / weight.name
        except (
            OSError,
            ValueError,
            http.client.HTTPException,
            DownloadError,
            zipfile.BadZipFile,
            KeyError,
            EOFError,
        ) as err:
            reason = err.reason if isinstance(err, URLError) and not isinstance(err, HTTPError) else err
            errors.append(f"{url}: {reason}")
    raise DownloadError(
        f"{weight.name}: download failed ({'; '.join(errors)}); "
        f"get the file yourself and run `bench weights import FILE`"
    )


def _users(plugins: Plugins) -> dict[str, list[Spec]]:
    """Accepted weight file name -> the plugins that need it."""
    users: dict[str, list[Spec]] = {}
    for _, spec in _specs(plugins):
        for weight in spec.weights:
            for candidate in weight.candidates:
                users.setdefault(candidate, []).append(spec)
    return users


def _plugin_file(plugins: Plugins, name: str) -> str:
    """The one weight file the plugin(s) called ``name`` need."""
    try:
        specs = select(plugins, name)
    except UnknownName:
        raise UnknownName(
            f"'{name}' is neither a weight file a plugin needs nor a plugin name; "
            "pass --as FILE_NAME (see `bench weights`)"
        ) from None
    files = {w.name for spec in specs for w in spec.weights}
    if len(files) != 1:
        raise UnknownName(
            f"{', '.join(s.name for s in specs)} need(s) {', '.join(sorted(files)) or 'no file'}: pass --as FILE_NAME"
        )
    return files.pop()


def _weight_named(plugins: Plugins, name: str) -> tuple[str, list[Spec]]:
    """The stored file name for ``name`` (a weight file name, or a plugin needing one file) and the plugins using it."""
    users = _users(plugins)
    match = next((c for c in users if name in (c, Path(c).name)), None) or _plugin_file(plugins, name)
    return match, users[match]


def load_check(spec: Spec, weights_dir: Path) -> tuple[bool, str]:
    """Build ``spec`` from ``weights_dir``: (True, "NAME loads"), or (False, why it does not)."""
    reason = spec.unavailable_reason(weights_dir)
    if reason is not None:
        return False, f"{spec.name} cannot load: {reason}"
    try:
        spec.build(weights_dir)
    except Exception as err:
        from bench.compute.executors import load_failure

        return False, load_failure(spec, weights_dir, err)
    return True, f"{spec.name} loads"


@dataclass(frozen=True)
class Imported:
    """Where an imported file went and how each plugin using it fared."""

    path: Path
    checks: list[tuple[bool, str]]

    @property
    def ok(self) -> bool:
        """Every plugin using the file loads."""
        return all(ok for ok, _ in self.checks)


def import_file(plugins: Plugins, source: Path, weights_dir: Path, as_name: str | None = None) -> Imported:
    """Copy ``source`` into ``weights_dir`` under its canonical name (atomically), then load each plugin using it."""
    name, users = _weight_named(plugins, as_name or source.name)
    part = _temporary(weights_dir, name)
    try:
        shutil.copyfile(source, part)
        _place(part, weights_dir / name)
    finally:
        part.unlink(missing_ok=True)
    return Imported(weights_dir / name, [load_check(spec, weights_dir) for spec in users])
