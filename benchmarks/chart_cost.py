"""The live figures of the training page: milliseconds to build and serialize them at several run lengths.

python benchmarks/chart_cost.py
"""

import statistics
import time

from cnnkit.train.charts import batch_loss_figure, epoch_figure
from cnnkit.train.jobs import Snapshot
from cnnkit.train.loop import EpochStats, TrainConfig
from cnnkit.train.trace import LossTrace

for batches in (100, 1_000, 10_000, 100_000):
    trace = LossTrace()
    for i in range(batches):
        trace.add(i / 938, 2.0 / (1 + i / 938))
    epochs = [
        EpochStats(
            epoch=e,
            seconds=10.0,
            train_loss=0.3,
            train_accuracy=0.9,
            test_loss=0.3,
            test_accuracy=0.9,
            images_per_s=5000.0,
        )
        for e in range(1, batches // 938 + 1)
    ]
    snap = Snapshot(
        run_id=1,
        name="#1",
        config=TrainConfig(epochs=max(1, len(epochs))),
        state="running",
        epoch=1,
        batch=1,
        batches=938,
        elapsed=1.0,
        eta=None,
        images_per_s=1.0,
        steps=trace.x,
        losses=trace.raw,
        smoothed=trace.smooth,
        epochs=epochs,
        stopping=False,
    )
    times = []
    for _ in range(30):
        start = time.perf_counter()
        for fig in (
            batch_loss_figure(snap, "en"),
            epoch_figure(epochs, "loss", snap.config.epochs, "en"),
            epoch_figure(epochs, "accuracy", snap.config.epochs, "en"),
        ):
            fig.to_json()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"| {batches:,} | {len(trace.x)} | {statistics.median(times):.1f} | {times[int(0.95 * len(times))]:.1f} |")
