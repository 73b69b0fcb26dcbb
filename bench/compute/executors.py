"""Where cache misses are computed: in this process (``local``) or as Ray tasks (``ray``).

An executor gets one :class:`Work` (the misses of one stage for one plugin), computes them and writes the
results into the :class:`~bench.compute.store.Store`; it returns only counts and failure reasons. The pipeline
then reads every result from the store, so the numbers do not depend on the executor. Ray workers send their
results back to the driver, which writes them (no node but the driver's needs the cache folder), and read images
from the dataset path where they can, else get the bytes from the driver.

An image without a face, or one that cannot be decoded, is data (a failure reason). A worker that dies or a task
that raises is not: its chunks are retried (local: once, in a fresh pool; Ray: a dead worker's task by Ray, a raised
one once), then the run stops with :class:`WorkerFailure`.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import sys
import time
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from bench.compute import runtime
from bench.compute.store import Entries, Sink
from bench.compute.weights import MissingWeights
from bench.data.faces import Face
from bench.data.images import UNREADABLE_KEY, UnreadableImage, decode
from bench.errors import BenchError
from bench.registry import DetectorSpec, RecognizerSpec, UnknownName

Spec = DetectorSpec | RecognizerSpec
JOBS_ENV = "BENCH_JOBS"


class PluginLoadError(BenchError):
    """A plugin whose weights are present could not be loaded (corrupt file, incompatible package...)."""


class WorkerFailure(BenchError):
    """A worker process died, or a task raised something that is not a per-image outcome, twice: the run stops."""


class LostInput(BenchError):
    """An image that was read when it was hashed cannot be read where it is computed (a path a worker lacks)."""


def build(spec: Spec, weights_dir: Path) -> Any:
    """The loaded plugin; a load failure other than missing weights becomes a one-line :class:`PluginLoadError`."""
    try:
        return spec.build(weights_dir)
    except MissingWeights:
        raise
    except Exception as err:
        raise PluginLoadError(load_failure(spec, weights_dir, err)) from err


def load_failure(spec: Spec, weights_dir: Path, err: Exception) -> str:
    """One line: the plugin, the user's own weight files (not a staging copy), the error and the fix command."""
    try:
        files = spec.resolve_weights(weights_dir)
    except MissingWeights:
        files = {}
    message = _one_line(err).rstrip(".")
    for path in files.values():  # a plugin may load a staged copy: the error names the user's file
        message = re.sub(rf"[^\s'\"]*/{re.escape(path.name)}\b", str(path).replace("\\", "/"), message)
    if not files:
        return f"{spec.name} failed to load: {message}"
    fix = f"bench weights download {spec.name}, or bench weights import FILE --as {next(iter(files))}"
    paths = ", ".join(map(str, files.values()))
    return f"{spec.name} failed to load {paths}: {message}; if a file is truncated or corrupt, replace it: {fix}"


def _one_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".splitlines()[0]


@dataclass(frozen=True)
class Item:
    """One cache miss: an image (by content hash and path) and, for embedding, its face."""

    sha: str
    path: Path
    face: Face | None = None  # embed: the face to embed; detect: the face the dataset gives, if any
    data: bytes | None = field(default=None, repr=False)  # encoded bytes held in memory (container member)


@dataclass(frozen=True)
class Work:
    """The cache misses of one stage ("detect" or "embed") for one plugin, and where their results go."""

    stage: str
    spec_name: str
    store: Sink
    weights_dir: Path
    namespace: str
    items: tuple[Item, ...]
    batch_size: int = 1  # items per model call

    def chunks(self, size: int) -> list[Work]:
        """Consecutive pieces of at most ``size`` items (rounded up to whole batches)."""
        size = -(-max(size, 1) // self.batch_size) * self.batch_size
        return [replace(self, items=self.items[i : i + size]) for i in range(0, len(self.items), size)]


@dataclass
class Outcome:
    """What computing some work gave: counts, seconds, and why each failed image failed."""

    computed: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the computing process over ``seconds`` (all its threads)
    load_seconds: float = 0.0
    shipped: int = 0  # images sent as bytes to a node that could not read them at their path
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)  # sha -> (status, reason)

    def fail(self, sha: str, status: str, reason: str) -> None:
        """Record one failed image."""
        self.failed += 1
        self.failures[sha] = (status, reason)

    def add(self, other: Outcome) -> None:
        """Fold another outcome into this one."""
        self.computed += other.computed
        self.failed += other.failed
        self.seconds += other.seconds
        self.cpu_seconds += other.cpu_seconds
        self.load_seconds += other.load_seconds
        self.shipped += other.shipped
        self.failures.update(other.failures)


