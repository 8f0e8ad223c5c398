"""Seconds of a transfer learning epoch with the frozen backbone's features computed once, against computed at
every epoch, and fine-tuning everything; beside ``plan_transfer``'s estimate for the same setting (docs/training.md).

For each ImageNet backbone it writes random weights under torchvision's own file name into a temporary
``$TORCH_HOME`` (the timing does not depend on the values, and nothing downloads), draws a folder of coloured
shapes (tests/support/shapes.py) and trains with the engine, ``train(config, dataset=...)`` as the CLI does:

- *cached*: ``--freeze all``, no augmentation: the backbone runs once over every image before the first epoch,
  the epochs train the new head on its features;
- *uncached*: the same training with the features computed in every step (``cache_features=False``: what any
  augmentation does, without the augmentation's own cost);
- *fine-tune*: ``--freeze none``: every layer learns.

The first epoch counts from the call to its end (weights read, features computed, ...); a later epoch is the
median of the epochs after the first. Run from the repository root, as a module so that ``tests.support`` imports:

    python -m benchmarks.transfer_epochs [--images 20] [--backbones resnet18,efficientnet_b0] [--epochs 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torchvision

from benchmarks import markdown
from cnnkit.data.folders import FolderOptions, load_folder
from cnnkit.nets.builder import ModelConfig
from cnnkit.nets.transfer import BACKBONES, weights_file_name
from cnnkit.train.loop import BatchProgress, EpochStats, TrainConfig, train
from cnnkit.train.transfer import plan_transfer
from tests.support.shapes import SHAPES, draw_folder

DEFAULT_BACKBONES = ("mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x0_5", "resnet18", "efficientnet_b0")
SETTINGS = {  # name: (freeze, features computed once when they can be)
    "cached": ("all", True),
    "uncached": ("all", False),
    "fine-tune": ("none", True),
}
IMAGE_SIZE = 32  # the folder's side; each backbone's first layer resizes it to its crop (224 for most)
FOLDER = FolderOptions(size=IMAGE_SIZE)


@dataclass(frozen=True, kw_only=True)
class Timing:
    backbone: str
    setting: str
    first_epoch_s: float  # from the call to the first epoch's end: weights, data, features (cached), epoch 1
    later_epoch_s: float  # the median epoch after the first
    setup_s: float  # the part of the first epoch before its first batch
    first_epoch_cpu_s: float  # the same spans in CPU seconds of this process (all its threads): other work on
    later_epoch_cpu_s: float  # the machine slows the wall clock much more than it adds to these
    plan_first_s: float | None  # plan_transfer's estimate (None: it plans a frozen backbone as cached)
    plan_later_s: float | None
    test_accuracy: float


class CpuClock:
    """The engine's progress callback noting this process's CPU time when an epoch's last batch is done and
    when the epoch is evaluated (the next one starts then)."""

    def __init__(self):
        self.start = time.process_time()
        self.marks: list[tuple[str, float]] = []

    def __call__(self, event) -> None:
        if isinstance(event, EpochStats):
            self.marks.append(("evaluated", time.process_time()))
        elif isinstance(event, BatchProgress) and event.batch == event.batches:
            self.marks.append(("trained", time.process_time()))

    def epochs(self) -> list[float]:
        """Each epoch's CPU seconds; the first from the call (weights, data, features), the others from the
        previous epoch's evaluation."""
        begins = [self.start] + [t for kind, t in self.marks if kind == "evaluated"]
        ends = [t for kind, t in self.marks if kind == "trained"]
        return [end - begin for begin, end in zip(begins, ends)]


def write_random_weights(home: Path, backbone: str) -> None:
    """Random ImageNet-shaped weights where torchvision keeps its downloads, under its file name."""
    folder = home / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(torchvision.models.get_model(backbone, weights=None).state_dict(), folder / weights_file_name(backbone))


def config_of(backbone: str, setting: str, epochs: int, batch_size: int) -> TrainConfig:
    """The run the CLI makes for ``--arch BACKBONE --pretrained --freeze …`` on the shapes, in ``setting``."""
    freeze, cache = SETTINGS[setting]
    model = ModelConfig(backbone=backbone, pretrained=True, freeze=freeze)
    return TrainConfig(
        dataset="folder",
        folder=FOLDER,
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        cache_features=cache,
        device="cpu",
    )


