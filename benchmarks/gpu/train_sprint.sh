#!/usr/bin/env bash
# GPU training sprint (issue 16): <= 10 minutes on a lent H200, no package registry there.
#
#   here:  python benchmarks/gpu/sprint_data.py pack data/train-v3 data/sprint --photos-from data/pkgs/x
#   there: bash benchmarks/gpu/train_sprint.sh   (device run, carry: ["data/sprint"]; OUT=<folder to fill>)
#
# Unpacks the carried data, trains FNet alone against the flow teacher ($SPRINT_STAGE0, ~2 min), then the
# model of $SPRINT_CONFIG (default EGVSR stage 1 from that FNet, TecoGAN settings, AMP) for its time limit,
# and writes under $OUT: the FP16 generator (<= 16 MiB safetensors with its card),
# val.csv / val.png (PSNR-Y, tOF, warp error vs bicubic-bd on the held-out clips), train.csv and the log.
# Without a CUDA GPU it says so in one line and exits 0 (CI, laptops). run_all.sh runs the same two trainings
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
# FNet alone first. SPRINT_STAGE0="" skips it, but then SPRINT_CONFIG must name its own init (the default
# stage-1 config starts from stage 0's file).
STAGE0=${SPRINT_STAGE0-benchmarks/gpu/sprint_egvsr_stage0.yaml}
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
  if [ -n "$STAGE0" ]; then  # its best (new FNet + the shipped SRNet) is the stage-1 config's init
    "$PY" benchmarks/gpu/sprint_train.py "$STAGE0" "$OUT"
  fi
  "$PY" benchmarks/gpu/sprint_train.py "$CONFIG" "$OUT"
} 2>&1 | tee "$OUT/sprint.log"
