"""Latency of the inference page's work on this CPU: canvas image → probabilities, feature maps and
saliency, the page's figures, and model loading. Prints a Markdown table (and JSON with ``--json``).

    python benchmarks/bench_inference.py [--runs 100] [--checkpoint FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from cnnkit.bench import digit_png, timed_ms
from cnnkit.infer import charts
from cnnkit.infer.explain import explain
from cnnkit.infer.predict import load_model, predict_steps, read_digit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--checkpoint", help="default: the shipped model")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    start = time.perf_counter()
    ckpt = load_model(args.checkpoint)
    first_load = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    again = load_model(args.checkpoint)
    cached_load = (time.perf_counter() - start) * 1000
    assert again is ckpt, "load_model() did not come from the cache"

    png = digit_png()
    steps = read_digit(png, "canvas", invert=False)
    ex = explain(ckpt, steps.centered)

    def figures():
        pred = predict_steps(ckpt, steps)
        figs = [
            charts.probability_bars(ckpt.classes, pred.probabilities),
            charts.heat_overlay(steps.centered, ex.saliency),
            charts.heat_overlay(steps.centered, ex.gradcam),
        ]
        figs += [charts.feature_grid(layer.maps) for layer in ex.layers]
        return [f.to_json() for f in figs]

    rows = {
        "canvas PNG → probabilities": timed_ms(
            lambda: predict_steps(ckpt, read_digit(png, "canvas", invert=False)), args.runs
        ),
        "feature maps + saliency + Grad-CAM": timed_ms(lambda: explain(ckpt, steps.centered), args.runs),
        "the page's Plotly figures (built + JSON)": timed_ms(figures, args.runs),
    }
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, {args.runs} runs, "
        f"model {ckpt.source}: first load {first_load:.0f} ms, cached load {cached_load:.3f} ms\n"
    )
    print("| step | p50 ms | p95 ms | max ms |\n| --- | ---: | ---: | ---: |")
    for name, r in rows.items():
        print(f"| {name} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} |")
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "first_load_ms": first_load, "cached_load_ms": cached_load, **rows}))


if __name__ == "__main__":
    main()
