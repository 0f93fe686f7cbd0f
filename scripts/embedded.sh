#!/usr/bin/env bash
# The embedding story, built and checked: `make embedded`, `make size` and
# the embedded part of `make test` call this.
#
#   scripts/embedded.sh build   infer export (f32, int8) into target/embedded/,
#                               then crates/mnist-embedded: the freestanding
#                               runner and libmnist.a
#   scripts/embedded.sh size    sections of the runner and of the library's
#                               own object, the stack each forward pass used
#   scripts/embedded.sh test    the runner against infer eval, the C program,
#                               nm checks, a bad header, the Cortex-M4F firmware
#                               linked; ends with a summary line
#   scripts/embedded.sh cortex-m  the firmware run under qemu-system-arm
#                               on a Cortex-M4F and a Cortex-M3 board, on
#                               all 10,000 test images,
#                               its digits against infer eval's (installs
#                               qemu-system-arm with apt-get if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
OUT=target/embedded
BUILD=$OUT/build/release

build() {
    $CARGO build --release --quiet -p infer
    mkdir -p "$OUT"
    ./target/release/infer export --precision f32 --out "$OUT/model_f32.rs"
    ./target/release/infer export --precision int8 --out "$OUT/model_int8.rs"
    CARGO_TARGET_DIR=$OUT/build $CARGO build --release --quiet --manifest-path crates/mnist-embedded/Cargo.toml
    # the shipped runner carries no symbols; the build directory keeps them for nm
    strip --strip-all -o "$OUT/mnist-freestanding" "$BUILD/mnist-freestanding"
    cp "$BUILD/libmnist_embedded.a" "$OUT/libmnist.a"
    echo "embedded: $OUT/mnist-freestanding, $OUT/libmnist.a"
}

# section sizes of an ELF file (or archive member): name then bytes
sections() {
    size -A "$1" | awk -v want="$2" '$1 == want { s += $2 } END { print s + 0 }'
}

size_table() {
    local runner=$BUILD/mnist-freestanding
    echo "| what | .text | .rodata | .data | .bss | file |"
    echo "|---|---|---|---|---|---|"
    printf '| runner, both models (%s) | %s | %s | %s | %s | %s bytes stripped |\n' "$OUT/mnist-freestanding" \
        "$(sections "$runner" .text)" "$(sections "$runner" .rodata)" \
        "$(( $(sections "$runner" .data) + $(sections "$runner" .data.rel.ro) ))" "$(sections "$runner" .bss)" \
        "$(stat -c %s "$OUT/mnist-freestanding")"
    # the library's own objects: mnist_embedded (the models, the C entry
    # points) and linalg (all of it, every kernel; a C program linked with
    # --gc-sections keeps only what it calls). The rest of libmnist.a is
    # core and compiler_builtins, linked only where called.
    library_row "libmnist.a: its mnist_embedded and linalg objects" "$OUT/libmnist.a"
    thumb_row
    echo
    echo "int8 model (weights, biases, multipliers, shifts, sigmoid table): $(grep -o '[0-9]* bytes of model data' <<<"$(./target/release/infer export --precision int8 --out "$OUT/model_int8.rs")")"
    echo "stack of the forward pass, measured by painting 64 KiB below the caller's frame (mnist-freestanding stack):"
    "$OUT/mnist-freestanding" stack | sed 's/^/  /'
}

# a table row of an archive's mnist_embedded and linalg objects: LABEL ARCHIVE
library_row() {
    local tmp objs
    tmp=$(mktemp -d)
    (cd "$tmp" && ar x "$OLDPWD/$2")
    objs=$(ls "$tmp"/mnist_embedded-*.o "$tmp"/linalg-*.o)
    sum() { for o in $objs; do size -A "$o"; done | awk -v re="$1" '$1 ~ re { s += $2 } END { print s + 0 }'; }
    printf '| %s | %s | %s | %s | %s | %s bytes in all, %s members |\n' "$1" \
        "$(sum '^\\.text')" "$(sum '^\\.rodata')" "$(sum '^\\.data')" "$(sum '^\\.bss')" \
        "$(stat -c %s "$2")" "$(ls "$tmp" | wc -l)"
    rm -rf "$tmp"
}

# the same library built for a Cortex-M4F (thumbv7em-none-eabihf), where
# linalg has only its portable kernels, and the firmware that links it;
# skipped, with a line saying so, where rustup cannot install the target
THUMB=thumbv7em-none-eabihf
thumb_row() {
    if ! has_target; then
        echo "| libmnist.a for a Cortex-M4F ($THUMB) | not built: rustup could not install the target | | | | |"
        return
    fi
    CARGO_TARGET_DIR=$OUT/thumb $CARGO build --release --quiet --lib --manifest-path crates/mnist-embedded/Cargo.toml --target $THUMB
    library_row "the same for a Cortex-M4F ($THUMB, portable kernels only)" "$OUT/thumb/$THUMB/release/libmnist_embedded.a"
    # and linked: the firmware with both models (crates/mnist-embedded/cortex-m)
    gzip -dc fixtures/t10k-images-idx3-ubyte.gz >"$OUT/t10k-images.idx"
    firmware
    printf '| firmware for a Cortex-M4F board (MPS2 AN386), both models, linked with --gc-sections | %s | %s | %s | %s | and %s bytes of test images in the board'"'"'s PSRAM |\n' \
        "$(( $(sections "$FIRMWARE" .vector_table) + $(sections "$FIRMWARE" .text) ))" "$(sections "$FIRMWARE" .rodata)" \
        "$(sections "$FIRMWARE" .data)" "$(sections "$FIRMWARE" .bss)" "$(sections "$FIRMWARE" .images)"
}

