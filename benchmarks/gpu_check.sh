#!/usr/bin/env bash
# The CUDA path on a GPU machine, in one go (issue 9; README "The GPU path"):
#   1. versions and the GPU;
#   2. the test suite's CUDA-marked tests (tests/test_cuda.py: bf16, fp16 + GradScaler,
#      a gradient method under loss scaling, GPU checkpoints resumed on the CPU);
#   3. the built-in experiment trained on cuda for a short budget, with 0 and 8 loader
#      workers (throughput, peak GPU memory, precision from its summary.json);
#   4. the workbench's training step against a bare PyTorch loop with the same autocast
#      type, bf16 and fp16 (benchmarks/bench_train_step.py; goal: throughput ratio >= 0.95);
#   5. `workbench export` of the step-3 run with its latency table on CPU and CUDA.
# STEPS="3 5" runs some of them (default: all).
# Step 2 runs every test of those two files (the GUI tests need Qt, which a GPU machine may lack).
# Run from the repository root: `bash benchmarks/gpu_check.sh` (PYTHON picks the interpreter,
# OUT the folder for logs and runs). ../shared/tools/gpu-check prints the device command.
set -uo pipefail
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }

STEPS=${STEPS:-1 2 3 4 5}
want() { [[ " $STEPS " == *" $1 "* ]]; }

step "1. versions"
$PY -m workbench --version
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

want 2 && step "2. CUDA tests" && {
WORKBENCH_HANG_SECONDS=200 timeout 240 $PY -m pytest -q -p no:cacheprovider \
  -W ignore::DeprecationWarning tests/test_cuda.py tests/test_device.py 2>&1 | tail -15
}

want 3 && step "3. the built-in experiment on cuda (1 epoch, 5000 images at 128 px)" && {
$PY -m workbench config > "$OUT/default.toml"
for workers in 0 8; do
  sed "s/^workers = .*/workers = $workers/" "$OUT/default.toml" > "$OUT/w$workers.toml"
  timeout 150 $PY -m workbench train "$OUT/w$workers.toml" --device cuda --epochs 1 --time-limit 90 --out "$OUT/runs" --quiet \
    > "$OUT/train_w$workers.log" 2>&1
  run=$(sed -n 's/^run directory: //p' "$OUT/train_w$workers.log" | head -1)
  $PY - "$run" "$workers" <<'PY'
import json, statistics, sys
from pathlib import Path
run, workers = Path(sys.argv[1]), sys.argv[2]
s = json.loads((run / "summary.json").read_text())
steps = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if '"step"' in l]
ips = [r["images_per_s"] for r in steps if r.get("type") == "step"][5:]
print(f"workers {workers}: status {s['status']}, {s.get('device')}, precision {s.get('precision')}, "
      f"median {statistics.median(ips):.0f} img/s over {len(ips)} steps, peak GPU memory {s.get('gpu_peak_mib')} MiB, "
      f"epoch wall {s.get('elapsed_s', 0):.1f} s, val {json.dumps(s.get('final_metrics'))}")
PY
done
}

want 4 && step "4. workbench vs bare PyTorch loop, same autocast (throughput ratio, goal >= 0.95)" && {
for args in "--backbone resnet18 --batch 32 --size 128" "--backbone resnet50 --batch 64 --size 224"; do
  for amp in bfloat16 float16; do
    for data in resident copy; do
      echo "--- $args, $amp, bare data $data"
      timeout 120 $PY benchmarks/bench_train_step.py --device cuda --amp $amp --rounds 3 --steps 20 \
        --bare-data $data $args 2>&1 | tail -3
    done
  done
done
}

want 5 && step "5. export of the step-3 run (ONNX, dynamic batch): verification and latency, CPU and CUDA" && {
run=$(ls -d "$OUT"/runs/*/ 2>/dev/null | head -1)
timeout 300 $PY -m workbench export "$run" --format onnx --dynamic-batch 2>&1 | tail -20
}
step "done"
