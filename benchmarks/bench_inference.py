"""Latency of the inference page's work on this CPU: canvas image → probabilities, feature maps and
saliency, the page's figures, and model loading. Prints a Markdown table (and JSON with ``--json``).

    python benchmarks/bench_inference.py [--runs 100] [--checkpoint FILE] [--json]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnkit import charts_inference as charts  # noqa: E402
from cnnkit.explain import explain  # noqa: E402
from cnnkit.inference import load_model, predict_steps, read_digit  # noqa: E402


def canvas_png() -> bytes:
    """What the canvas sends: a 280×280 RGBA PNG, a white "2" drawn with a 20 px brush on black."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(img).line([(90, 90), (120, 55), (170, 55), (195, 95), (90, 225), (200, 225)],
                             fill=(255, 255, 255, 255), width=20, joint="curve")
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def timed(fn, runs: int) -> dict:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"p50": statistics.median(times), "p95": float(np.percentile(times, 95)), "max": max(times)}


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

    png = canvas_png()
    steps = read_digit(png, "canvas", invert=False)
    ex = explain(ckpt, steps.centered)

    def figures():
        pred = predict_steps(ckpt, steps)
        figs = [charts.probability_bars(ckpt.classes, pred.probabilities),
                charts.heat_overlay(steps.centered, ex.saliency), charts.heat_overlay(steps.centered, ex.gradcam)]
        figs += [charts.feature_grid(layer.maps) for layer in ex.layers]
        return [f.to_json() for f in figs]

    rows = {
        "canvas PNG → probabilities": timed(lambda: predict_steps(ckpt, read_digit(png, "canvas", invert=False)),
                                            args.runs),
        "feature maps + saliency + Grad-CAM": timed(lambda: explain(ckpt, steps.centered), args.runs),
        "the page's Plotly figures (built + JSON)": timed(figures, args.runs),
    }
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {args.runs} runs, "
          f"model {ckpt.source}: first load {first_load:.0f} ms, cached load {cached_load:.3f} ms\n")
    print("| step | p50 ms | p95 ms | max ms |\n| --- | ---: | ---: | ---: |")
    for name, r in rows.items():
        print(f"| {name} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} |")
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "first_load_ms": first_load,
                          "cached_load_ms": cached_load, **rows}))


if __name__ == "__main__":
    main()