class Loader:
    """Built plugins of one process, keyed by stage and name; build time is reported once, by the first user."""

    def __init__(self) -> None:
        self._built: dict[tuple[str, str, Path], Any] = {}

    def get(self, stage: str, spec: Spec, weights_dir: Path, outcome: Outcome) -> Any:
        """The built plugin, building it on first use and adding the time to ``outcome.load_seconds``."""
        key = (stage, spec.name, weights_dir)
        if key not in self._built:
            start = time.perf_counter()
            self._built[key] = build(spec, weights_dir)
            outcome.load_seconds += time.perf_counter() - start
        return self._built[key]


def compute(work: Work, plugin: Callable[[Outcome], Any]) -> Outcome:
    """Compute ``work`` with the plugin ``plugin(outcome)`` returns (built lazily), writing results to its store."""
    outcome = Outcome()
    if work.stage == "detect":
        for item in work.items:
            _detect(work, item, plugin, outcome)
    else:
        _embed(work, lambda: plugin(outcome), outcome)
    return outcome


def _image(item: Item) -> np.ndarray:
    """The decoded image; a file that was read when hashed but cannot be read here raises :class:`LostInput`."""
    try:
        return decode(item.path, item.data)
    except UnreadableImage as err:
        if isinstance(err.__cause__, OSError) and not item.sha.startswith(UNREADABLE_KEY):
            raise LostInput(
                f"{item.path}: {err} in process {os.getpid()}, though it was read when hashed "
                "(moved or deleted during the run?)"
            ) from err
        raise


def _detect(work: Work, item: Item, plugin: Callable[[Outcome], Any], outcome: Outcome) -> None:
    try:
        image = _image(item)
    except UnreadableImage as err:
        outcome.fail(item.sha, "unreadable", str(err))
        return
    detector = plugin(outcome)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        # a detector with ``detect_given(image, face)`` reads the face the dataset gives (e.g. IJB's 5 points)
        given = getattr(detector, "detect_given", None)
        faces = given(image, item.face) if given is not None else detector.detect(image)
    except Exception as err:  # one image the detector chokes on is data, not a crash
        outcome.fail(item.sha, "detector_failed", _one_line(err))
        return
    finally:
        outcome.seconds += time.perf_counter() - start
        outcome.cpu_seconds += time.process_time() - cpu
    outcome.computed += 1
    record = {"faces": [f.to_json() for f in faces], "height": image.shape[0], "width": image.shape[1]}
    work.store.put_json("detections", work.namespace, item.sha, record)


def _embed(work: Work, plugin: Callable[[], Any], outcome: Outcome) -> None:
    for start in range(0, len(work.items), work.batch_size):
        _embed_batch(work, work.items[start : start + work.batch_size], plugin(), outcome)


def _embed_batch(work: Work, batch: tuple[Item, ...], recognizer: Any, outcome: Outcome) -> None:
    crops, kept = [], []
    images: dict[tuple[Path, bytes | None], np.ndarray] = {}  # an image's faces share one decode
    start, cpu = time.perf_counter(), time.process_time()
    for item in batch:
        assert item.face is not None
        try:
            image = images.get((item.path, item.data))
            if image is None:
                image = images[item.path, item.data] = _image(item)
            crops.append(recognizer.crop(image, item.face))
            kept.append(item)
        except LostInput:
            raise
        except Exception as err:  # a face the model cannot take is data, not a crash
            outcome.fail(item.sha, "embed_failed", f"crop failed: {err}")
    try:
        out = np.asarray(recognizer.embed(np.stack(crops)), dtype=np.float32) if kept else None
        if out is not None and (out.ndim != 2 or len(out) != len(kept)):
            raise ValueError(f"{len(kept)} faces in, output of shape {out.shape}: expected one vector per face")
    except Exception as err:  # a batch the model rejects: record it for each face and go on
        out, reason = None, f"embedding failed: {_one_line(err)}"
        for item in kept:
            outcome.fail(item.sha, "embed_failed", reason)
    if out is not None:
        _keep(work, kept, out, getattr(recognizer, "last_quality", None), outcome)  # e.g. AdaFace's feature norm
    outcome.seconds += time.perf_counter() - start
    outcome.cpu_seconds += time.process_time() - cpu


