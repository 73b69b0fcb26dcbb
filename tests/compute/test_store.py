"""The cache: atomic, content-keyed, and never executes what it reads."""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.compute import store as store_module
from bench.compute.store import FileHashes, Store, atomic_write, key_of
from bench.data.faces import Face
from bench.data.images import UNREADABLE_KEY, file_sha256


class Boom:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path("/tmp/facebench-pwned").touch, ())


def test_vectors_round_trip(tmp_path: Path) -> None:
    store, keys = Store(tmp_path), ["ab" * 32, "cd" * 32]
    store.put_vectors("ns", keys, np.arange(8, dtype=np.float64).reshape(2, 4), np.array([0.5, 2.0]))
    got = store.embedded("ns", [keys[1], "ef" * 32])
    assert list(got) == [keys[1]] and got[keys[1]].vector.dtype == np.float32
    assert got[keys[1]].vector.tolist() == [4, 5, 6, 7] and got[keys[1]].quality == 2.0
    store.put_vectors("other", keys[:1], np.ones((1, 3)))
    assert store.embedded("other")[keys[0]].quality is None and store.embedded("none") == {}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=st.lists(st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1), unique=True, max_size=9),
    dim=st.integers(1, 6),
    data=st.data(),
)
def test_packs_round_trip_any_keys_and_values(tmp_path: Path, keys: list[str], dim: int, data: st.DataObject) -> None:
    values = st.floats(width=32, allow_nan=False)
    vectors = np.array(
        data.draw(st.lists(st.lists(values, min_size=dim, max_size=dim), min_size=len(keys), max_size=len(keys))),
        dtype=np.float32,
    ).reshape(len(keys), dim)
    store = Store(tmp_path / uuid.uuid4().hex)
    store.put_vectors("ns", keys, vectors)
    got = store.embedded("ns", keys)
    assert set(got) == set(keys)
    for key, vector in zip(keys, vectors):
        assert got[key].vector.tobytes() == vector.tobytes()


def test_a_pack_reads_as_np_load_reads_it(tmp_path: Path) -> None:
    store, key = Store(tmp_path), "ab" * 32
    store.put_vectors("ns", [key], np.linspace(-1, 1, 128, dtype=np.float32)[None])
    (pack,) = (tmp_path / "embeddings" / "ns").glob("pack-*.npy")
    rows = np.load(pack)
    assert rows["key"].tolist() == [key.encode()] and rows["vector"].dtype == np.float32
    got = store.embedded("ns")[key].vector
    assert got.tobytes() == rows["vector"][0].tobytes() and got.flags.writeable
    pack.write_bytes(pack.read_bytes()[:-1])  # a damaged pack is a miss, as np.load would fail
    assert store.embedded("ns") == {}
    np.save(pack, np.ones((2, 3)))  # an .npy that is not a pack: a miss
    assert store.embedded("ns") == {}
    with pack.open("wb") as handle:  # nor is an .npz archive under a pack's name
        np.savez(handle, key=np.array([b"k"]))
    assert store.embedded("ns") == {}


def test_a_pickled_cache_entry_is_never_executed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    sha = "ef" * 32
    path = tmp_path / "embeddings" / "ns" / "pack-0.npy"
    path.parent.mkdir(parents=True)
    np.save(path, np.array([Boom()], dtype=object), allow_pickle=True)
    Path("/tmp/facebench-pwned").unlink(missing_ok=True)
    assert store.embedded("ns") == {}
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


def test_reading_stops_once_every_key_asked_for_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    for key in ("a", "b", "c"):
        store.put_vectors("ns", [key], np.ones((1, 2)))
    reads: list[str] = []
    monkeypatch.setattr(store_module, "_read_pack", lambda path: reads.append(path) or np.load(path))
    first = next(iter(store.embedded("ns")))  # the key of the first pack in name order (all read: 3)
    reads.clear()
    assert list(store.embedded("ns", [first])) == [first] and len(reads) == 1
    reads.clear()
    assert store.embedded("ns", []) == {} and reads == []
    assert set(store.embedded("ns", ["a", "b", "c", "missing"])) == {"a", "b", "c"} and len(reads) == 3