# the firmware (crates/mnist-embedded/cortex-m) with all 10,000 test
# images baked in, built for target $1 (default the Cortex-M4F's); needs
# build first (the models) and the raw images in $OUT/t10k-images.idx
firmware_of() { echo "$OUT/cortex-m/${1:-$THUMB}/release/mnist-cortex-m"; }
FIRMWARE=$(firmware_of)
firmware() {
    tail -c +17 "$OUT/t10k-images.idx" >"$OUT/cortex-m-images.bin"
    CARGO_TARGET_DIR=$OUT/cortex-m $CARGO build --release --quiet \
        --manifest-path crates/mnist-embedded/cortex-m/Cargo.toml --target "${1:-$THUMB}"
}
# whether rustup has (or can install) target $1 (default the Cortex-M4F's)
has_target() {
    rustup target list --installed 2>/dev/null | grep -qx "${1:-$THUMB}" || rustup target add "${1:-$THUMB}" >/dev/null 2>&1
}
# the firmware's sections: code (vector table and .text), constants
# (.rodata: the two models), the images (in the board's PSRAM), and what
# it writes besides its stack (.data, .bss: none, link.x asserts it)
firmware_sizes() {
    local f=$1
    echo "firmware $f: code $(( $(sections "$f" .vector_table) + $(sections "$f" .text) )) bytes, models $(sections "$f" .rodata) bytes, images $(sections "$f" .images) bytes, .data $(sections "$f" .data), .bss $(sections "$f" .bss)"
}
# the boards `cortex-m` runs the firmware on, as qemu emulates them:
# Rust target, qemu machine, core. The Cortex-M3 has no FPU: the f32
# model's arithmetic is the compiler's software floats there, the int8
# model's integers only (the reset handler's write to CPACR, which turns
# the M4F's FPU on, is ignored on a core without one)
BOARDS=("thumbv7em-none-eabihf mps2-an386 Cortex-M4F" "thumbv7m-none-eabi mps2-an385 Cortex-M3")
# runs the firmware on each board and checks both lines of digits
# against infer eval's predictions
cortex_m() {
    build >/dev/null
    gzip -dc fixtures/t10k-images-idx3-ubyte.gz >"$OUT/t10k-images.idx"
    if ! command -v qemu-system-arm >/dev/null; then
        echo "cortex-m: installing qemu-system-arm"
        sudo=$([ "$(id -u)" = 0 ] || echo sudo)
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q qemu-system-arm
    fi
    ./target/release/infer eval --predictions "$OUT/eval-f32.txt" >/dev/null
    ./target/release/infer eval --precision int8 --predictions "$OUT/eval-int8.txt" >/dev/null
    local board target machine core out start model ok=0
    for board in "${BOARDS[@]}"; do
        read -r target machine core <<<"$board"
        has_target "$target" || { echo "cortex-m: rustup could not install $target" >&2; exit 1; }
        firmware "$target"
        echo "cortex-m: $core ($target, qemu -M $machine)"
        firmware_sizes "$(firmware_of "$target")"
        out=$OUT/cortex-m-$target.out
        rm -f "$out"
        start=$SECONDS
        timeout 600 qemu-system-arm -M "$machine" -display none -monitor none -serial none \
            -chardev file,id=out,path="$out" -semihosting-config enable=on,target=native,chardev=out \
            -kernel "$(firmware_of "$target")" </dev/null
        echo "cortex-m: qemu ran the firmware to its end in $((SECONDS - start)) s"
        for model in f32 int8; do
            if [ "$(awk -v m=$model '$1 == m { print $2 }' "$out")" = "$(tr -d '\n' <"$OUT/eval-$model.txt")" ]; then
                echo "cortex-m: $core $model, all 10,000 digits equal to infer eval's"
            else
                echo "cortex-m: $core $model digits differ from infer eval's (see $out)"
                ok=1
            fi
        done
        # on the core without an FPU: the int8 pass calls no software-float
        # routine (its 64-bit requantizing multiply is the core's smull)
        [ "$target" = thumbv7m-none-eabi ] || continue
        if ! command -v llvm-objdump >/dev/null; then
            echo "cortex-m: $core int8 pass's calls not checked (no llvm-objdump)"
        elif llvm-objdump -d --no-show-raw-insn "$(firmware_of "$target")" |
            awk '/<_ZN14mnist_embedded12predict_int8/ { on = 1; next } /^[0-9a-f]+ <.*>:$/ { on = 0 } on' |
            grep -qE 'bl.*<__(aeabi_[fd]|[a-z]+[sd]f[0-9])'; then
            echo "cortex-m: $core int8 pass calls a software-float routine"
            ok=1
        else
            echo "cortex-m: $core int8 pass calls no software-float routine"
        fi
    done
    return $ok
}

