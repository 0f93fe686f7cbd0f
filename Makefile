# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
NO_STD := crates/linalg/ensure_no_std/Cargo.toml

.PHONY: run test fmt-check clippy unit bench-smoke no-std cross-check doc bench build fuzz fuzz-tool fuzz-build embedded size embedded-test compare measure measure-smoke test-avx512 test-aarch64 cortex-m

## make run: classify the 10,000 bundled test images, print Accuracy:0.9352
run:
	$(CARGO) run --release --quiet -p infer --

## make test: format, lints, every test, the benches once, the no_std build,
## the build for CPUs other than x86, the docs, the freestanding runner and
## the C library, the measuring script once (untimed)
test: fmt-check clippy unit bench-smoke no-std cross-check doc embedded-test measure-smoke

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

# each criterion benchmark built and run once, untimed
bench-smoke:
	$(CARGO) bench -p benches --benches -- --test

## make test-avx512: the AVX-512 kernels' tests on an emulated Skylake-X
## (Debian's Bochs), or Ice Lake with VNNI (AVX512_EMU_BOCHS=path to a
## Bochs 3 build, see the script), for machines without AVX-512: an hour
## or more, results only (an emulator says nothing about speed)
test-avx512:
	bash scripts/avx512-emu.sh

# linalg inside a #![no_std] #![no_main] binary with panic=abort
no-std:
	CARGO_TARGET_DIR=target/no-std $(CARGO) check --manifest-path $(NO_STD)

# the portable path, which no_std and non-x86 builds take, built where
# x86's kernels are configured out, warnings as errors: the workspace for
# 64-bit ARM Linux and the no_std check above for a bare-metal Cortex-M4F.
# rustup installs the two targets on first use; without rustup, or where
# it cannot fetch them, the check says so and is skipped.
CROSS_TARGETS := aarch64-unknown-linux-gnu thumbv7em-none-eabihf
cross-check:
	@if ! command -v rustup >/dev/null; then echo "cross-check: skipped, no rustup to install $(CROSS_TARGETS)"; exit 0; fi; \
	for t in $(CROSS_TARGETS); do \
	  rustup target list --installed | grep -qx $$t || rustup target add $$t || { echo "cross-check: skipped, rustup could not install $$t"; exit 0; }; \
	done; \
	set -ex; \
	RUSTFLAGS="-D warnings" CARGO_TARGET_DIR=target/cross $(CARGO) check --workspace --exclude benches --all-targets --target aarch64-unknown-linux-gnu; \
	RUSTFLAGS="-D warnings" CARGO_TARGET_DIR=target/cross $(CARGO) check --manifest-path $(NO_STD) --target thumbv7em-none-eabihf

## make cortex-m: the Cortex-M4F firmware with both models run under
## qemu-system-arm on all 10,000 test images, its digits against infer
## eval's (installs qemu-system-arm with apt-get if missing; seconds)
cortex-m: build
	bash scripts/embedded.sh cortex-m

## make test-aarch64: every test built for 64-bit ARM Linux and run under
## qemu-aarch64 (installs qemu-user and a cross C compiler with apt-get;
## about 20 minutes; results only)
test-aarch64:
	bash scripts/aarch64-qemu.sh

# rustdoc with broken links as errors
doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace

## make bench: criterion, batch size 1 against batch size 100 (and int8);
## the HTML report with its charts: target/criterion/report/index.html
bench:
	$(CARGO) bench -p benches
	@echo "criterion's report: target/criterion/report/index.html"

build:
	$(CARGO) build --release

