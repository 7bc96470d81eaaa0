#!/usr/bin/env bash
# GPU training sprint (issue 16): <= 10 minutes on a lent H200, no package registry there.
#
#   here:  python benchmarks/gpu/sprint_data.py pack data/train-v4 data/sprint --photos-from data/pkgs/x \
#            --video-frames 40
#   there: bash benchmarks/gpu/train_sprint.sh   (device run, carry: ["data/sprint"]; OUT=<folder to fill>)
#
# Unpacks the carried data and trains the model of $SPRINT_CONFIG for its time limit: by default EGVSR stage 1
# continuing the CPU campaign's candidate (training/candidates/egvsr.safetensors; TecoGAN settings, AMP, weight
# average). SPRINT_STAGE0=benchmarks/gpu/sprint_egvsr_stage0.yaml first teaches the shipped FNet against the flow
# teacher (~2 min) and starts stage 1 from that file instead (a sprint from the shipped weights). It writes under
# $OUT: the FP16 generator (<= 16 MiB safetensors with its card),
# val.csv / val.png (PSNR-Y, tOF, warp error vs bicubic-bd on the held-out clips), train.csv and the log.
# Without a CUDA GPU it says so in one line and exits 0 (CI, laptops). run_all.sh runs the same training(s)
# after the benchmarks, in the minutes its 9 left; this script is the sprint alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "train_sprint: no CUDA GPU visible to torch here; nothing trained (run it on a lent GPU machine)"
  exit 0
fi
OUT=${OUT:?set OUT to the folder that receives the weights and validation}
CONFIG=${SPRINT_CONFIG:-benchmarks/gpu/sprint_egvsr.yaml}
STAGE0=${SPRINT_STAGE0:-}  # a stage-0 config: FNet alone first, its best file then replaces $CONFIG's init
PACKED=${SPRINT_DATA:-data/sprint}
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE
# a bare checkout has no edgevsr.deploy & co (pyproject package-dir): install it, without a registry
(cd /tmp && "$PY" -c 'import edgevsr.deploy' 2>/dev/null) \
  || "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e . >/dev/null
mkdir -p "$OUT"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  "$PY" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name())'
  t0=$(date +%s)
  "$PY" benchmarks/gpu/sprint_data.py unpack "$PACKED" /tmp/sprint-ds --clips-per-photo 6
  echo "data unpacked in $(( $(date +%s) - t0 )) s"
  if [ -n "$STAGE0" ]; then  # its best (new FNet + the shipped SRNet) is the stage-1 run's init
    "$PY" benchmarks/gpu/sprint_train.py "$STAGE0" "$OUT"
    "$PY" benchmarks/gpu/sprint_train.py "$CONFIG" "$OUT" --init-from "$STAGE0"
  else
    "$PY" benchmarks/gpu/sprint_train.py "$CONFIG" "$OUT"
  fi
} 2>&1 | tee "$OUT/sprint.log"
