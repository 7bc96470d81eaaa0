#!/usr/bin/env bash
# One prepared call on a lent GPU machine (issue 24): everything a GPU is for, in at most 9 minutes of wall time.
#
#   install (no registry) -> environment probe -> GPU tests -> torch CUDA latency table -> `edgevsr run` on CUDA
#   -> TensorRT (only when importable) -> the training sprint for the minutes left.
#
# Each step has its own `timeout`; every result is a row of $OUT/results.json the moment it exists (a killed step
# keeps the rows before it); everything printed goes to $OUT/run_all.log too; the sprint adds its weights, card,
# val.csv, val.png and train.csv: at most 7 files, none below $OUT. The one call, what travels and the budget:
# benchmarks/gpu/README.md.
#
#   bash benchmarks/gpu/run_all.sh                          # on the GPU machine (OUT is set there)
#   EDGEVSR_REHEARSE=1 bash benchmarks/gpu/run_all.sh       # CPU rehearsal from a bare copy (rehearse.sh; CI)
#
# Without a CUDA GPU (and no rehearsal) it says so in one line and exits 0.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "${EDGEVSR_REHEARSE:-}" = 1 ]; then
  exec bash benchmarks/gpu/rehearse.sh
fi
REHEARSE=""
[ "${EDGEVSR_REHEARSE:-}" = inner ] && REHEARSE=1  # set by rehearse.sh inside the bare copy
PY=${PYTHON:-python3}
if [ -z "$REHEARSE" ] && ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null
then
  echo "run_all: no CUDA GPU visible to PyTorch here; nothing to run (EDGEVSR_REHEARSE=1 rehearses it on the CPU)"
  exit 0
fi
OUT=${OUT:-$(mktemp -d)}
WORK=${EDGEVSR_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/run_all.XXXXXX")}
mkdir -p "$OUT" "$WORK"
RES="$OUT/results.json"
LOG="$OUT/run_all.log"
TOTAL=${RUN_ALL_SECONDS:-540}  # the whole call: 9 minutes
START=$(date +%s)
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE PIP_DISABLE_PIP_VERSION_CHECK=1
if [ -n "$REHEARSE" ]; then
  DEV=cpu
  export CUDA_VISIBLE_DEVICES=""
else
  DEV=cuda
fi

elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( TOTAL - $(date +%s) + START )); }
row() { "$PY" benchmarks/gpu/results.py add "$RES" "$@"; }
budget() { local b=$1 l; l=$(( $(left) - 15 )); [ "$l" -lt "$b" ] && b=$l; [ "$b" -lt 1 ] && b=1; echo "$b"; }
header() { echo; echo "== $1 (at $(elapsed) s of $TOTAL)"; }
# run STEP SECONDS CMD...: the command under `timeout`, its status, seconds and last line as one results row
run() {
  local name=$1 secs t0 rc status last
  secs=$(budget "$2")
  shift 2
  t0=$(date +%s)
  timeout -k 10 "$secs" "$@" 2>&1 | tee "$WORK/$name.out"
  rc=${PIPESTATUS[0]}
  case $rc in 0) status=ok ;; 124|137|143) status=timeout ;; *) status=failed ;; esac
  last=$(grep -E ' in [0-9.]+s( |$)' "$WORK/$name.out" | tail -n 1)  # pytest's summary, where there is one
  [ -n "$last" ] || last=$(grep -v '^\s*$' "$WORK/$name.out" | tail -n 1)
  last=$(printf '%s' "$last" | cut -c1-300)
  row "$name" status="$status" rc="$rc" seconds="$(( $(date +%s) - t0 ))" budget_s="$secs" last="$last"
  echo "-- $name: $status (rc $rc, $(( $(date +%s) - t0 )) s of $secs)"
  return "$rc"
}

