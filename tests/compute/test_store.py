"""The cache: atomic, content-keyed, and never executes what it reads."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from bench.compute.store import FileHashes, Store, atomic_write, key_of
from bench.data.faces import Face
from bench.data.images import UNREADABLE_KEY, file_sha256


class Boom:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path("/tmp/facebench-pwned").touch, ())


def test_vectors_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.put_vector("ns", "ab" * 32, np.arange(4, dtype=np.float64))
    got = store.get_vector("ns", "ab" * 32)
    assert got is not None and got.dtype == np.float32 and got.tolist() == [0, 1, 2, 3]
    assert store.get_vector("ns", "cd" * 32) is None


def test_a_vector_reads_as_np_load_reads_it(tmp_path: Path) -> None:
    store, sha = Store(tmp_path), "ab" * 32
    path = tmp_path / "embeddings" / "ns" / sha[:2] / f"{sha}.npy"
    for saved in (np.linspace(-1, 1, 128, dtype=np.float32), np.ones((2, 3)), np.arange(5, dtype=">f4")):
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, saved)
        got, expected = store.get_vector("ns", sha), np.load(path)
        assert got is not None and got.dtype == expected.dtype and got.shape == expected.shape
        assert got.tobytes() == expected.tobytes() and got.flags.writeable
    store.put_vector("ns", sha, np.arange(4))
    path.write_bytes(path.read_bytes()[:-1])  # a damaged entry is a miss, as np.load would fail
    assert store.get_vector("ns", sha) is None


def test_a_pickled_cache_entry_is_never_executed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    sha = "ef" * 32
    path = tmp_path / "embeddings" / "ns" / sha[:2] / f"{sha}.npy"
    path.parent.mkdir(parents=True)
    np.save(path, np.array([Boom()], dtype=object), allow_pickle=True)
    Path("/tmp/facebench-pwned").unlink(missing_ok=True)
    assert store.get_vector("ns", sha) is None
    assert not Path("/tmp/facebench-pwned").exists()
    (tmp_path / "detections" / "ns" / sha[:2]).mkdir(parents=True)
    (tmp_path / "detections" / "ns" / sha[:2] / f"{sha}.json").write_bytes(pickle.dumps(Boom()))
    assert store.get_json("detections", "ns", sha) is None


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic_write(target, b"{}")
    assert target.read_bytes() == b"{}" and [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_keys_are_stable_and_sensitive() -> None:
    assert key_of({"a": 1, "b": 2}) == key_of({"b": 2, "a": 1})
    assert key_of({"a": 1}) != key_of({"a": 2})


def test_face_json_round_trip() -> None:
    face = Face(np.int32(3), 4.5, 10, 12, np.float32(0.9), {"left_eye": (np.int64(7), 8.25)})
    assert Face.from_json(face.to_json()) == Face(
        3.0, 4.5, 10.0, 12.0, float(np.float32(0.9)), {"left_eye": (7.0, 8.25)}
    )


def test_results_are_readable_by_others(tmp_path: Path) -> None:
    atomic_write(tmp_path / "r.csv", b"a\n")
    assert (tmp_path / "r.csv").stat().st_mode & 0o044 == 0o044  # not mkstemp's 0600


def test_file_hashes_are_kept_while_the_file_is_unchanged(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(b"one")
    calls: list[Path] = []

    def compute(path: Path) -> str:
        calls.append(path)
        return file_sha256(path)

    kept = FileHashes(tmp_path / "hashes.json")
    first = kept.sha256(image, compute)
    kept.save()
    again = FileHashes(tmp_path / "hashes.json")
    assert again.sha256(image, compute) == first and len(calls) == 1  # a later run: not read again
    image.write_bytes(b"two!")  # changed in place: new size and mtime
    assert again.sha256(image, compute) == file_sha256(image) != first and len(calls) == 2
    missing = tmp_path / "gone.jpg"
    assert again.sha256(missing, compute).startswith(UNREADABLE_KEY) and str(missing) not in again.known
