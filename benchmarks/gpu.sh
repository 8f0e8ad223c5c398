#!/usr/bin/env bash
# Issue 15's GPU measurements in one run, for a machine with a CUDA GPU (docs/speed.md, "GPU"):
#
#     DATA=.devdata/fashion-mnist OUT=gpu-results bash benchmarks/gpu.sh
#
# the notebook's loop against the engine and the time to 90% (bench), one epoch of the fast recipe with and
# without torch.compile and with batches of 512, and the device comparison of the training page. Each
# command writes its JSON (and its stderr) to $OUT; one that fails or runs past 240 s does not stop the rest.
# DATASET=mnist DATA=… DEVICE=cpu runs the same on a CPU, to try the script.
set -u
DATASET=${DATASET:-fashion-mnist}
DATA=${DATA:-.devdata/fashion-mnist}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-gpu-results}
PY=${PY:-python}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1

run() {  # run NAME ARGS…: python -m cnnkit ARGS… --json > $OUT/NAME.json
    local name=$1
    shift
    echo "== $name" >&2
    timeout 240 "$PY" -m cnnkit "$@" --json > "$OUT/$name.json" 2> "$OUT/$name.err"
    echo "   exit $?" >&2
}

common=(--dataset "$DATASET" --data-dir "$DATA" --device "$DEVICE")
run bench bench "${common[@]}" --sections compare,target,latency --max-epochs 4 --runs-dir "$OUT/runs"
run fast train --preset fast "${common[@]}" --runs-dir "$OUT/runs"
run fast_compiled train --preset fast --compile "${common[@]}" --runs-dir "$OUT/runs"
run fast_512 train --preset fast --batch-size 512 "${common[@]}" --runs-dir "$OUT/runs"

echo "== devices" >&2
timeout 240 "$PY" - "$DATASET" "$DATA" > "$OUT/devices.json" 2> "$OUT/devices.err" <<'PY'
import json, sys
from dataclasses import replace
from cnnkit.data.datasets import load_dataset
from cnnkit.train.comparison import compare_devices
from cnnkit.train.loop import TrainConfig
from cnnkit.train.presets import apply_preset

data = load_dataset(sys.argv[1], sys.argv[2], download=False)
for preset in ("notebook", "fast"):
    config = apply_preset(TrainConfig(dataset=sys.argv[1]), preset)
    print(json.dumps({"preset": preset, "devices": [
        {"device": s.device.id, "name": s.device.name, "images_per_s": s.images_per_s, "speedup": s.speedup}
        for s in compare_devices(replace(config, data_dir=sys.argv[2]), data)]}))
PY
echo "   exit $?" >&2
