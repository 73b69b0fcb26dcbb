"""A real two-node Ray cluster on one machine, without a shared disk: a head started with ``ray start --head`` and a
second node started in a private mount namespace, with empty tmpfs over the dataset and the driver's cache, so it
reads neither (as on another machine). ``bench accuracy --executor ray`` on it gives the same ``accuracy.csv`` and
byte-identical cache entries as ``--executor local``, also when the second node's worker is killed mid-task."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from bench.compute.store import Store
from tests.conftest import SAMPLE, needs_weights

pytestmark = [pytest.mark.slow, needs_weights]
RAY = [sys.executable, "-m", "ray.scripts.scripts"]  # the `ray` script, run by this interpreter (this install)
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "BENCH_JOBS": "1"}  # a cluster of this machine's own processes
STORE_BYTES = str(200 * 1024 * 1024)  # small object stores: this machine is shared


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _session_pids(sid: int) -> list[int]:
    """Every live process of session ``sid`` (a node and every process it started)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(entry.name))
    return pids


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class Cluster:
    address: str
    data: Path  # the sample, copied where the second node sees an empty folder
    cache: Path  # the driver's cache folder, hidden from the second node too
    nodes: list[subprocess.Popen[bytes]]

    def second_node_tasks(self) -> list[int]:
        """Pids of the second node's workers now running a task (Ray titles them ``ray::<task>``)."""
        return [p for p in _session_pids(self.nodes[1].pid) if _cmdline(p).startswith("ray::_ray_task")]


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A node in a session of its own (so all its processes can be found and stopped), up when its log says so."""
    with log.open("wb") as out:
        node = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=ENV)
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in log.read_text(errors="replace"):
        if node.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"ray start failed: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    return node


def _stop(node: subprocess.Popen[bytes]) -> None:
    """SIGTERM then SIGKILL to every process of the node's session (never ``ray stop``: other clusters run here)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _session_pids(node.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 15
        while _session_pids(node.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    node.wait(timeout=15)


def _common() -> list[str]:
    """Options of both nodes: one CPU, a small object store, ports of their own (other clusters may run here)."""
    return [
        "--num-cpus=1",
        f"--object-store-memory={STORE_BYTES}",
        "--node-ip-address=127.0.0.1",
        f"--dashboard-agent-listen-port={_free_port()}",
        "--disable-usage-stats",
        "--block",
    ]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    pytest.importorskip("ray")
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root (a private mount namespace hides the dataset and cache from one node)")
    base = Path(tempfile.mkdtemp(prefix="rc-", dir="/tmp"))  # short: Ray's socket paths are limited to 107 bytes
    data, cache = base / "data", base / "cache"
    shutil.copytree(SAMPLE, data)
    cache.mkdir()
    port = _free_port()
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        head = [*RAY, "start", "--head", f"--port={port}", f"--temp-dir={base}/head", "--include-dashboard=false"]
        head += [f"--dashboard-port={_free_port()}", f"--ray-client-server-port={_free_port()}"]
        nodes.append(_start([*head, *_common()], base / "head.log"))
        hide = f"mount -t tmpfs tmpfs {cache} && mount -t tmpfs tmpfs {data} && exec "
        join = [*RAY, "start", f"--address=127.0.0.1:{port}", f"--temp-dir={base}/node", *_common()]
        nodes.append(_start(["unshare", "-m", "sh", "-c", hide + " ".join(join)], base / "node.log"))
        yield Cluster(f"127.0.0.1:{port}", data, cache, nodes)
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(base, ignore_errors=True)


def _accuracy(cluster: Cluster, cache: Path, out: Path, executor: str) -> subprocess.Popen[str]:
    """``bench accuracy`` on the sample with Dlib and OpenCV's detector, as a separate driver process."""
    command = ["-q", "--cache-dir", str(cache), "accuracy", "--i", str(cluster.data), "--o", str(out)]
    command += ["--run-id", "run", "--model", "Dlib", "--backend", "opencv", "--executor", executor]
    if executor == "ray":
        command += ["--ray-address", cluster.address]
    code = "from bench.interface.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, *command], stdout=subprocess.PIPE, text=True, env=ENV)


def _finish(run: subprocess.Popen[str], out: Path) -> Path:
    output, _ = run.communicate(timeout=500)
    assert run.returncode == 0, output
    return out / "run"


@pytest.fixture(scope="module")
def local(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    base = tmp_path_factory.mktemp("local")
    run = _finish(_accuracy(cluster, base / "cache", base / "out", "local"), base / "out")
    return run, Store(base / "cache").results()


def _same_as_local(run: Path, cache: Path, local: tuple[Path, dict[str, bytes]]) -> None:
    local_run, local_entries = local
    pd.testing.assert_frame_equal(pd.read_csv(run / "accuracy.csv"), pd.read_csv(local_run / "accuracy.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(run / "scores.csv"), pd.read_csv(local_run / "scores.csv"))
    assert len([k for k in local_entries if k.startswith("embeddings/")]) == 36
    assert Store(cache).results() == local_entries


def _shipped(run: Path) -> int:
    timings = json.loads((run / "manifest.json").read_text())["timings"]
    return sum(int(t.get("shipped", 0)) for t in timings.values())


def _fresh(cluster: Cluster, name: str) -> tuple[Path, Path]:
    cache, out = cluster.cache / name, cluster.data.parent / f"out-{name}"
    cache.mkdir()
    return cache, out


def test_a_node_without_the_dataset_or_cache_gives_the_local_result(
    cluster: Cluster, local: tuple[Path, dict[str, bytes]]
) -> None:
    cache, out = _fresh(cluster, "ray")
    run = _finish(_accuracy(cluster, cache, out, "ray"), out)
    _same_as_local(run, cache, local)
    assert _shipped(run) > 0  # the second node computed: it got the images as bytes


def test_a_worker_killed_mid_task_is_retried_and_the_result_is_the_same(
    cluster: Cluster, local: tuple[Path, dict[str, bytes]]
) -> None:
    cache, out = _fresh(cluster, "killed")
    driver = _accuracy(cluster, cache, out, "ray")
    killed = None
    while killed is None and driver.poll() is None:
        busy = cluster.second_node_tasks()
        if busy:
            killed = busy[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    run = _finish(driver, out)
    assert killed is not None, "the second node ran no task to kill"
    _same_as_local(run, cache, local)
