"""``python -m cnnkit``: train, evaluate, predict and benchmark from the command line, with the app's engine."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from cnnkit.bench import SECTIONS
from cnnkit.data.datasets import DATASETS, Dataset, load_dataset, to_tensor
from cnnkit.data.folders import FolderOptions, load_source
from cnnkit.devices import cpu_threads
from cnnkit.errors import CnnkitError
from cnnkit.i18n import text
from cnnkit.infer import preparing
from cnnkit.infer.preparing import add_predict_arguments, image_files
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.checkpoints import save_checkpoint
from cnnkit.nets.layers import read_spec
from cnnkit.options import Flag, flags_of, positive_int
from cnnkit.train.distributed import main_first, one_line_when_stopped, process_group, rank_device, world_from_env
from cnnkit.train.evaluation import evaluate
from cnnkit.train.export import FORMATS
from cnnkit.train.loop import BatchProgress, EpochStats, TrainConfig, batch_images, check_batch
from cnnkit.train.presets import PRESETS, apply_preset
from cnnkit.train.runner import Runner
from cnnkit.train.store import Run, RunStore, names_a_run, parse_id

# every setting of ``cnnkit train``, by its place in the config: declared on the fields (``cnnkit.options``)
SETTINGS: dict[str, Flag] = {
    **flags_of(TrainConfig),
    **flags_of(ModelConfig, "model."),
    **flags_of(FolderOptions, "folder."),
}
DATA = ("dataset", "data_dir")
FOLDER = tuple(name for name in SETTINGS if name.startswith("folder."))


def _add_settings(p: argparse.ArgumentParser, names, *, given_only: bool = True, **overrides) -> None:
    """The options of the settings ``names``: absent from ``args`` unless given (``given_only``), else with
    ``TrainConfig``'s default."""
    for name in names:
        flag = SETTINGS[name]
        default = argparse.SUPPRESS if given_only else getattr(TrainConfig(), name)
        shown = {"metavar": flag.metavar} if flag.metavar else {}
        options = {"help": flag.help, **flag.argparse, **shown, **overrides}
        p.add_argument(flag.name, dest=name, default=default, **options)


def given_settings(args, prefix: str = "") -> dict:
    """The settings given on the command line (those starting with ``prefix``), by their place in the config."""
    return {name: value for name, value in vars(args).items() if name in SETTINGS and name.startswith(prefix)}


def folder_options(args, saved: FolderOptions | None = None) -> FolderOptions:
    """The folder options a checkpoint was trained with (``saved``), else the defaults, then the options given."""
    base = saved or FolderOptions(seed=vars(args).get("seed", 0))
    return replace(base, **{k.removeprefix("folder."): v for k, v in given_settings(args, "folder.").items()})


