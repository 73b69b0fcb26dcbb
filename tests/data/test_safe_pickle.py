"""The restricted unpickler: insightface .bin files load, anything that would run code or build other objects
is refused before it runs."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from bench.data.safe_pickle import UnsafePickle, load_verification_bin
from bench.errors import BenchError


class _Payload:
    """Unpickling this calls ``os.system`` -- what a malicious .bin would carry."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (self.command,))


class _EvalPayload:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (eval, ("__import__('pathlib').Path('MARKER').touch()",))


def _dump(path: Path, obj: object, protocol: int = pickle.HIGHEST_PROTOCOL) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_reduce_payload_is_refused_and_nothing_runs(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    payload = ([b"\xff\xd8", _Payload(f"touch {marker}")], [True])
    path = _dump(tmp_path / "evil.bin", payload, protocol)
    pickle.loads(pickle.dumps(_Payload("true")))  # the payload class itself works: os.system does get called
    with pytest.raises(UnsafePickle, match="refuses to load global 'posix.system'|refuses to load global 'os.system'"):
        load_verification_bin(path)
    assert not marker.exists()


def test_eval_payload_in_the_labels_is_refused(tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(UnsafePickle, match="builtins.eval"):
            load_verification_bin(_dump(tmp_path / "evil.bin", ([b"a", b"b"], _EvalPayload())))
        assert not (tmp_path / "MARKER").exists()
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_bytes_and_bool_list_or_bool_array_load(tmp_path: Path, protocol: int) -> None:
    images = [b"one", b"two", b"\x00three", b"four"]
    for issame in ([True, False], np.array([True, False])):
        got, labels = load_verification_bin(_dump(tmp_path / "ok.bin", (images, issame), protocol))
        assert got == images and labels.dtype == np.bool_ and labels.tolist() == [True, False]


def test_python2_str_images_load_as_bytes(tmp_path: Path) -> None:
    # Python 2's pickle.dump((['ab', '\xff'], [True]), f, 2): SHORT_BINSTRING images, NEWTRUE label
    py2 = b"\x80\x02]q\x00(U\x02abq\x01U\x01\xffq\x02e]q\x03\x88a\x86q\x04."
    path = tmp_path / "py2.bin"
    path.write_bytes(py2)
    images, labels = load_verification_bin(path)
    assert images == [b"ab", b"\xff"] and labels.tolist() == [True]


@pytest.mark.parametrize("bad", [np.array([1, 0]), np.array([1.0, 0.0]), np.array([object(), None], dtype=object)])
def test_non_bool_arrays_are_refused(tmp_path: Path, bad: np.ndarray) -> None:
    with pytest.raises(UnsafePickle, match="dtype"):
        load_verification_bin(_dump(tmp_path / "arr.bin", ([b"a", b"b", b"c", b"d"], bad)))


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"images": []}, "expected a pickled"),
        (([b"a", "text"], [True]), "list of encoded images"),
        (([b"a", b"b"], [1]), "list of bools"),
        (([b"a", b"b", b"c"], [True]), "two images per pair"),
    ],
)
def test_wrong_shapes_are_one_line_errors(tmp_path: Path, obj: object, message: str) -> None:
    with pytest.raises(BenchError, match=message):
        load_verification_bin(_dump(tmp_path / "x.bin", obj))


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.bin"
    path.write_bytes(pickle.dumps(([b"a" * 100, b"b"], [True]))[:40])
    with pytest.raises(BenchError, match="not a readable verification .bin"):
        load_verification_bin(path)
