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

/// Runs `infer ARGS` in the repository root.
pub fn infer(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_infer")).args(args).current_dir(root()).output().expect("run infer");
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
