"""Template pooling and TAR@FAR for IJB-style 1:1 verification, against direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from bench import plugins
from bench.data.templates import pair_scores, pool, tar_at_fars, verify
from bench.measure import kfold as protocol


def _metric(name: str):  # type: ignore[no-untyped-def]
    return plugins.load().metrics.get(name)


def _insightface_pool(feats: np.ndarray, templates: np.ndarray, medias: np.ndarray) -> dict[int, np.ndarray]:
    """insightface's image2template_feature (recognition/_evaluation_/ijb/ijb_11.py), loop for loop."""
    feats = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    out = {}
    for uqt in np.unique(templates):
        (ind_t,) = np.where(templates == uqt)
        face_norm_feats, face_medias = feats[ind_t], medias[ind_t]
        media_norm_feats = []
        for u in np.unique(face_medias):
            (ind_m,) = np.where(face_medias == u)
            media_norm_feats.append(np.mean(face_norm_feats[ind_m], axis=0))
        summed = np.sum(media_norm_feats, axis=0)
        out[int(uqt)] = summed / np.linalg.norm(summed)
    return out


def test_pool_is_insightfaces_media_then_template_pooling() -> None:
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(200, 16))
    templates = rng.integers(0, 30, 200) * 7  # ids need not be consecutive
    medias = rng.integers(0, 5, 200) + 100 * templates  # media ids are global, as in IJB
    pooled = pool(feats, templates, medias)
    expected = _insightface_pool(feats, templates, medias)
    assert pooled.ids.tolist() == sorted(expected)
    for row, tid in enumerate(pooled.ids):
        np.testing.assert_allclose(pooled.vectors[row], expected[int(tid)], atol=1e-12)


def test_pool_weights_and_missing_embeddings() -> None:
    feats = np.array([[1.0, 0.0], [0.0, 1.0], [np.nan, np.nan], [0.0, 3.0]])
    templates, medias = np.array([1, 1, 2, 1]), np.array([10, 11, 12, 11])
    plain = pool(feats, templates, medias)
    # template 1: media 10 -> (1, 0); media 11 -> mean((0,1), (0,1)) = (0, 1); sum (1, 1) -> normalised
    np.testing.assert_allclose(plain.vectors[0], [2**-0.5, 2**-0.5])
    assert np.isnan(plain.vectors[1]).all()  # template 2's only image has no embedding
    weighted = pool(feats, templates, medias, weights=np.array([3.0, 1.0, 1.0, 1.0]))
    np.testing.assert_allclose(weighted.vectors[0], np.array([3.0, 1.0]) / np.sqrt(10))


@pytest.mark.parametrize("higher", [True, False])
def test_tar_at_fars_matches_the_roc_definition(higher: bool) -> None:
    rng = np.random.default_rng(1)
    scores = np.round(rng.normal(size=5000), 2)  # many ties
    same = rng.random(5000) < 0.3
    scores[same] += 1.0
    scores = scores if higher else -scores  # distances: lower is more similar
    fars = (1e-4, 1e-3, 3e-3, 1e-2, 1e-1, 0.5, 1.0)
    got = tar_at_fars(scores, same, fars, higher)
    for far in fars:
        assert got[far] == protocol.tar_at_far(scores, same, far, higher), far
    assert got[1e-4] is None  # fewer than 10,000 impostors


def test_pair_scores_do_not_depend_on_the_block() -> None:
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(50, 8))
    left, right = rng.integers(0, 50, 1000), rng.integers(0, 50, 1000)
    cosine = _metric("cosine")
    np.testing.assert_array_equal(pair_scores(vectors, left, right, cosine, 7), cosine.pairs(vectors, left, right))


def test_verify_drops_pairs_without_a_template_vector() -> None:
    feats = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [np.nan, np.nan]])
    pooled = pool(feats, np.array([1, 2, 3, 4]), np.array([1, 2, 3, 4]))
    result = verify(
        pooled,
        np.array([1, 1, 2, 4, 9]),
        np.array([2, 3, 3, 1, 1]),
        np.array([True, False, False, True, True]),
        _metric("cosine"),
        fars=(0.5,),
    )
    assert result["n_pairs_scored"] == 3 and result["n_template_pairs"] == 5 and result["n_templates_empty"] == 1
    assert result["tar_at_far_5e-01"] == 1.0