## make fuzz: each fuzz target of crates/mnist-data/fuzz for FUZZ_SECONDS
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= idx weights network
FUZZ_DIR := crates/mnist-data/fuzz
CARGO_FUZZ_VERSION := 0.13.2
# Memory capped low, so that a reader whose memory outgrows its input is
# reported by libFuzzer as a finding; one input may take at most 10 s.
FUZZ_FLAGS = -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=256 -malloc_limit_mb=256 -timeout=10
# weights inputs must hold the book's 181 KB pickle whole; IDX ones need less
FUZZ_MAX_LEN_idx := 16384
FUZZ_MAX_LEN_weights := 400000
FUZZ_MAX_LEN_network := 400000

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/fuzz/corpus/$$t target/fuzz/artifacts/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(CARGO) fuzz run --fuzz-dir $(FUZZ_DIR) --sanitizer none $$t \
	    target/fuzz/corpus/$$t $(FUZZ_DIR)/seeds/$$t fixtures -- \
	    $(FUZZ_FLAGS) -max_len=$$(case $$t in idx) echo $(FUZZ_MAX_LEN_idx);; *) echo $(FUZZ_MAX_LEN_weights);; esac) \
	    -artifact_prefix=$(CURDIR)/target/fuzz/artifacts/$$t/ 2>&1 | tee target/fuzz/$$t.log | grep -E '^(#[0-9]+ +(INITED|DONE)|Done|==|SUMMARY|artifact_prefix)'; \
	  status=$${PIPESTATUS[0]}; \
	  [ $$status -eq 0 ] || { echo "fuzz: $$t failed (log: target/fuzz/$$t.log, inputs: target/fuzz/artifacts/$$t/)"; exit 1; }; \
	done

fuzz-build: fuzz-tool
	$(CARGO) fuzz build --fuzz-dir $(FUZZ_DIR) --sanitizer none

# cargo-fuzz, installed from crates.io if missing (it runs on stable with
# --sanitizer none; AddressSanitizer would need nightly)
fuzz-tool:
	@$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked

## make embedded: the freestanding runner and libmnist.a, both models baked in
## (target/embedded/mnist-freestanding, target/embedded/libmnist.a)
embedded:
	CARGO=$(CARGO) scripts/embedded.sh build

## make size: their sections, the int8 model's bytes, the forward pass's stack
size:
	CARGO=$(CARGO) scripts/embedded.sh size

# the runner against infer eval on 10,000 images, the C program, nm checks
embedded-test:
	CARGO=$(CARGO) scripts/embedded.sh test

## make compare: numpy and ONNX Runtime against infer sweep, one pinned core,
## ROUNDS alternating rounds, ratios per round (a pinned Python venv is made
## in target/compare-venv on first use); KERNEL=NAME puts one f32 kernel of
## the ladder in the project's place, NUMPY_CORETYPE=Haswell numpy on
## OpenBLAS's AVX2 kernel (scripts/compare.sh says more)
ROUNDS ?= 5
compare: build
	KERNEL=$(KERNEL) NUMPY_CORETYPE=$(NUMPY_CORETYPE) scripts/compare.sh $(ROUNDS)

## make measure: every per-CPU table of docs/performance.md and docs/matmul.md
## in one Markdown file, target/measure/<cpu>-<date>.md (ladder, sweeps,
## f32 against int8, images/s against batch size with an SVG chart beside
## it, breakdown, threads, the make run process, make compare), one pinned
## core, ROUNDS rounds each; COMPARE=0 leaves out numpy and ONNX Runtime.
## A few minutes; nothing else should run meanwhile
measure: build
	scripts/measure.sh $(ROUNDS)

# the same script with one round of each and no comparison: a smoke test
# that every command it runs still exists and succeeds, and that the
# targets' table found the make-run timings, the two sweeps' speedups and
# (on two cores or more) the program's two threads with the machine's own
# two-process scaling in the same rounds
measure-smoke: build
	rm -rf target/measure-quick
	QUICK=1 scripts/measure.sh
	@! grep -H 'the command failed' target/measure-quick/*.md
	@ls target/measure-quick/*-sweep.svg >/dev/null
	@grep -q '^Accuracy:0.9352' target/measure-quick/*.md
	@grep -q '^| `make run` ≤ 30 ms wall | [0-9.]* ms (the median of the 2 runs' target/measure-quick/*.md
	@grep -q "^| two sweeps in a row agree .* | [0-9.]*× and [0-9.]*×, [0-9]*% apart |" target/measure-quick/*.md
	@[ "$$(nproc)" -lt 2 ] || grep -q "^| batch 100, 2 threads ≥ 1.8× 1 thread | [0-9.]*× (middle half of the rounds [0-9.]*–[0-9.]*, all [0-9.]*–[0-9.]*); in the same rounds the machine itself, two processes at once against one alone, [0-9.]*× (middle half .*), and the program's threads ÷ those processes [0-9.]*×" target/measure-quick/*.md
