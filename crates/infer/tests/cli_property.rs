//! A command line that cannot crash: every command run with thousands of
//! argument lists drawn from its real flags, values that are numbers,
//! negatives, zero, huge, empty or not numbers, paths that do not exist,
//! directories and the bad-input corpus, with flags repeated, misplaced,
//! misspelt or left without a value. Every run must exit 0 or 2 (never a
//! panic, an abort, a signal or a hang), and every exit 2 must print exactly
//! one line, starting with `error:`, and nothing on stdout.
//!
//! The lists are drawn from a fixed seed, so a failure repeats; the message
//! gives the arguments.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The most one run may take before it counts as a hang. The slowest legal
/// run drawn here (a sweep of every kernel over the 10,000 images) takes a
/// few seconds.
const HANG: Duration = Duration::from_secs(120);

/// [`HANG`], or twenty times it where `infer` runs under an emulator
/// (`INFER_TEST_RUNNER`, see `common::command`): under qemu-aarch64 a
/// sweep of the portable kernels at every batch size took over 120 s.
fn hang() -> Duration {
    if common::emulated() {
        HANG * 20
    } else {
        HANG
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "7",
    "100",
    "9999",
    "10000",
    "10001",
    "-1",
    "-0",
    "+3",
    "1.5",
    "1e3",
    "",
    " ",
    "abc",
    "0x10",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
];
const INPUTS: &[&str] = &[
    "fixtures/t10k-images-idx3-ubyte.gz",
    "fixtures/t10k-labels-idx1-ubyte.gz",
    "fixtures/sample_weight.pkl",
    "fixtures/report-5-layer.txt",
    "fixtures/variants/weights-float64.pkl",
    "fixtures",
    "fixtures/bad",
    "no/such/file",
    "",
    "-",
];
const KERNELS: &[&str] = &["naive", "tiled", "avx2", "all", "naive,avx2", "nope", "", ",", "all,naive"];
const BATCH_LISTS: &[&str] =
    &["1", "1,100", "100", "0", "", ",", "1,,2", "-3", "100000", "1 , 2", "x", "1,99999999999999999999"];

/// Numbers for `sweep --limit` and `--repeat`: every kind of bad value, but
/// no large valid one, so that no drawn sweep is a legal hours-long job
/// (every kernel, 1000 passes, 10,000 images).
const SMALL_NUMBERS: &[&str] = &["0", "1", "2", "3", "-1", "", "abc", "1001", "10001", "18446744073709551616"];

/// The values a flag takes, by command and name.
fn values(command: &str, flag: &str, out: &Path, bad: &[String], rng: &mut Rng) -> String {
    match flag {
        "limit" | "repeat" if command == "sweep" => rng.pick(SMALL_NUMBERS).to_string(),
        "rounds" => rng.pick(SMALL_NUMBERS).to_string(),
        "layers" => rng.pick(&["1", "W3", "1,2", "0", "4", "", "W", "x"]).to_string(),
        "images" | "labels" | "weights" => match rng.below(3) {
            0 => bad[rng.below(bad.len())].clone(),
            _ => rng.pick(INPUTS).to_string(),
        },
        "kernel" => rng.pick(KERNELS).to_string(),
        "batch-sizes" => rng.pick(BATCH_LISTS).to_string(),
        "axis" => rng.pick(&["0", "1", "2", "-1", "", "x"]).to_string(),
        "precision" => rng.pick(&["f32", "int8", "int4", "", "F32", "f32,int8", "int8,,f32"]).to_string(),
        "predictions" | "misclassified" | "png" | "plot" | "out" => match rng.below(4) {
            0 => out.display().to_string(),
            1 => out.join("x.out").display().to_string(),
            2 => "/no/such/dir/x.out".to_string(),
            _ => out.join(format!("f{}", rng.below(5))).display().to_string(),
        },
        _ => rng.pick(NUMBERS).to_string(),
    }
}

/// The flags of each command: (name, takes a value).
fn commands() -> Vec<(&'static str, Vec<(&'static str, bool)>)> {
    let data = [("images", true), ("labels", true), ("weights", true)];
    let with = |extra: &[(&'static str, bool)]| data.iter().chain(extra).copied().collect::<Vec<_>>();
    vec![
        (
            "eval",
            with(&[
                ("batch-size", true),
                ("limit", true),
                ("threads", true),
                ("kernel", true),
                ("predictions", true),
                ("misclassified", true),
                ("precision", true),
                ("json", false),
                ("report", false),
            ]),
        ),
        (
            "sweep",
            with(&[
                ("batch-sizes", true),
                ("kernel", true),
                ("threads", true),
                ("repeat", true),
                ("limit", true),
                ("plot", true),
                ("precision", true),
                ("json", false),
            ]),
        ),
        (
            "kernels",
            with(&[
                ("json", false),
                ("markdown", false),
                ("kernel", true),
                ("layers", true),
                ("batch-sizes", true),
                ("rounds", true),
            ]),
        ),
        ("show", with(&[("png", true), ("scale", true), ("ascii", false)])),
        ("softmax", vec![]),
        ("argmax", vec![("axis", true)]),
        ("export", with(&[("out", true), ("precision", true)])),
        ("help", vec![]),
    ]
}

/// One random argument list for `command`.
fn draw(command: &str, flags: &[(&str, bool)], out: &Path, bad: &[String], rng: &mut Rng) -> Vec<String> {
    let mut args = Vec::new();
    match rng.below(10) {
        0 => {} // no command: eval's flags at top level
        1 => args.push(rng.pick(&["evl", "Eval", "sweeps", "", "--", "-x"]).to_string()),
        _ => args.push(command.to_string()),
    }
    for _ in 0..rng.below(6) {
        match rng.below(12) {
            0 => args.push(rng.pick(NUMBERS).to_string()), // a positional
            1 => args.push(rng.pick(&["--help", "-h", "--version", "-V", "--", "-", "--=", "--json=1"]).to_string()),
            2 => args.push(format!("--{}", rng.pick(&["batchsize", "limt", "thread", "jsn", "x", ""]))),
            3 => args.push(rng.pick(&["help", "eval", "show", "softmax"]).to_string()), // a command misplaced
            _ if flags.is_empty() => args.push(rng.pick(NUMBERS).to_string()),
            _ => {
                let (name, takes) = flags[rng.below(flags.len())];
                let value = values(command, name, out, bad, rng);
                match (takes, rng.below(6)) {
                    (true, 0) => args.push(format!("--{name}")), // value missing (or taken from the next flag)
                    (true, 1) => args.push(format!("--{name}={value}")),
                    (true, _) => {
                        args.push(format!("--{name}"));
                        args.push(value);
                    }
                    (false, 0) => args.push(format!("--{name}=yes")),
                    (false, _) => args.push(format!("--{name}")),
                }
            }
        }
    }
    // most eval and sweep runs on a few images, so that thousands of them
    // stay cheap; put first, so a later --limit still wins
    if (command == "eval" || command == "sweep") && args.first().is_some_and(|a| a == command) && rng.below(4) != 0 {
        args.splice(1..1, ["--limit".to_string(), (1 + rng.below(300)).to_string()]);
    }
    args
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A scratch folder to run in, with `fixtures` linked to the repository's:
/// a value flag that swallows the next word (`--predictions eval`) writes
/// its file here, never into the checkout.
fn workdir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("infer-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("fixtures");
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(common::root().join("fixtures"), &link).unwrap();
        }
        dir
    })
    .clone()
}

