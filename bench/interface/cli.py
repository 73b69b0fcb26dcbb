"""The ``bench`` command line: parses options into typed requests and calls the library; no logic of its own.

Evaluation commands (``accuracy``, ``identify``, ``similarity`` and any a plugin registers) are generated from the
evaluation registry. The options that say where things are (``--weights-dir``, ``--cache-dir``, ``--plugins-dir``,
``--datasets``, ``-q``) are accepted before or after the command name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import click

from bench import __version__
from bench.errors import BenchError
from bench.run.choices import Device, Executor, OnNoFace

if TYPE_CHECKING:
    from bench.evaluations import EvaluationSpec, Option
    from bench.run.config import Settings
    from bench.run.requests import SweepRequest

WEIGHTS_HELP = (
    "Folder of model weight files, searched first; then $BENCH_WEIGHTS_DIR, DeepFace's "
    "$DEEPFACE_HOME/.deepface/weights and ./weights."
)
LOCATION_OPTIONS = ("plugins_dir", "weights_dir", "cache_dir", "datasets_file", "quiet")


def location_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say where things are, on the group and on every command."""
    options = [
        click.option(
            "--plugins-dir",
            multiple=True,
            type=click.Path(path_type=Path),
            is_eager=True,
            help="Also register every *.py plugin in DIR (repeatable; env BENCH_PLUGINS_DIR).",
        ),
        click.option(
            "--weights-dir",
            type=click.Path(path_type=Path),
            envvar="BENCH_WEIGHTS_DIR",
            help=WEIGHTS_HELP + " Env BENCH_WEIGHTS_DIR.",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(path_type=Path),
            envvar="BENCH_CACHE_DIR",
            help="Detection/embedding cache [default: ~/.cache/facebench; env BENCH_CACHE_DIR].",
        ),
        click.option(
            "--datasets",
            "datasets_file",
            type=click.Path(path_type=Path),
            help="datasets.yaml to read [default: ./datasets.yaml, else the one shipped; env BENCH_DATASETS].",
        ),
        click.option("-q", "--quiet", is_flag=True, default=None, help="No progress output."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _located(ctx: click.Context, given: dict[str, Any], key: str) -> Any:
    """An option typed after the command name wins, then one typed before it, then environment/defaults."""
    root = ctx.find_root()
    typed = click.core.ParameterSource.COMMANDLINE
    if ctx is not root and ctx.get_parameter_source(key) == typed:
        return given.get(key)
    if root.get_parameter_source(key) == typed:
        return root.params.get(key)
    return given.get(key) if given.get(key) is not None else root.params.get(key)


def settings_of(ctx: click.Context, given: dict[str, Any]) -> Settings:
    """Settings from the group's options, overridden by the same options given after the command name."""
    from bench.run.config import Settings

    group = ctx.find_root().params
    plugins_dirs = tuple(dict.fromkeys((*group.get("plugins_dir", ()), *given.get("plugins_dir", ()))))
    settings = Settings(plugins_dirs=tuple(map(Path, plugins_dirs)), quiet=bool(_located(ctx, given, "quiet")))
    for key in ("weights_dir", "cache_dir", "datasets_file"):
        value = _located(ctx, given, key)
        if value is not None:
            setattr(settings, key, Path(value))
    return settings


def _pop_locations(options: dict[str, Any]) -> dict[str, Any]:
    return {k: options.pop(k) for k in LOCATION_OPTIONS if k in options}


class BenchCLI(click.Group):
    """Expected failures become one-line errors with exit code 1; evaluation commands come from the registry."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BenchError as err:
            raise click.ClickException(str(err)) from err
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as err:
            if os.environ.get("FACEBENCH_TRACEBACK"):
                raise
            first = str(err).splitlines()[0] if str(err).strip() else "(no message)"
            raise click.ClickException(
                f"unexpected {type(err).__name__}: {first} (set FACEBENCH_TRACEBACK=1 to see the traceback; "
                "please report it)"
            ) from err

    def _evaluations(self, ctx: click.Context) -> dict[str, EvaluationSpec]:
        """The evaluation commands, from the plugins loaded once per invocation (``--help`` asks per command)."""
        from bench import plugins

        if "facebench.commands" not in ctx.meta:
            dirs = tuple(Path(p) for p in ctx.params.get("plugins_dir") or ())
            try:
                registry = plugins.load(dirs).evaluations
            except BenchError as err:
                raise click.ClickException(str(err)) from err
            ctx.meta["facebench.commands"] = {spec.command: spec for spec in registry if spec.command}
        return ctx.meta["facebench.commands"]  # type: ignore[no-any-return]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._evaluations(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        spec = self._evaluations(ctx).get(cmd_name)
        return evaluation_command(spec) if spec is not None else None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as err:
            from bench.registry import unknown_message

            if args and "No such command" in str(err):
                raise click.UsageError(unknown_message("command", args[0], self.list_commands(ctx)), ctx) from None
            raise


@click.group(cls=BenchCLI, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="facebench")
@location_options
def main(**_: Any) -> None:
    """facebench: benchmark face recognizers x detectors x distance metrics on your data.

    \b
    Quick start:
      bench similarity --i datasets/sample
      bench accuracy --i datasets/sample --model Dlib --backend opencv
      bench accuracy --dataset lfw --model Dlib,SFace --backend opencv,yunet --metric all
      bench run examples/suite.yaml

    Results go to results/<run-id>/ (CSV, PNG, manifest.json). Detections and embeddings are cached,
    so a repeated run does no inference. Weight files are searched in --weights-dir, $BENCH_WEIGHTS_DIR,
    $DEEPFACE_HOME/.deepface/weights and ./weights.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter buries the results


def sweep_options(default_metric: str, own: tuple[Option, ...] = ()) -> list[Callable[..., Any]]:
    """The options every evaluation command takes, then the evaluation's own."""
    options = [
        click.option(
            "--i",
            "--input",
            "input_dir",
            type=click.Path(path_type=Path),
            help="Dataset folder <identity>/<image>, or a benchmark file (e.g. an insightface .bin).",
        ),
        click.option("--dataset", help="A dataset named in datasets.yaml (instead of --i)."),
        click.option(
            "--pairs",
            type=click.Path(path_type=Path),
            help="Pair list (LFW pairs.txt, CSV file_x,file_y,same[,fold], or any registered protocol) "
            "[default: the dataset's].",
        ),
        click.option("--protocol", help="Reader of --pairs / --i (see `bench protocols`) [default: by content]."),
        click.option(
            "--o",
            "--output",
            "output",
            type=click.Path(path_type=Path),
            default=Path("results"),
            show_default=True,
            help="Results root; each run gets its own sub-folder.",
        ),
        click.option("--model", "models", default="Dlib", show_default=True, help="Recognizer(s): NAME, A,B or all."),
        click.option(
            "--backend",
            "--detector",
            "backends",
            default="opencv",
            show_default=True,
            help="Detector(s): NAME, A,B or all (see `bench detectors`; --backend is DeepFace's word).",
        ),
        click.option(
            "--metric",
            "metrics",
            default=default_metric,
            show_default=True,
            help="Metric(s): NAME, A,B or all (see `bench metrics`).",
        ),
        click.option(
            "--flip",
            is_flag=True,
            help="Flip test-time augmentation: each model embeds the face plus its "
            "mirror image (models named NAME+flip; also --model NAME+flip).",
        ),
        click.option(
            "--face",
            default="center",
            show_default=True,
            help="Which face of a multi-face image is used: center, largest, confidence, or deepface "
            "(every face; a pair scores its closest face pair, as DeepFace.verify); see "
            "`bench face-selectors`.",
        ),
        click.option(
            "--detector-option",
            "detector_options",
            multiple=True,
            metavar="NAME.KEY=VALUE",
            help="Change a detector setting (repeatable), e.g. retinaface-mnet.max_side=1024; the manifest "
            "lists every detector's settings.",
        ),
        click.option(
            "--n",
            type=int,
            help="How many to sample, seeded by --seed: pairs for the pair evaluations (from --pairs too; a folder "
            "without a pair list samples 1000 by default), identities for identify [default: all].",
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed for any sampling."),
        click.option(
            "--on-no-face",
            type=click.Choice(get_args(OnNoFace)),
            default="whole",
            show_default=True,
            help="Image without a face: embed the whole image (DeepFace's "
            "enforce_detection=False), drop its pairs, or stop.",
        ),
        click.option("--run-id", help="Name of the run folder [default: timestamp-command]."),
        click.option("--overwrite", is_flag=True, help="Replace an existing run folder (its old outputs are removed)."),
        click.option(
            "--allow-partial",
            is_flag=True,
            help="Run what can run when a named model/detector cannot, and exit 0 (default: refuse).",
        ),
        click.option("--eval", "extra_evaluations", help="Also run these evaluations on the same sweep (comma list)."),
        click.option(
            "--executor",
            type=click.Choice(get_args(Executor)),
            default="local",
            show_default=True,
            envvar="BENCH_EXECUTOR",
            help="Compute cache misses in this process, or as Ray tasks "
            "(pip install facebench[ray]); env BENCH_EXECUTOR.",
        ),
        click.option(
            "--ray-address",
            envvar="RAY_ADDRESS",
            help="Ray cluster to join (auto, or HOST:6379; env RAY_ADDRESS) [default: a local Ray].",
        ),
        click.option(
            "--jobs",
            type=click.IntRange(min=1),
            envvar="BENCH_JOBS",
            help="Worker processes computing cache misses with --executor local (1: in this process; "
            "same results for any N) [default: one per core; env BENCH_JOBS].",
        ),
        click.option(
            "--device",
            type=click.Choice(get_args(Device)),
            default="cpu",
            show_default=True,
            envvar="BENCH_DEVICE",
            help="Run the networks on the CPU or an NVIDIA GPU (onnxruntime's CUDA "
            "provider, TensorFlow's GPU); env BENCH_DEVICE.",
        ),
    ]
    for option in own:
        options.append(
            click.option(
                f"--{option.name.replace('_', '-')}",
                option.name,
                is_flag=option.type is bool,
                type=None if option.type is bool else option.type,
                default=option.default,
                show_default=option.default is not None,
                help=option.help,
            )
        )
    return options


def request_of(spec: EvaluationSpec, options: dict[str, Any], settings: Settings) -> SweepRequest:
    """The validated request for ``spec`` from a command's parsed options, its names and options checked."""
    from bench.run.requests import SweepRequest, check

    own = {o.name: options.pop(o.name) for o in spec.options if o.name in options}
    extras = tuple(e.strip() for e in (options.pop("extra_evaluations") or "").split(",") if e.strip())
    return check(SweepRequest(evaluation=spec.name, extra_evaluations=extras, options=own, **options), settings)


def evaluation_command(spec: EvaluationSpec) -> click.Command:
    """A click command that runs ``spec`` through the runner."""

    @click.pass_context
    def command(ctx: click.Context, **options: Any) -> None:
        from bench.run.runner import execute

        plan = options.pop("plan")
        settings = settings_of(ctx, _pop_locations(options))
        request = request_of(spec, options, settings)
        if plan:
            from bench.compute import runtime
            from bench.run.plan import plan as plan_of

            click.echo(plan_of(request, settings).text(runtime.cores()))
            return
        click.echo(execute(request, settings).summary)

    plan_option: Callable[..., Any] = click.option(
        "--plan",
        is_flag=True,
        help="Print what the sweep would compute (images, detections, faces, pair scores; what the cache holds) "
        "and its estimated CPU and wall time, then stop: nothing is computed or written.",
    )
    for option in reversed([*sweep_options(spec.default_metric, spec.options), plan_option, location_options]):
        command = option(command)
    return click.command(spec.command, help=spec.help)(command)


def _listing(kind: str, rows: Callable[[Settings], list[tuple[str, str, dict[str, Any]]]]) -> click.Command:
    """A command listing one registry kind: a line of at most 100 columns each; details with --json/--verbose."""

    @click.option("--json", "as_json", is_flag=True, help="Every detail, as JSON.")
    @click.option("-v", "--verbose", is_flag=True, help="Full descriptions and reasons (lines may be long).")
    @location_options
    @click.pass_context
    def command(ctx: click.Context, as_json: bool, verbose: bool, **given: Any) -> None:
        entries = rows(settings_of(ctx, given))
        if as_json:
            click.echo(json.dumps([{"name": n, "status": s, **d} for n, s, d in entries], indent=2, default=str))
            return
        width = max((len(n) for n, _, _ in entries), default=0) + 2
        for name, status, _ in entries:
            line = f"{name:<{width}}{status}"
            click.echo(line if verbose or len(line) <= 100 else line[:99] + "…")

    return click.command(kind.replace("_", "-"), help=f"List the registered {kind.replace('_', ' ')}.")(command)


def _spec_rows(attr: str) -> Callable[[Settings], list[tuple[str, str, dict[str, Any]]]]:
    def rows(settings: Settings) -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        for spec in getattr(settings.plugins(), attr):
            reason = spec.unavailable_reason(settings.weights_dir)
            status = "ok" if reason is None else f"unavailable: {reason}"
            detail: dict[str, Any] = {
                "plugin": spec.plugin,
                "description": spec.description,
                "reason": reason,
                "settings": spec.settings,
            }
            if attr == "recognizers":
                detail |= {"dim": spec.dim, "input_size": list(spec.input_size)}
                status = f"dim {spec.dim:<5} {status}"
            out.append((spec.name, status, detail))
        return out

    return rows


def _simple_rows(attr: str) -> Callable[[Settings], list[tuple[str, str, dict[str, Any]]]]:
    def rows(settings: Settings) -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        for spec in getattr(settings.plugins(), attr):
            text = getattr(spec, "description", "") or getattr(spec, "help", "")
            if attr == "metrics":
                text = f"{'higher' if spec.higher_is_more_similar else 'lower'} = more similar; {text}"
            out.append((spec.name, text, {"plugin": spec.plugin}))
        return out

    return rows


for _kind, _rows in (
    ("models", _spec_rows("recognizers")),
    ("detectors", _spec_rows("detectors")),
    ("metrics", _simple_rows("metrics")),
    ("protocols", _simple_rows("protocols")),
    ("evaluations", _simple_rows("evaluations")),
    ("face_selectors", _simple_rows("face_selectors")),
    ("quality_measures", _simple_rows("quality")),
):
    main.add_command(_listing(_kind, _rows))


@main.command("plugins")
@location_options
@click.pass_context
def plugins_cmd(ctx: click.Context, **given: Any) -> None:
    """List loaded plugins and what each registers (every kind), as JSON."""
    from bench.plugins import describe

    click.echo(json.dumps(describe(settings_of(ctx, given).plugins()), indent=2))


@main.group("weights", invoke_without_command=True)
@click.option("-v", "--verbose", is_flag=True, help="Also the path, size, sha256 and source of every file.")
@location_options
@click.pass_context
def weights_cmd(ctx: click.Context, verbose: bool, **given: Any) -> None:
    """List every weight file the plugins need: present or missing (-v: path, size, sha256, source)."""
    ctx.meta["weights_given"] = given
    if ctx.invoked_subcommand is None:
        from bench.compute.weights_admin import listing

        settings = settings_of(ctx, given)
        for line in listing(settings.plugins(), settings.weights_dir, verbose):
            click.echo(line)


def _weights_settings(ctx: click.Context, given: dict[str, Any]) -> Settings:
    merged = {k: v for k, v in ctx.meta.get("weights_given", {}).items() if v not in (None, ())}
    merged |= {k: v for k, v in given.items() if v not in (None, ())}
    return settings_of(ctx, merged)


@weights_cmd.command("download")
@click.argument("name")
@location_options
@click.pass_context
def weights_download_cmd(ctx: click.Context, name: str, **given: Any) -> None:
    """Download the missing weight files of NAME (a model or detector) or of all plugins."""
    from bench.compute.weights_admin import DownloadError, download, missing_files, select

    settings = _weights_settings(ctx, given)
    missing = missing_files(select(settings.plugins(), name), settings.weights_dir)
    if not missing:
        click.echo(f"nothing to download: every weight file of {name} is present")
    failed = 0
    for weight in missing:
        try:
            click.echo(f"downloaded {download(weight, settings.weights_dir)}")
        except DownloadError as err:
            failed += 1
            click.echo(f"failed: {err}", err=True)
    if failed:
        raise SystemExit(1)


@weights_cmd.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_name", help="Weight file name (or plugin name) to store it as [default: FILE's name].")
@location_options
@click.pass_context
def weights_import_cmd(ctx: click.Context, file: Path, as_name: str | None, **given: Any) -> None:
    """Copy FILE into the weights folder under its canonical name, then load every plugin that uses it."""
    from bench.compute.weights_admin import import_file

    settings = _weights_settings(ctx, given)
    result = import_file(settings.plugins(), file, settings.weights_dir, as_name)
    click.echo(f"imported {result.path}; " + "; ".join(message for _, message in result.checks))
    if not result.ok:
        raise SystemExit(1)


@main.command("datasets")
@location_options
@click.pass_context
def datasets_cmd(ctx: click.Context, **given: Any) -> None:
    """List the datasets named in datasets.yaml and whether their files are present."""
    from bench.data.catalog import load_catalog

    settings = settings_of(ctx, given)
    for entry in load_catalog(settings.datasets_file).values():
        state = "present" if entry.present() else "missing"
        line = f"{entry.name:<14} {state:<8} {entry.description}"
        click.echo(line if len(line) <= 100 else line[:99] + "…")


def variant_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``bench variants``'s own options, then every sweep option."""
    options = [
        click.option(
            "--to",
            type=click.Path(path_type=Path),
            required=True,
            help="Write the variants here as <to>/<variant>/<identity>/<image> (+ pairs.csv, variants.json).",
        ),
        click.option(
            "--only",
            help="Variants by name or family, comma list (rotate, blur, noise, occlude, lowres, "
            "jpeg, brightness, contrast, or names such as rotate_+30) [default: all].",
        ),
        click.option("--evaluate", is_flag=True, help="Also run accuracy on every variant, relative to clean."),
        click.option(
            "--occlude-with",
            metavar="DETECTOR",
            help="Place occlusions from this detector's eye landmarks and face box [default: fixed image "
            "fractions, for centred faces].",
        ),
        *sweep_options("cosine"),
    ]
    for option in reversed(options):
        func = option(func)
    return location_options(func)


@main.command("variants")
@variant_options
@click.pass_context
def variants_cmd(
    ctx: click.Context, to: Path, only: str | None, evaluate: bool, occlude_with: str | None, **options: Any
) -> None:
    """Robustness variants (rotation sweep, blur, noise, occlusion, low resolution, JPEG, brightness/contrast)
    of the images a pair list uses; with --evaluate, accuracy per variant, rotation curve and drop chart."""
    from bench.interface.api import write_variants
    from bench.run.runner import execute

    settings = settings_of(ctx, _pop_locations(options))
    spec = settings.plugins().evaluations.get("variants")
    request = request_of(spec, {**options, "to": str(to), "only": only, "occlude_with": occlude_with}, settings)
    click.echo(execute(request, settings).summary if evaluate else write_variants(request, settings))


@main.command("run")
@click.argument("suite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--o", "--output", "output", type=click.Path(path_type=Path), help="Results root [default: the suite's].")
@click.option("--overwrite", is_flag=True, help="Replace the suite's existing run folders.")
@location_options
@click.pass_context
def run_cmd(ctx: click.Context, suite: Path, output: Path | None, overwrite: bool, **given: Any) -> None:
    """Run every sweep a suite file (YAML) declares; the suite is copied into each run folder."""
    from bench.run.suite import run_suite

    for outcome in run_suite(suite, settings_of(ctx, given), output, overwrite):
        click.echo(outcome.summary)


@main.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--o",
    "--output",
    "output",
    type=click.Path(path_type=Path),
    help="HTML file to write [default: RUN/report.html for one run; for several, report-<run names>.html "
    "beside the first run's folder].",
)
@click.option("--title", default="facebench report", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing report file.")
@location_options
def report_cmd(runs: tuple[Path, ...], output: Path | None, title: str, overwrite: bool, **_: Any) -> None:
    """One self-contained HTML page from saved run folders: each run's tables, speed and plots, its report card,
    and for several runs a table across them. It reads only the run folders (the location options are accepted
    for symmetry with the other commands)."""
    from bench.interface.api import write_report

    click.echo(f"report: {write_report(list(runs), output, title, overwrite)}")


@main.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@location_options
def compare_cmd(run_a: Path, run_b: Path, **_: Any) -> None:
    """What changed from RUN_A to RUN_B: settings, and figure deltas per combination (read from the two run
    folders; the location options are accepted for symmetry with the other commands)."""
    from bench.report.compare import compare
    from bench.run.runs import read_run

    click.echo(compare(read_run(run_a), read_run(run_b)))
