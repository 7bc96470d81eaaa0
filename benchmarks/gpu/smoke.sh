#!/usr/bin/env bash
# GPU smoke run for a lent GPU machine (one H200, CUDA torch + Triton, no package registry, maybe no TensorRT):
# env probe -> GPU tests -> torch CUDA latency table (FP32 / FP16 / CUDA graphs / compile, egvsr + egvsr-lite,
# 480x270->1080p and 960x540->4K) -> `edgevsr run` on torch CUDA -> TensorRT steps when `import tensorrt` works.
# <= 8 minutes in all (each step has its own timeout). Writes JSON and logs under $OUT when set; table last.
# Without a GPU: one line, exit 0.   Usage: bash benchmarks/gpu/smoke.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
if ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu smoke: no CUDA GPU visible to PyTorch here; nothing to run"
  exit 0
fi
OUT_DIR=${OUT:-$(mktemp -d)}
mkdir -p "$OUT_DIR"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
START=$(date +%s)
step() { echo; echo "== $1 ($(( $(date +%s) - START )) s)"; }

step "environment"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$OUT_DIR/nvidia-smi.txt"
$PY - <<'PY' 2>&1 | tee "$OUT_DIR/env.json"
import importlib.util, json, platform, torch
mods = {m: importlib.util.find_spec(m) is not None for m in ("triton", "tensorrt", "onnxruntime", "edgevsr")}
print(json.dumps({"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
                  "gpu": torch.cuda.get_device_name(0), "capability": torch.cuda.get_device_capability(0),
                  "importable": mods}, indent=1))
PY

step "GPU tests (pytest -m gpu)"
timeout 150 $PY -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu_torch.py tests/test_deploy_tensorrt.py \
  tests/test_metrics.py tests/test_report.py 2>&1 | tail -15 | tee "$OUT_DIR/gpu-tests.txt"

step "torch CUDA latency"
timeout 270 $PY benchmarks/gpu/bench_torch_cuda.py --json "$OUT_DIR/torch_cuda.json" --budget-s 200 \
  > "$OUT_DIR/torch_cuda.txt" 2> "$OUT_DIR/torch_cuda.log"
echo "exit $? (rows in $OUT_DIR/torch_cuda.json)"

step "edgevsr run on torch CUDA (FP16, CUDA graphs, 120 test:// frames at 480x272, null sink)"
timeout 60 $PY -m edgevsr.cli.main run --model egvsr-lite --device cuda --precision fp16 --cuda-graph \
  --source "test://?width=480&height=272&realtime=0" --sink null:// --frames 120 2>&1 | tail -5 \
  | tee "$OUT_DIR/run.txt"

if $PY -c "import tensorrt" 2>/dev/null; then
  step "TensorRT: FP16 ONNX -> check -> engine -> profile"
  timeout 120 $PY -m edgevsr.cli.main quantize egvsr-lite --fp16 -o "$OUT_DIR/lite-fp16.onnx" 2>&1 | tail -3
  $PY -m edgevsr.cli.main build --check "$OUT_DIR/lite-fp16.onnx" 2>&1 | tail -2
  timeout 150 $PY -m edgevsr.cli.main profile --backend tensorrt --onnx "$OUT_DIR/lite-fp16.onnx" --device cuda \
    --size 480x272 --size 960x544 --json "$OUT_DIR/trt_profile.json" 2>&1 | tail -12 | tee "$OUT_DIR/trt.txt"
else
  step "TensorRT: not importable here; skipped"
fi

step "table (torch CUDA, synchronised; $(( $(date +%s) - START )) s in all)"
cat "$OUT_DIR/torch_cuda.txt" 2>/dev/null || echo "no latency table (see $OUT_DIR/torch_cuda.log)"
echo "JSON and logs: $OUT_DIR"
