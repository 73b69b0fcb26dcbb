"""Fast tier: validated requests -- typos, wrong types and unknown names are one-line errors before any work."""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import facebench
from bench.run.config import Settings
from bench.run.requests import FIELDS, RequestError, SweepRequest, check
from tests.conftest import FAKES, bench, bench_fakes

CHOICES = {"executor": ("local", "ray"), "on_no_face": ("whole", "skip", "error"), "device": ("cpu", "cuda")}
KINDS = {
    "evaluation": "str",
    "input_dir": "path?",
    "dataset": "str?",
    "pairs": "path?",
    "protocol": "str?",
    "models": "names",
    "backends": "names",
    "metrics": "names?",
    "flip": "bool",
    "face": "str",
    "detector_options": "strings",
    "n": "count?",
    "seed": "int",
    "on_no_face": "choice",
    "output": "path",
    "run_id": "str?",
    "overwrite": "bool",
    "executor": "choice",
    "ray_address": "str?",
    "jobs": "count?",
    "device": "choice",
    "allow_partial": "bool",
    "extra_evaluations": "strings",
    "options": "dict",
}
"""Every request field by the kind of value it takes ("?": None too)."""

TEXT = string.printable + "éß✓"
"""An explicit alphabet: hypothesis builds no unicode table, so the first run is as fast as the next."""
texts = st.text(TEXT)
names = st.text(string.ascii_letters + "-_+", min_size=1)
VALID = {
    "str": texts,
    "path": st.one_of(st.text(TEXT, min_size=1), st.text(TEXT, min_size=1).map(Path)),
    "names": st.one_of(names, st.lists(names, min_size=1)),
    "bool": st.booleans(),
    "int": st.integers(),
    "count": st.integers(min_value=1),
    "strings": st.lists(texts).map(tuple),
    "dict": st.dictionaries(texts, st.one_of(st.none(), st.integers(), texts, st.booleans())),
}
WRONG = {
    "str": st.one_of(st.integers(), st.floats(), st.lists(st.integers(), min_size=1), st.booleans()),
    "path": st.one_of(st.integers(), st.floats(), st.lists(texts), st.dictionaries(texts, texts)),
    "names": st.one_of(st.integers(), st.lists(st.integers(), min_size=1), st.booleans()),
    "bool": st.one_of(st.integers(), texts, st.floats()),
    "int": st.one_of(texts, st.floats(), st.booleans()),
    "count": st.one_of(texts, st.floats(), st.booleans(), st.integers(max_value=0)),
    "choice": st.one_of(st.integers(), st.lists(texts), st.booleans()),
    "strings": st.one_of(texts, st.integers(), st.lists(st.integers(), min_size=1)),
    "dict": st.one_of(texts, st.integers(), st.lists(st.integers())),
}


QUICK = settings(max_examples=60, deadline=None)
"""Cheap examples: the fast tier stays fast, a loaded machine does not trip the deadline."""


def test_every_field_has_a_kind() -> None:
    assert set(KINDS) == set(FIELDS)


@st.composite
def one_edit(draw: st.DrawFn, word: str) -> str:
    """``word`` with one letter inserted, deleted, replaced or two swapped."""
    i = draw(st.integers(0, len(word) - 1))
    c = draw(st.sampled_from(string.ascii_lowercase + "_"))
    edits = [word[:i] + c + word[i:], word[:i] + word[i + 1 :], word[:i] + c + word[i + 1 :]]
    edits += [word[:i] + word[i + 1] + word[i] + word[i + 2 :]] if i + 1 < len(word) else []
    return draw(st.sampled_from(edits))


def each(fields: Sequence[str], values: Callable[[str], st.SearchStrategy[Any]]) -> st.SearchStrategy[tuple[str, Any]]:
    """(field, value) with a field drawn from ``fields`` and a value from ``values(field)``."""
    return st.sampled_from(fields).flatmap(lambda f: st.tuples(st.just(f), values(f)))


def _refused(**fields: Any) -> str:
    with pytest.raises(RequestError) as err:
        SweepRequest(**{"evaluation": "verification", **fields})
    message = str(err.value)
    assert "\n" not in message
    return message


