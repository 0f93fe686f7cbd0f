//! `infer export`: the loaded network as Rust source of `static` arrays,
//! for a `#![no_std]` crate to `include!`: no parsing at run time, no copy
//! into RAM (statics live in read-only data, flash on a microcontroller).

use std::fmt::Write as _;
use std::path::Path;

use crate::args::{Args, Flag};
use crate::quant::QModel;
use crate::{fail, outln, Failure};

const HELP: &str = "\
infer export: write the network as a Rust source file of static arrays that
a #![no_std] crate includes with include!(\"model.rs\"): the weights are
used in place, with nothing parsed or copied at run time.

  f32   W1, B1, … row-major, and LAYERS: [linalg::Dense; n] reading them
        in place with the plain row-major kernel
  int8  W1 (i8), BIAS1 (i32), MULT1 (i32), SHIFT1 (u8), …, SIGMOID (u8),
        and NETWORK: linalg::int8::QNetwork, the integer-only model

Usage: infer export --out FILE.rs [FLAGS]

Flags:
";

const HELP_TAIL: &str = "  --out FILE        the Rust file to write (required)
  --precision P     f32 or int8 [f32]
  -h, --help        this help
  -V, --version     the version of infer
";

/// Runs `infer export`.
///
/// # Errors
/// Usage errors, unreadable inputs, an unwritable output.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let mut flags = super::DATA_FLAGS.to_vec();
    flags.extend([Flag::Value("out"), Flag::Value("precision")]);
    let Some(args) = Args::parse("export", &flags, argv, &format!("{HELP}{}{HELP_TAIL}", super::DATA_HELP))? else {
        return Ok(());
    };
    args.no_positional()?;
    let Some(out) = args.get("out") else {
        fail!("export needs --out FILE.rs (see 'infer export --help')");
    };
    super::refuse_to_overwrite_inputs(Path::new(out), "out", &args)?;
    let precision = args.get("precision").unwrap_or("f32");
    if precision != "f32" && precision != "int8" {
        fail!("--precision '{precision}' is not a precision, expected f32 or int8");
    }
    let loaded = super::load(&args, linalg::Kernel::Naive)?;
    let sources: Vec<String> = loaded.weights_paths.iter().map(|p| p.display().to_string()).collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// The {} network, {precision}, made by `infer export --precision {precision}`",
        loaded.model.describe()
    );
    let _ = writeln!(s, "// ({}) from {}.", crate::VERSION, sources.join(" + "));
    let _ = writeln!(s, "// Generated: edit the weights files and export again, not this file.\n");
    let _ = writeln!(s, "/// Pixels per image.\npub const INPUT_LEN: usize = {};", loaded.model.input_len());
    let _ = writeln!(s, "/// Classes.\npub const CLASSES: usize = {};\n", loaded.model.output_len());
    let bytes = match precision {
        "f32" => export_f32(&mut s, &loaded.layers),
        _ => export_int8(&mut s, &QModel::new(&loaded.layers)?),
    };
    std::fs::write(out, &s).map_err(|e| Failure(format!("{out}: cannot write: {e}")))?;
    outln!("wrote {out}: {} network, {precision}, {bytes} bytes of model data", loaded.model.describe());
    Ok(())
}

fn array<T: std::fmt::Debug>(s: &mut String, doc: &str, name: &str, ty: &str, values: &[T]) {
    let _ = writeln!(s, "/// {doc}\npub static {name}: [{ty}; {}] = [", values.len());
    for chunk in values.chunks(16) {
        let line: Vec<String> = chunk.iter().map(|v| format!("{v:?}")).collect();
        let _ = writeln!(s, "    {},", line.join(", "));
    }
    let _ = writeln!(s, "];\n");
}

fn export_f32(s: &mut String, layers: &[mnist_data::Layer]) -> usize {
    for (i, l) in layers.iter().enumerate() {
        let i = i + 1;
        array(s, &format!("W{i}, {}×{} row-major.", l.k, l.n), &format!("W{i}"), "f32", &l.W);
        array(s, &format!("b{i}, {} elements.", l.n), &format!("B{i}"), "f32", &l.b);
    }
    let _ = writeln!(s, "/// The layers, reading W and b in place with the plain row-major kernel.");
    let _ = writeln!(s, "pub static LAYERS: [linalg::Dense<'static>; {}] = [", layers.len());
    for (i, l) in layers.iter().enumerate() {
        let i = i + 1;
        let _ = writeln!(
            s,
            "    match linalg::Dense::row_major({}, {}, &W{i}, &B{i}) {{\n        Ok(d) => d,\n        Err(_) => panic!(\"W{i} or B{i} does not fit {}×{}\"),\n    }},",
            l.k, l.n, l.k, l.n
        );
    }
    let _ = writeln!(s, "];");
    layers.iter().map(|l| 4 * (l.k * l.n + l.n)).sum()
}

fn export_int8(s: &mut String, q: &QModel) -> usize {
    for (i, l) in q.layers.iter().enumerate() {
        let i = i + 1;
        array(
            s,
            &format!("W{i} as int8, {}×{} row-major, one scale per column.", l.k, l.n),
            &format!("W{i}"),
            "i8",
            &l.Wq,
        );
        array(s, &format!("b{i} in accumulator units."), &format!("BIAS{i}"), "i32", &l.bias);
        array(s, &format!("Requantization multipliers of layer {i}."), &format!("MULT{i}"), "i32", &l.mult);
        array(s, &format!("Requantization shifts of layer {i}."), &format!("SHIFT{i}"), "u8", &l.shift);
    }
    array(s, "round(255 · sigmoid((i - 128) / 16)).", "SIGMOID", "u8", &q.sigmoid);
    let _ = writeln!(s, "/// The layers.\npub static LAYERS: [linalg::int8::QDense<'static>; {}] = [", q.layers.len());
    for (i, l) in q.layers.iter().enumerate() {
        let i = i + 1;
        let _ = writeln!(
            s,
            "    linalg::int8::QDense {{ k: {}, n: {}, Wq: &W{i}, bias: &BIAS{i}, mult: &MULT{i}, shift: &SHIFT{i} }},",
            l.k, l.n
        );
    }
    let _ = writeln!(s, "];\n");
    let _ = writeln!(s, "/// The integer-only network, checked when this file compiles.");
    let _ = writeln!(
        s,
        "pub static NETWORK: linalg::int8::QNetwork<'static> = match linalg::int8::QNetwork::new(&LAYERS, &SIGMOID) {{\n    Ok(n) => n,\n    Err(_) => panic!(\"the int8 layers do not chain\"),\n}};"
    );
    q.bytes()
}
