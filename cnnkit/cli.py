"""``python -m cnnkit``: train, evaluate and predict from the command line, with the same engine as the app."""
from __future__ import annotations

import argparse
import json
import sys
import time

from .checkpoints import save_checkpoint
from .data import DATASETS, load_dataset, to_tensor
from .devices import resolve_device
from .errors import CnnkitError
from .evaluation import evaluate
from .models import FAMILIES, ModelConfig
from .training import OPTIMIZERS, SCHEDULES, BatchProgress, EpochStats, TrainConfig, TrainResult, train


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=list(DATASETS), default="mnist")
    p.add_argument("--data-dir", help="folder with the four IDX files, or torchvision's root "
                                      "(default: $CNNKIT_DATA_DIR or ./data)")
    p.add_argument("--offline", action="store_true", help="never download; use local files only")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cnnkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model and save a checkpoint")
    _add_data_args(t)
    t.add_argument("--model", choices=list(FAMILIES), default="convnet")
    t.add_argument("--extra-conv", action="store_true", help="experiment: add a third conv block")
    t.add_argument("--no-pooling", action="store_true", help="experiment: remove the pooling layers")
    t.add_argument("--no-padding", action="store_true", help="experiment: convolutions without padding")
    t.add_argument("--extra-fc", action="store_true", help="experiment: add a hidden fully connected layer")
    t.add_argument("--batchnorm", action="store_true", help="BatchNorm after each convolution")
    t.add_argument("--dropout", type=float, default=0.0, help="Dropout p after hidden FC layers")
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--schedule", choices=SCHEDULES, default="constant")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--subset", type=_positive_int, help="train on this many random training images")
    t.add_argument("--augment", action="store_true", help="small random shifts, rotations and scales")
    t.add_argument("--out", help="checkpoint file to write (.pt or .safetensors)")
    t.add_argument("--json", action="store_true", help="end with one JSON line of results on stdout")

    e = sub.add_parser("evaluate", help="accuracy of a checkpoint on a test set")
    e.add_argument("--checkpoint", help="default: the shipped model")
    _add_data_args(e)
    e.add_argument("--json", action="store_true")

    p = sub.add_parser("predict", help="classify image files as the drawing page does")
    p.add_argument("images", nargs="+")
    p.add_argument("--checkpoint", help="default: the shipped model")
    p.add_argument("--json", action="store_true")

    sub.add_parser("devices", help="list the devices this machine can train on")
    return parser


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
            self.stream.write(f"\repoch {event.epoch}/{self.epochs} [{'#' * done}{'.' * (30 - done)}] "
                              f"{event.batch}/{event.batches} loss {event.loss:.4f} "
                              f"acc {event.running_accuracy:.4f} {event.images_per_s:,.0f} img/s")
        elif isinstance(event, EpochStats):
            self.stream.write(f"\repoch {event.epoch}/{self.epochs}: train loss {event.train_loss:.4f} "
                              f"acc {event.train_accuracy:.4f} | test loss {event.test_loss:.4f} "
                              f"acc {event.test_accuracy:.4f} | {event.seconds:.1f} s"
                              f"{' ' * 30}\n")
        self.stream.flush()


def config_from_args(args) -> TrainConfig:
    model = ModelConfig(args.model, extra_conv=args.extra_conv, pooling=not args.no_pooling,
                        padding=not args.no_padding, extra_fc=args.extra_fc, batchnorm=args.batchnorm,
                        dropout=args.dropout)
    return TrainConfig(dataset=args.dataset, data_dir=args.data_dir, model=model, epochs=args.epochs,
                       batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr, schedule=args.schedule,
                       seed=args.seed, train_subset=args.subset, augment=args.augment, device=args.device)


def cmd_train(args) -> int:
    config = config_from_args(args)
    config.validate()
    resolve_device(config.device)  # an absent device is reported before the data is loaded
    dataset = load_dataset(config.dataset, config.data_dir, not args.offline, progress=lambda m: print(m, file=sys.stderr))
    print(f"Training {config.model.describe()} on {dataset.info.title} ({dataset.source}), "
          f"device {config.device}…", file=sys.stderr)
    result = train(config, callback=ProgressBar(config.epochs), dataset=dataset)
    if result.status != "completed":
        print(result.message, file=sys.stderr)
    ev = result.evaluation
    if ev:
        print(f"test accuracy {ev.accuracy:.4f}, {result.seconds:.1f} s on {result.device}", file=sys.stderr)
    if args.out and result.status != "diverged":
        path = save_checkpoint(result.to_checkpoint(), args.out)
        print(f"saved {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json()))
    return 0 if result.status != "diverged" else 3


def cmd_evaluate(args) -> int:
    from .inference import load_model

    ckpt = load_model(args.checkpoint)
    if ckpt.dataset != args.dataset:
        print(f"note: the checkpoint was trained on {ckpt.dataset}, evaluating on {args.dataset}",
              file=sys.stderr)
    dataset = load_dataset(args.dataset, args.data_dir, not args.offline, progress=lambda m: print(m, file=sys.stderr))
    start = time.perf_counter()
    ev = evaluate(ckpt.model, to_tensor(dataset.test.images, DATASETS[args.dataset]), dataset.test.labels)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"accuracy": ev.accuracy, "loss": ev.loss, "per_class": ev.per_class,
                          "images": len(dataset.test), "checkpoint": ckpt.source, "seconds": round(seconds, 3)}))
    else:
        print(f"{ckpt.source}: accuracy {ev.accuracy:.4f} (loss {ev.loss:.4f}) on {len(dataset.test)} "
              f"{dataset.info.title} test images")
        for name, acc in zip(dataset.info.classes, ev.per_class):
            print(f"  {name:>12}: {acc:.4f}")
    return 0


def cmd_predict(args) -> int:
    from .inference import load_model, predict_image

    ckpt = load_model(args.checkpoint)
    results, failures = [], 0
    for path in args.images:
        try:
            pred = predict_image(ckpt, path)
        except CnnkitError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        results.append(pred.to_json())
        if not args.json:
            print(f"{path}: {pred.label} ({pred.probability:.1%})")
    if args.json:
        print(json.dumps(results))
    return 1 if failures else 0


def cmd_devices(_args) -> int:
    from .devices import list_devices

    for d in list_devices():
        print(d.label)
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "devices": cmd_devices}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CnnkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
