#!/usr/bin/env bash
# `make measure`: every measurement docs/performance.md and docs/matmul.md
# keep per CPU, taken in one go on one pinned core and written to one
# Markdown file, target/measure/<cpu>-<date>.md, ready to read or to paste
# into the docs under the CPU's heading:
#
#   the CPU (model name, family/model, AVX-512 flags, caches), what the
#   defaults pick on it (Kernel::best, IntKernel::best), the matmul ladder
#   (infer kernels), f32 against int8 and every kernel this CPU runs
#   (infer sweep, and once more right after: the two batch-100 speedups
#   must agree within 10%), images/s against batch size 1 to 10,000 with an SVG chart,
#   where the time goes (--breakdown), two threads against one (and, in
#   the same rounds, two independent processes against one:
#   scripts/two-cores.sh, by which the two-thread target is judged), the whole
#   `make run` process (wall time and peak RSS), and this project against
#   numpy and ONNX Runtime (scripts/compare.sh), where the default rounds
#   W1 to 16-bit fixed point also the float path it builds on; last, each
#   of the project's targets against what the report measured, met or not.
#
# usage: scripts/measure.sh [ROUNDS] [CORE]     (defaults: 7 rounds, core 1)
# env:   QUICK=1   one round of each, no comparison, into target/measure-quick
#                  (a smoke test of this script, not a measurement)
#        COMPARE=0 leave out the comparison with numpy and ONNX Runtime
#                  (it makes a Python venv on first use: scripts/compare.sh)
# Nothing else should run meanwhile: no build, test run or fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
CORE=${2:-$([ "$(nproc)" -ge 2 ] && echo 1 || echo 0)}
QUICK=${QUICK:-0}
COMPARE=${COMPARE:-1}
DIR=target/measure
if [ "$QUICK" = 1 ]; then ROUNDS=1; COMPARE=0; DIR=target/measure-quick; fi
INFER=target/release/infer
[ -x $INFER ] || { echo "measure: build first (make measure does)" >&2; exit 1; }

cpuinfo() { grep -m1 "^$1[[:space:]]*:" /proc/cpuinfo | sed 's/^[^:]*: *//'; }
has() { grep -qw "$1" /proc/cpuinfo; }
MODEL=$(cpuinfo 'model name')
SLUG=$(echo "$MODEL" | tr -cs 'A-Za-z0-9' '-' | sed 's/^-//; s/-$//')
OUT=$DIR/$SLUG-f$(cpuinfo 'cpu family')m$(cpuinfo model)-$(date +%Y-%m-%d).md
mkdir -p $DIR
PIN="taskset -c $CORE"

# the kernels and int8 passes this CPU runs, fastest steps only: step 10
# as the reference, then the ones Kernel::best chooses among (12 and 13,
# and 11 and 14 where the CPU has AVX-512)
KERNELS=avx2,avx2-lines,avx2-pairs,avx2-chain,avx2-colour,avx2-fixed16
PRECISIONS=f32,int8-avx2
if has avx512f; then KERNELS=$KERNELS,avx512,avx512-lines,avx512-epilogue,avx512-prefetch,avx512-rows,avx512-chain; fi
if has avx512bw && has bmi1; then KERNELS=$KERNELS,avx512-bits,avx512-colour,avx512-pass,avx512-union; fi
if has avx512f && has avx512_vnni; then PRECISIONS=$PRECISIONS,int8-vnni; fi
if has avx512bw && has bmi1 && has avx512_vnni && has avx512vl; then KERNELS=$KERNELS,avx512-fixed16; fi
# the f32 kernel the defaults pick, asked once: each process times step 12
# against step 13, and where the CPU has AVX-512 the faster against step
# 14 (Kernel::best); where two are close, processes can pick differently,
# and the two sweeps whose speedups are compared must time the same kernel
F32=$($INFER eval | awk '/^kernel/ { print $2 }')

# one section: a heading, the command (a shell line), and its output, in a
# code block unless it is Markdown
section() {
    local title=$1 fence=$2 command=$3
    echo "measure: $title" >&2
    {
        printf '\n## %s\n\n```sh\n%s\n```\n\n' "$title" "$command"
        if [ "$fence" = fenced ]; then echo '```'; fi
        bash -c "$command" 2>&1 || echo "(the command failed: exit status $?)"
        if [ "$fence" = fenced ]; then echo '```'; fi
    } >>"$OUT"
}