main() {
  echo "run_all: $( [ -n "$REHEARSE" ] && echo 'CPU REHEARSAL (tiny sizes; the figures mean nothing)' || echo 'GPU run') in $PWD, OUT=$OUT, $(date -u +%FT%TZ)"

  header "install edgevsr without a registry (pip --no-deps --no-build-isolation -e .; .whl/ if carried)"
  if compgen -G ".whl/*.whl" >/dev/null; then
    run wheels 90 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$WORK/site" .whl/*.whl && export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
  fi
  if [ "${RUN_ALL_INSTALL:-}" = target ] \
     || ! run install 120 "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e .; then
    # site-packages not writable: the editable install into a folder of our own, made a site dir at start-up
    # by a sitecustomize (its .pth installs the finder that maps edgevsr.deploy & co to their folders)
    run install-target 120 "$PY" -m pip install -q --no-index --no-deps --no-build-isolation \
      --target "$WORK/edgevsr-site" -e . \
      && mkdir -p "$WORK/sc" \
      && echo "import site; site.addsitedir('$WORK/edgevsr-site')" > "$WORK/sc/sitecustomize.py" \
      && export PYTHONPATH="$WORK/sc${PYTHONPATH:+:$PYTHONPATH}" PATH="$WORK/edgevsr-site/bin:$PATH"
  fi
  # every package-dir subpackage, imported from outside the tree: what a bare checkout lacked (issue 24)
  run imports 30 bash -c "cd '$WORK' && '$PY' -c 'import edgevsr.deploy, edgevsr.edge, edgevsr.quantize, \
edgevsr.calibration, edgevsr.cli.main; print(\"edgevsr importable from\", edgevsr.__path__[0])'"
  local EDGEVSR=("$PY" -m edgevsr.cli.main)
  command -v edgevsr >/dev/null && EDGEVSR=(edgevsr)

  header "environment"
  nvidia-smi 2>/dev/null | head -n 15 || echo "no nvidia-smi here"
  run probe 60 "$PY" benchmarks/gpu/probe.py "$RES"

  header "GPU tests (pytest -m gpu)"
  local tests
  tests=$(grep -l "pytest.mark.gpu" tests/*.py | tr '\n' ' ')
  # shellcheck disable=SC2086
  run gpu-tests 90 "$PY" -m pytest -m gpu -p no:cacheprovider -rs $tests tests/test_deploy_tensorrt.py

  header "torch latency table ($( [ -n "$REHEARSE" ] && echo 'rehearsal: CPU, 32x24' || echo 'CUDA'))"
  local lat=180  # the compile cells come last and take what is left of it; the sprint gets the rest
  run latency "$lat" "$PY" benchmarks/gpu/bench_torch_cuda.py --results "$RES" --budget-s $(( $(budget $lat) - 40 )) \
    ${REHEARSE:+--rehearse}

  header "edgevsr run end to end on $DEV"
  if [ -n "$REHEARSE" ]; then
    run edgevsr-run 60 "${EDGEVSR[@]}" run --model egvsr-lite --device cpu \
      --source "test://?width=32&height=24&realtime=0" --sink null:// --frames 3
  else
    run edgevsr-run-1080p 45 "${EDGEVSR[@]}" run --model egvsr-lite --device cuda --precision fp16 --cuda-graph \
      --source "test://?width=480&height=270&realtime=0" --sink null:// --frames 240
    run edgevsr-run-4k 45 "${EDGEVSR[@]}" run --model egvsr --device cuda --precision fp16 --cuda-graph \
      --source "test://?width=960&height=540&realtime=0" --sink null:// --frames 120
  fi

  header "TensorRT"
  if "$PY" -c "import tensorrt" 2>/dev/null; then
    local onnx="$WORK/lite-fp16.onnx"
    run trt-export 60 "${EDGEVSR[@]}" quantize egvsr-lite --fp16 -o "$onnx"
    run trt-check 30 "${EDGEVSR[@]}" build --check "$onnx"
    run trt-profile 150 "${EDGEVSR[@]}" profile --backend tensorrt --onnx "$onnx" --device cuda \
      --size 480x272 --size 960x544
  else
    echo "TensorRT is not importable here: skipped"
    row tensorrt status=skipped reason="tensorrt not importable"
  fi

  header "training sprint (the minutes left)"
  sprint

  header "done in $(elapsed) s"
  "$PY" benchmarks/gpu/results.py summary "$RES"
  "$PY" benchmarks/gpu/results.py check "$OUT" && echo "OUT: $(ls "$OUT" | wc -l) files, within the device tool's limits"
}

sprint() {
  local data=${SPRINT_DATA:-data/sprint} G=benchmarks/gpu
  if [ ! -f "$data/sprint.json" ]; then
    echo "sprint: $data was not carried (docs/training.md 5b: sprint_data.py pack, carry [\"$data\"]); skipped"
    row sprint status=skipped reason="$data not carried"
    return 0
  fi
  local l
  l=$(left)
  if [ -z "$REHEARSE" ] && [ "$l" -lt 120 ]; then
    echo "sprint: only $l s left of $TOTAL; skipped"
    row sprint status=skipped reason="$l s left"
    return 0
  fi
  local per=6 extra=()
  [ -n "$REHEARSE" ] && per=2 && extra=(--rehearse)
  run sprint-data 90 "$PY" $G/sprint_data.py unpack "$data" "$WORK/sprint-ds" --clips-per-photo "$per" || return 0
  # what is left, less ~25 s of start-up and validation per training process and a margin. By default stage 1
  # continues the campaign's candidate (sprint_egvsr.yaml's init, its FNet trained) and has all of it; with
  # SPRINT_STAGE0=<stage-0 config> (a sprint from the shipped weights) stage 0 takes 30 % and hands its FNet on
  local stage0=${SPRINT_STAGE0:-} share1=1.0 from=()
  l=$(( $(left) - 60 ))
  [ "$l" -lt 30 ] && l=30
  if [ -n "$stage0" ]; then
    share1=0.7
    local m0
    m0=$(awk -v s="$l" 'BEGIN { printf "%.2f", s * 0.3 / 60 }')
    run sprint-stage0 $(( l * 3 / 10 + 50 )) "$PY" $G/sprint_train.py "$stage0" "$WORK/sprint-out" \
      --minutes "$m0" --work "$WORK" "${extra[@]}" || return 0
    from=(--init-from "$stage0")
  else
    echo "sprint: no stage 0 (SPRINT_STAGE0 unset); stage 1 continues sprint_egvsr.yaml's init, the campaign candidate"
    row sprint-stage0 status=skipped reason="SPRINT_STAGE0 unset: stage 1 continues the campaign candidate"
  fi
  local m1
  m1=$(awk -v s="$l" -v f="$share1" 'BEGIN { printf "%.2f", s * f / 60 }')
  run sprint-stage1 $(( $(left) - 10 )) "$PY" $G/sprint_train.py $G/sprint_egvsr.yaml "$WORK/sprint-out" \
    --minutes "$m1" --work "$WORK" "${from[@]}" "${extra[@]}"
  local f
  for f in "$WORK"/sprint-out/*-sprint.safetensors "$WORK"/sprint-out/*-sprint.json \
           "$WORK"/sprint-out/val.csv "$WORK"/sprint-out/val.png "$WORK"/sprint-out/train.csv; do
    [ -f "$f" ] && cp "$f" "$OUT/"
  done
  ls "$OUT"
}

main 2>&1 | tee -a "$LOG"
exit 0
