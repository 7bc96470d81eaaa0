#!/usr/bin/env bash
# The README's full accuracy-vs-FPS report (benchmarks/results/report-full/).
#
# Sweep A: every model (frvsr untrained: speed only) x fp32/fp16/int8/mixed x all backends (GPU ones are
# listed as not measured without a GPU) at 240x136 and 480x272 LR input; sweep B: the models that finish
# in minutes at 960x544; merged into one report. Quality on two real held-out clips never trained on:
# BasketballPass (../shared) and the test clip cup (data/train-v2, `edgevsr dataset build`, docs/training.md).
# One torch/ORT thread pinned to one core (taskset) so a second process on the other core disturbs it least.
# About 25 min on the 2-core dev box. Usage: bash benchmarks/report_full.sh [CORE]
set -euo pipefail
cd "$(dirname "$0")/.."
CORE=${1:-1}
WORK=runs/report-full
mkdir -p "$WORK/eval-heldout"
for clip in ../shared/data/basketballpass data/train-v2/cup; do
  [ -d "$clip" ] || { echo "error: $clip: missing (see the header of $0)" >&2; exit 2; }
  ln -sfn "$(realpath "$clip")" "$WORK/eval-heldout/$(basename "$clip")"
done
export OMP_WAIT_POLICY=PASSIVE
COMMON=(--precisions fp32,fp16,int8,mixed --frames 5 --warmup 1 --eval-data "$WORK/eval-heldout"
        --eval-sequences 2 --eval-frames 16 --eval-size 384x240
        --weights egvsr=egvsr-stage2 --weights egvsr-lite=egvsr-lite-stage2 --threads 1 -o "$WORK")
taskset -c "$CORE" edgevsr report --models opencv-bicubic,bicubic-bd,egvsr-lite,egvsr,frvsr \
  --backends opencv-cpu,torch-cpu,onnxruntime-cpu,torch-cuda,onnxruntime-cuda,tensorrt \
  --sizes 240x136,480x272 "${COMMON[@]}"
cp "$WORK/report.json" "$WORK/report-a.json"
taskset -c "$CORE" edgevsr report --models opencv-bicubic,bicubic-bd,egvsr-lite,egvsr \
  --backends opencv-cpu,torch-cpu,onnxruntime-cpu --sizes 960x544 "${COMMON[@]}"
cp "$WORK/report.json" "$WORK/report-b.json"
rm -rf benchmarks/results/report-full
edgevsr report merge "$WORK/report-a.json" "$WORK/report-b.json" -o benchmarks/results/report-full