# the share of CPU time (all cores) that was not idle over one second,
# from /proc/stat; this script itself sleeps meanwhile
busy() {
    local a b
    a=($(head -1 /proc/stat))
    sleep 1
    b=($(head -1 /proc/stat))
    local total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    local idle=$((b[4] - a[4] + b[5] - a[5]))
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# the batch-100 speedup of the f32 kernel in a sweep's Markdown table
speedup100() { awk -F'|' -v k="$1" '$2 ~ /^ *100 *$/ && $3 ~ "^ *" k " *$" { gsub(/[ ×]/, "", $7); print $7; exit }' "$2"; }

{
    echo "# $MODEL, $(date +%Y-%m-%d)"
    echo
    echo "Written by \`scripts/measure.sh $ROUNDS $CORE\` (QUICK=$QUICK) at $(git rev-parse --short HEAD 2>/dev/null || echo '?')."
    echo
    echo "- CPU: \`model name : $MODEL\`, family $(cpuinfo 'cpu family') model $(cpuinfo model), $(nproc) cores seen"
    echo "- AVX2/FMA: $(has avx2 && has fma && echo yes || echo no); AVX-512 flags: $(grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' ' | grep . || echo none)"
    for c in /sys/devices/system/cpu/cpu0/cache/index*; do
        [ -r "$c/size" ] && echo "- L$(cat "$c/level") $(cat "$c/type"): $(cat "$c/size")"
    done
    echo "- $(rustc -V 2>/dev/null || echo 'rustc ?'), release build, no RUSTFLAGS"
    echo "- the other processes' use of the CPUs at the start: $(busy)% of all cores over one second (above a few percent, something else is running and the figures are not to be trusted)"
} >"$OUT"

section "What the defaults run here" fenced \
    "$INFER eval | grep -E '^kernel|^Accuracy'; $INFER eval --precision int8 | grep -E '^precision|^Accuracy'"
section "The matmul ladder" markdown \
    "$PIN $INFER kernels --rounds $ROUNDS --markdown"
section "The fastest kernels, batch 1 and 100" markdown \
    "$PIN $INFER sweep --batch-sizes 1,100 --kernel $KERNELS --repeat $ROUNDS --markdown"

# f32 against int8, then the same sweep once more: the batch-100 speedups
# of the two runs in a row must agree
section "f32 against int8, every int8 pass" markdown \
    "$PIN $INFER sweep --batch-sizes 1,100 --kernel $F32 --precision $PRECISIONS --repeat $ROUNDS --markdown"
echo "measure: the same sweep once more" >&2
again=$(mktemp)
$PIN $INFER sweep --batch-sizes 1,100 --kernel "$F32" --precision "$PRECISIONS" --repeat "$ROUNDS" --markdown >"$again"
a=$(sed -n '/^## f32 against int8/,$p' "$OUT" | speedup100 "$F32" -)
b=$(speedup100 "$F32" "$again")
rm -f "$again"
# how far apart the two speedups are, in % of the smaller (also the
# targets' last row, below)
gap=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", 100 * (a > b ? a - b : b - a) / (a < b ? a : b) }')
awk -v a="$a" -v b="$b" -v k="$F32" -v gap="$gap" 'BEGIN {
    printf "\nThe same sweep once more, right after: %s'"'"'s speedup at batch 100 over batch 1 %.2f× and %.2f×, %.0f%% apart (%s 10%%).\n", k, a, b, gap, gap <= 10 ? "within" : "NOT within"
}' >>"$OUT"

section "Images/s against batch size (chart: $(basename "${OUT%.md}")-sweep.svg beside this file)" markdown \
    "$PIN $INFER sweep --kernel $KERNELS --precision f32,int8 --repeat $ROUNDS --markdown --plot ${OUT%.md}-sweep.svg"
section "Where the time goes" fenced \
    "$PIN $INFER sweep --batch-sizes 1,100 --precision f32,int8 --breakdown --repeat $ROUNDS"
if [ "$(nproc)" -ge 2 ]; then
    section "Two threads against one" markdown \
        "taskset -c 0,1 $INFER sweep --batch-sizes 1,100 --threads 1,2 --precision f32,int8 --repeat $ROUNDS --markdown"
    # right after, the program's two threads in rounds with the same two
    # cores running two processes that share nothing: what the machine
    # itself gives from one core to two in the same rounds (a starved
    # second vCPU shows there, whatever the program does); three times
    # the rounds, at about a third of a second each
    section "Two threads beside two processes, in the same rounds" fenced "scripts/two-cores.sh $((ROUNDS * 3))"