def load_data(
    name: str,
    data_dir: str | None,
    offline: bool,
    folder: FolderOptions | None,
    progress=lambda m: print(m, file=sys.stderr),
) -> Dataset:
    """MNIST-style IDX data, or a class folder (``name`` "folder") with its warnings printed."""
    if name != "folder":
        return load_dataset(name, data_dir, not offline, progress=progress)
    if not data_dir:
        raise CnnkitError("build.folder.need_dir")
    dataset, stats = load_source(data_dir, folder)
    counts = ", ".join(f"{c} {a}+{b}" for c, a, b in zip(stats.classes, stats.train_counts, stats.test_counts))
    progress(
        f"{dataset.info.title}: {len(stats.classes)} classes (train+test images: {counts}), "
        f"{stats.channels} channel(s), {folder.size}×{folder.size}"
    )
    for code, values in stats.warnings:
        progress("warning: " + text(f"build.warn.{code}", **values))
    return dataset


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cnnkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model and save a checkpoint (several processes under torchrun)")
    _add_settings(t, SETTINGS)
    _add_offline_arg(t)
    t.add_argument(
        "--preset",
        choices=list(PRESETS),
        help="a recipe from cnnkit/train/presets.py, overridden by the options given here (fast: one "
        "epoch of batches of 256, one-cycle LR, label smoothing, the ConvNet with BatchNorm after "
        "its pools; notebook: the source notebook's settings)",
    )
    _add_threads_arg(t)
    t.add_argument("--out", help="also export the best checkpoint to this file (.pt or .safetensors)")
    t.add_argument(
        "--name",
        help="the run's name in the run store (default: its number and settings, "
        "e.g. '#3 ConvNet · BatchNorm · Adam 0.001')",
    )
    t.add_argument(
        "--resume",
        metavar="RUN",
        help="continue a stopped or failed run from its last epoch (same config; options given must match it)",
    )
    _add_runs_arg(t)
    t.add_argument("--json", action="store_true", help="end with one JSON line of results on stdout")

    e = sub.add_parser("evaluate", help="accuracy of a checkpoint on a test set")
    e.add_argument("--checkpoint", help="a file or a run id (default: the shipped model)")
    _add_settings(e, DATA, given_only=False)
    _add_offline_arg(e)
    _add_settings(e, FOLDER)
    _add_runs_arg(e)
    e.add_argument("--json", action="store_true")

    add_predict_arguments(sub.add_parser("predict", help="classify image files as the drawing page does"))

    sub.add_parser("devices", help="list the devices this machine can train on")

    r = sub.add_parser("runs", help="the run store: list, show, compare, remove and export runs")
    _add_runs_arg(r)
    rsub = r.add_subparsers(dest="runs_command", required=True)
    for name, help_text in (
        ("list", "every run, newest first"),
        ("show", "one run in full"),
        ("compare", "runs side by side"),
        ("rm", "remove runs and their files"),
    ):
        c = rsub.add_parser(name, help=help_text)
        if name != "list":
            c.add_argument("ids", nargs="+" if name != "show" else None, metavar="ID")
        if name != "rm":
            c.add_argument("--json", action="store_true")
    x = rsub.add_parser("export", help="write a run's model to a file: checkpoint, PyTorch script, TorchScript, ONNX")
    x.add_argument("id", metavar="ID")
    x.add_argument(
        "--format",
        choices=list(FORMATS),
        help="py (a standalone PyTorch script), torchscript, onnx, pt or safetensors (default: by the file name: "
        + ", ".join(FORMATS.values())
        + ")",
    )
    x.add_argument("--out", required=True, metavar="FILE")
    x.add_argument("--last", action="store_true", help="the last epoch's checkpoint instead of the best")

    b = sub.add_parser(
        "bench",
        help="the notebook's loop against the engine, time to a target accuracy, inference latency, app cold start",
    )
    _add_settings(b, ["dataset"], given_only=False, choices=list(DATASETS), help=None)  # no folders
    _add_settings(b, ["data_dir"], given_only=False)
    _add_offline_arg(b)
    b.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    _add_threads_arg(b)
    b.add_argument(
        "--sections",
        default="compare,target,latency",
        help=f"comma-separated, from: {', '.join(SECTIONS)} (default: compare, target, latency)",
    )
    b.add_argument("--subset", type=positive_int, help="train on this many random training images")
    b.add_argument("--epochs", type=positive_int, default=1, help="epochs of the side-by-side comparison")
    b.add_argument("--target", type=float, help="test accuracy to reach (default 0.90 on Fashion-MNIST, 0.98 on MNIST)")
    b.add_argument("--max-epochs", type=positive_int, default=10, help="give up on the target after this many")
    b.add_argument("--checkpoint", help="model of the latency section (default: the shipped model)")
    b.add_argument("--latency-runs", type=positive_int, default=200)
    b.add_argument("--seed", type=int, default=0)
    _add_runs_arg(b)
    b.add_argument("--json", action="store_true", help="print one JSON object of all figures on stdout")
    return parser


def _add_runs_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs-dir", help="the run store's folder (default: $CNNKIT_RUNS_DIR or ./runs)")


def _add_offline_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--offline", action="store_true", help="never download; use local files only")


def _add_threads_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threads",
        type=positive_int,
        help="CPU threads for torch, at most one per core (default: one per core; on a busy shared machine 1 can be "
        "much faster)",
    )


