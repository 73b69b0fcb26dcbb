"""Validated requests: what a user asked a sweep to do, built by the CLI, the Python API or a suite file.

A :class:`SweepRequest` checks every field when it is made (pydantic, strict): an unknown or misspelt field, a choice
that is not one, or a value of the wrong type is a one-line :class:`RequestError` naming the field, the value and
the closest valid choice. :func:`check` then checks, before any work, the names that live in the plugin registries
and the options the evaluations declare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, TypeVar, get_args, get_origin

import click
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from bench.errors import BenchError
from bench.registry import BadDetectorOption, UnknownName, did_you_mean, with_detector_options
from bench.run.choices import Device, Executor, OnNoFace

if TYPE_CHECKING:
    from bench.evaluations import EvaluationSpec
    from bench.plugins import Plugins
    from bench.run.config import Settings


class RequestError(BenchError):
    """A request field or evaluation option that is unknown, misspelt, not a valid choice or of the wrong type."""


def _path(value: Any) -> Any:
    """A str or Path as a Path; anything else is refused."""
    if isinstance(value, str | Path):
        return Path(value)
    raise PydanticCustomError("path_type", "should be a path (str or Path)")


def _names(value: Any) -> Any:
    """A list of names as the comma list the registries select from (``["A", "B"]`` -> ``"A,B"``)."""
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    return value


def _tuple(value: Any) -> Any:
    """A list (as YAML and JSON give) as a tuple; a str is refused, not split into characters."""
    if isinstance(value, str):
        raise PydanticCustomError("tuple_type", "should be a list of names, not one string")
    return tuple(value) if isinstance(value, list) else value


PathArg = Annotated[Path, BeforeValidator(_path)]
Names = Annotated[str, BeforeValidator(_names)]
Strings = Annotated[tuple[str, ...], BeforeValidator(_tuple)]
T = TypeVar("T")


class Validated(BaseModel):
    """A strict model whose validation errors are one-line :class:`RequestError` s. A validation ``context`` may
    give ``where`` (a prefix), ``shown`` (field -> the name the user wrote for it) and ``also`` (more names to
    suggest for an unknown one)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo) -> Self:
        try:
            return handler(data)
        except ValidationError as err:
            context = info.context or {}
            errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")  # a typo explains a missing
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            problem = _explain(errors[0], cls, context.get("shown", {}), context.get("also", ()))
            raise RequestError(context.get("where", "") + problem + more) from None


class SweepRequest(Validated):
    """One evaluation (plus extras) over datasets x models x detectors x metrics."""

    evaluation: str  # the registered evaluation that leads (e.g. "accuracy")
    input_dir: PathArg | None = None  # a folder <identity>/<image>, or a benchmark file a protocol reads
    dataset: str | None = None  # an entry of datasets.yaml
    pairs: PathArg | None = None
    protocol: str | None = None  # reader for --pairs / --i (default: sniffed)
    models: Names = "Dlib"
    backends: Names = "opencv"
    metrics: Names | None = None  # None: the evaluation's default
    flip: bool = False  # flip test-time augmentation for every model (RecognizerSpec.with_flip)
    face: str = "center"
    detector_options: Strings = ()  # NAME.KEY=VALUE
    n: int | None = Field(None, ge=1)
    seed: int = 0
    on_no_face: OnNoFace = "whole"  # embed the whole image, drop its pairs, or stop
    output: PathArg = Path("results")
    run_id: str | None = None
    overwrite: bool = False
    executor: Executor = "local"
    ray_address: str | None = None
    jobs: int | None = Field(None, ge=1)  # local executor's worker processes (None: one per core; 1: in this process)
    device: Device = "cpu"
    allow_partial: bool = False
    extra_evaluations: Strings = ()
    options: dict[str, Any] = Field(default_factory=dict)  # options the evaluations declared

    def with_(self, **changes: Any) -> SweepRequest:
        """This request with some fields changed, validated again (``model_copy`` would not validate)."""
        return self.model_validate({**self.model_dump(), **changes})

    def option(self, name: str, default: Any = None) -> Any:
        """An evaluation-declared option's value."""
        value = self.options.get(name)
        return default if value is None else value

    def record(self) -> dict[str, Any]:
        """JSON-safe view for the manifest."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.model_dump().items()}


FIELDS = tuple(SweepRequest.model_fields)


def _explain(error: ErrorDetails, model: type[BaseModel], shown: Mapping[str, str], also: Iterable[str]) -> str:
    """One pydantic error as ``field=value: what is wrong``, with the closest valid field or choice."""
    field = str(error["loc"][0]) if error["loc"] else ""
    label = shown.get(field, field) + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in error["loc"][1:])
    value, given = error["input"], _short(error["input"])
    if error["type"] == "extra_forbidden":
        return _unknown(field, label, model, also)
    if error["type"] == "missing":
        return f"{label} is required"
    choices = _choices(model.model_fields[field].annotation) if field in model.model_fields else ()
    if error["type"] == "literal_error":
        return f"{label}={given}: not one of {', '.join(choices)}{did_you_mean(str(value), choices)}"
    return f"{label}={given}: {error['msg'].replace('Input should', 'should')} (got {type(value).__name__})"


def _short(value: Any, width: int = 80) -> str:
    """``repr(value)``, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _unknown(field: str, label: str, model: type[BaseModel], also: Iterable[str]) -> str:
    """An unknown field, with the closest three; an unknown option also lists every option and (API) keyword."""
    valid = list(model.model_fields)
    hint = did_you_mean(field, [*valid, *also], n=3)
    if model is SweepRequest:
        return f"unknown request field '{label}'{hint}"
    text = f"unknown option '{label}' for {model.__name__}{hint}; its options: {', '.join(valid) or 'none'}"
    others = sorted(set(also) - set(valid) - {"evaluation", "options", "extra_evaluations"})
    return text + (f"; every call also takes: {', '.join(others)}" if others else "")


