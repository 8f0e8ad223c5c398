"""The shipped digit network's frozen features with a new head, against the same network from scratch
(docs/training.md): on 1,000 Fashion-MNIST training images and on drawn letters A–E (tests/support/letters.py),
dark ink on light paper and light chalk on a dark board; the same epochs and seeds for every start.

Each run is ``train(config, dataset=...)`` with the config the CLI makes for
``cnnkit train --from shipped --freeze features|all`` and for the same network from scratch. Run from the
repository root, as a module so that ``tests.support`` imports:

    python -m benchmarks.transfer_from_shipped [--seeds 0,1,2] [--epochs 5] [--datasets fashion,letters,board]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from benchmarks import markdown
from cnnkit.data.datasets import load_dataset
from cnnkit.data.folders import FolderOptions, load_folder
from cnnkit.nets.builder import count_parameters
from cnnkit.train.loop import TrainConfig, train
from cnnkit.train.transfer import SHIPPED, config_from, source_checkpoint
from tests.support.letters import draw_letters

STARTS = {  # name: the --freeze of a start from the shipped model, or None: the same network from scratch
    "shipped, --freeze features": "features",
    "shipped, --freeze all": "all",
    "from scratch": None,
}
DATASETS = {
    "fashion": "Fashion-MNIST, 1,000 training images, 10,000 test",
    "letters": "letters A–E, dark ink on light paper",
    "board": "letters A–E, light chalk on a dark board",
}
LETTERS = FolderOptions(size=28, channels=1)  # the shipped network's input: 1×28×28
BATCH = 64  # the CLI's default (smaller when the training set is: the CLI fits it so too)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    data: str
    start: str
    seed: int
    learns: int  # trainable parameters
    parameters: int
    test_accuracy: float
    epoch_s: float  # the mean epoch (training only)
    run_s: float  # train() from the first epoch's start to the end, test evaluations included


def config_of(start: str, dataset: str, seed: int, epochs: int, subset: int | None, batch: int = BATCH) -> TrainConfig:
    """The config the CLI makes for this start (``--from shipped --freeze …``, or neither) and data."""
    folder = dataset != "fashion"
    base = TrainConfig(
        dataset="folder" if folder else "fashion-mnist",
        folder=LETTERS if folder else None,
        train_subset=None if folder else subset,
        epochs=epochs,
        seed=seed,
        batch_size=batch,
    )
    shipped = source_checkpoint(SHIPPED)
    freeze = STARTS[start]
    if freeze is None:
        return replace(base, model=shipped.model_config)
    return config_from(replace(base, start_from=SHIPPED, model=replace(base.model, freeze=freeze)), shipped)


def load(dataset: str, args, tmp: Path):
    if dataset == "fashion":
        return load_dataset("fashion-mnist", args.data_dir, download=False)
    root = Path(args.letters_dir or tmp) / dataset
    board = dataset == "board"
    draw_letters(root, train=args.letters, test=args.letters // 2, seed=args.letters_seed, dark_paper=board)
    return load_folder(root, LETTERS)[0]


def run(start: str, dataset: str, data, seed: int, args) -> Outcome:
    batch = min(BATCH, len(data.train.labels))
    result = train(config_of(start, dataset, seed, args.epochs, args.subset, batch), dataset=data)
    return Outcome(
        data=dataset,
        start=start,
        seed=seed,
        learns=count_parameters(result.model, trainable_only=True),
        parameters=count_parameters(result.model),
        test_accuracy=result.evaluation.accuracy,
        epoch_s=statistics.mean(e.seconds for e in result.history),
        run_s=result.seconds,
    )


def table(outcomes: list[Outcome]) -> str:
    columns = {
        "data": "left",
        "start": "left",
        "learns": "right",
        "test accuracy, mean (each seed)": "left",
        "s/epoch (training)": "right",
        "run, s": "right",
    }
    rows = []
    for dataset in DATASETS:
        for start in STARTS:
            group = [o for o in outcomes if (o.data, o.start) == (dataset, start)]
            if not group:
                continue
            accuracy = statistics.mean(o.test_accuracy for o in group)
            each = ", ".join(f"{o.test_accuracy:.1%}" for o in group)
            rows.append(
                [
                    dataset,
                    start,
                    f"{group[0].learns:,} of {group[0].parameters:,}",
                    f"**{accuracy:.1%}** ({each})",
                    f"{statistics.mean(o.epoch_s for o in group):.2f}",
                    f"{statistics.mean(o.run_s for o in group):.1f}",
                ]
            )
    return markdown.table(columns, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/fashion-mnist")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--subset", type=int, default=1000, help="Fashion-MNIST training images")
    parser.add_argument("--letters", type=int, default=200, help="training images per letter (half as many test)")
    parser.add_argument("--letters-seed", type=int, default=0, help="the seed the letters are drawn from")
    parser.add_argument("--letters-dir", help="keep the drawn letters here (DIR/letters, DIR/board)")
    parser.add_argument("--json", action="store_true", help="a JSON line after the table")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets.split(","):
            data = load(dataset, args, Path(tmp))
            outcomes += [run(start, dataset, data, seed, args) for start in STARTS for seed in seeds]
    print(
        f"{args.epochs} epochs, seeds {args.seeds}, Adam 0.001, batch 64; "
        + "; ".join(f"{d}: {DATASETS[d]}" for d in args.datasets.split(","))
        + f" ({args.letters} training, {args.letters // 2} test images per letter)\n"
    )
    print(table(outcomes))
    if args.json:
        command = "python -m benchmarks.transfer_from_shipped " + " ".join(sys.argv[1:])
        print(json.dumps({"command": command, "outcomes": [asdict(o) for o in outcomes]}))


if __name__ == "__main__":
    main()
