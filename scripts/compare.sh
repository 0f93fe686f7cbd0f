#!/usr/bin/env bash
# `make compare`: this project against the book's numpy code and ONNX
# Runtime (f32, and its own int8 quantization of the same network against
# this project's int8 model), one pinned core, in rounds. Each round runs every contender once
# (batch sizes 1 and 100); the project's speed is divided by each other's
# within the round, and the median of those per-round ratios is the result,
# so a VM that changes speed between rounds cannot fake a ratio.
#
# usage: scripts/compare.sh [ROUNDS] [CORE]     (defaults: 5 rounds, core 1)
#   PROJECT_REPEAT=N    the project's passes a round, default 25
#   KERNEL=NAME         the project's f32 kernel (an `infer sweep --kernel`
#                       name), default the one `Kernel::best` picks: to put
#                       one step of the ladder against numpy and ONNX Runtime
#   NUMPY_CORETYPE=NAME numpy's OpenBLAS kernel (OPENBLAS_CORETYPE, e.g.
#                       Haswell), default the one OpenBLAS picks. With
#                       KERNEL=avx2-fixed16 and NUMPY_CORETYPE=Haswell, an
#                       AVX-512 CPU runs numpy and the project as a CPU
#                       without AVX-512 would (ONNX Runtime picks its own
#                       kernels still: its column does not take part)
# The contenders run in a Python virtual environment made on first use in
# target/compare-venv from scripts/compare/requirements.txt (pinned).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
CORE=${2:-1}
VENV=target/compare-venv
PY=$VENV/bin/python
if ! $PY -c 'import numpy, onnx, onnxruntime, threadpoolctl' 2>/dev/null; then
    python3 -m venv "$VENV"
    $PY -m pip install --quiet -r scripts/compare/requirements.txt
fi
[ -x target/release/infer ] || { echo "compare: build first (make compare does)" >&2; exit 1; }
grep -m1 'model name' /proc/cpuinfo
echo "avx512: $(grep -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, where this workplace sets them for old
# OpenBLAS builds, slow a current numpy: unset for numpy's runs only, but
# for the kernel NUMPY_CORETYPE asks for
numpy_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1)
[ -z "${NUMPY_CORETYPE:-}" ] || numpy_env+=(OPENBLAS_CORETYPE="$NUMPY_CORETYPE")
kernel=()
if [ -n "${KERNEL:-}" ]; then
    kernel=(--kernel "$KERNEL")
    # a name this CPU cannot run stops here, with infer's own message
    target/release/infer sweep "${kernel[@]}" --batch-sizes 1 --limit 1 --repeat 1 --json >/dev/null
fi
"${numpy_env[@]}" $PY -c \
    'import numpy, threadpoolctl; numpy.dot(numpy.ones((2,2)), numpy.ones((2,2))); print("numpy", numpy.__version__, [(i["internal_api"], i.get("architecture")) for i in threadpoolctl.threadpool_info()])'
out=$(mktemp)
for r in $(seq "$ROUNDS"); do
    "${numpy_env[@]}" taskset -c "$CORE" $PY scripts/compare/contenders.py numpy --batches 1,100 | sed "s/^/$r numpy /" >>"$out"
    taskset -c "$CORE" $PY scripts/compare/contenders.py onnxruntime --batches 1,100 | sed "s/^/$r onnxruntime /" >>"$out"
    taskset -c "$CORE" $PY scripts/compare/contenders.py onnxruntime-int8 --batches 1,100 2>/dev/null |
        sed "s/^/$r onnxruntime-int8 /" >>"$out"
    # the project's f32 and int8 passes (accuracy 0.9352 for both: its own
    # tests check it), the median of PROJECT_REPEAT interleaved passes, 25
    # by default: about 0.4 s, as long as numpy's three passes at batch 1.
    # With 5 (about 0.1 s) a round's sample could fall wholly in one of the
    # VM's slow moments: on AMD Zen 4, 2026-12-08, five runs of 7 rounds
    # each way in turn, batch 1 ÷ numpy's rounds lay 1.09–2.19× apart with
    # 5 (three runs past 1.3×) and 1.05–1.23× with 25, the medians alike
    # (43.75–46.34× against 44.53–45.54×)
    taskset -c "$CORE" target/release/infer sweep --batch-sizes 1,100 "${kernel[@]}" --precision f32,int8 \
        --repeat "${PROJECT_REPEAT:-25}" --json | python3 -c "import json, sys
for o in json.load(sys.stdin):
    who = 'project' if o['precision'] == 'f32' else 'project-int8'
    print($r, who, o['batch_size'], round(o['images_per_second']), 0.9352, o['kernel'])" >>"$out"
    echo "round $r of $ROUNDS done" >&2
done
python3 - "$out" <<'PY'
import collections, statistics, sys
rate = collections.defaultdict(dict)  # (who, batch) -> {round: images/s}
kernels = {}  # the project's kernel and int8 pass, as infer sweep names them
for line in open(sys.argv[1]):
    r, who, batch, ips, acc, *kernel = line.split()
    kernels.update({who: kernel[0]} if kernel else {})
    # f32 contenders must give the book's accuracy; int8 ones their own, near it
    assert acc.startswith("0.9352") or ("int8" in who and float(acc) > 0.93), f"{who} at batch {batch}: accuracy {acc}"
    rate[(who, int(batch))][int(r)] = float(ips)
def line(b, mine_name, who):
    mine, theirs = rate[(mine_name, b)], rate[(who, b)]
    ratios = [mine[r] / theirs[r] for r in sorted(mine) if r in theirs]
    each = " ".join(f"{x:.2f}" for x in ratios)
    print(f"{'':>5}  {who:<16} {statistics.median(theirs.values()):>10,.0f}  {mine_name} ÷ it: "
          f"median {statistics.median(ratios):.2f}× (min {min(ratios):.2f}, max {max(ratios):.2f}; rounds: {each})")

print("the project's f32 kernel:", kernels["project"], "; its int8 pass:", kernels["project-int8"])
print(f"{'batch':>5}  {'contender':<16} {'images/s':>10}  ratios taken within each round")
for b in (1, 100):
    for mine_name, others in (("project", ("numpy", "onnxruntime")), ("project-int8", ("onnxruntime-int8", "project"))):
        print(f"{b:>5}  {mine_name:<16} {statistics.median(rate[(mine_name, b)].values()):>10,.0f}")
        for who in others:
            line(b, mine_name, who)
PY
rm -f "$out"