def _set_threads(args) -> None:
    """``--threads``, at most one per core (a note says so)."""
    if not args.threads:
        return
    threads, note = cpu_threads(args.threads)
    if note:
        print(f"note: {note}", file=sys.stderr)
    torch.set_num_threads(threads)


class ProgressBar:
    """A one-line progress bar on stderr, and a line per epoch."""

    def __init__(self, epochs: int, stream=sys.stderr):
        self.epochs, self.stream, self.last = epochs, stream, 0.0

    def __call__(self, event) -> None:
        if isinstance(event, BatchProgress):
            now = time.monotonic()
            if now - self.last < 0.2 and event.batch != event.batches:
                return
            self.last = now
            done = int(30 * event.batch / event.batches)
            self.stream.write(
                f"\repoch {event.epoch}/{self.epochs} [{'#' * done}{'.' * (30 - done)}] "
                f"{event.batch}/{event.batches} loss {event.loss:.4f} "
                f"acc {event.running_accuracy:.4f} {event.images_per_s:,.0f} img/s"
            )
        elif isinstance(event, EpochStats):
            self.stream.write(
                f"\repoch {event.epoch}/{self.epochs}: train loss {event.train_loss:.4f} "
                f"acc {event.train_accuracy:.4f} | test loss {event.test_loss:.4f} "
                f"acc {event.test_accuracy:.4f} | {event.seconds:.1f} s"
                f"{' ' * 30}\n"
            )
        self.stream.flush()


def config_from_args(args) -> TrainConfig:
    """TrainConfig's defaults, then the preset's values, then the options given on the command line."""
    config = apply_preset(TrainConfig(), args.preset) if args.preset else TrainConfig()
    config = replace(config, **{k: v for k, v in given_settings(args).items() if "." not in k})
    if config.dataset == "folder":
        config = replace(config, folder=folder_options(args))
    switches = {k.removeprefix("model."): v for k, v in given_settings(args, "model.").items()}
    layers = switches.pop("layers", None)
    if layers is not None and switches:
        raise CnnkitError(
            "build.errors.layers_and_switches", switches=", ".join(SETTINGS[f"model.{k}"].name for k in switches)
        )
    if layers is not None:  # also "": refused by ``read_spec``
        return replace(config, model=replace(config.model, layers=read_spec(layers)))
    if switches:  # the notes' network with these switches, also over a preset's own layer list
        return replace(config, model=replace(config.model, layers=None, **switches))
    return config


def run_options(args) -> dict[str, str | None]:
    """The options given that make a run what it is, and the config key each one sets (None: ``--preset``)."""
    given = {SETTINGS[name].name: name.split(".")[0] for name in given_settings(args) if SETTINGS[name].run}
    return {**given, **({"--preset": None} if args.preset else {})}


def _resumed(args, store: RunStore, config: TrainConfig) -> tuple[TrainConfig, Run]:
    """The stored run that ``--resume`` names and its config; options given beside it must not change it."""
    run = store.get(args.resume)  # whether it can go on is resume_state's to say, for the page's Continue too
    stored, wanted = run.train_config.to_dict(), config.to_dict()
    changed = sorted(flag for flag, key in run_options(args).items() if key is None or wanted[key] != stored[key])
    if changed:
        raise CnnkitError("runs.errors.config_changed", id=run.id, options=", ".join(changed))
    return replace(run.train_config, device=config.device, data_dir=config.data_dir or run.train_config.data_dir), run


def fitted_batch(args, config: TrainConfig, dataset: Dataset, processes: int) -> TrainConfig:
    """``config`` with a batch the training set can fill: a batch size not given (the default, a preset's) is cut
    to the training images, with a note; one given larger than them is refused before a run is recorded."""
    images = batch_images(config, dataset, processes)
    if "batch_size" not in vars(args) and not args.resume and 0 < images < config.batch_size:
        print(
            f"note: batch size {images}, the whole training set ({config.batch_size} would be larger)", file=sys.stderr
        )
        config = replace(config, batch_size=images)
    check_batch(config, dataset, processes)
    return config