fi

# the whole process of `make run` (the binary itself, without cargo)
runs=$([ "$QUICK" = 1 ] && echo 2 || echo 10)
if command -v hyperfine >/dev/null; then
    section "The whole process of make run (the binary, without cargo), wall time" markdown \
        "hyperfine -N -w 3 -r $runs --style none --export-markdown $DIR/hyperfine.md $INFER >/dev/null && cat $DIR/hyperfine.md && rm $DIR/hyperfine.md"
else
    section "The whole process of make run (the binary, without cargo), wall time (hyperfine not installed: $runs runs timed by bash)" fenced \
        "for i in \$(seq $runs); do s=\$(date +%s%N); $INFER >/dev/null; echo \$(( (\$(date +%s%N) - s) / 1000 )) µs; done"
fi
if [ -x /usr/bin/time ]; then
    section "The whole process of make run, peak RSS" fenced \
        "/usr/bin/time -f 'peak RSS %M KB, wall %e s' $INFER >/dev/null"
fi

if [ "$COMPARE" = 1 ]; then
    section "Against numpy and ONNX Runtime" fenced "scripts/compare.sh $ROUNDS $CORE"
fi
# where the default rounds W1 to 16-bit fixed point (steps 25 and 26), the
# float path it builds on (steps 23 and 22, which it is bit for bit when
# the rounding is refused) by the same method: whether the targets need
# the rounding on this CPU
case $F32 in
avx512-fixed16) FLOAT=avx512-pass ;;
avx2-fixed16) FLOAT=avx2-colour ;;
*) FLOAT= ;;
esac
FLOAT_TITLE="The float path against numpy and ONNX Runtime"
if [ "$COMPARE" = 1 ] && [ -n "$FLOAT" ]; then
    section "$FLOAT_TITLE ($FLOAT, W1 in float32)" fenced "KERNEL=$FLOAT scripts/compare.sh $ROUNDS $CORE"
fi

