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
#   scripts/embedded.sh cortex-m  the Cortex-M4F firmware run under
#                               qemu-system-arm on all 10,000 test images,
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
    if ! has_thumb; then
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

# the firmware for a Cortex-M4F (crates/mnist-embedded/cortex-m) with
# all 10,000 test images baked in; needs build first (the models) and the
# raw images in $OUT/t10k-images.idx
FIRMWARE=$OUT/cortex-m/$THUMB/release/mnist-cortex-m
firmware() {
    tail -c +17 "$OUT/t10k-images.idx" >"$OUT/cortex-m-images.bin"
    CARGO_TARGET_DIR=$OUT/cortex-m $CARGO build --release --quiet \
        --manifest-path crates/mnist-embedded/cortex-m/Cargo.toml --target $THUMB
}
# whether rustup has (or can install) the Cortex-M4F target
has_thumb() { rustup target list --installed 2>/dev/null | grep -qx $THUMB || rustup target add $THUMB >/dev/null 2>&1; }
# the firmware's sections: code (vector table and .text), constants
# (.rodata: the two models), the images (in the board's PSRAM), and what
# it writes besides its stack (.data, .bss: none, link.x asserts it)
firmware_sizes() {
    echo "firmware $FIRMWARE: code $(( $(sections "$FIRMWARE" .vector_table) + $(sections "$FIRMWARE" .text) )) bytes, models $(sections "$FIRMWARE" .rodata) bytes, images $(sections "$FIRMWARE" .images) bytes, .data $(sections "$FIRMWARE" .data), .bss $(sections "$FIRMWARE" .bss)"
}
# runs the firmware on qemu's MPS2 AN386 (Cortex-M4F) and checks both
# lines of digits against infer eval's predictions
cortex_m() {
    build >/dev/null
    gzip -dc fixtures/t10k-images-idx3-ubyte.gz >"$OUT/t10k-images.idx"
    has_thumb || { echo "cortex-m: rustup could not install $THUMB" >&2; exit 1; }
    firmware
    if ! command -v qemu-system-arm >/dev/null; then
        echo "cortex-m: installing qemu-system-arm"
        sudo=$([ "$(id -u)" = 0 ] || echo sudo)
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q qemu-system-arm
    fi
    firmware_sizes
    rm -f "$OUT/cortex-m.out"
    local start=$SECONDS
    timeout 600 qemu-system-arm -M mps2-an386 -display none -monitor none -serial none \
        -chardev file,id=out,path="$OUT/cortex-m.out" -semihosting-config enable=on,target=native,chardev=out \
        -kernel "$FIRMWARE" </dev/null
    echo "cortex-m: qemu ran the firmware to its end in $((SECONDS - start)) s"
    ./target/release/infer eval --predictions "$OUT/eval-f32.txt" >/dev/null
    ./target/release/infer eval --precision int8 --predictions "$OUT/eval-int8.txt" >/dev/null
    local model ok=0
    for model in f32 int8; do
        if [ "$(awk -v m=$model '$1 == m { print $2 }' "$OUT/cortex-m.out")" = "$(tr -d '\n' <"$OUT/eval-$model.txt")" ]; then
            echo "cortex-m: $model, all 10,000 digits equal to infer eval's"
        else
            echo "cortex-m: $model digits differ from infer eval's (see $OUT/cortex-m.out)"
            ok=1
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
    if has_thumb; then
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
