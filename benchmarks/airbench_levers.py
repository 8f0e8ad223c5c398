"""Would two of airbench's levers help the fast recipe: an EMA of the weights, test-time augmentation by
mirroring? Measured without adding them to the engine.

    python -m benchmarks.airbench_levers --data-dir ../shared/data/fashion-mnist --decays 0.9 0.98 0.99 0.995

Trains the fast recipe (``--preset fast``: one epoch, one-cycle) once per seed with
``cnnkit.train.loop.train``, keeping beside it exponential moving averages of the weights and BatchNorm
buffers (``torch.optim.swa_utils.AveragedModel``) updated after every optimizer step, then evaluates the
trained model and each average on the official test set, and the trained model once more with its scores
averaged over each test image and its left-right mirror (airbench's TTA; Fashion-MNIST's clothes are roughly
symmetric). Prints one JSON line per seed.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from cnnkit.data.datasets import load_dataset
from cnnkit.train import loop
from cnnkit.train.evaluation import evaluate, predict_logits
from cnnkit.train.presets import apply_preset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir", default="../shared/data/fashion-mnist")
    parser.add_argument("--decays", type=float, nargs="+", default=[0.9, 0.98, 0.99, 0.995])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    data = load_dataset(args.dataset, args.data_dir, download=False)
    plain_step = loop._train_step
    for seed in args.seeds:
        config = apply_preset(loop.TrainConfig(dataset=args.dataset, device="cpu", seed=seed), "fast")
        averages: dict[float, AveragedModel] = {}
        seen = {}  # the engine's prepared run: its test tensors, as the engine evaluates them

        def step(run, net, optimizer, xb, yb, averages=averages, seen=seen):
            out = plain_step(run, net, optimizer, xb, yb)
            if not averages:
                seen["run"] = run
                averages.update(
                    {
                        d: AveragedModel(run.model, multi_avg_fn=get_ema_multi_avg_fn(d), use_buffers=True)
                        for d in args.decays
                    }
                )
            for average in averages.values():
                average.update_parameters(run.model)
            return out

        loop._train_step = step
        try:
            result = loop.train(replace(config, data_dir=args.data_dir), dataset=data)
        finally:
            loop._train_step = plain_step
        x, y = seen["run"].data.x_test, seen["run"].data.y_test
        row = {"seed": seed, "seconds": round(result.seconds, 2), "plain": result.evaluation.accuracy}
        for decay, average in averages.items():
            with torch.inference_mode():
                row[f"ema {decay}"] = evaluate(average.module, x, y).accuracy
        both = sum(predict_logits(result.model, view).float().softmax(1) for view in (x, x.flip(-1)))
        row["mirror TTA"] = (both.argmax(1) == y).float().mean().item()
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