# the project's targets (the README's table), each against what this
# report measured above: the medians of compare.sh's per-round ratios, the
# program's two threads at batch 100 in two-cores.sh's rounds (beside the
# machine's own scaling there), the median of the make-run
# timings and its peak RSS, and the two batch-100 speedups in a row
# section: the lines of the report's section whose heading starts with $1
report_section() { awk -v h="## $1" 'index($0, h) == 1 { on = 1; next } /^## / { on = 0 } on' "$OUT"; }
# ratio BATCH MINE WHO [SECTION]: compare.sh's median of MINE ÷ WHO at
# BATCH in the report's comparison (or the one under SECTION), and the
# smallest and largest of its rounds: "median min max"
ratio() {
    report_section "${4:-Against numpy and ONNX Runtime}" | awk -v b="$1" -v m="$2" -v w="$3" '
        $1 ~ /^[0-9]+$/ && NF == 3 { batch = $1; mine = $2; next }
        batch == b && mine == m && $1 == w {
            for (i = 1; i < NF; i++) {
                if ($i == "median") { v = $(i + 1); sub(/×.*/, "", v) }
                if ($i == "(min") { lo = $(i + 1); sub(/,.*/, "", lo) }
                if ($i == "max") { hi = $(i + 1); sub(/;.*/, "", hi) }
            }
            print v, lo, hi; exit
        }'
}
# the rounds of a ratio more than this far apart: the machine changed speed
# within the rounds (the VMs' speed states are about 1.5× apart), so the
# median is not trusted: the row gives a verdict only where every round
# is on the same side of the limit
UNSTEADY=1.3
# verdict "MEDIAN [MIN MAX]" OP LIMIT [middle]: met or not by the median;
# where the rounds spread more than UNSTEADY, met or not in every round
# (the least and the greatest strictly past the limit, since the script
# prints them rounded), else no verdict; an empty value: not measured.
# With "middle", MIN and MAX are the middle half of the rounds' bounds
# (two-cores.sh's quartiles), and the words say so.
verdict() {
    [ -n "$1" ] || { echo "not measured"; return; }
    awk -v m="$1" -v op="$2" -v t="$3" -v u="$UNSTEADY" -v middle="${4:-}" 'BEGIN {
        n = split(m, f, " ")
        if (n == 3 && f[2] > 0 && f[3] / f[2] > u) {
            # the worst round and the best, for this limit
            worst = op == ">=" ? f[2] + 0 : f[3] + 0
            best = op == ">=" ? f[3] + 0 : f[2] + 0
            all = middle ? "in the middle half of the rounds, though it is" : "in every round, though they are"
            any = middle ? "in the middle half of the rounds, though it is" : "in any round, though they are"
            its = middle ? "the middle half of its rounds is" : "its rounds are"
            if (op == ">=" ? worst > t : worst < t) { printf "**met** %s more than %s× apart\n", all, u; exit }
            if (op == ">=" ? best < t : best > t) { printf "not met %s more than %s× apart\n", any, u; exit }
            printf "no verdict: %s more than %s× apart (the machine changed speed) and not all on one side of the limit; rerun\n", its, u; exit
        }
        ok = op == ">=" ? f[1] + 0 >= t : f[1] + 0 <= t
        print ok ? "**met**" : "not met"
    }'
}
# shown "MEDIAN [MIN MAX]" as "MEDIAN× (rounds MIN–MAX)", or a dash
shown() {
    [ -n "$1" ] || { echo "–"; return; }
    set -- $1
    if [ $# = 3 ]; then echo "$1× (rounds $2–$3)"; else echo "$1×"; fi
}
sweep_threads=$(report_section "Two threads against one" |
    sed -n "s/^- $F32 at batch 100: 2 threads against 1: \([0-9.]*\)× (per round, \([0-9.]*\)–\([0-9.]*\)).*/\1 \2 \3/p" | head -1)
# "median min max q1 q3" of a line of two-cores.sh's summary, by its label
two_cores() {
    report_section "Two threads beside two processes" |
        sed -n "s/^$1: median \([0-9.]*\)× (min \([0-9.]*\), max \([0-9.]*\); middle half \([0-9.]*\)–\([0-9.]*\)).*/\1 \2 \3 \4 \5/p"
}
# "median q1 q3" of the same, for verdict: two-cores.sh runs three times
# the rounds, and a round or two that a short dip of the second vCPU cut
# short should not void the verdict (min and max are shown beside)
middle() { [ -z "$1" ] || { set -- $1; echo "$1 $4 $5"; }; }
# shown_middle "median min max q1 q3"
shown_middle() {
    [ -n "$1" ] || { echo "–"; return; }
    set -- $1
    echo "$1× (middle half of the rounds $4–$5, all $2–$3)"
}
threads_all=$(two_cores "the program's two threads ÷ one alone, batch 100")
machine_all=$(two_cores "two processes at once ÷ one alone, batch 100")
share_all=$(two_cores "the program's two threads ÷ two processes at once, round by round")
threads=$(middle "$threads_all") machine=$(middle "$machine_all") share=$(middle "$share_all")
# without two-cores.sh's rounds (one core), the sweep's ratio
[ -n "$threads" ] || threads=$sweep_threads

# what the two-thread target's row gives beside the program's ratio
threads_beside=
if [ -n "$machine" ]; then
    threads_beside="; in the same rounds the machine itself, two processes at once against one alone, $(shown_middle "$machine_all"), and the program's threads ÷ those processes $(shown_middle "$share_all")"
fi
if [ -n "$sweep_threads" ] && [ "$threads" != "$sweep_threads" ]; then
    threads_beside="$threads_beside; the two-thread sweep above $(shown "$sweep_threads")"
fi
# the two-thread target's verdict: where the program falls short, the
# machine itself gave less than the target from its two cores in a
# quarter of the same rounds or more (its lower quartile below 1.8×), and
# the program kept up with it round by round (its threads at least 0.9 of
# the two processes on the median, as 1.8× is 0.9 of two cores), the
# machine's dips decide the program's median: no verdict; where the
# program fell behind the machine, or the machine gave two full cores in
# three rounds of four, not met
threads_verdict() {
    local v q1
    # judged by two-cores.sh's middle half of the rounds, where it ran
    v=$(verdict "$threads" '>=' 1.8 ${threads_all:+middle})
    case $v in
    '**met**'*) echo "$v" ;;
    *)
        read -r _ q1 _ <<<"$machine"
        if [ -n "$machine" ] && awk -v q1="$q1" -v s="${share%% *}" 'BEGIN { exit !(q1 < 1.8 && s >= 0.9) }'; then
            echo "no verdict: in a quarter of the rounds or more the machine itself gave less than 1.8× from its two cores, and round by round the program kept up with it; rerun"
        else
            echo "$v"
        fi
        ;;
    esac
}
run_list=$(report_section "The whole process of make run (the binary" | sed -n 's/^\([0-9]*\) µs$/\1/p' | sort -n)
run_ms=$(echo "$run_list" | awk 'NF { v[++n] = $1 } END { if (n) printf "%.1f", (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) / 1000 }')
run_how="the median of the $runs runs timed above, $(echo "$run_list" | awk 'NF { if (!n++) lo = $1; hi = $1 } END { printf "%.1f–%.1f ms", lo / 1000, hi / 1000 }')"
if [ -z "$run_ms" ]; then
    # hyperfine's table gives the mean: | `command` | mean ± σ | min | max | ...
    run_ms=$(report_section "The whole process of make run (the binary" | awk -F'|' '$2 ~ /infer/ { split($3, m, "±"); gsub(/ /, "", m[1]); print m[1]; exit }')
    run_how="hyperfine's mean of $runs runs"
