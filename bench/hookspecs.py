"""The hooks a facebench plugin may implement."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("bench")
hookimpl = pluggy.HookimplMarker("bench")


@hookspec
def register_recognizers(register: Callable[..., None]) -> None:
    """Register face recognizers: call ``register(RecognizerSpec(...))`` once per model."""


@hookspec
def register_detectors(register: Callable[..., None]) -> None:
    """Register face detectors: call ``register(DetectorSpec(...))`` once per backend."""