fn run(args: &[String]) -> Outcome {
    let dir = workdir();
    let (so, se) = (
        dir.join(format!("{:?}.out", std::thread::current().id())),
        dir.join(format!("{:?}.err", std::thread::current().id())),
    );
    let mut child = common::command()
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&so).unwrap())
        .stderr(std::fs::File::create(&se).unwrap())
        .spawn()
        .expect("run infer");
    let (start, hang) = (Instant::now(), hang());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > hang {
            let _ = child.kill();
            panic!("infer {args:?} ran for more than {hang:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let read = |p: &PathBuf| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    Outcome { code: status.code(), stdout: read(&so), stderr: read(&se) }
}

fn check(args: &[String], o: &Outcome) {
    match o.code {
        Some(0) => {}
        Some(2) => {
            assert!(o.stderr.starts_with("error: "), "infer {args:?}: exit 2 with stderr {:?}", o.stderr);
            assert_eq!(o.stderr.matches('\n').count(), 1, "infer {args:?}: stderr is not one line: {:?}", o.stderr);
            assert!(o.stderr.ends_with('\n'), "infer {args:?}: {:?}", o.stderr);
            assert_eq!(o.stdout, "", "infer {args:?}: exit 2 after printing to stdout");
        }
        other => {
            panic!("infer {args:?}: exit {other:?} (a panic is 101, an abort 134, None a signal)\nstderr: {}", o.stderr)
        }
    }
}

/// The bad-input corpus, as paths from the repository root.
fn bad_corpus() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(common::root().join("fixtures/bad"))
        .unwrap()
        .map(|e| format!("fixtures/bad/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    v.sort();
    v
}

fn property(command: &str, cases: usize, seed: u64) {
    let commands = commands();
    let (_, flags) = commands.iter().find(|(c, _)| *c == command).unwrap();
    let out = std::env::temp_dir().join(format!("infer-cli-out-{command}-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let bad = bad_corpus();
    let fixtures = common::root().join("fixtures");
    let before = checksum(&fixtures);
    let root_before = entries(&common::root());
    let mut rng = Rng(seed);
    let mut codes = [0usize; 2];
    for _ in 0..cases {
        let args = draw(command, flags, &out, &bad, &mut rng);
        let o = run(&args);
        check(&args, &o);
        codes[usize::from(o.code == Some(2))] += 1;
    }
    assert_eq!(checksum(&fixtures), before, "a run of infer {command} modified fixtures/");
    assert_eq!(entries(&common::root()), root_before, "a run of infer {command} wrote into the checkout");
    // both outcomes must occur, or the lists are not testing much
    assert!(codes[0] > 0 && codes[1] > 0, "infer {command}: {} successes, {} errors", codes[0], codes[1]);
    let _ = std::fs::remove_dir_all(&out);
}

/// The names in `dir`.
fn entries(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    v.sort();
    v
}

/// Sizes and modification times of every file below `dir`.
fn checksum(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        if m.is_dir() {
            v.extend(checksum(&e.path()));
        } else {
            v.push((e.path(), m.len(), m.modified().unwrap()));
        }
    }
    v.sort();
    v
}

#[test]
fn eval_never_crashes() {
    property("eval", 400, 0x1234_5678_9abc_def1);
}

#[test]
fn sweep_never_crashes() {
    property("sweep", 150, 0x0bad_cafe_f00d_1234);
}

#[test]
fn show_never_crashes() {
    property("show", 300, 0x5eed_0000_1111_2222);
}

#[test]
fn kernels_never_crashes() {
    property("kernels", 40, 0x4b45_524e_454c_5321);
}

#[test]
fn export_never_crashes() {
    property("export", 150, 0xe4b0_47a1_0000_0004);
}

#[test]
fn softmax_argmax_help_never_crash() {
    property("softmax", 500, 0x50f7_3a81_0000_0001);
    property("argmax", 500, 0xa5a5_a5a5_0000_0002);
    property("help", 300, 0x4e4c_5000_0000_0003);
}

#[test]
fn help_help_and_friends() {
    for args in [&["help", "help"][..], &["help", "--help"], &["help", "-h"], &["--help"], &["help"]] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let o = run(&args);
        assert_eq!(o.code, Some(0), "infer {args:?}: {}", o.stderr);
        assert!(o.stdout.starts_with("infer: chapter 3"), "infer {args:?}: {}", o.stdout);
    }
}