def time_setting(backbone: str, setting: str, data, args) -> Timing:
    """Train ``backbone`` in ``setting`` on ``data``; its epochs' seconds beside the plan's."""
    freeze = SETTINGS[setting][0]
    config = config_of(backbone, setting, args.epochs, args.batch_size)
    started, cpu = [], CpuClock()
    begin = time.perf_counter()
    result = train(config, callback=cpu, dataset=data, on_start=lambda _model: started.append(time.perf_counter()))
    setup = started[0] - begin
    seconds = [epoch.seconds for epoch in result.history]
    cpu_seconds = cpu.epochs()
    plan = None
    if setting != "uncached":
        images = len(data.train.labels)
        plan = plan_transfer(backbone, len(data.info.classes), mode=freeze, images=images, batch_size=args.batch_size)
    return Timing(
        backbone=backbone,
        setting=setting,
        first_epoch_s=setup + seconds[0],
        later_epoch_s=statistics.median(seconds[1:]),
        setup_s=setup,
        first_epoch_cpu_s=cpu_seconds[0],
        later_epoch_cpu_s=statistics.median(cpu_seconds[1:]),
        plan_first_s=plan.first_seconds if plan else None,
        plan_later_s=plan.epoch_seconds if plan else None,
        test_accuracy=result.evaluation.accuracy,
    )


def _seconds(value: float | None) -> str:
    """Seconds as the table writes them: three decimals under one second, one above; a dash for none."""
    return "—" if value is None else f"{value:.3f}" if value < 1 else f"{value:.1f}"


TIMED = {  # the table's columns of seconds: header → ``Timing`` field
    "first epoch, s": "first_epoch_s",
    "later epoch, s": "later_epoch_s",
    "plan: first, s": "plan_first_s",
    "plan: later, s": "plan_later_s",
    "CPU s: first": "first_epoch_cpu_s",
    "CPU s: later": "later_epoch_cpu_s",
}


def table(timings: list[Timing]) -> str:
    columns = {"backbone": "left", "setting": "left"} | dict.fromkeys(TIMED, "right")
    rows = [[t.backbone, t.setting, *(_seconds(getattr(t, field)) for field in TIMED.values())] for t in timings]
    return markdown.table(columns, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default=",".join(b for b in DEFAULT_BACKBONES if b in BACKBONES))
    parser.add_argument("--images", type=int, default=20, help="drawn images per class (a fifth held out for testing)")
    parser.add_argument("--classes", type=int, default=3, choices=range(2, len(SHAPES) + 1))
    parser.add_argument("--epochs", type=int, default=2, help="at least 2: the first, and the later ones")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--json", action="store_true", help="a JSON line after the table")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TORCH_HOME"] = str(Path(tmp) / "torch")
        data = load_folder(draw_folder(Path(tmp) / "shapes", args.images, classes=SHAPES[: args.classes]), FOLDER)[0]
        args.batch_size = min(args.batch_size, len(data.train.labels))
        timings = []
        for n, backbone in enumerate(args.backbones.split(",")):
            write_random_weights(Path(os.environ["TORCH_HOME"]), backbone)
            if n == 0:  # torch's one-time costs (libraries, thread pools) are no setting's
                train(config_of(backbone, "uncached", 1, args.batch_size), dataset=data)
            timings += [time_setting(backbone, s, data, args) for s in args.settings.split(",")]
    train_images, test_images = len(data.train.labels), len(data.test.labels)
    print(
        f"{train_images} training and {test_images} test images ({args.classes} classes of drawn shapes, "
        f"{IMAGE_SIZE}×{IMAGE_SIZE}), batch {args.batch_size}, {args.epochs} epochs, CPU "
        f"({os.cpu_count()} cores, {torch.get_num_threads()} torch threads), load average {os.getloadavg()[0]:.2f}\n"
    )
    print(table(timings))
    if args.json:
        out = {
            "command": "python -m benchmarks.transfer_epochs " + " ".join(sys.argv[1:]),
            "train_images": train_images,
            "test_images": test_images,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "timings": [asdict(t) for t in timings],
        }
        print(json.dumps(out))


if __name__ == "__main__":
    main()