def stop_hint(run_id: int, kept_epochs: int) -> str:
    """What a run stopped by Ctrl-C kept, and how to go on: ``--resume`` only where an epoch was kept."""
    if not kept_epochs:
        return f"stopped: run {run_id} finished no epoch, so there is nothing to resume; start a new run instead"
    return (
        f"stopped: run {run_id} keeps its {kept_epochs} finished epoch(s); continue it with "
        f"cnnkit train --resume {run_id}"
    )


def _started_from(args, config: TrainConfig) -> TrainConfig:
    """``--from RUN|shipped|FILE``: the run's best checkpoint file for a run id, and that model's network."""
    from cnnkit.train.transfer import SHIPPED, config_from, source_checkpoint

    value = config.start_from
    if value != SHIPPED and not Path(value).exists() and names_a_run(value):
        value = str(RunStore(args.runs_dir).folder(parse_id(value)) / "best.pt")
    config = replace(config, start_from=value)
    return config_from(config, source_checkpoint(value))


def cmd_train(args) -> int:
    config = config_from_args(args)
    if config.start_from and not args.resume:
        config = _started_from(args, config)
    config.validate()
    _set_threads(args)
    world = world_from_env()  # set when torchrun started this process as one of several
    main = world is None or world.is_main
    store = RunStore(args.runs_dir) if main else None
    resume, run = None, None
    if args.resume:
        config, run = _resumed(args, store or RunStore(args.runs_dir), config)
        resume = (store or RunStore(args.runs_dir)).resume_state(run.id)
    rank_device(world, config.device)  # an absent device is reported before the data is loaded
    with one_line_when_stopped(world), process_group(world, config.device):
        with main_first(world):  # rank 0 downloads the data, if needed, before the others read it
            dataset = load_data(config.dataset, config.data_dir, args.offline, config.folder)
        build_model(config.model.for_data(dataset.info))  # an invalid layer list is named before anything runs
        config = fitted_batch(args, config, dataset, world.size if world else 1)
        runner = Runner(
            store,
            config,
            dataset,
            source="torchrun" if world else "cli",
            name=args.name or "",
            run_id=run.id if run else None,
            resume=resume,
        )
        run_id = runner.run_id
        if main:
            if config.train_subset and config.train_subset > len(dataset.train):
                print(
                    text("safety.subset_above", asked=f"{config.train_subset:,}", total=f"{len(dataset.train):,}"),
                    file=sys.stderr,
                )
            processes = f" × {world.size} processes" if world else ""
            again = f", resuming after epoch {len(resume.history)}" if resume else ""
            print(
                f"Run {run_id}: {config.model.describe()} on {dataset.info.label()} ({dataset.source}), "
                f"device {config.device}{processes}{again}…",
                file=sys.stderr,
            )
        try:
            result = runner.train(callback=ProgressBar(config.epochs) if main else None, world=world)
        except KeyboardInterrupt:  # the runner has recorded it
            if main:
                print(f"\n{stop_hint(run_id, runner.kept_epochs)}", file=sys.stderr)
            return 130
    if not main:
        return 0 if result.status != "diverged" else 3
    if result.status != "completed":
        print(result.message, file=sys.stderr)
    ev = result.evaluation
    if ev:
        print(f"test accuracy {ev.accuracy:.4f}, {result.seconds:.1f} s on {result.device}", file=sys.stderr)
    code = 0 if result.status != "diverged" else 3
    if args.out and result.status != "diverged" and result.history:
        try:
            path = save_checkpoint(store.load(run_id), args.out)  # calibrated by the runner
            print(f"saved {path}", file=sys.stderr)
        except CnnkitError as exc:
            print(
                f"error: {exc} The training is kept as run {run_id}: cnnkit runs export {run_id} --out FILE",
                file=sys.stderr,
            )
            code = 2
    print(f"run {run_id}: {runner.status}", file=sys.stderr)
    if args.json:
        print(json.dumps({"run_id": run_id, **result.to_json()}))
    return code


def _checkpoint(args):
    """The checkpoint that ``--checkpoint`` names: a file, a run id of the store, or the shipped model."""
    from cnnkit.infer.predict import load_model

    value = args.checkpoint
    if value and not Path(value).exists() and names_a_run(value):
        return RunStore(args.runs_dir).load(value)
    return load_model(value)


