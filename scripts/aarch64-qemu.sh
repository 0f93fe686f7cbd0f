#!/usr/bin/env bash
# make test-aarch64: every test of the workspace built for 64-bit ARM Linux
# and run under qemu's user-mode emulator, for the path that CPUs without
# x86's SIMD kernels take: `Kernel::best` and `IntKernel::best` pick the
# portable kernels there, the SIMD steps' entry points exist but are never
# available, and the tests that run only where a step's CPU features are
# present skip themselves, as they do on an x86 CPU without them.
#
# What it shows: the portable kernels give numpy's prediction on all
# 10,000 images at every batch size and thread count, the int8 pass
# scores as on x86, and every `infer` command and bad input behaves the
# same (the integration tests run the aarch64 `infer` through qemu, by
# INFER_TEST_RUNNER), but for one test left out below. The criterion
# benches are built and run once too. Nothing about speed: qemu
# translates every instruction.
#
# Needs apt-get (root, or sudo) the first time, for qemu-user, an aarch64
# C compiler and its C library (the linker, and criterion's `alloca`
# dependency, which compiles C), and rustup for the Rust target. About 20
# minutes on a 2-core AMD Zen 4 VM (2026-12-08): the tests 16, most of it
# the accuracy tests (5 minutes: 10,000 images at batch 1, 100 and more,
# every thread count) and the random argument lists (8), the benches 2.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu

need=()
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
[ -e $SYSROOT/lib/ld-linux-aarch64.so.1 ] || need+=(libc6-dev-arm64-cross)
if [ ${#need[@]} -gt 0 ]; then
    echo "test-aarch64: installing ${need[*]}"
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"
fi
rustup target list --installed | grep -qx $TARGET || rustup target add $TARGET

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $SYSROOT"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export INFER_TEST_RUNNER="qemu-aarch64 -L $SYSROOT"
export CARGO_TARGET_DIR=target/aarch64
export RUSTFLAGS="-D warnings"
# the infer binary itself first: the book's accuracy, and what it picked
infer=(qemu-aarch64 -L $SYSROOT target/aarch64/$TARGET/release/infer)
cargo build --release -p infer --target $TARGET
"${infer[@]}" eval --json --limit 1 | grep -o '"kernel":"[a-z0-9-]*"'
"${infer[@]}" | tail -1 | grep -x 'Accuracy:0.9352'
"${infer[@]}" eval --precision int8 | tail -1 | grep -x 'Accuracy:0.9352'
# every test but one: 150 random `infer sweep` argument lists, whose
# sweeps without --limit run all 10,000 images at every batch size, took
# over 13 minutes for one list under qemu (an argument parser's test,
# the same code on every CPU; `make test` runs it natively)
cargo test --workspace --target $TARGET --no-fail-fast -- --skip sweep_never_crashes
cargo bench -p benches --benches --target $TARGET -- --test
echo "test-aarch64: every test passed on $TARGET under qemu"
