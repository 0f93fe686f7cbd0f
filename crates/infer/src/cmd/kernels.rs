//! `infer kernels`: every rung of the matmul ladder on the network's real
//! layer shapes, checked against the naive kernel, then timed.

use std::hint::black_box;
use std::time::Instant;

use linalg::activation::Activation;
use linalg::int8::{avx2 as int8_avx2, QDense};
use linalg::kernels::naive;
use linalg::kernels::peak::Isa;
use linalg::Kernel;

use crate::args::{Args, Flag};
use crate::lines::Lines;
use crate::model::to_f32;
use crate::quant::{IntKernel, QModel};
use crate::{fail, outln, Failure};

const HELP: &str = "\
infer kernels: the matmul ladder, from the naive triple loop to the AVX2
kernels, on the book's three layer shapes (784×50, 50×100, 100×10) at
batch 1 and batch 100, with real inputs (test images for W1, the previous
layer's activations for W2 and W3).

Each kernel's result is first compared with the naive kernel's (error:
max |C - C_naive| / max |C_naive|), then timed in R rounds, each timing
one sample (calls repeated for at least 2 ms) of every configuration in
turn, so that a machine whose speed drifts slows all of them alike; the
table gives the median and the min–max of the R samples. GFLOP/s counts
2·m·k·n per call (avx2 skips zero inputs, so for W1 it does less work than
that). % of peak divides by the peak of the kernel's own instruction set
(SSE2 for the portable kernels on the default target, AVX2+FMA for the
avx2 ones, AVX2 integer vpmaddwd for the int8-avx2 pass), each measured
in-process by a loop of independent multiply-adds; the AVX-512 peak is
measured too where the CPU has it. The kernels that skip zero inputs
(avx2, int8-avx2) are counted dense-equivalent, so on W1 they can pass
100%.

For the kernels that read the u8 pixels in place (avx2, avx512: what the
network runs), W1 has a second row, \"avx2 on u8\": the same product
computed from the pixels themselves (with a zero bias), at every m.
There avx512-fixed16 and avx2-fixed16 sum W1 in 16-bit fixed point:
their error is about 1e-5 where float32's is about 1e-7.

Beside the peaks, the read bandwidth of the L1d and of the L2: a buffer
of half the L1d, and one of a quarter of the L2 (between 4 L1ds and 512
KB), each read over and over with 256-bit loads (AVX2, else SSE2), best
of 5. W1's rows come from L2 (157 KB, too big for any L1d): at batch 1
its time is about its rows' bytes over the L2 figure.

The int8 rows run one layer of the int8 model (int8 weights, u8 inputs:
the pixels, then the int8 model's own activations), m inputs one call
each; their GFLOP/s are integer GOP/s, and their error is the largest
difference from the portable pass's integers (0: bit-identical).
Pin it for steady numbers: taskset -c 1 infer kernels

Usage: infer kernels [FLAGS]

Flags:
";

const HELP_TAIL: &str = "  --kernel K        kernel names, comma-separated [every one this CPU runs]
  --layers L        layers, comma-separated, e.g. 1,3 or W1 [all]
  --batch-sizes L   rows of A (m), comma-separated [1,100]
  --rounds R        interleaved rounds, 1 ≤ R ≤ 1000 [7]
  --markdown        print the table as Markdown, headed by the CPU
  --json            print one JSON array instead of the table
  -h, --help        this help
  -V, --version     the version of infer
";

/// Calls per sample so that one sample lasts at least 2 ms.
fn calibrate(mut f: impl FnMut()) -> usize {
    f();
    let mut reps = 1usize;
    loop {
        let start = Instant::now();
        for _ in 0..reps {
            f();
        }
        if start.elapsed().as_secs_f64() >= 2e-3 {
            return reps;
        }
        reps *= 2;
    }
}

/// This core's peak FLOP/s for `isa` (best of 5 runs of its peak loop), or
/// `None` where the CPU lacks it.
pub fn measure_peak(isa: Isa) -> Option<f64> {
    let iterations = 20_000_000 / (isa.flop_per_iteration() / 96);
    isa.is_available().then(|| {
        let best = best_of_5(|| {
            black_box(isa.peak_loop(black_box(iterations)));
        });
        (iterations * isa.flop_per_iteration()) as f64 / best
    })
}

/// The fewest seconds of 5 runs of `run`.
fn best_of_5(mut run: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// This core's L1d and L2 in bytes, from sysfs (where it does not say,
/// 32 KB and 1 MB).
pub(crate) fn cache_sizes() -> (usize, usize) {
    use linalg::kernels::params::{l1d_from_sysfs, l2_from_sysfs, L1D_FALLBACK};
    (l1d_from_sysfs().unwrap_or(L1D_FALLBACK), l2_from_sysfs().unwrap_or(1024 * 1024))
}

/// The bytes of the two buffers [`measure_read`] reads: half the L1d, and
/// a quarter of the L2 between 4 L1ds and 512 KB (`(l1d, l2)`, as
/// [`cache_sizes`] gives them), each a whole number of
/// [`linalg::kernels::peak::READ_STEP`]s.
pub(crate) fn read_buffers((l1d, l2): (usize, usize)) -> (usize, usize) {
    let step = 4 * linalg::kernels::peak::READ_STEP;
    let round = |bytes: usize| (bytes / step).max(1) * step;
    (round(l1d / 2), round((l2 / 4).clamp(4 * l1d, 512 * 1024)))
}

/// Bytes a second that [`linalg::kernels::peak::read_loop`] reads from a
/// buffer of `bytes` (best of 5 runs of about 250 MB each). The buffer
/// starts on a 64-byte line, as the prepared weights do: from a plain
/// `Vec`, 16 bytes into a line where the allocator put it, every other
/// 32-byte load spanned two lines and the L1d measured 118–133 GB/s in
/// some processes where it gives 236 (AMD Zen 4, 2026-12-07).
pub(crate) fn measure_read(bytes: usize) -> f64 {
    let mut buf = Lines::<f32>::zeroed(bytes / 4);
    buf.get_mut().fill(1.0);
    let buf = buf.get();
    let passes = (256 << 20) / bytes;
    black_box(linalg::kernels::peak::read_loop(buf, 1));
    let best = best_of_5(|| {
        black_box(linalg::kernels::peak::read_loop(black_box(buf), passes));
    });
    (passes * bytes) as f64 / best
}

/// One integer layer over the inputs `xs` (`k` bytes each), one call per
/// input, the requantized outputs into `out` (`prepared`: the weights as the
/// AVX2 or the VNNI pass reads them, empty for the others). `hidden`: the
/// layer is not the first, so the VNNI pass sums its input as the
/// network's pass does, without looking for zero quads.
fn int_pass(
    ik: IntKernel,
    dense: &QDense<'_>,
    prepared: &(Lines<i16>, Lines<u32>),
    xs: &[u8],
    out: &mut [i32],
    hidden: bool,
) {
    for (x, t) in xs.chunks_exact(dense.k).zip(out.chunks_exact_mut(dense.n)) {
        match ik {
            IntKernel::Portable => dense.requantized(x, t),
            IntKernel::Avx2 => int8_avx2::requantized(dense, prepared.0.get(), x, t),
            IntKernel::Vnni => linalg::int8::vnni::requantized(dense, prepared.1.get(), x, t, hidden),
        }
        .expect("sized by the layer");
    }
}

/// One measured (layer, m, kernel).
struct Row {
    layer: String,
    k: usize,
    n: usize,
    m: usize,
    /// The kernel's name (`avx2`, `int8-portable`, …).
    name: String,
    /// Whose peak it is measured against.
    isa: Isa,
    /// Seconds per call, one sample per round.
    samples: Vec<f64>,
    /// f32: normwise error against naive; int8: the largest difference
    /// from the portable pass's integers (0 when bit-identical).
    error: f64,
}

impl Row {
    /// GFLOP/s, or integer GOP/s: 2·m·k·n per call.
    fn gflops(&self, seconds: f64) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64 / seconds / 1e9
    }
}

fn list<T>(arg: Option<&str>, flag: &str, all: Vec<T>, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, Failure> {
    match arg {
        None => Ok(all),
        Some(list) => list
            .split(',')
            .map(|s| {
                parse(s.trim()).ok_or_else(|| {
                    Failure(format!("--{flag} '{list}': '{s}' is not one of them (see 'infer kernels --help')"))
                })
            })
            .collect(),
    }
}

/// Runs `infer kernels`.
///
/// # Errors
/// Usage errors and unreadable inputs.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let mut flags = super::DATA_FLAGS.to_vec();
    flags.extend([
        Flag::Switch("json"),
        Flag::Switch("markdown"),
        Flag::Value("kernel"),
        Flag::Value("layers"),
        Flag::Value("batch-sizes"),
        Flag::Value("rounds"),
    ]);
    let Some(args) = Args::parse("kernels", &flags, argv, &format!("{HELP}{}{HELP_TAIL}", super::DATA_HELP))? else {
        return Ok(());
    };
    args.no_positional()?;
    if args.has("json") && args.has("markdown") {
        fail!("--json and --markdown are two formats of one table: give one");
    }
    let all: Vec<&str> = Kernel::ALL
        .iter()
        .filter(|k| k.is_available())
        .map(|k| k.name())
        .chain(IntKernel::ALL.iter().filter(|k| k.is_available()).map(|k| k.name()))
        .collect();
    let names = list(args.get("kernel"), "kernel", all.clone(), |s| all.iter().copied().find(|n| *n == s))?;
    let kernels: Vec<Kernel> = names.iter().filter_map(|n| Kernel::from_name(n)).collect();
    let int_kernels: Vec<IntKernel> = IntKernel::ALL.into_iter().filter(|k| names.contains(&k.name())).collect();
    let rounds = args.number("rounds", 1, 7)?;
    if rounds > 1000 {
        fail!("--rounds {rounds} is more than the limit of 1000");
    }
    let loaded = super::load(&args, Kernel::Naive)?;
    let layers = &loaded.layers;
    let images = &loaded.data.images;
    let chosen = list(args.get("layers"), "layers", (0..layers.len()).collect(), |s| {
        let i = s.trim_start_matches('W').parse::<usize>().ok()?;
        (1..=layers.len()).contains(&i).then(|| i - 1)
    })?;
    let m_all =
        list(args.get("batch-sizes"), "batch-sizes", vec![1, 100], |s| s.parse::<usize>().ok().filter(|&m| m >= 1))?;
    let m_max = *m_all.iter().max().expect("at least one batch size");
    if m_max > images.count {
        fail!("batch size {m_max} is more than the {} images", images.count);
    }
    let naive_model = &loaded.model; // prepared for the naive kernel by load
                                     // the real input of each layer, for m_max images
    let mut inputs = vec![to_f32(&images.pixels[..m_max * images.pixels_per_image()])];
    for l in 1..layers.len() {
        inputs.push(naive_model.hidden(images, 0, m_max, l));
    }
    // the int8 model's own inputs of each layer: pixels, then its u8 activations
    let q = QModel::new(layers)?.with_kernel(IntKernel::Portable);
    let mut q_inputs: Vec<Vec<u8>> = vec![images.pixels[..m_max * images.pixels_per_image()].to_vec()];
    for (l, ql) in q.layers.iter().enumerate().take(q.layers.len() - 1) {
        let mut next = Vec::with_capacity(m_max * ql.n);
        let mut t = vec![0i32; ql.n];
        for x in q_inputs[l].chunks_exact(ql.k) {
            ql.dense().requantized(x, &mut t).map_err(|e| Failure(format!("int8 layer {}: {e}", l + 1)))?;
            next.extend(t.iter().map(|&v| linalg::int8::activate(&q.sigmoid, v)));
        }
        q_inputs.push(next);
    }
    // every configuration checked and calibrated before any is timed
    let mut rows = Vec::new();
    let mut jobs: Vec<(Box<dyn FnMut() + '_>, usize)> = Vec::new(); // (one call, calls per sample)
    for &l in &chosen {
        let (layer, a_full) = (&layers[l], &inputs[l]);
        let (k, n) = (layer.k, layer.n);
        for &m in &m_all {
            let a = &a_full[..m * k];
            let mut want = vec![0.0; m * n];
            naive::matmul(m, k, n, a, &layer.W, &mut want);
            // normwise: the largest difference over the largest |C|
            let scale = want.iter().fold(0.0f32, |m, w| m.max(w.abs())).max(f32::MIN_POSITIVE);
            let error_of =
                |c: &[f32]| (c.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max) / scale) as f64;
            for &kernel in &kernels {
                // on a cache line, as the network's (crate::lines)
                let mut b = Lines::zeroed(kernel.prepared_len(k, n));
                kernel.prepare(k, n, &layer.W, b.get_mut());
                let (layer, isa) = (format!("W{}", l + 1), kernel.isa());
                // the same weights for the first layer read as u8 pixels
                let pixels_b =
                    (l == 0 && kernel.reads_pixels()).then(|| (format!("{} on u8", kernel.name()), b.clone()));
                let mut c = vec![0.0; m * n];
                kernel.run(m, k, n, a, b.get(), &mut c);
                let error = error_of(&c);
                let mut call = move || kernel.run(m, k, n, black_box(a), black_box(b.get()), black_box(&mut c));
                let reps = calibrate(&mut call);
                rows.push(Row {
                    layer: layer.clone(),
                    k,
                    n,
                    m,
                    name: kernel.name().to_string(),
                    isa,
                    samples: Vec::new(),
                    error,
                });
                jobs.push((Box::new(call), reps));
                // the first layer as the network runs it with this kernel:
                // the u8 pixels read in place (a zero bias, no activation,
                // so that it computes what the row above does)
                if let Some((name, b)) = pixels_b {
                    let (pixels, zero) = (&images.pixels[..m * k], vec![0.0f32; n]);
                    let mut c = vec![0.0; m * n];
                    kernel.dense_pixels(m, k, n, pixels, b.get(), &zero, Activation::Identity, &mut c);
                    let error = error_of(&c);
                    let mut call = move || {
                        let (p, b, c) = (black_box(pixels), black_box(b.get()), black_box(&mut c));
                        kernel.dense_pixels(m, k, n, p, b, &zero, Activation::Identity, c)
                    };
                    let reps = calibrate(&mut call);
                    rows.push(Row { layer, k, n, m, name, isa, samples: Vec::new(), error });
                    jobs.push((Box::new(call), reps));
                }
            }
            // the integer passes: m images, one call each, on the int8 model's inputs
            let dense = q.layers[l].dense();
            let xs = &q_inputs[l][..m * k];
            let mut want = vec![0i32; m * n];
            int_pass(IntKernel::Portable, &dense, &(Lines::zeroed(0), Lines::zeroed(0)), xs, &mut want, l > 0);
            for &ik in &int_kernels {
                let mut prepared = (Lines::zeroed(0), Lines::zeroed(0));
                if ik == IntKernel::Avx2 {
                    prepared.0 = Lines::zeroed(int8_avx2::prepared_len(k, n));
                    int8_avx2::prepare(&dense, prepared.0.get_mut());
                }
                if ik == IntKernel::Vnni {
                    prepared.1 = Lines::zeroed(linalg::int8::vnni::prepared_len(k, n));
                    linalg::int8::vnni::prepare(&dense, prepared.1.get_mut());
                }
                let mut got = vec![0i32; m * n];
                int_pass(ik, &dense, &prepared, xs, &mut got, l > 0);
                // the largest difference from the portable integers
                let error = got.iter().zip(&want).map(|(a, b)| (*a as i64 - *b as i64).abs()).max().unwrap_or(0) as f64;
                let mut call = move || int_pass(ik, &dense, &prepared, black_box(xs), black_box(&mut got), l > 0);
                let reps = calibrate(&mut call);
                let isa = match ik {
                    IntKernel::Avx2 => Isa::Avx2Int,
                    IntKernel::Vnni => Isa::Vnni,
                    IntKernel::Portable => Isa::Sse2,
                };
                let (layer, name) = (format!("W{}", l + 1), ik.name());
                rows.push(Row { layer, k, n, m, name: name.to_string(), isa, samples: Vec::new(), error });
                jobs.push((Box::new(call), reps));
            }
        }
    }
    let peaks: Vec<(Isa, Option<f64>)> = [Isa::Sse2, Isa::Avx2, Isa::Avx512, Isa::Avx2Int, Isa::Vnni]
        .into_iter()
        .map(|i| (i, measure_peak(i)))
        .collect();
    let (l1_bytes, l2_bytes) = read_buffers(cache_sizes());
    let reads = [("L1d", l1_bytes, measure_read(l1_bytes)), ("L2", l2_bytes, measure_read(l2_bytes))];
    // rounds: one sample of every configuration in turn
    for _ in 0..rounds {
        for (row, (call, reps)) in rows.iter_mut().zip(jobs.iter_mut()) {
            let start = Instant::now();
            for _ in 0..*reps {
                call();
            }
            row.samples.push(start.elapsed().as_secs_f64() / *reps as f64);
        }
    }
    let peak_of = |isa: Isa| peaks.iter().find(|(i, _)| *i == isa).and_then(|(_, p)| *p);
    if args.has("json") {
        let items: Vec<String> = rows
            .iter()
            .map(|r| {
                let (s, lo, hi) = super::sweep::spread(&r.samples);
                format!(
                    "{{\"layer\":\"{}\",\"k\":{},\"n\":{},\"m\":{},\"kernel\":\"{}\",\"isa\":\"{}\",\"ns_per_call\":{:.1},\"ns_min\":{:.1},\"ns_max\":{:.1},\"gflops\":{:.3},\"percent_of_peak\":{},\"error\":{:.3e},\"rounds\":{rounds}}}",
                    r.layer,
                    r.k,
                    r.n,
                    r.m,
                    r.name,
                    r.isa.name(),
                    s * 1e9,
                    lo * 1e9,
                    hi * 1e9,
                    r.gflops(s),
                    peak_of(r.isa).map_or("null".into(), |p| format!("{:.2}", 100.0 * r.gflops(s) * 1e9 / p)),
                    r.error
                )
            })
            .collect();
        outln!("[{}]", items.join(",\n "));
        return Ok(());
    }
    let md = args.has("markdown");
    outln!(
        "{}{}, one core, median of {rounds} interleaved rounds",
        if md { "### " } else { "" },
        super::sweep::cpu_name()
    );
    if md {
        outln!();
    }
    for (isa, p) in &peaks {
        match p {
            Some(p) => outln!(
                "{}peak {}: {:.1} {} (in-process loop, 12 independent chains, best of 5)",
                if md { "- " } else { "" },
                isa.name(),
                p / 1e9,
                if *isa == Isa::Avx2Int { "GOP/s" } else { "GFLOP/s" }
            ),
            None => outln!("{}peak {}: not measured (this CPU lacks it)", if md { "- " } else { "" }, isa.name()),
        }
    }
    for (cache, bytes, rate) in reads {
        outln!(
            "{}read {cache}: {:.1} GB/s (a {} KB buffer read over and over, best of 5)",
            if md { "- " } else { "" },
            rate / 1e9,
            bytes / 1024
        );
    }
    if md {
        outln!();
        outln!("| layer | m | kernel | µs/call | min–max | GFLOP/s | % of its ISA's peak | error |");
        outln!("|---|---|---|---|---|---|---|---|");
    }
    // the kernel column as wide as its longest name ("avx512-union on u8")
    let width = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(0).max(10);
    if !md {
        outln!(
            "{:<14} {:>4}  {:<width$} {:>10} {:>19} {:>9} {:>13}  {:>9}",
            "layer",
            "m",
            "kernel",
            "µs/call",
            "min–max",
            "GFLOP/s",
            "% ISA peak",
            "error"
        );
    }
    for r in &rows {
        let (s, lo, hi) = super::sweep::spread(&r.samples);
        let pct = match (r.name == "int8-portable", peak_of(r.isa)) {
            (true, _) | (_, None) => "-".to_string(), // scalar integer code: no peak measured for it
            (false, Some(p)) => format!("{:.1}% {}", 100.0 * r.gflops(s) * 1e9 / p, r.isa.name()),
        };
        let spread = format!("{:.3}–{:.3}", lo * 1e6, hi * 1e6);
        if md {
            outln!(
                "| {} {}×{} | {} | {} | {:.3} | {spread} | {:.2} | {pct} | {:.1e} |",
                r.layer,
                r.k,
                r.n,
                r.m,
                r.name,
                s * 1e6,
                r.gflops(s),
                r.error
            );
        } else {
            outln!(
                "{:<14} {:>4}  {:<width$} {:>10.3} {:>19} {:>9.2} {:>13}  {:>9.1e}",
                format!("{} {}×{}", r.layer, r.k, r.n),
                r.m,
                r.name,
                s * 1e6,
                spread,
                r.gflops(s),
                pct,
                r.error
            );
        }
    }
    Ok(())
}
