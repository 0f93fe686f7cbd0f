//! Every broken file in fixtures/bad (made by scripts/make_fixtures.py) and
//! every usage error: one line on stderr naming the file and the fact, exit
//! code 2, nothing on stdout, no panic.

mod common;

use common::infer;

/// Runs `infer eval FLAG fixtures/bad/NAME` and checks the exact error.
fn refuses(flag: &str, name: &str, message: &str) {
    let path = format!("fixtures/bad/{name}");
    let r = infer(&["eval", flag, &path]);
    assert_eq!(r.code, 2, "{name}: exit code; stderr: {}", r.stderr);
    assert_eq!(r.stdout, "", "{name}: stdout");
    assert_eq!(r.stderr, format!("error: {path}: {message}\n"), "{name}");
}

fn usage_error(args: &[&str], message: &str) {
    let r = infer(args);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{args:?}: {}", r.stderr);
    assert_eq!(r.stderr, format!("error: {message}\n"), "{args:?}");
}

#[test]
fn broken_idx_files() {
    refuses("--images", "bad-empty", "file is empty, expected an IDX header");
    refuses("--images", "bad-truncated.gz", "gzip data is truncated or corrupt: incomplete deflate stream");
    refuses(
        "--images",
        "bad-magic-images",
        "magic 0x03080000 is not IDX, expected two zero bytes, a type code and a dimension count",
    );
    refuses(
        "--images",
        "bad-type-code-images",
        "magic 0x00000703 has type code 0x07, expected one of 0x08 0x09 0x0b 0x0c 0x0d 0x0e",
    );
    refuses(
        "--images",
        "bad-four-billion-images",
        "body is short: header 4000000000×28×28 needs 3136000000000 bytes, found 784",
    );
    refuses("--images", "bad-short-body-images", "body is short: header 2×28×28 needs 1568 bytes, found 784");
    refuses("--images", "bad-short-header", "header of 3 dimensions needs 16 bytes, found a file of 6");
    refuses("--labels", "bad-trailing-bytes-labels", "trailing bytes: header 3 needs 3 bytes after it, found 4");
    refuses("--images", "bad-directory", "is a directory, expected a file");
    refuses("--images", "bad-zero-images", "holds no images, expected at least one");
}

#[test]
fn wrong_kinds_and_mismatched_files() {
    refuses("--images", "bad-labels-as-images.gz", "magic 0x00000801 is a label file, expected 0x00000803 (images)");
    refuses("--labels", "bad-images-as-labels", "magic 0x00000803 is an image file, expected 0x00000801 (labels)");
    refuses(
        "--labels",
        "bad-9999-labels.gz",
        "9999 labels, expected 10000 (one per image in fixtures/t10k-images-idx3-ubyte.gz)",
    );
    refuses("--labels", "bad-label-12", "label 12 at index 5 is not a digit, expected 0 to 9");
}

#[test]
fn hostile_and_broken_pickles() {
    refuses(
        "--weights",
        "bad-os-system.pkl",
        "global os.system is not allowed, expected only the numpy array globals (nothing in a weights file is executed) at byte 2",
    );
    refuses(
        "--weights",
        "bad-huge-length.pkl",
        "opcode 0x8e needs 1152921504606846976 bytes, found 3 before the end of the file at byte 2",
    );
    refuses("--weights", "bad-deep-marks.pkl", "MARKs nested more than 64 deep at byte 66");
    refuses("--weights", "bad-deep-lists.pkl", "pickle stack holds more than 10000 items at byte 10002");
    refuses(
        "--weights",
        "bad-truncated.pkl",
        "opcode 0x42 needs 156800 bytes, found 4386 before the end of the file at byte 609",
    );
    refuses(
        "--weights",
        "bad-trailing-bytes.pkl",
        "STOP followed by 1 trailing bytes, expected the end of the file at byte 181851",
    );
    refuses("--weights", "bad-not-a-dict.pkl", "pickle holds a list, expected a dict of numpy arrays");
    refuses("--weights", "bad-int-dtype.pkl", "dtype 'i8', expected float32 or float64 at byte 157445");
    refuses(
        "--weights",
        "bad-shape-vs-data.pkl",
        "array data is 200 bytes, expected 204 for shape (51) of float32 at byte 157664",
    );
    refuses("--weights", "bad-empty", "file is empty, expected a numpy pickle or a text weights file");
}

