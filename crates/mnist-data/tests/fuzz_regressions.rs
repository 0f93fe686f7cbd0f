//! Replays every input kept under `fuzz/regressions/<target>/` through the
//! same function its fuzz target runs (`mnist_data::fuzz`), with no
//! cargo-fuzz needed, and checks the outcome against the `.out` file beside
//! it: the exact one-line error (three lines for `idx`: generic, images,
//! labels). `BLESS=1 cargo test -p mnist-data --test fuzz_regressions`
//! writes missing `.out` files for new inputs (read them before committing).

use std::path::Path;

use mnist_data::{fuzz, GZIP_MAGIC};

fn replay(target: &str, run: fn(&[u8]) -> String) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|e| e != "out") && p.file_name().unwrap() != "README.md")
        .collect();
    inputs.sort();
    for input in &inputs {
        let data = std::fs::read(input).unwrap();
        let got = run(&data);
        let out = input.with_file_name(format!("{}.out", input.file_name().unwrap().to_string_lossy()));
        if !out.exists() && std::env::var_os("BLESS").is_some() {
            std::fs::write(&out, format!("{got}\n")).unwrap();
        }
        let want =
            std::fs::read_to_string(&out).unwrap_or_else(|_| panic!("{} has no {}", input.display(), out.display()));
        assert_eq!(got, want.trim_end_matches('\n'), "{}", input.display());
        if target == "idx" && !data.starts_with(&GZIP_MAGIC) {
            assert_eq!(fuzz::idx(&fuzz::gzip(&data)), got, "{} gzipped", input.display());
        }
    }
    inputs.len()
}

#[test]
fn idx_regressions() {
    assert!(replay("idx", fuzz::idx) > 0);
}

#[test]
fn weights_regressions() {
    assert!(replay("weights", fuzz::weights) > 0);
}

#[test]
fn network_regressions() {
    assert!(replay("network", fuzz::network) > 0);
}