@QUICK
@given(each(FIELDS, one_edit))
def test_a_misspelt_field_is_refused_naming_it_and_the_closest(case: tuple[str, str]) -> None:
    field, typo = case
    assume(typo and typo not in FIELDS)
    message = _refused(**{typo: None})
    assert f"unknown request field '{typo}'" in message
    if len(field) > 1:  # "n" -> "x" is no closer to "n" than to anything else
        assert f"'{field}'" in message.partition("did you mean")[2]


@QUICK
@given(each(sorted(CHOICES), lambda f: st.sampled_from(CHOICES[f]).flatmap(one_edit)))
def test_a_misspelt_choice_is_refused_listing_the_choices(case: tuple[str, str]) -> None:
    field, typo = case
    assume(typo not in CHOICES[field])
    message = _refused(**{field: typo})
    assert message.startswith(f"{field}={typo!r}: not one of {', '.join(CHOICES[field])}") and "did you mean" in message


@QUICK
@given(each(FIELDS, lambda f: WRONG[KINDS[f].rstrip("?")]))
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(case: tuple[str, Any]) -> None:
    field, value = case
    assert _refused(**{field: value}).startswith(field)


def valid(field: str) -> st.SearchStrategy[Any]:
    """A random valid value of ``field``."""
    kind = KINDS[field]
    base = st.sampled_from(CHOICES[field]) if kind == "choice" else VALID[kind.rstrip("?")]
    return st.one_of(st.none(), base) if kind.endswith("?") else base


@QUICK
@given(st.lists(each(FIELDS, valid), unique_by=lambda case: case[0]))
def test_a_valid_request_round_trips_through_its_record(cases: list[tuple[str, Any]]) -> None:
    request = SweepRequest(**{"evaluation": "verification", **dict(cases)})
    record = request.record()
    assert list(record) == list(FIELDS)
    assert SweepRequest.model_validate(record) == request
    assert SweepRequest.model_validate(json.loads(json.dumps(record))) == request


def test_with_validates_again() -> None:
    request = SweepRequest(evaluation="verification")
    assert request.with_(seed=7, input_dir="data").input_dir == Path("data")
    with pytest.raises(RequestError, match="seed='7': should be a valid integer"):
        request.with_(seed="7")


