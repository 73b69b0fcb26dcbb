"""Standard benchmark formats: insightface .bin, CFP, CALFW/CPLFW, IJB-B/C, TinyFace, RFW.

The one entry point: it registers the readers, detectors and evaluations of the ``protocols_*`` and
``given_detectors`` modules.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.hookspecs import hookimpl
from bench.protocols import ProtocolSpec
from plugins import given_detectors
from plugins.protocols_bin import read_bin, sniff_bin


@hookimpl
def register_protocols(register: Callable[[ProtocolSpec], None]) -> None:
    """insightface .bin, CFP-FP/FF, CALFW/CPLFW, IJB-B/C, TinyFace, RFW."""
    register(ProtocolSpec("insightface-bin", read_bin, sniff_bin,
                          "insightface verification .bin (lfw, cfp_fp, agedb_30, calfw, cplfw...): pickled aligned "
                          "112x112 crops + issame, 10 consecutive folds; read without running pickle code",
                          needs_dataset=False))


@hookimpl
def register_detectors(register: Callable[..., None]) -> None:
    """aligned (pre-aligned crops) and given (the dataset's own landmarks)."""
    given_detectors.register(register)
