"""User YAML files read numbers as YAML 1.2 does, and say where a syntax error is."""

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bench.data.yaml_files import Loader, read_yaml
from bench.errors import BenchError


def _read(tmp_path: Path, text: str) -> object:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    return read_yaml(path, BenchError)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-3", 1e-3), ("1E6", 1e6), ("-2.5e+2", -250.0), (".5", 0.5), ("3", 3), ("'1e-3'", "1e-3"), ("1e", "1e")],
)
def test_numbers_are_read_as_a_user_means_them(tmp_path: Path, text: str, value: object) -> None:
    got = _read(tmp_path, f"x: {text}\n")
    assert got == {"x": value} and type(got["x"]) is type(value)  # type: ignore[index]


EXPONENT_ONLY = re.compile(r"[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+")
"""A number with an exponent and no dot: a string to YAML 1.1 (so PyYAML writes it unquoted), a float to YAML 1.2."""


@given(
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers()
    | st.text(max_size=12).filter(lambda t: not EXPONENT_ONLY.fullmatch(t))
)
def test_what_pyyaml_writes_reads_back(value: object) -> None:
    text = yaml.safe_dump({"x": value})
    assert yaml.load(text, Loader=Loader) == {"x": value}


@pytest.mark.parametrize("text", ["0E0", "1e5", "-2E+3"])
def test_the_one_deliberate_difference_from_pyyaml(text: str) -> None:
    """PyYAML writes these strings unquoted (YAML 1.1 has no such float); facebench reads them as the numbers they
    spell, as YAML 1.2 does."""
    assert yaml.safe_dump({"x": text}) == f"x: {text}\n"
    assert yaml.load(f"x: {text}\n", Loader=Loader) == {"x": float(text)}


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=r"f\.yaml:2: invalid YAML"):
        _read(tmp_path, "a: 1\n  b: 2\n")
