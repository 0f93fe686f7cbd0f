#!/usr/bin/env bash
# `make compare`: this project against the book's numpy code and ONNX
# Runtime, one pinned core, in rounds. Each round runs every contender once
# (batch sizes 1 and 100); the project's speed is divided by each other's
# within the round, and the median of those per-round ratios is the result,
# so a VM that changes speed between rounds cannot fake a ratio.
#
# usage: scripts/compare.sh [ROUNDS] [CORE]     (defaults: 5 rounds, core 1)
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
# OpenBLAS builds, slow a current numpy: unset for numpy's runs only
OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $PY -c \
    'import numpy, threadpoolctl; numpy.dot(numpy.ones((2,2)), numpy.ones((2,2))); print("numpy", numpy.__version__, [(i["internal_api"], i.get("architecture")) for i in threadpoolctl.threadpool_info()])'
out=$(mktemp)
for r in $(seq "$ROUNDS"); do
    OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c "$CORE" \
        $PY scripts/compare/contenders.py numpy --batches 1,100 | sed "s/^/$r numpy /" >>"$out"
    taskset -c "$CORE" $PY scripts/compare/contenders.py onnxruntime --batches 1,100 | sed "s/^/$r onnxruntime /" >>"$out"
    taskset -c "$CORE" target/release/infer sweep --batch-sizes 1,100 --repeat 5 --json |
        python3 -c "import json, sys
for o in json.load(sys.stdin): print($r, 'project', o['batch_size'], round(o['images_per_second']), 0.9352)" >>"$out"
    echo "round $r of $ROUNDS done" >&2
done
python3 - "$out" <<'PY'
import collections, statistics, sys
rate = collections.defaultdict(dict)  # (who, batch) -> {round: images/s}
for line in open(sys.argv[1]):
    r, who, batch, ips, acc = line.split()
    assert acc.startswith("0.9352"), f"{who} at batch {batch}: accuracy {acc}"
    rate[(who, int(batch))][int(r)] = float(ips)
print(f"{'batch':>5}  {'contender':<12} {'images/s':>10}  project ÷ contender, per round")
for b in (1, 100):
    mine = rate[("project", b)]
    print(f"{b:>5}  {'project':<12} {statistics.median(mine.values()):>10,.0f}")
    for who in ("numpy", "onnxruntime"):
        theirs = rate[(who, b)]
        ratios = [mine[r] / theirs[r] for r in sorted(mine) if r in theirs]
        each = " ".join(f"{x:.2f}" for x in ratios)
        print(f"{'':>5}  {who:<12} {statistics.median(theirs.values()):>10,.0f}  "
              f"median {statistics.median(ratios):.2f}× (min {min(ratios):.2f}, max {max(ratios):.2f}; rounds: {each})")
PY
rm -f "$out"
