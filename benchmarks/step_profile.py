"""Where a training step of the fast recipe spends its time: torch's operators by their share of the CPU time.

    python -m benchmarks.step_profile --dataset fashion-mnist --data-dir ../shared/data/fashion-mnist

It profiles ``cnnkit.train.loop.measure_throughput`` (the engine's own training steps, a fresh model) with
``torch.profiler`` for the ``--preset`` recipe on ``--device``, and prints the operators that took the most of
its self CPU time as a Markdown table (docs/speed.md), with the images/s of the same steps.
"""

from __future__ import annotations

import argparse

from torch.profiler import ProfilerActivity, profile

from benchmarks.markdown import table
from cnnkit.data.datasets import load_dataset
from cnnkit.train.loop import TrainConfig, measure_throughput
from cnnkit.train.presets import apply_preset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir", default="../shared/data/fashion-mnist")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", type=int, default=40, help="timed batches (after 3 warm-up batches)")
    parser.add_argument("--rows", type=int, default=10, help="operators listed")
    args = parser.parse_args()
    config = apply_preset(TrainConfig(dataset=args.dataset, data_dir=args.data_dir, device=args.device), args.preset)
    dataset = load_dataset(args.dataset, args.data_dir, download=False)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        rate = measure_throughput(config, dataset, batches_to_time=args.batches)
    ops = sorted(prof.key_averages(), key=lambda op: op.self_cpu_time_total, reverse=True)
    total = sum(op.self_cpu_time_total for op in ops)
    rows = [[f"`{op.key}`", f"{100 * op.self_cpu_time_total / total:.1f}%", str(op.count)] for op in ops[: args.rows]]
    print(f"{args.preset} recipe, batch {config.batch_size}, {args.device}: {rate:,.0f} images/s while profiled\n")
    print(table({"operator": "left", "share of the self CPU time": "right", "calls": "right"}, rows))


if __name__ == "__main__":
    main()
