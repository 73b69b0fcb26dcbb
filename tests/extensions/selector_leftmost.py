"""A new face-selection policy in one file: the leftmost face."""

from bench.hookspecs import hookimpl
from bench.selection import FaceSelector


@hookimpl
def register_face_selectors(register):
    register(
        FaceSelector(
            "leftmost",
            lambda faces, h, w: sorted(range(len(faces)), key=lambda i: faces[i].x),
            description="the face furthest left",
        )
    )