def cmd_evaluate(args) -> int:
    ckpt = _checkpoint(args)
    if ckpt.dataset != args.dataset:
        print(f"note: the checkpoint was trained on {ckpt.dataset}, evaluating on {args.dataset}", file=sys.stderr)
    folder = folder_options(args, ckpt.folder) if args.dataset == "folder" else None
    dataset = load_data(args.dataset, args.data_dir, args.offline, folder)
    if folder and tuple(ckpt.classes) != dataset.info.classes:
        raise CnnkitError(
            "build.folder.classes_differ", model=", ".join(ckpt.classes), data=", ".join(dataset.info.classes)
        )
    start = time.perf_counter()
    normalization = replace(dataset.info, mean=ckpt.mean, std=ckpt.std)  # as the model was trained
    ev = evaluate(ckpt.model, to_tensor(dataset.test.images, normalization), dataset.test.labels)
    seconds = time.perf_counter() - start
    if args.json:
        print(
            json.dumps(
                {
                    "accuracy": ev.accuracy,
                    "loss": ev.loss,
                    "per_class": ev.per_class,
                    "images": len(dataset.test),
                    "checkpoint": ckpt.source,
                    "seconds": round(seconds, 3),
                }
            )
        )
    else:
        print(
            f"{ckpt.source}: accuracy {ev.accuracy:.4f} (loss {ev.loss:.4f}) on {len(dataset.test)} "
            f"{dataset.info.label()} test images"
        )
        for name, acc in zip(dataset.info.classes, ev.per_class):
            print(f"  {name:>12}: {acc:.4f}")
    return 0


def cmd_predict(args) -> int:
    from cnnkit.infer.predict import predict_files

    files = image_files(args.images)
    if not files:  # empty folders only: said before a model is loaded for nothing
        raise CnnkitError("errors.no_image_files", names=", ".join(args.images))
    try:
        ckpt = _checkpoint(args)
    except BaseException:  # no model: the files prepared since the start are not waited for
        preparing.cancel()
        raise
    results, failures = [], 0
    for pred in predict_files(ckpt, files):
        if isinstance(pred, str):
            failures += 1
            print(f"error: {pred}", file=sys.stderr)
            continue
        results.append(pred.to_json())
        if not args.json:
            print(f"{pred.path}: {pred.label} ({pred.probability:.1%})")
    if args.json:
        print(json.dumps(results))
    return 1 if failures else 0


def cmd_devices(_args) -> int:
    from cnnkit.devices import list_devices

    for d in list_devices():
        print(d.label)
    return 0


def cmd_bench(args) -> int:
    from cnnkit.bench import format_report, run_bench

    if args.target is not None and not 0 < args.target <= 1:
        raise CnnkitError("errors.bench_target", target=args.target)
    config = TrainConfig(
        dataset=args.dataset,
        data_dir=args.data_dir,
        epochs=args.epochs,
        seed=args.seed,
        train_subset=args.subset,
        device=args.device,
    )
    config.validate()
    _set_threads(args)
    rank_device(None, config.device)
    dataset = load_dataset(
        config.dataset, config.data_dir, not args.offline, progress=lambda m: print(m, file=sys.stderr)
    )
    out = run_bench(
        config,
        dataset,
        [s.strip() for s in args.sections.split(",") if s.strip()],
        args.target,
        args.max_epochs,
        args.checkpoint,
        args.latency_runs,
        report=lambda section: print(f"bench: {section}…", file=sys.stderr),
        store=RunStore(args.runs_dir),
    )
    out["command"] = "python -m cnnkit " + shlex.join(args.argv)
    print(json.dumps(out) if args.json else format_report(out))
    return 0


def cmd_runs(args) -> int:
    from cnnkit.train import runs_cli

    return runs_cli.run(args, RunStore(args.runs_dir))


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "devices": cmd_devices,
    "bench": cmd_bench,
    "runs": cmd_runs,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return COMMANDS[args.command](args)
    except CnnkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