def _keep(work: Work, items: list[Item], vectors: np.ndarray, qualities: Any, outcome: Outcome) -> None:
    """Write a batch's finite embeddings (and quality outputs) as one pack; a non-finite one is its face's failure."""
    finite = np.isfinite(vectors).all(axis=1)
    for item in (item for item, ok in zip(items, finite) if not ok):
        outcome.fail(item.sha, "embed_failed", "embedding has non-finite values")
    keys = [item.sha for item, ok in zip(items, finite) if ok]
    if keys:
        kept_qualities = None if qualities is None else np.asarray(qualities, dtype=np.float32)[finite]
        work.store.put_vectors(work.namespace, keys, vectors[finite], kept_qualities)
    outcome.computed += len(keys)


class Executor(Protocol):
    """Computes :class:`Work` into its store."""

    def run(self, work: Work, spec: Spec) -> Outcome:
        """Compute every item of ``work`` (``spec`` is the plugin ``work.spec_name`` names)."""
        ...


def _bar(work: Work, quiet: bool) -> tqdm:  # type: ignore[type-arg]
    unit = "img" if work.stage == "detect" else "face"
    desc = f"{work.stage} {work.spec_name}"
    return tqdm(total=len(work.items), desc=desc, disable=quiet or not work.items, unit=unit, leave=False)


