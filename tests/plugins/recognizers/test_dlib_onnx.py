"""dlib's face-recognition ResNet converted to ONNX gives dlib's own descriptors."""

from __future__ import annotations

import numpy as np
import pytest

from bench.compute import runtime
from facebench_plugins.recognizers.dlib_onnx import Reader, UnreadableDlibNet, convert
from tests.conftest import SAMPLE, WEIGHTS, needs_weights


@pytest.mark.parametrize(
    ("data", "value"),
    [(b"\x01\x00", 0), (b"\x02\x80\x12", 4736), (b"\x81\x11", -17), (b"\x03\x62\x90\xf5", 16093282)],
)
def test_packed_integers(data: bytes, value: int) -> None:
    assert Reader(data, 0).integer() == value


def test_portable_float() -> None:
    """The mean red of dlib's input layer as the file stores it: 16093282 * 2**-17."""
    assert Reader(b"\x03\x62\x90\xf5\x81\x11", 0).real() == pytest.approx(122.782, abs=1e-4)


def test_another_file_is_refused_in_one_line() -> None:
    with pytest.raises(UnreadableDlibNet, match="not dlib's face-recognition ResNet"):
        convert(b"\x01\x05con_4" + bytes(64))


@needs_weights
def test_descriptors_equal_dlibs_on_real_faces() -> None:
    """150x150 chips of sample images: the ONNX graph and dlib's compute_face_descriptor agree to 1e-5."""
    dlib = pytest.importorskip("dlib")
    import cv2

    path = WEIGHTS / "dlib_face_recognition_resnet_model_v1.dat"
    session = runtime.onnx_session(convert(path.read_bytes()), threads=1)
    net = dlib.face_recognition_model_v1(str(path))
    images = sorted(SAMPLE.rglob("*.jpg"))[:12]
    assert len(images) == 12
    for image in images:
        chip = np.ascontiguousarray(cv2.resize(cv2.imread(str(image))[40:210, 40:210], (150, 150))[:, :, ::-1])
        theirs = np.array(net.compute_face_descriptor(chip))
        ours = session.run(None, {"image": chip[None].astype(np.float32)})[0][0]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
        assert np.linalg.norm(theirs) > 0.1  # a real descriptor, not zeros
