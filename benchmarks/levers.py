"""The engine's speed levers, one at a time, on one device: training images/s and evaluation seconds.

    python benchmarks/levers.py --dataset fashion-mnist --data-dir ../shared/data/fashion-mnist --device cpu

Each training row is ``cnnkit.train.loop.measure_throughput`` (a fresh model, 5 warm-up batches, then 100
timed batches of 64) for the plain path with one lever changed, then the fast recipe's network and batch on
top of the default levers; each evaluation row is
``cnnkit.train.evaluation.evaluate`` over the 10,000 test images at one batch size. Rows repeat ``--repeats``
times, interleaved, and the median is reported, so that a change in the machine's load hits every row.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

import torch

from cnnkit.data.datasets import load_dataset, to_tensor
from cnnkit.devices import resolve_device
from cnnkit.nets.builder import POOL_FIRST, ModelConfig, build_model
from cnnkit.train.evaluation import evaluate
from cnnkit.train.loop import TrainConfig, measure_throughput

PLAIN = {"channels_last": False, "precision": "fp32"}
TRAINING = {
    "plain (NCHW, fp32)": {},
    "channels_last": {"channels_last": True},
    "bf16 autocast": {"precision": "bf16"},
    "channels_last + bf16 (the default where bf16 is native)": {"channels_last": True, "precision": "bf16"},
    "torch.compile (channels_last, fp32)": {"channels_last": True, "compile": True},
}
# the fast recipe's network and batch, on top of the default levers (channels_last + bf16)
DEFAULT = {"channels_last": True, "precision": "bf16"}
NETWORKS = {
    "default, ConvNet + BatchNorm (conv, BN, ReLU, pool)": {**DEFAULT, "model": ModelConfig(batchnorm=True)},
    "default, BatchNorm after the pool (the fast recipe's network)": {
        **DEFAULT,
        "model": ModelConfig(layers=POOL_FIRST),
    },
    "default, BatchNorm after the pool, batch 256 (the fast recipe)": {
        **DEFAULT,
        "model": ModelConfig(layers=POOL_FIRST),
        "batch_size": 256,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir", default="../shared/data/fashion-mnist")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="*", default=[], help="also time these torch thread counts")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    args = parser.parse_args()

    data = load_dataset(args.dataset, args.data_dir, download=False)
    base = TrainConfig(dataset=args.dataset, device=args.device, **PLAIN)
    rows = {
        name: replace(base, **change)
        for name, change in {**TRAINING, **NETWORKS}.items()
        if not (args.no_compile and change.get("compile"))
    }
    default_threads = torch.get_num_threads()
    for n in args.threads:
        rows[f"plain, {n} thread(s)"] = (replace(base), n)
    speeds: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.repeats):
        for name, row in rows.items():
            config, threads = row if isinstance(row, tuple) else (row, default_threads)
            torch.set_num_threads(threads)
            speeds[name].append(measure_throughput(config, data, batches_to_time=args.batches, warmup=5))
        torch.set_num_threads(default_threads)

    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_classes=len(data.info.classes))).to(device)
    x, y = to_tensor(data.test.images, data.info, device), data.test.labels.to(device)
    evals: dict[int, list[float]] = {b: [] for b in (64, 256, 1000, 2000, 10_000)}
    for _ in range(args.repeats):
        for b in evals:
            start = time.perf_counter()
            evaluate(model, x, y, batch_size=b)
            evals[b].append(time.perf_counter() - start)

    plain = statistics.median(speeds["plain (NCHW, fp32)"])
    out = {
        "training_images_per_s": {k: round(statistics.median(v)) for k, v in speeds.items()},
        "evaluation_seconds": {b: round(statistics.median(v), 3) for b, v in evals.items()},
    }
    print("| training lever | images/s | vs plain |\n| --- | ---: | ---: |")
    for name, v in speeds.items():
        print(f"| {name} | {statistics.median(v):,.0f} | ×{statistics.median(v) / plain:.2f} |")
    print("\n| evaluation batch | seconds for 10,000 test images |\n| ---: | ---: |")
    for b, v in evals.items():
        print(f"| {b:,} | {statistics.median(v):.2f} |")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
