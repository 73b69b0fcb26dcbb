"""Built-in face-selection policies."""

from __future__ import annotations

from collections.abc import Callable

from bench.faces import Face
from bench.hookspecs import hookimpl
from bench.selection import FaceSelector


def largest(faces: list[Face], height: int, width: int) -> list[int]:
    """Faces by box area, largest first; ties keep detection order."""
    return sorted(range(len(faces)), key=lambda i: -faces[i].area)


@hookimpl
def register_face_selectors(register: Callable[[FaceSelector], None]) -> None:
    """The largest face."""
    register(FaceSelector("largest", largest, description="the largest box"))