def test_check_validates_names_and_declared_options() -> None:
    settings = Settings(plugins_dirs=(FAKES,), quiet=True)
    request = SweepRequest(evaluation="Identification", models="FakeNet", backends="fake-box", options={})
    assert check(request.with_(options={"gallery_per_identity": 2}), settings).evaluation == "identify"
    with pytest.raises(RequestError, match=r"gallery_per_identity='2': should be a valid integer \(got str\)"):
        check(request.with_(options={"gallery_per_identity": "2"}), settings)
    with pytest.raises(RequestError, match="unknown option 'galery_per_identity' .*'gallery_per_identity'"):
        check(request.with_(options={"galery_per_identity": 1}), settings)
    with pytest.raises(RequestError, match="^extra_evaluations: unknown evaluation 'similarty' .*'similarity'"):
        check(request.with_(extra_evaluations=("similarty",)), settings)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--model", "FakeNt"), "models: unknown model 'FakeNt' (did you mean 'FakeNet'?)"),
        (("--face", "centre"), "face: unknown face selector 'centre' (did you mean 'center'?)"),
        (("--metric", "cosin"), "metrics: unknown metric 'cosin' (did you mean 'cosine'?)"),
        (("--eval", "similarty"), "extra_evaluations: unknown evaluation 'similarty'"),
        (("--detector-option", "fake-box.min_confidance=0.5"), "detector fake-box has no option 'min_confidance'"),
        (("--executor", "rya"), "'rya' is not one of 'local', 'ray'"),
    ],
)
def test_cli_refuses_before_any_work(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    code, text = bench_fakes("accuracy", tmp_path / "data", tmp_path / "out", *args)
    assert code != 0 and expected in text, text
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_wrong_option_type_of_the_evaluation(tmp_path: Path) -> None:
    code, text = bench_fakes("identify", tmp_path / "data", tmp_path / "out", "--gallery-per-identity", "two")
    assert code == 2 and "'two' is not a valid integer" in text


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"executor": "rya"}, "executor='rya': not one of local, ray (did you mean 'ray'?)"),
        ({"on_no_face": "wholee"}, "on_no_face='wholee': not one of whole, skip, error (did you mean 'whole'?)"),
        ({"seed": "7"}, "seed='7': should be a valid integer (got str)"),
        ({"model": 5}, "model=5: should be a valid string (got int)"),
        ({"data": 5}, "data=5: should be a path (str or Path) (got int)"),
        ({"sed": 7}, "unknown option 'sed' for accuracy (did you mean 'seed'?); its options: drop_lowest_quality"),
        ({"metrc": "cosine"}, "unknown option 'metrc' for accuracy (did you mean 'metric' or 'metrics'?)"),
        ({"dropp_lowest_quality": 0.1}, "(did you mean 'drop_lowest_quality'"),
        ({"drop_lowest_quality": "0.1"}, "drop_lowest_quality='0.1': should be a valid number (got str)"),
    ],
)
def test_api_refuses_before_any_work(tmp_path: Path, given: dict[str, Any], expected: str) -> None:
    kwargs = {"data": tmp_path / "data", "model": "FakeNet", "backend": "fake-box", **given}
    with pytest.raises(facebench.RequestError) as err:
        facebench.accuracy(output=tmp_path / "out", plugins_dirs=[FAKES], **kwargs)
    assert expected in str(err.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("sede: 3\n", "suite.yaml: unknown request field 'sede' (did you mean 'seed'?)"),
        ("seed: '7'\n", "suite.yaml: seed='7': should be a valid integer (got str)"),
        ("executor: rya\n", "suite.yaml: executor='rya': not one of local, ray (did you mean 'ray'?)"),
    ],
)
def test_suite_refuses_a_top_level_key(tmp_path: Path, lines: str, expected: str) -> None:
    _suite_refused(tmp_path, lines + "datasets: [{input: data}]\nevaluations: [verification]\n", expected)


@pytest.mark.parametrize(
    ("datasets", "evaluations", "expected"),
    [
        ("[{input: 5}]", "[accuracy]", "suite.yaml: datasets[0].input=5: should be a path (str or Path) (got int)"),
        ("[{input: data, n: 0}]", "[accuracy]", "datasets[0].n=0: should be greater than or equal to 1"),
        ("[{input: data}]", "[accuracy, {evaluation: similarity, fce: center}]", "'evaluations[1].fce'"),
        ("[{input: data}]", "[accuracy, [similarity]]", "suite.yaml: evaluations[1]: expected a name or a mapping"),
        ("[{input: data}]", "[accuracy, identfy]", "'identfy' (did you mean 'identify'"),
        ("[{input: data}]", "[{evaluation: identify, options: {top: 3}}]", "unknown option 'top' for identify"),
    ],
)
def test_suite_refuses_an_entry_before_the_first_run(
    tmp_path: Path, datasets: str, evaluations: str, expected: str
) -> None:
    _suite_refused(tmp_path, f"datasets: {datasets}\nevaluations: {evaluations}\n", expected)


def _suite_refused(tmp_path: Path, text: str, expected: str) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: s\nmodels: [FakeNet]\nbackends: [fake-box]\n{text}")
    code, output = bench("--plugins-dir", str(FAKES), "run", str(suite), "--o", str(tmp_path / "out"))
    assert code == 1 and expected in output and output.count("\n") == 1, output
    assert not (tmp_path / "out").exists()


def test_a_suggestion_prefers_the_family_name() -> None:
    from bench.registry import closest

    assert closest("retinafac", ["retinaface-mnet", "retinaface", "yunet"]) == ["retinaface"]
    assert closest("retinaface-m", ["retinaface-mnet", "retinaface"]) == ["retinaface-mnet"]
