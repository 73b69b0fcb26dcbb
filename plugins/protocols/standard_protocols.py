"""Standard benchmark formats: insightface .bin, CFP, CALFW/CPLFW, IJB-B/C, TinyFace, RFW.

The one entry point: it registers the readers, detectors and evaluations of the ``protocols_*`` and
``given_detectors`` modules.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.hookspecs import hookimpl
from bench.protocols import ProtocolSpec
from facebench_plugins.detectors import given_detectors
from facebench_plugins.evaluations.standard_evaluations import EVALUATIONS
from facebench_plugins.protocols.protocols_bin import read_bin, sniff_bin
from facebench_plugins.protocols.protocols_ijb import read_ijb, sniff_ijb
from facebench_plugins.protocols.protocols_pairs import (
    read_calfw,
    read_cfp,
    read_rfw,
    sniff_calfw,
    sniff_cfp,
    sniff_rfw,
)
from facebench_plugins.protocols.protocols_tinyface import read_tinyface, sniff_tinyface


def _cfp(split: str) -> ProtocolSpec:
    kind = "frontal-profile" if split == "cfp-fp" else "frontal-frontal"
    return ProtocolSpec(
        split,
        lambda path, dataset: read_cfp(path, split),
        sniff_cfp,
        f"CFP {kind}: Protocol/Pair_list_F.txt, Pair_list_P.txt, Split/{split[-2:].upper()}/01..10/"
        "same.txt, diff.txt (10 folds of 350 + 350)",
        needs_dataset=False,
    )


PROTOCOLS = (
    ProtocolSpec(
        "insightface-bin",
        read_bin,
        sniff_bin,
        "insightface verification .bin (lfw, cfp_fp, agedb_30, calfw, cplfw...): pickled aligned 112x112 "
        "crops + issame, 10 consecutive folds; read without running pickle code",
        needs_dataset=False,
    ),
    _cfp("cfp-fp"),
    _cfp("cfp-ff"),
    ProtocolSpec(
        "calfw-cplfw",
        read_calfw,
        sniff_calfw,
        "CALFW / CPLFW pairs_*.txt: two 'image label' lines a pair (label 0: different), 10 consecutive "
        "folds; images in 'aligned images/'",
        needs_dataset=False,
    ),
    ProtocolSpec(
        "rfw",
        read_rfw,
        sniff_rfw,
        "RFW: test/txts/<Group>/<Group>_pairs.txt (LFW lines) and test/data/<Group>/<name>/; group per "
        "image for per-group accuracy",
        needs_dataset=False,
    ),
    ProtocolSpec(
        "ijb",
        read_ijb,
        sniff_ijb,
        "IJB-B / IJB-C 1:1: meta/*_face_tid_mid.txt, *_template_pair_label.txt, *_name_5pts_score.txt and "
        "loose_crop/; template pairs, scored by the ijb evaluation (detector 'given')",
        needs_dataset=False,
    ),
    ProtocolSpec(
        "tinyface",
        read_tinyface,
        sniff_tinyface,
        "TinyFace 1:N: Testing_Set/Probe, Gallery_Match, Gallery_Distractor (<identity>_<n>.jpg); rank-1/5/20",
        needs_dataset=False,
    ),
)


@hookimpl
def register_protocols(register: Callable[[ProtocolSpec], None]) -> None:
    """insightface .bin, CFP-FP/FF, CALFW/CPLFW, IJB-B/C, TinyFace, RFW."""
    for spec in PROTOCOLS:
        register(spec)


@hookimpl
def register_detectors(register: Callable[..., None]) -> None:
    """aligned (pre-aligned crops) and given (the dataset's own landmarks)."""
    given_detectors.register(register)


@hookimpl
def register_evaluations(register: Callable[..., None]) -> None:
    """bench ijb, bench tinyface, bench rfw."""
    for spec in EVALUATIONS:
        register(spec)