@dataclass
class LocalExecutor:
    """Computes on this machine: in this process (``jobs`` 1), or in ``jobs`` worker processes.

    Workers get ``cores // jobs`` intra-op threads each (so the machine is not oversubscribed), build plugins by
    name from the same plugin folders, and keep them for the next stage. Work is cut into chunks of whole model
    batches at the same boundaries as in-process, so every model call sees the same inputs whatever ``jobs`` is.
    """

    quiet: bool = False
    jobs: int = 1
    folders: tuple[Path, ...] = ()
    loader: Loader = field(default_factory=Loader)
    _pool: Any = None

    def run(self, work: Work, spec: Spec) -> Outcome:
        """Compute ``work``, building ``spec``'s plugin on first use (here or in each worker)."""
        if self.jobs > 1 and work.items and self._workers_can_build(work.stage, spec):
            return self._run_parallel(work)
        total = Outcome()
        with _bar(work, self.quiet) as bar:
            for chunk in work.chunks(work.batch_size):
                total.add(compute(chunk, lambda o: self.loader.get(work.stage, spec, work.weights_dir, o)))
                bar.update(len(chunk.items))
        return total

    def _workers_can_build(self, stage: str, spec: Spec) -> bool:
        """Whether a worker, looking ``spec`` up by name, gets the same plugin with the same settings and weights
        (one registered by hand in this process, or derived with other options, runs here instead)."""
        from bench import plugins

        registry = plugins.load(self.folders)
        specs = registry.detectors if stage == "detect" else registry.recognizers
        try:
            found = specs.get(spec.name)  # resolves derived names too (e.g. "<model>+flip")
        except UnknownName:
            return False
        return (found.plugin, found.settings, found.weights) == (spec.plugin, spec.settings, spec.weights)

    def _run_parallel(self, work: Work) -> Outcome:
        size = max(work.batch_size, -(-len(work.items) // (self.jobs * CHUNKS_PER_WORKER)))
        total = Outcome()
        with _bar(work, self.quiet) as bar:
            failed, _ = self._attempt(work.chunks(size), total, bar)
            if failed:
                self.close()  # the retry gets a fresh pool
                failed, why = self._attempt(failed, total, bar)
        if failed:
            self.close()
            raise WorkerFailure(
                f"{work.stage} {work.spec_name}: {why}, and again when retried in a fresh pool; rerun with --jobs 1 "
                "to compute in this process (the error shows there; fewer --jobs if memory is short)"
            )
        return total

    def _attempt(self, chunks: Iterable[Work], total: Outcome, bar: tqdm) -> tuple[list[Work], str]:  # type: ignore[type-arg]
        """Compute ``chunks`` in the pool, adding what succeeds to ``total``; the chunks that failed, and why."""
        from concurrent.futures import as_completed

        pool = self._workers()
        futures, failed = _submit(pool, chunks, self.folders)
        why = ""
        for future in as_completed(futures):
            try:
                total.add(future.result())
                bar.update(len(futures[future].items))
            except (MissingWeights, PluginLoadError):
                for other in futures:
                    other.cancel()
                raise  # the plugin cannot load anywhere: unavailable, as in-process
            except Exception as err:  # a worker died (BrokenProcessPool) or the task raised
                failed.append(futures[future])
                why = why or f"a worker task raised {_one_line(err)}"
        return failed, _stop_broken(pool) if failed and getattr(pool, "_broken", False) else why

    def _workers(self) -> Any:
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            threads = max(1, runtime.cores() // self.jobs)
            self._pool = ProcessPoolExecutor(self.jobs, WorkerContext(), initializer=runtime.limit, initargs=(threads,))
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (a later run starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _submit(pool: Any, chunks: Iterable[Work], folders: tuple[Path, ...]) -> tuple[dict[Any, Work], list[Work]]:
    """Each chunk's future; the chunks a pool that broke while submitting did not take."""
    from concurrent.futures.process import BrokenProcessPool

    futures, refused = {}, []
    for chunk in chunks:
        try:
            futures[pool.submit(_local_task, chunk, folders)] = chunk
        except BrokenProcessPool:
            refused.append(chunk)
    return futures, refused


def _stop_broken(pool: Any) -> str:
    """Shut a broken pool down, and say how its workers ended (the others get SIGTERM once one dies)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=True)
    codes = sorted({p.exitcode for p in processes} - {None, 0, -signal.SIGTERM})
    return "a worker process died" + (f" ({', '.join(map(_exit_text, codes))})" if codes else "")


def _exit_text(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    name = signal.Signals(-code).name
    return f"killed by {name}" + (", often out of memory" if name == "SIGKILL" else "")


@contextmanager
def _blank_main() -> Iterator[None]:
    """A blank ``__main__`` while a worker starts, so that it does not re-run the caller's script."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned process that imports only what its task needs: never the parent's ``__main__``.

    ``spawn`` normally re-imports the parent's main module in the child (so a script without an
    ``if __name__ == "__main__":`` guard would run again in every worker); workers here find everything by name.
    """

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        with _blank_main():
            return multiprocessing.context.SpawnProcess._Popen(process_obj)


class WorkerContext(multiprocessing.context.SpawnContext):
    """The ``spawn`` start method with :class:`WorkerProcess`."""

    Process = WorkerProcess


CHUNKS_PER_WORKER = 16
"""Chunks per worker and stage: the last chunk leaves the other workers idle for about half a chunk, so many
small chunks (each still whole model batches) finish a stage evenly."""


def _local_task(work: Work, folders: tuple[Path, ...]) -> Outcome:
    """Body of one worker-process task: compute one chunk with this process's plugins."""
    return compute(work, lambda outcome: _worker_plugin(work, folders, outcome))


_WORKER_LOADERS: dict[tuple[Path, ...], tuple[Any, Loader]] = {}  # plugin folders -> (registries, built plugins)


def _worker_plugin(work: Work, folders: tuple[Path, ...], outcome: Outcome) -> Any:
    """In a worker process (local or Ray): the plugin ``work`` names, from this process's registry and plugin cache."""
    from bench import plugins

    if folders not in _WORKER_LOADERS:
        _WORKER_LOADERS[folders] = (plugins.load(folders), Loader())
    registry, loader = _WORKER_LOADERS[folders]
    specs = registry.detectors if work.stage == "detect" else registry.recognizers
    return loader.get(work.stage, specs.get(work.spec_name), work.weights_dir, outcome)


@dataclass(frozen=True)
class Lost:
    """A Ray task's answer when its node cannot read some of its images at their paths: their keys."""

    keys: frozenset[str]


def _ray_task(work: Work, folders: tuple[Path, ...]) -> tuple[Outcome, Entries] | Lost:
    """Body of one Ray task: compute one chunk in a worker process, its results kept in :class:`Entries` (sent
    back); computes nothing when this node cannot read one of the chunk's images (the driver then sends bytes)."""
    items, lost = _read_here(work.items)
    if lost:
        return Lost(lost)
    entries = Entries()
    work = replace(work, items=items, store=entries)
    return compute(work, lambda outcome: _worker_plugin(work, folders, outcome)), entries


def _read_here(items: tuple[Item, ...]) -> tuple[tuple[Item, ...], frozenset[str]]:
    """The items with their bytes read on this node, and the keys of those it cannot read though the driver did."""
    read, lost = [], set()
    for item in items:
        if item.data is not None or item.sha.startswith(UNREADABLE_KEY):
            read.append(item)
            continue
        try:
            read.append(replace(item, data=item.path.read_bytes()))
        except OSError:
            lost.add(item.sha)
    return tuple(read), frozenset(lost)


def _with_bytes(chunk: Work, lost: frozenset[str], outcome: Outcome) -> Work:
    """``chunk`` with the driver's bytes of its ``lost`` images; one the driver cannot read now either is a
    recorded failure (in ``outcome``), left out."""
    items = []
    for item in chunk.items:
        if item.sha in lost:
            try:
                item = replace(item, data=item.path.read_bytes())
            except OSError as err:
                outcome.fail(item.sha, "unreadable", f"cannot read file: {err.strerror or err} (read when hashed)")
                continue
            outcome.shipped += 1
        items.append(item)
    return replace(chunk, items=tuple(items))


RAY_RETRIES = 3
"""Times Ray reruns a task whose worker process died (or whose node left) before the run stops."""


@dataclass
class RayExecutor:
    """Splits work into chunks run as Ray tasks; workers build plugins by name from the same plugin folders.

    Weights and plugin folders must be at the same paths on every node. The dataset need not be: a task whose
    node cannot read an image returns at once and is sent again with the images' bytes. Results come back to the
    driver, which writes the cache. A task whose worker dies is rerun by Ray (:data:`RAY_RETRIES`); one that
    raises is retried once by the driver; data outcomes (no face, undecodable) are results, never retried.
    """

    folders: tuple[Path, ...] = ()
    address: str | None = None
    chunk_size: int = 16
    quiet: bool = False
    _remote: Any = None

    def _task(self) -> Any:
        if self._remote is None:
            import ray

            if not ray.is_initialized():
                local: dict[str, Any] = {} if self.address else {"num_cpus": os.cpu_count()}
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **local)
            self._remote = ray.remote(max_retries=RAY_RETRIES, retry_exceptions=False)(_ray_task)
        return self._remote

    def run(self, work: Work, spec: Spec) -> Outcome:
        """Compute ``work`` as Ray tasks; a failed task's chunk is retried once, then :class:`WorkerFailure`."""
        if not work.items:
            return Outcome()
        total = Outcome()
        with _bar(work, self.quiet) as bar:
            failed, _ = self._attempt(work.chunks(self.chunk_size), total, bar)
            if failed:
                failed, why = self._attempt(failed, total, bar)
        if failed:
            raise WorkerFailure(
                f"{work.stage} {work.spec_name}: a Ray task failed ({why}), and again when retried; every node "
                "needs the same facebench install, and the weights and plugin folders at the same paths"
            )
        return total

    def _attempt(self, chunks: list[Work], total: Outcome, bar: tqdm) -> tuple[list[Work], str]:  # type: ignore[type-arg]
        """Compute ``chunks`` as tasks, adding what succeeds to ``total``; the chunks that failed, and why."""
        task = self._task()

        def submit(chunk: Work) -> None:
            pending[task.remote(replace(chunk, store=Entries()), self.folders)] = chunk

        pending: dict[Any, Work] = {}
        for chunk in chunks:
            submit(chunk)
        failed, why = [], ""
        try:
            for ref, chunk in self._completed(pending):
                result = self._result(ref)
                if isinstance(result, Lost):  # its node cannot read the dataset: again, with the bytes
                    shipped = Outcome()
                    again = _with_bytes(chunk, result.keys, shipped)
                    submit(again)
                    total.add(shipped)
                    bar.update(len(chunk.items) - len(again.items))
                    continue
                if isinstance(result, str):
                    failed.append(chunk)
                    why = why or result
                    continue
                outcome, entries = result
                entries.write(chunk.store)
                total.add(outcome)
                bar.update(len(chunk.items))
        except (MissingWeights, PluginLoadError):
            self._cancel(pending)
            raise
        return failed, why

    @staticmethod
    def _completed(pending: dict[Any, Work]) -> Iterator[tuple[Any, Work]]:
        import ray

        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            yield done[0], pending.pop(done[0])

    @staticmethod
    def _cancel(pending: dict[Any, Work]) -> None:
        import ray

        for ref in pending:
            ray.cancel(ref)

    @staticmethod
    def _result(ref: Any) -> tuple[Outcome, Entries] | Lost | str:
        """The task's outcome, or why it failed; a plugin that cannot load raises (unavailable, as with ``local``)."""
        import ray

        try:
            return ray.get(ref)  # type: ignore[no-any-return]
        except ray.exceptions.RayTaskError as err:
            if isinstance(err.cause, (MissingWeights, PluginLoadError)):
                raise err.cause from None
            return _one_line(err.cause or err)
        except ray.exceptions.RayError as err:  # worker died, object lost...
            return _one_line(err)


def make(
    name: str, folders: tuple[Path, ...], address: str | None = None, quiet: bool = False, jobs: int | None = None
) -> Executor:
    """The executor called ``name`` ("local" or "ray"); ``local`` runs ``jobs`` worker processes (default: one per
    core; 1: in this process)."""
    if name == "ray":
        return RayExecutor(folders, address, quiet=quiet)
    return LocalExecutor(quiet, default_jobs() if jobs is None else max(1, jobs), folders)


def default_jobs() -> int:
    """Worker processes when ``--jobs`` is not given: ``$BENCH_JOBS``, else one per core."""
    value = os.environ.get(JOBS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else runtime.cores()