fi
rss_kb=$(report_section "The whole process of make run, peak RSS" | sed -n 's/^peak RSS \([0-9]*\) KB.*/\1/p' | head -1)
rss_mib=$([ -n "$rss_kb" ] && awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }' || true)
b100_ort=$(ratio 100 project onnxruntime)
b100_numpy=$(ratio 100 project numpy)
b1_numpy=$(ratio 1 project numpy)
{
    printf '\n## Against the targets\n\n'
    echo "What the sections above measured, each against the project's targets (the README's table, CPU by CPU); the f32 kernel is \`$F32\`, the one \`infer eval\` picks here. Each ratio is the median of its per-round ratios, with their range; where the rounds lie more than ${UNSTEADY}× apart the machine changed speed within them, and the median is not trusted: such a row is met only where every round meets the target, not met where none does, and gets no verdict otherwise."
    echo
    echo "| target | measured here | |"
    echo "|---|---|---|"
    echo "| f32 batch 100, 1 thread, ≥ 2.0× ONNX Runtime | $(shown "$b100_ort") | $(verdict "$b100_ort" '>=' 2.0) |"
    echo "| f32 batch 100, 1 thread, ≥ 3.5× numpy | $(shown "$b100_numpy") | $(verdict "$b100_numpy" '>=' 3.5) |"
    echo "| f32 batch 1, 1 thread, ≥ 40× numpy | $(shown "$b1_numpy") | $(verdict "$b1_numpy" '>=' 40) |"
    echo "| batch 100, 2 threads ≥ 1.8× 1 thread | $([ -n "$threads_all" ] && shown_middle "$threads_all" || shown "$threads")$threads_beside | $(threads_verdict) |"
    echo "| \`make run\` ≤ 30 ms wall | ${run_ms:-–} ms ($run_how) | $(verdict "$run_ms" '<=' 30) |"
    echo "| \`make run\` ≤ 16 MiB peak RSS | ${rss_mib:-–} MiB (${rss_kb:-–} KB) | $(verdict "$rss_mib" '<=' 16) |"
    echo "| two sweeps in a row agree on batch 100's speedup within 10% | $(shown "$a") and $(shown "$b"), $(printf %.0f "$gap")% apart | $(verdict "$gap" '<=' 10) |"
    if [ "$COMPARE" = 1 ] && [ -n "$FLOAT" ]; then
        echo
        echo "The default, \`$F32\`, rounds W1 to 16 bits a column. The float path it builds on, \`$FLOAT\` (W1 in float32), against the same targets, from the section before this one:"
        echo
        echo "| target | measured here, \`$FLOAT\` | |"
        echo "|---|---|---|"
        for row in "100 onnxruntime 2.0 ONNX Runtime" "100 numpy 3.5 numpy" "1 numpy 40 numpy"; do
            set -- $row
            r=$(ratio "$1" project "$2" "$FLOAT_TITLE")
            echo "| f32 batch $1, 1 thread, ≥ $3× ${*:4} | $(shown "$r") | $(verdict "$r" '>=' "$3") |"
        done
    fi
    if [ "$QUICK" = 1 ]; then
        echo
        echo "(QUICK=1: one round of each, a smoke test of this script; these verdicts are not a measurement.)"
    elif [ "$COMPARE" != 1 ]; then
        echo
        echo "(COMPARE=0: numpy and ONNX Runtime were not run, so their rows are not measured.)"
    fi
} >>"$OUT"
echo "measure: written to $OUT" >&2
