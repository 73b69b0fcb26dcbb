"""The ``bench`` command line: parses options and calls the core; no logic of its own."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bench import __version__
from bench.errors import BenchError

ENV_DATASETS = "BENCH_DATASETS"


class BenchGroup(click.Group):
    """Turns expected failures into one-line errors with exit code 1 (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BenchError as err:
            raise click.ClickException(str(err)) from err


@dataclass
class Settings:
    """Options shared by every command."""

    plugins_dirs: tuple[Path, ...]
    weights_dir: Path
    cache_dir: Path
    datasets_file: Path
    quiet: bool

    def plugins(self):  # type: ignore[no-untyped-def]
        """Load the plugins (cheap: no framework is imported)."""
        from bench import plugins

        return plugins.load(self.plugins_dirs)


def _default_datasets_file() -> Path:
    if os.environ.get(ENV_DATASETS):
        return Path(os.environ[ENV_DATASETS])
    local = Path("datasets.yaml")
    return local if local.is_file() else Path(__file__).resolve().parent.parent / "datasets.yaml"


@click.group(cls=BenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facebench")
@click.option("--plugins-dir", multiple=True, type=click.Path(path_type=Path),
              help="Also register every *.py plugin in DIR (repeatable; env BENCH_PLUGINS_DIR).")
@click.option("--weights-dir", type=click.Path(path_type=Path), envvar="BENCH_WEIGHTS_DIR",
              help="Folder of model weight files [default: $DEEPFACE_HOME/.deepface/weights].")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="BENCH_CACHE_DIR",
              help="Detection/embedding cache [default: ~/.cache/facebench].")
@click.option("--datasets", "datasets_file", type=click.Path(path_type=Path),
              help="datasets.yaml to read [default: ./datasets.yaml, else the one shipped with facebench].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def main(ctx: click.Context, plugins_dir: tuple[Path, ...], weights_dir: Path | None, cache_dir: Path | None,
         datasets_file: Path | None, quiet: bool) -> None:
    """facebench: benchmark face recognizers x detectors x distance metrics on your data.

    \b
    Quick start:
      bench similarity --i datasets/sample
      bench accuracy --i datasets/sample --model Dlib --backend opencv
      bench accuracy --dataset lfw --model Dlib,SFace --backend opencv,yunet --metric all

    Results go to results/<run-id>/ (CSV, PNG, manifest.json). Detections and embeddings are cached,
    so a repeated run does no inference.
    """
    from bench.store import default_cache_dir
    from bench.weights import default_weights_dir

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter buries the results

    ctx.obj = Settings(tuple(plugins_dir), weights_dir or default_weights_dir(),
                       cache_dir or default_cache_dir(), datasets_file or _default_datasets_file(), quiet)


@main.command("plugins")
@click.pass_obj
def plugins_cmd(settings: Settings) -> None:
    """List loaded plugins and what each registers, as JSON."""
    from bench.plugins import describe

    click.echo(json.dumps(describe(settings.plugins()), indent=2))


def _status(spec: Any, weights_dir: Path) -> str:
    reason = spec.unavailable_reason(weights_dir)
    return "ok" if reason is None else f"unavailable: {reason}"


@main.command("models")
@click.pass_obj
def models_cmd(settings: Settings) -> None:
    """List registered recognizers, their metadata and whether they can run here."""
    for spec in settings.plugins().recognizers:
        size = "x".join(map(str, spec.input_size))
        click.echo(f"{spec.name:<14} dim={spec.dim:<5} input={size:<8} {_status(spec, settings.weights_dir)}")


@main.command("detectors")
@click.pass_obj
def detectors_cmd(settings: Settings) -> None:
    """List registered detectors and whether they can run here."""
    for spec in settings.plugins().detectors:
        click.echo(f"{spec.name:<16} {_status(spec, settings.weights_dir)}  — {spec.description}")


@main.group("weights", invoke_without_command=True)
@click.pass_context
def weights_cmd(ctx: click.Context) -> None:
    """List every weight file the plugins need: present or missing, path, size, sha256, source URL."""
    if ctx.invoked_subcommand is None:
        from bench.weights_admin import listing

        settings: Settings = ctx.obj
        for line in listing(settings.plugins(), settings.weights_dir):
            click.echo(line)


@weights_cmd.command("download")
@click.argument("name")
@click.pass_obj
def weights_download_cmd(settings: Settings, name: str) -> None:
    """Download the missing weight files of NAME (a model or detector) or of all plugins."""
    from bench.weights_admin import DownloadError, download, missing_files, select

    missing = missing_files(select(settings.plugins(), name), settings.weights_dir)
    if not missing:
        click.echo(f"nothing to download: every weight file of {name} is in {settings.weights_dir}")
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
@click.pass_obj
def weights_import_cmd(settings: Settings, file: Path, as_name: str | None) -> None:
    """Copy FILE into the weights folder under its canonical name, then load every plugin that uses it."""
    from bench.weights_admin import import_file

    result = import_file(settings.plugins(), file, settings.weights_dir, as_name)
    click.echo(f"imported {result.path}; " + "; ".join(message for _, message in result.checks))
    if not result.ok:
        raise SystemExit(1)


@main.command("datasets")
@click.pass_obj
def datasets_cmd(settings: Settings) -> None:
    """List the datasets named in datasets.yaml and whether their files are present."""
    from bench.datasets import load_catalog

    for entry in load_catalog(settings.datasets_file).values():
        state = "present" if entry.present() else "missing"
        click.echo(f"{entry.name:<12} {state:<8} {entry.root}  {entry.description}")


def sweep_options(func: Any) -> Any:
    """Options shared by ``similarity`` and ``accuracy``."""
    options = [
        click.option("--i", "--input", "input_dir", type=click.Path(path_type=Path),
                     help="Dataset folder laid out <identity>/<image>."),
        click.option("--dataset", help="A dataset named in datasets.yaml (instead of --i)."),
        click.option("--o", "--output", "output", type=click.Path(path_type=Path), default=Path("results"),
                     show_default=True, help="Results root; each run gets its own sub-folder."),
        click.option("--model", default="Dlib", show_default=True, help="Recognizer(s): NAME, A,B or all."),
        click.option("--backend", default="opencv", show_default=True, help="Detector(s): NAME, A,B or all."),
        click.option("--n", type=int, help="Accuracy, variants: pairs to sample; identify: identities to sample "
                                           "(similarity is exact over every pair)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed for any sampling."),
        click.option("--on-no-face", type=click.Choice(["whole", "skip", "error"]), default="whole", show_default=True,
                     help="Image without a face: embed the whole image (DeepFace's enforce_detection=False), "
                          "drop its pairs, or stop."),
        click.option("--run-id", help="Name of the run folder [default: timestamp-command]."),
        click.option("--overwrite", is_flag=True, help="Allow writing into an existing run folder."),
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     envvar="BENCH_EXECUTOR", help="Compute cache misses in this process, or as Ray tasks "
                     "(pip install facebench[ray]); env BENCH_EXECUTOR."),
        click.option("--jobs", type=click.IntRange(min=1), envvar="BENCH_JOBS",
                     help="Worker processes computing cache misses with --executor local (1: in this process) "
                          "[default: one per core; env BENCH_JOBS]."),
        click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
                     envvar="BENCH_DEVICE", help="Run the networks on the CPU or an NVIDIA GPU (onnxruntime's CUDA "
                     "provider, TensorFlow's GPU); env BENCH_DEVICE."),
        click.option("--ray-address", envvar="RAY_ADDRESS",
                     help="Ray cluster to join (e.g. auto, or HOST:6379; env RAY_ADDRESS) "
                          "[default: a local Ray with one worker per CPU]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def metric_option(default: str) -> Any:
    """``--metric`` with a command's own default."""
    return click.option("--metric", default=default, show_default=True,
                        help="cosine, euclidean, euclidean_l2, angular, or all.")


pairs_option = click.option(
    "--pairs", type=click.Path(path_type=Path),
    help="Pairs file (LFW pairs.txt format or CSV file_x,file_y,same) [default: the dataset's].")


@main.command("similarity")
@sweep_options
@metric_option("cosine")
@click.option("--identities", help="Heatmap of these identities (comma list, in this order) [default: all while "
                                   "at most 40, else the 30 most-confused].")
@click.option("--top", type=click.IntRange(1, 100), metavar="K", help="Heatmap of the K most-confused identities.")
@click.pass_obj
def similarity_cmd(settings: Settings, **options: Any) -> None:
    """Identity x identity mean-distance matrices (CSV + heatmap) per model/detector/metric."""
    from bench.commands import run_similarity

    click.echo(run_similarity(settings, options))


@main.command("accuracy")
@sweep_options
@pairs_option
@metric_option("all")
@click.option("--drop-lowest-quality", type=click.FloatRange(0, 100, max_open=True), metavar="P",
              help="Also report every metric without the pairs of the lowest-quality P% of images (quality: "
                   "detector confidence, sharpness and size of the face; quality.csv).")
@click.pass_obj
def accuracy_cmd(settings: Settings, **options: Any) -> None:
    """Verification accuracy (10-fold, mean ± std), AUC, EER, TAR@FAR per model/detector/metric."""
    from bench.commands import run_accuracy

    click.echo(run_accuracy(settings, options))


@main.command("identify")
@sweep_options
@metric_option("all")
@click.option("--gallery-per-identity", type=click.IntRange(min=1), default=1, show_default=True,
              help="Gallery images per enrolled identity; identities with no more images than this are "
                   "distractors (not enrolled, their images are probes that should be rejected).")
@click.option("--max-per-identity", type=click.IntRange(min=1),
              help="Use at most this many images per identity (seeded).")
@click.pass_obj
def identify_cmd(settings: Settings, **options: Any) -> None:
    """1:N identification: rank-1/rank-5 and CMC (closed set), TPIR at FPIR (open set), per model/detector/metric."""
    from bench.commands import run_identify

    click.echo(run_identify(settings, options))


@main.command("variants")
@sweep_options
@click.option("--to", type=click.Path(path_type=Path), required=True,
              help="Write the variants here as <to>/<variant>/<identity>/<image> (+ pairs.csv, variants.json).")
@click.option("--only", help="Variants by name or family, comma list (rotate, blur, noise, occlude, lowres, jpeg, "
                             "brightness, contrast, or names such as rotate_+30) [default: all]; clean always.")
@click.option("--evaluate", is_flag=True, help="Also run accuracy on every variant, relative to clean.")
@click.option("--occlude-with", metavar="DETECTOR",
              help="Place occlusions from this detector's eye landmarks and face box [default: fixed image "
                   "fractions, for centred faces].")
@pairs_option
@metric_option("cosine")
@click.pass_obj
def variants_cmd(settings: Settings, **options: Any) -> None:
    """Robustness variants (rotation sweep, blur, noise, occlusion, low resolution, JPEG, brightness/contrast)
    of the images a pair list uses; with --evaluate, accuracy per variant, rotation curve and drop chart."""
    from bench.commands import run_variants

    click.echo(run_variants(settings, options))


@main.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="HTML file to write [default: report.html in the "
                                                             "first run folder].")
@click.option("--title", default="facebench report", show_default=True)
def report_cmd(runs: tuple[Path, ...], out: Path | None, title: str) -> None:
    """One self-contained HTML page (tables, speed, plots) from saved run folders; nothing is recomputed."""
    from bench.runs import read_run
    from bench.store import atomic_write
    from bench.webpage import render

    page = render([read_run(path) for path in runs], title)
    target = out or runs[0] / "report.html"
    atomic_write(target, page.encode())
    click.echo(f"report: {target}")


@main.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
def compare_cmd(run_a: Path, run_b: Path) -> None:
    """What changed from RUN_A to RUN_B: settings, and metric deltas per combination."""
    from bench.compare import compare
    from bench.runs import read_run

    click.echo(compare(read_run(run_a), read_run(run_b)))
