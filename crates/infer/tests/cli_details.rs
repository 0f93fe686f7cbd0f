//! The small things a careful user trips on: --version everywhere, the
//! nearest real flag or command suggested, aligned --help blocks, --json
//! with --report, and where infer looked for fixtures/ outside a checkout.

mod common;

use common::infer;

const COMMANDS: &[&str] = &["eval", "sweep", "kernels", "show", "softmax", "argmax", "export", "help"];

#[test]
fn version_on_infer_and_every_command() {
    let want = format!("infer {}\n", env!("CARGO_PKG_VERSION"));
    for args in [&["--version"][..], &["-V"]] {
        let r = infer(args);
        assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (0, want.as_str(), ""), "{args:?}");
    }
    for c in COMMANDS.iter().filter(|&&c| c != "help") {
        let r = infer(&[c, "--version"]);
        assert_eq!((r.code, r.stdout.as_str()), (0, want.as_str()), "infer {c} --version: {}", r.stderr);
    }
}

fn error_of(args: &[&str]) -> String {
    let r = infer(args);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{args:?}");
    r.stderr
}

#[test]
fn unknown_flags_and_commands_suggest_the_nearest() {
    assert_eq!(
        error_of(&["eval", "--batchsize", "10"]),
        "error: unknown flag '--batchsize' for 'infer eval', did you mean --batch-size? (see 'infer eval --help')\n"
    );
    assert_eq!(
        error_of(&["sweep", "--batch-size", "10"]),
        "error: unknown flag '--batch-size' for 'infer sweep', did you mean --batch-sizes? (see 'infer sweep --help')\n"
    );
    assert_eq!(
        error_of(&["show", "0", "--scal", "2"]),
        "error: unknown flag '--scal' for 'infer show', did you mean --scale? (see 'infer show --help')\n"
    );
    assert_eq!(
        error_of(&["eval", "--predictions", "--json"]),
        "error: --predictions needs a value, found the flag '--json' (see 'infer eval --help')\n"
    );
    assert_eq!(error_of(&["evl"]), "error: unknown command 'evl', did you mean 'eval'? (see 'infer --help')\n");
    assert_eq!(
        error_of(&["help", "kernel"]),
        "error: unknown command 'kernel', did you mean 'kernels'? (see 'infer --help')\n"
    );
    assert_eq!(
        error_of(&["zzz"]),
        "error: unknown command 'zzz', expected one of: eval, sweep, kernels, show, softmax, argmax, export, help (see 'infer --help')\n"
    );
}

/// Every flag line of every --help block starts with two spaces and has its
/// description at column 20, like the others.
#[test]
fn help_blocks_are_aligned() {
    for c in COMMANDS {
        let r = infer(&[c, "--help"]);
        assert_eq!(r.code, 0, "{c}");
        let flag_lines: Vec<&str> = r.stdout.lines().filter(|l| l.trim_start().starts_with('-')).collect();
        if *c != "help" && *c != "softmax" && *c != "argmax" {
            assert!(flag_lines.len() >= 5, "infer {c} --help lists {} flags", flag_lines.len());
        }
        for l in flag_lines {
            assert!(l.starts_with("  -"), "infer {c} --help: {l:?} is not indented by two spaces");
            if *c == "argmax" {
                continue; // its usage block explains the flag in prose
            }
            let chars: Vec<char> = l.chars().collect();
            assert!(chars.len() > 20 && chars[19] == ' ' && chars[20] != ' ', "infer {c} --help: {l:?} is misaligned");
        }
    }
}

#[test]
fn json_with_report_carries_the_confusion_matrix() {
    let r = infer(&["eval", "--json", "--report"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let json = r.stdout.trim();
    let m = json.split("\"confusion\":[").nth(1).expect("a confusion matrix in the JSON");
    let rows: Vec<Vec<usize>> = m
        .trim_end_matches("]}")
        .split("],[")
        .map(|row| row.trim_matches(['[', ']']).split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 10);
    assert_eq!((0..10).map(|i| rows[i][i]).sum::<usize>(), 9352);
    assert_eq!(rows.iter().flatten().sum::<usize>(), 10_000);
    assert_eq!(rows[4][9], 35, "the most confused pair, 4 predicted as 9");
    assert!(json.starts_with("{\"accuracy\":0.9352,"), "{json}");
}

/// Outside a checkout, the error says where infer looked, not a path from
/// the machine the binary was built on.
#[test]
fn outside_a_checkout_says_where_it_looked() {
    let dir = std::env::temp_dir().join(format!("infer-nowhere-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let out = common::command().current_dir(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "error: cannot find fixtures/sample_weight.pkl in {} or any folder above it; \
             run inside the repository or pass --images, --labels and --weights\n",
            dir.display()
        )
    );
    let _ = std::fs::remove_dir(&dir);
}

/// `--png` that cannot be written fails before anything is printed, and no
/// output flag may name an input file.
#[test]
fn outputs_never_overwrite_inputs() {
    for (args, flag) in [
        (&["show", "0", "--png", "fixtures/sample_weight.pkl"][..], "png"),
        (&["sweep", "--limit", "10", "--batch-sizes", "1", "--plot", "fixtures/t10k-labels-idx1-ubyte.gz"], "plot"),
        (&["eval", "--predictions", "fixtures/t10k-images-idx3-ubyte.gz"], "predictions"),
    ] {
        let path = args[args.len() - 1];
        assert_eq!(
            error_of(args),
            format!("error: {path}: --{flag} would overwrite an input file, expected a new path\n")
        );
    }
}