passed=0
failed=0
check() { # name, then a command that must succeed
    local name=$1
    shift
    if "$@"; then
        echo "embedded: $name ... ok"
        passed=$((passed + 1))
    else
        echo "embedded: $name ... FAILED"
        failed=$((failed + 1))
    fi
}

same_predictions() { # runner argument, infer eval flags
    local arg=$1
    shift
    "$OUT/mnist-freestanding" $arg <"$OUT/t10k-images.idx" >"$OUT/runner-$arg.txt" &&
        ./target/release/infer eval "$@" --predictions "$OUT/eval-$arg.txt" >/dev/null &&
        cmp "$OUT/runner-$arg.txt" "$OUT/eval-$arg.txt"
}

c_program() {
    cc -O2 -Wall -Wextra -Werror -I crates/mnist-embedded/include crates/mnist-embedded/c/accuracy.c \
        "$OUT/libmnist.a" -o "$OUT/accuracy" &&
        [ "$("$OUT/accuracy" "$OUT/t10k-images.idx" "$OUT/t10k-labels.idx")" = "$(printf 'f32 Accuracy:0.9352\nint8 Accuracy:0.9352')" ]
}

no_undefined_symbols() { [ -z "$(nm -u "$BUILD/mnist-freestanding")" ]; }
no_fmt_symbols() { ! nm -C "$BUILD/mnist-freestanding" | grep -q 'core::fmt'; }
no_panic_symbols() { ! nm -C "$BUILD/mnist-freestanding" | grep -q 'core::panicking'; }
# floating-point arithmetic and conversions (moves of zeros through xmm
# registers are not arithmetic)
FLOAT_OPS='(add|sub|mul|div|min|max|sqrt|rcp|rsqrt|round)[sp][sd]\b|cvt|u?comis[sd]|fmadd|fld|fst'
float_ops_in() { # function names: count float instructions in their code
    objdump -d --no-show-raw-insn -C "$BUILD/mnist-freestanding" |
        awk -v names="$*" 'BEGIN { split(names, n, " ") }
            /^[0-9a-f]+ <.*>:$/ { on = 0; for (i in n) if (index($0, "<" n[i] ">:")) on = 1; next }
            on' | grep -cE "$FLOAT_OPS" || true
}
int8_has_no_float() {
    local int8 f32
    int8=$(float_ops_in mnist_embedded::predict_int8 linalg::int8::QNetwork::predict)
    f32=$(float_ops_in mnist_embedded::predict_f32)
    # the f32 pass must show float instructions, or the check sees nothing
    [ "$int8" -eq 0 ] && [ "$f32" -gt 0 ]
}
has_symbols() { nm "$BUILD/mnist-freestanding" | grep -q ' T _start$'; }
bad_header() {
    local err
    err=$(printf 'not an idx file....' | "$OUT/mnist-freestanding" 2>&1 >/dev/null; echo "status $?")
    [ "$err" = "$(printf 'error: stdin: magic is not 0x00000803, expected a raw (not gzip) IDX image file\nstatus 2')" ]
}
short_body() {
    local err
    err=$(head -c 2000 "$OUT/t10k-images.idx" | "$OUT/mnist-freestanding" 2>&1 >/dev/null; echo "status $?")
    [ "$err" = "$(printf 'error: stdin: body is short: header claims 10000 images, found 2\nstatus 2')" ]
}

test_all() {
    build >/dev/null
    gzip -dc fixtures/t10k-images-idx3-ubyte.gz >"$OUT/t10k-images.idx"
    gzip -dc fixtures/t10k-labels-idx1-ubyte.gz >"$OUT/t10k-labels.idx"
    check "runner f32 = infer eval --predictions, 10,000 images" same_predictions f32
    check "runner int8 = infer eval --precision int8 --predictions" same_predictions int8 --precision int8
    check "C program: f32 and int8 Accuracy:0.9352" c_program
    check "runner has symbols to check (nm sees _start)" has_symbols
    check "nm: no undefined symbols in the runner" no_undefined_symbols
    check "nm: no core::fmt symbols in the runner" no_fmt_symbols
    check "nm: no core::panicking symbols (no panic path in the runner)" no_panic_symbols
    check "objdump: no floating-point instruction in the int8 forward pass" int8_has_no_float
    check "a bad header: one line, exit 2" bad_header
    check "a short body: one line, exit 2" short_body
    if has_target; then
        check "the Cortex-M4F firmware links, with nothing in .data or .bss" firmware
    else
        echo "embedded: the Cortex-M4F firmware ... skipped (rustup could not install $THUMB)"
    fi
    echo "embedded: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

case "${1:-}" in
    build) build ;;
    size) build >/dev/null && size_table ;;
    test) test_all ;;
    cortex-m) cortex_m ;;
    *) echo "usage: $0 build|size|test|cortex-m" >&2; exit 2 ;;
esac
