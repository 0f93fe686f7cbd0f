# The two commands a newcomer needs: `make run` and `make test`.
CARGO ?= cargo
NO_STD := crates/linalg/ensure_no_std/Cargo.toml

.PHONY: run test fmt-check clippy unit bench-smoke no-std doc bench build

## make run: classify the 10,000 bundled test images, print Accuracy:0.9352
run:
	$(CARGO) run --release --quiet -p infer --

## make test: format, lints, every test, the benches once, the no_std build, the docs
test: fmt-check clippy unit bench-smoke no-std doc

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

# each criterion benchmark built and run once, untimed
bench-smoke:
	$(CARGO) bench -p benches --benches -- --test

# linalg inside a #![no_std] #![no_main] binary with panic=abort
no-std:
	CARGO_TARGET_DIR=target/no-std $(CARGO) check --manifest-path $(NO_STD)

# rustdoc with broken links as errors
doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace

## make bench: criterion, batch size 1 against batch size 100
bench:
	$(CARGO) bench -p benches

build:
	$(CARGO) build --release