#[test]
fn weights_that_do_not_make_a_network() {
    refuses("--weights", "bad-nan-weight.pkl", "W2[3, 17] is NaN, expected finite weights");
    refuses("--weights", "bad-missing-bias.pkl", "b3 is missing, expected a bias of 10 for W3 (100×10) in the weights");
    refuses("--weights", "bad-no-chain.pkl", "W2 is 49×100, expected 50 rows (the columns of W1)");
    refuses("--weights", "bad-nine-classes.pkl", "W3 is 100×9, expected 10 columns (one per class)");
    refuses("--weights", "bad-bias-length.pkl", "b2 has shape (99), expected 100 elements (the columns of W2)");
    refuses("--weights", "bad-input-size.pkl", "W1 is 700×50, expected 784 rows (pixels per image)");
    refuses("--weights", "bad-text-too-few.txt", "line 4: W4 needs 20 values, found 3 before 'b4'");
}

#[test]
fn missing_files_name_the_path() {
    let r = infer(&["eval", "--images", "no/such/file"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "error: no/such/file: cannot read: No such file or directory (os error 2)\n");
}

#[test]
fn usage_errors() {
    usage_error(&["eval", "--batch-size", "0"], "--batch-size '0' is not a whole number ≥ 1 (see 'infer eval --help')");
    usage_error(
        &["eval", "--batch-size", "-3"],
        "--batch-size '-3' is not a whole number ≥ 1 (see 'infer eval --help')",
    );
    usage_error(&["eval", "--batch-size"], "--batch-size needs a value (see 'infer eval --help')");
    usage_error(&["eval", "--threads", "100000"], "--threads 100000 is more than the limit of 256");
    usage_error(&["show", "0", "--scale", "100000"], "--scale 100000 is more than the limit of 64");
    usage_error(
        &["show", "10000"],
        "index '10000' is not an image of fixtures/t10k-images-idx3-ubyte.gz, expected 0 to 9999",
    );
    usage_error(&["eval", "--frobnicate"], "unknown flag '--frobnicate' for 'infer eval' (see 'infer eval --help')");
    usage_error(
        &["evaluate"],
        "unknown command 'evaluate', expected one of: eval, sweep, kernels, show, softmax, argmax, export, help (see 'infer --help')",
    );
    usage_error(
        &["eval", "--limit", "10001"],
        "--limit 10001 is more than the 10000 images in fixtures/t10k-images-idx3-ubyte.gz",
    );
    usage_error(
        &["eval", "--kernel", "magic"],
        "--kernel 'magic' is not a kernel, expected one of: naive, ikj, blocked, tiled, avx2-tile, avx2-row, avx2-sparse, avx2-fused, avx2-l1, avx2-union, avx2, avx512, avx2-lines, avx2-pairs, avx512-lines, avx512-epilogue, avx512-prefetch, avx512-rows, avx512-chain, avx2-chain, avx512-bits, avx512-colour, avx2-colour, avx512-pass, avx512-union, avx512-fixed16, avx2-fixed16",
    );
    usage_error(
        &["eval", "--predictions", "fixtures/sample_weight.pkl"],
        "fixtures/sample_weight.pkl: --predictions would overwrite an input file, expected a new path",
    );
}

#[test]
fn help_on_every_command() {
    for args in [&["--help"][..], &["help"], &["eval", "--help"], &["help", "eval"]] {
        let r = infer(args);
        assert_eq!(r.code, 0, "{args:?}");
        assert!(r.stdout.contains("Usage: infer"), "{args:?}: {}", r.stdout);
    }
}
