#!/usr/bin/env bash
# How far this machine itself goes from one core to two, with nothing of
# the project's threading in it: in each round, `infer sweep` at batch 100
# alone on core 1, then two copies of it at once, one pinned to core 0 and
# one to core 1, each in its own process (no shared work, no locks); the
# two copies' images/s added up over the one alone's, within the round.
# Near 2× the machine gives two full cores; well below it (a VM whose
# second vCPU the host starves, or two vCPUs on one physical core), no
# program's two threads can do better, and `infer sweep --threads 1,2`'s
# ratio is the machine's, not the program's. `make measure` runs it beside
# its two-thread sweep.
#
# usage: scripts/two-cores.sh [ROUNDS]     (default 7; needs cores 0 and 1
#        and a release build: make build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
INFER=target/release/infer
[ -x $INFER ] || { echo "two-cores: build first (make build)" >&2; exit 1; }
# the images/s of one sweep of 25 passes at batch 100 on core $1: long
# enough (about 0.1 s of passes) that the two copies' passes overlap
# despite their processes starting a few milliseconds apart
ips() {
    taskset -c "$1" $INFER sweep --batch-sizes 100 --repeat 25 --json |
        sed -n 's/.*"images_per_second":\([0-9]*\).*/\1/p' | head -1
}
ratios=()
for r in $(seq "$ROUNDS"); do
    alone=$(ips 1)
    other=$(mktemp)
    ips 0 >"$other" &
    pid=$!
    on1=$(ips 1)
    wait "$pid"
    on0=$(cat "$other")
    rm -f "$other"
    ratio=$(awk -v a="$alone" -v x="$on0" -v y="$on1" 'BEGIN { printf "%.2f", (x + y) / a }')
    ratios+=("$ratio")
    echo "round $r: one alone on core 1 $alone images/s; two at once $on0 (core 0) + $on1 (core 1): ${ratio}×"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[++n] = $1 } END {
    m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    printf "two processes at once ÷ one alone, batch 100: median %.2f× (min %.2f, max %.2f)\n", m, v[1], v[n]
}'
