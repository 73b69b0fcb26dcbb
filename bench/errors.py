"""The one base class of expected failures: the CLI prints the message on one line and exits 1."""

from __future__ import annotations


class BenchError(Exception):
    """An expected failure (bad input, missing file, unknown name): one line, no traceback."""
