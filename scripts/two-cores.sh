#!/usr/bin/env bash
# Two threads against one, beside how far this machine itself goes from
# one core to two, in the same rounds. In each round, at batch 100:
#   - `infer sweep` with one thread, alone on core 1, then `infer sweep
#     --threads 2` on cores 0 and 1 (the program's two threads);
#   - `infer sweep` alone on core 1 again, then two copies of it at once,
#     one pinned to core 0 and one to core 1, each in its own process (no
#     shared work, no locks): the machine's own two cores;
# the two halves in turn, the first one first in odd rounds and the second
# in even ones. Each ratio is taken within its half, over the one alone
# just before: the program's two threads over it, the two copies'
# images/s added up over it; and the first ratio over the second, round
# by round. Near 2× the machine gives two full cores; well below it (a VM
# whose host gives the second vCPU less, for a fraction of a second or
# for minutes, or two vCPUs on one physical core) no program's two
# threads can do better. Each half starts with core 0 idle for as long
# (on AMD Zen 4, 2026-12-08, a two-thread sweep run right after one on
# core 1 alone was slower in about half of 30 tries, 2.9–4.9M images/s
# against 5.0–5.1M back to back, with no thread moving between CPUs).
# `make measure` runs it after its two-thread sweep and judges the
# two-thread target by it.
#
# usage: scripts/two-cores.sh [ROUNDS]     (default 7; needs cores 0 and 1
#        and a release build: make build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
INFER=target/release/infer
[ -x $INFER ] || { echo "two-cores: build first (make build)" >&2; exit 1; }
# the images/s of one sweep of 25 passes at batch 100 on cores $1 with $2
# threads: long enough (about 0.1 s of passes) that the two copies' passes
# overlap despite their processes starting a few milliseconds apart
ips() {
    taskset -c "$1" $INFER sweep --batch-sizes 100 --threads "$2" --repeat 25 --json |
        sed -n 's/.*"images_per_second":\([0-9]*\).*/\1/p' | head -1
}
# summary LABEL VALUES...: "LABEL: median X× (min Y, max Z; middle half
# Q1–Q3)", the quartiles by the nearest rank: with three times `make
# measure`'s rounds, a round or two that a dip of the second vCPU for a
# fraction of a second cut short move the least and the greatest, not them
summary() {
    local label=$1
    shift
    printf '%s\n' "$@" | sort -n | awk -v label="$label" '{ v[++n] = $1 } END {
        m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        q1 = v[int((n + 3) / 4)]; q3 = v[n + 1 - int((n + 3) / 4)]
        printf "%s: median %.2f× (min %.2f, max %.2f; middle half %.2f–%.2f)\n", label, m, v[1], v[n], q1, q3
    }'
}
threads=() machine=() share=()
# "ALONE TWO": images/s of one alone on core 1, then of the program's two
# threads on cores 0 and 1
threads_half() {
    local alone two
    alone=$(ips 1 1)
    two=$(ips 0,1 2)
    echo "$alone $two"
}
# "ALONE ON0 ON1": images/s of one alone on core 1, then of two copies at
# once on cores 0 and 1
processes_half() {
    local alone other pid on0 on1
    alone=$(ips 1 1)
    other=$(mktemp)
    ips 0 1 >"$other" &
    pid=$!
    on1=$(ips 1 1)
    wait "$pid"
    on0=$(cat "$other")
    rm -f "$other"
    echo "$alone $on0 $on1"
}
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then
        read -r a1 two < <(threads_half)
        read -r a2 on0 on1 < <(processes_half)
    else
        read -r a2 on0 on1 < <(processes_half)
        read -r a1 two < <(threads_half)
    fi
    read -r t m s < <(awk -v a1="$a1" -v t="$two" -v a2="$a2" -v x="$on0" -v y="$on1" \
        'BEGIN { printf "%.2f %.2f %.2f\n", t / a1, (x + y) / a2, (t / a1) / ((x + y) / a2) }')
    threads+=("$t") machine+=("$m") share+=("$s")
    echo "round $r: the program's two threads $two images/s over one alone on core 1 $a1: ${t}×; two processes at once $on0 (core 0) + $on1 (core 1) over one alone $a2: ${m}×; the first ÷ the second ${s}×"
done
summary "the program's two threads ÷ one alone, batch 100" "${threads[@]}"
summary "two processes at once ÷ one alone, batch 100" "${machine[@]}"
summary "the program's two threads ÷ two processes at once, round by round" "${share[@]}"
