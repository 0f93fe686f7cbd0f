//! Helpers shared by the integration tests: run the real `infer` binary from
//! the repository root.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The repository root (where `fixtures/` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// What one run of `infer` did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A command that runs the `infer` under test: directly, or through the
/// program in `INFER_TEST_RUNNER` (with its arguments, split on spaces)
/// where the binary was built for another CPU (`make test-aarch64` runs
/// every test under `qemu-aarch64`).
pub fn command() -> Command {
    let infer = env!("CARGO_BIN_EXE_infer");
    let runner = runner();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(infer);
            c
        }
        None => Command::new(infer),
    }
}

/// `INFER_TEST_RUNNER`, or empty where it is not set.
fn runner() -> String {
    std::env::var("INFER_TEST_RUNNER").unwrap_or_default()
}

/// Whether `infer` runs through `INFER_TEST_RUNNER` (an emulator).
pub fn emulated() -> bool {
    !runner().trim().is_empty()
}

/// Runs `infer ARGS` in the repository root.
pub fn infer(args: &[&str]) -> Run {
    let out = command().args(args).current_dir(root()).output().expect("run infer");
    Run {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// The last line of stdout of a run that must succeed.
pub fn last_line(args: &[&str]) -> String {
    let r = infer(args);
    assert_eq!(r.code, 0, "infer {args:?} failed: {}", r.stderr);
    r.stdout.lines().last().unwrap_or("").to_string()
}