def _choices(annotation: Any) -> tuple[str, ...]:
    """The values of a ``Literal`` annotation (also inside ``X | None``)."""
    if get_origin(annotation) is Literal:
        return tuple(map(str, get_args(annotation)))
    return next((c for c in map(_choices, get_args(annotation)) if c), ())


def _annotation(kind: Any) -> Any:
    """An :class:`~bench.evaluations.Option`'s type as a pydantic annotation (``None`` always allowed)."""
    if isinstance(kind, click.Choice):
        return Literal[tuple(kind.choices)] | None
    return Any if isinstance(kind, click.ParamType) else kind | None


def options_model(specs: Iterable[EvaluationSpec]) -> type[BaseModel]:
    """A strict model of the options ``specs`` declare (the first declaration of a name wins)."""
    declared: dict[str, Any] = {}
    for spec in specs:
        for option in spec.options:
            declared.setdefault(option.name, (_annotation(option.type), option.default))
    return create_model("+".join(spec.name for spec in specs), __base__=Validated, **declared)


def _named(field: str, lookup: Callable[[], T], where: str) -> T:
    """``lookup()``; an unknown registry name or detector option becomes a :class:`RequestError` naming ``field``."""
    try:
        return lookup()
    except (UnknownName, BadDetectorOption) as err:
        raise RequestError(f"{where}{field}: {err}") from None


def _registered(request: SweepRequest, plugins: Plugins, where: str) -> list[EvaluationSpec]:
    """The request's evaluations (the lead first, each once), having checked every name it gives against the
    registries."""
    lead = _named("evaluation", lambda: plugins.evaluations.get(request.evaluation), where)
    extras = _named("extra_evaluations", lambda: [plugins.evaluations.get(n) for n in request.extra_evaluations], where)
    _named("models", lambda: plugins.recognizers.select(request.models), where)
    detectors = _named("backends", lambda: plugins.detectors.select(request.backends), where)
    _named("metrics", lambda: plugins.metrics.select(request.metrics or lead.default_metric), where)
    _named("face", lambda: plugins.face_selectors.get(request.face), where)
    _named("detector_options", lambda: with_detector_options(detectors, request.detector_options), where)
    return list({spec.name: spec for spec in (lead, *extras)}.values())


def check(request: SweepRequest, settings: Settings, where: str = "", keywords: Iterable[str] = ()) -> SweepRequest:
    """``request`` with its registry names checked and its options validated against what its evaluations
    declare; errors start with ``where``, an unknown option's suggestions also draw on ``keywords``. Selects the
    request's device first: the plugins' settings depend on it."""
    from bench.compute import runtime

    runtime.use_device(request.device)
    specs = _registered(request, settings.plugins(), where)
    model = options_model(specs)
    context = {"where": where, "also": keywords}
    options = model.model_validate(request.options, context=context).model_dump(exclude_unset=True)
    return request.with_(evaluation=specs[0].name, options=options)
