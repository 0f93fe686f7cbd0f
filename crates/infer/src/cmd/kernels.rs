//! `infer kernels`: every rung of the matmul ladder on the network's real
//! layer shapes, checked against the naive kernel, then timed.

use std::hint::black_box;
use std::time::Instant;

use linalg::kernels::{avx2, naive};
use linalg::Kernel;

use crate::args::{Args, Flag};
use crate::model::to_f32;
use crate::{outln, Failure};

const HELP: &str = "\
infer kernels: the matmul ladder, from the naive triple loop to the AVX2
kernels, on the book's three layer shapes (784×50, 50×100, 100×10) at
batch 1 and batch 100, with real inputs (test images for W1, the previous
layer's activations for W2 and W3).

Each kernel's result is first compared with the naive kernel's (error:
max |C - C_naive| / max |C_naive|), then timed: calls repeated for at least 2 ms, the median of
7 such samples. GFLOP/s counts 2·m·k·n per call (avx2 skips zero inputs,
so for W1 it does less work than that). % of peak divides by this core's
peak, measured in-process by a loop of independent AVX2 FMAs.
Pin it for steady numbers: taskset -c 1 infer kernels

Usage: infer kernels [FLAGS]

Flags:
";

const HELP_TAIL: &str = "  --json            print one JSON array instead of the table
  -h, --help        this help
  -V, --version     the version of infer
";

/// Median seconds per call of `f`: calls repeated for ≥ 2 ms, 7 samples.
fn time_per_call(mut f: impl FnMut()) -> f64 {
    f();
    let mut reps = 1usize;
    loop {
        let start = Instant::now();
        for _ in 0..reps {
            f();
        }
        if start.elapsed().as_secs_f64() >= 2e-3 {
            break;
        }
        reps *= 2;
    }
    let mut samples: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[3]
}

/// This core's peak FLOP/s from the AVX2 FMA loop (best of 5 runs of
/// 2·10^7 iterations × 12 FMAs × 16 FLOP), or `None` without AVX2/FMA.
pub fn measure_peak() -> Option<f64> {
    if !avx2::is_available() {
        return None;
    }
    let iterations = 20_000_000;
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            black_box(avx2::fma_peak_loop(black_box(iterations)));
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    Some((iterations * 12 * 16) as f64 / best)
}

/// Runs `infer kernels`.
///
/// # Errors
/// Usage errors and unreadable inputs.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let mut flags = super::DATA_FLAGS.to_vec();
    flags.push(Flag::Switch("json"));
    let Some(args) = Args::parse("kernels", &flags, argv, &format!("{HELP}{}{HELP_TAIL}", super::DATA_HELP))? else {
        return Ok(());
    };
    args.no_positional()?;
    let loaded = super::load(&args, Kernel::Naive)?;
    let layers = &loaded.layers;
    let images = &loaded.data.images;
    let m_max = 100.min(images.count);
    let naive_model = &loaded.model; // prepared for the naive kernel by load
                                     // the real input of each layer, for m_max images
    let mut inputs = vec![to_f32(&images.pixels[..m_max * images.pixels_per_image()])];
    for l in 1..layers.len() {
        inputs.push(naive_model.hidden(images, 0, m_max, l));
    }
    let peak = measure_peak();
    let mut rows = Vec::new();
    for (l, (layer, a_full)) in layers.iter().zip(&inputs).enumerate() {
        let (k, n) = (layer.k, layer.n);
        for m in [1, m_max] {
            let a = &a_full[..m * k];
            let mut want = vec![0.0; m * n];
            naive::matmul(m, k, n, a, &layer.W, &mut want);
            for &kernel in Kernel::ALL.iter().filter(|k| k.is_available()) {
                let mut b = vec![0.0; kernel.prepared_len(k, n)];
                kernel.prepare(k, n, &layer.W, &mut b);
                let mut c = vec![0.0; m * n];
                kernel.run(m, k, n, a, &b, &mut c);
                // normwise: the largest difference over the largest |C|
                let scale = want.iter().fold(0.0f32, |m, w| m.max(w.abs())).max(f32::MIN_POSITIVE);
                let err = c.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max) / scale;
                let seconds = time_per_call(|| kernel.run(m, k, n, black_box(a), black_box(&b), black_box(&mut c)));
                let gflops = 2.0 * (m * k * n) as f64 / seconds / 1e9;
                rows.push((format!("W{}", l + 1), k, n, m, kernel, seconds, gflops, err));
            }
        }
    }
    if args.has("json") {
        let items: Vec<String> = rows
            .iter()
            .map(|(name, k, n, m, kernel, s, g, e)| {
                format!(
                    "{{\"layer\":\"{name}\",\"k\":{k},\"n\":{n},\"m\":{m},\"kernel\":\"{}\",\"ns_per_call\":{:.1},\"gflops\":{g:.3},\"percent_of_peak\":{},\"error\":{e:.3e}}}",
                    kernel.name(),
                    s * 1e9,
                    peak.map_or("null".into(), |p| format!("{:.2}", 100.0 * g * 1e9 / p))
                )
            })
            .collect();
        outln!("[{}]", items.join(",\n "));
        return Ok(());
    }
    match peak {
        Some(p) => outln!(
            "peak of this core: {:.1} GFLOP/s ({}; AVX2 FMA loop, 12 independent chains, best of 5)",
            p / 1e9,
            super::sweep::cpu_name()
        ),
        None => outln!("peak: not measured (no AVX2/FMA on this CPU)"),
    }
    outln!(
        "{:<14} {:>4}  {:<10} {:>12} {:>9} {:>7}  {:>12}",
        "layer",
        "m",
        "kernel",
        "µs/call",
        "GFLOP/s",
        "% peak",
        "error"
    );
    for (name, k, n, m, kernel, s, g, e) in &rows {
        let pct = peak.map_or("-".into(), |p| format!("{:.1}%", 100.0 * g * 1e9 / p));
        outln!(
            "{:<14} {:>4}  {:<10} {:>12.3} {:>9.2} {:>7}  {:>12.1e}",
            format!("{name} {k}×{n}"),
            m,
            kernel.name(),
            s * 1e6,
            g,
            pct,
            e
        );
    }
    Ok(())
}
