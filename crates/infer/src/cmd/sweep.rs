//! `infer sweep`: throughput against batch size, as a table, JSON or an SVG
//! chart.

use std::time::Instant;

use linalg::Kernel;

use crate::args::{Args, Flag};
use crate::model::Model;
use crate::quant::{IntKernel, QModel};
use crate::{fail, outln, svg, Failure};

const HELP: &str = "\
infer sweep: how throughput moves with batch size. Every configuration
(kernel or precision, and batch size) first runs one untimed warm-up pass
over the images (its predictions must equal the first configuration's of
the same precision), then R rounds, each timing one pass of every
configuration in turn, so that a machine whose speed drifts slows all of
them alike. The table shows each configuration's median images/s with the
min–max of its R passes, and its speedup over the first batch size of the
same kernel, computed within each round: the median of the R ratios, with
their min–max. Under the table, each kernel or int8 pass after the first
f32 kernel against that kernel at the same batch size, round by round;
and where a configuration's passes lie more than 1.3× apart, a line
that names it: the machine changed speed within the rounds, and only the
per-round ratios still hold.

GFLOP/s counts the dense network's FLOPs per image (2 × Σ k·n = 90,400 for
784-50-100-10), whatever a kernel skips: it is comparable across kernels.
Pin it for steady numbers: taskset -c 1 infer sweep

Usage: infer sweep [FLAGS]

Flags:
";

const HELP_TAIL: &str = "  --batch-sizes L   comma-separated batch sizes
                    [1,2,4,8,16,32,64,100,128,256,512,1000,10000]
  --kernel K        a kernel name, a comma-separated list, or 'all'
                    [the fastest available]
  --breakdown       also time each stage on its own (pixel conversion, each
                    layer's matmul with its bias and activation, softmax,
                    argmax) at each batch size, the first f32 kernel and
                    the first int8 pass listed, rounds interleaved: why
                    batch 100 is faster, layer by layer; for step 23's
                    pass below 6 images and the int8 VNNI pass at every
                    batch size, also each layer's cost inside it (the
                    pass less the pass without that layer) and alone (the
                    pass with only that layer), no clock read inside the
                    pass; at batch 1, each layer's floor by throughput
                    (its weights' bytes over the read rate of the cache
                    they come from, its FLOPs over the multiply-add peak,
                    both measured then) beside its cost in step 23's pass,
                    or for other kernels its stage
  --precision P     f32, int8, int8-portable, int8-avx2, int8-vnni,
                    comma-separated; int8 is the integer-only model with the
                    fastest pass this CPU runs [f32]
  --threads L       threads sharing the batches, 0 = every core; a
                    comma-separated list is timed in the same interleaved
                    rounds, each count against the first [1]
  --repeat R        timed passes per point, 1 ≤ R ≤ 1000 [5]
  --limit N         only the first N images
  --markdown        print the table as Markdown, headed by the CPU
  --json            print one JSON array instead of the table
  --plot FILE.svg   also write an SVG chart of images/s against batch size
  -h, --help        this help
  -V, --version     the version of infer
";

const DEFAULT_BATCHES: &[usize] = &[1, 2, 4, 8, 16, 32, 64, 100, 128, 256, 512, 1000, 10000];

/// What runs a configuration: the f32 network with a kernel, or the int8
/// model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The f32 network, weights prepared for this kernel.
    F32(Kernel),
    /// The integer-only int8 model, run by this pass.
    Int8(IntKernel),
}

impl Engine {
    /// The kernel's name, or `int8`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::F32(k) => k.name(),
            Engine::Int8(k) => k.name(),
        }
    }
}

/// One measured point.
#[derive(Clone, Debug)]
pub struct Point {
    /// The kernel or precision.
    pub kernel: Engine,
    /// Images per forward pass.
    pub batch_size: usize,
    /// Threads.
    pub threads: usize,
    /// Median images/s over the timed passes.
    pub median: f64,
    /// Slowest pass, images/s.
    pub min: f64,
    /// Fastest pass, images/s.
    pub max: f64,
    /// Dense-equivalent GFLOP/s (GOP/s for int8) at the median.
    pub gflops: f64,
    /// Over the same engine's first configuration (its first thread count
    /// and first batch size), round by round: (median, min, max) of the
    /// ratios.
    pub speedup: (f64, f64, f64),
    /// An int8 point, or a point of an f32 kernel after the first, over the
    /// first f32 kernel at the same batch size and thread count, round by
    /// round (median, min, max), when the sweep has both.
    pub vs_f32: Option<(f64, f64, f64)>,
    /// Over the same engine and batch size at the sweep's first thread
    /// count, round by round (median, min, max), for the other counts.
    pub vs_threads: Option<(f64, f64, f64)>,
}

/// What runs one engine: the f32 model `load` prepared, another kernel's,
/// or the int8 model with its pass.
enum Runner<'a> {
    Loaded(&'a Model),
    F32(Model),
    Int8(Box<QModel>),
}

/// (median, min, max) of `v`.
pub(crate) fn spread(v: &[f64]) -> (f64, f64, f64) {
    let mut v = v.to_vec();
    let m = median(&mut v);
    (m, v[0], v[v.len() - 1])
}

/// The median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The most timed passes `--repeat` may ask for.
const MAX_REPEAT: usize = 1000;

/// The most batch sizes one sweep may list.
const MAX_POINTS: usize = 64;

/// Runs `infer sweep`.
///
/// # Errors
/// Usage errors and unreadable inputs.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let mut flags = super::DATA_FLAGS.to_vec();
    flags.extend([
        Flag::Value("batch-sizes"),
        Flag::Value("kernel"),
        Flag::Value("threads"),
        Flag::Value("repeat"),
        Flag::Value("limit"),
        Flag::Value("plot"),
        Flag::Value("precision"),
        Flag::Switch("json"),
        Flag::Switch("breakdown"),
        Flag::Switch("markdown"),
    ]);
    let Some(args) = Args::parse("sweep", &flags, argv, &format!("{HELP}{}{HELP_TAIL}", super::DATA_HELP))? else {
        return Ok(());
    };
    args.no_positional()?;
    let batches = match args.get("batch-sizes") {
        None => DEFAULT_BATCHES.to_vec(),
        Some(list) => parse_list(list)?,
    };
    let kernels = kernels(args.get("kernel"))?;
    let mut engines: Vec<Engine> = Vec::new();
    for precision in args.get("precision").unwrap_or("f32").split(',') {
        match precision.trim() {
            "f32" => engines.extend(kernels.iter().map(|&k| Engine::F32(k))),
            "int8" => engines.push(Engine::Int8(IntKernel::best())),
            "int8-portable" => engines.push(Engine::Int8(IntKernel::Portable)),
            "int8-avx2" if IntKernel::Avx2.is_available() => engines.push(Engine::Int8(IntKernel::Avx2)),
            "int8-vnni" if IntKernel::Vnni.is_available() => engines.push(Engine::Int8(IntKernel::Vnni)),
            other => fail!(
                "--precision '{other}' is not a precision this CPU runs, expected f32, int8, int8-portable, int8-avx2 or int8-vnni (comma-separated)"
            ),
        }
    }
    if args.has("breakdown") && args.has("json") {
        fail!("--breakdown prints a table and cannot be combined with --json");
    }
    if args.has("markdown") && args.has("json") {
        fail!("--json and --markdown are two formats of one table: give one");
    }
    let thread_counts = thread_list(args.get("threads"))?;
    let repeat = args.number("repeat", 1, 5)?;
    if repeat > MAX_REPEAT {
        fail!("--repeat {repeat} is more than the limit of {MAX_REPEAT}");
    }
    if let Some(p) = args.get("plot") {
        super::refuse_to_overwrite_inputs(std::path::Path::new(p), "plot", &args)?;
    }
    let loaded = super::load(&args, kernels[0])?;
    let images = &loaded.data.images;
    let total = loaded.limit(&args)?;

    // every engine ready before any timing: weights prepared, int8 quantized
    let quantized =
        if engines.iter().any(|e| matches!(e, Engine::Int8(_))) { Some(QModel::new(&loaded.layers)?) } else { None };
    let mut runners: Vec<Runner<'_>> = Vec::new();
    for &e in &engines {
        runners.push(match (e, &quantized) {
            (Engine::Int8(k), Some(q)) => Runner::Int8(Box::new(q.clone().with_kernel(k))),
            (Engine::F32(k), _) if k != loaded.model.kernel() => Runner::F32(Model::new(&loaded.layers, k)?),
            _ => Runner::Loaded(&loaded.model),
        });
    }
    let run = |e: usize, threads: usize, batch: usize, out: &mut [u8]| match &runners[e] {
        Runner::Loaded(m) => m.predict(images, batch, threads, out),
        Runner::F32(m) => m.predict(images, batch, threads, out),
        Runner::Int8(q) => q.predict(images, batch, threads, out),
    };
    // (engine index, threads, batch size) in table order
    let mut configs: Vec<(usize, usize, usize)> = Vec::new();
    for e in 0..engines.len() {
        for &t in &thread_counts {
            configs.extend(batches.iter().map(|&b| (e, t, b)));
        }
    }
    let mut predictions = vec![0u8; total];
    let mut reference: Vec<(bool, Vec<u8>)> = Vec::new(); // (is int8, predictions)
    for &(e, threads, batch) in &configs {
        run(e, threads, batch, &mut predictions); // warm-up, checked
        let is_int8 = matches!(engines[e], Engine::Int8(_));
        match reference.iter().find(|(i, _)| *i == is_int8) {
            None => reference.push((is_int8, predictions.clone())),
            Some((_, r)) if *r != predictions => fail!(
                "{} at batch size {batch} with {threads} thread(s) predicts differently from the first configuration of its precision; not timing it",
                engines[e].name()
            ),
            Some(_) => {}
        }
    }
    // rates[c][r]: configuration c in round r, the configurations in turn
    let mut rates = vec![Vec::with_capacity(repeat); configs.len()];
    for _ in 0..repeat {
        for (c, &(e, threads, batch)) in configs.iter().enumerate() {
            let start = Instant::now();
            run(e, threads, batch, &mut predictions);
            rates[c].push(total as f64 / start.elapsed().as_secs_f64());
        }
    }
    let mut points = Vec::new();
    for (c, &(e, threads, batch)) in configs.iter().enumerate() {
        // per round: over the engine's first configuration, and (int8) over
        // the first f32 kernel at this batch size and thread count
        let over = |d: usize| spread(&rates[c].iter().zip(&rates[d]).map(|(a, b)| a / b).collect::<Vec<_>>());
        let first = configs.iter().position(|&(e2, _, _)| e2 == e).expect("c is among them");
        let f32_twin = configs
            .iter()
            .position(|&(e2, t2, b2)| matches!(engines[e2], Engine::F32(_)) && t2 == threads && b2 == batch);
        // (an int8 pass, or an f32 kernel after the first, against it)
        let vs_f32 = f32_twin.filter(|&f| configs[f].0 != e).map(over);
        let one_count = configs.iter().position(|&(e2, t2, b2)| e2 == e && t2 == thread_counts[0] && b2 == batch);
        let vs_threads = one_count.filter(|_| threads != thread_counts[0]).map(over);
        let (median, min, max) = spread(&rates[c]);
        points.push(Point {
            kernel: engines[e],
            batch_size: batch,
            threads,
            median,
            min,
            max,
            gflops: median * loaded.model.flops_per_image() as f64 / 1e9,
            speedup: over(first),
            vs_f32,
            vs_threads,
        });
    }

    let threads = thread_counts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(",");
    let several = thread_counts.len() > 1;
    // the baseline of the speedup column
    let baseline = if several {
        format!("batch {}, {} thread(s)", batches[0], thread_counts[0])
    } else {
        format!("batch {}", batches[0])
    };
    if let Some(path) = args.get("plot") {
        let title =
            format!("{} network, {total} MNIST images, {threads} thread(s), {}", loaded.model.describe(), cpu_name());
        std::fs::write(path, svg::throughput_chart(&title, &points))
            .map_err(|e| Failure(format!("{path}: cannot write the chart: {e}")))?;
    }
    if args.has("json") {
        let rows: Vec<String> = points
            .iter()
            .map(|p| {
                format!(
                    "{{\"batch_size\":{},\"threads\":{},\"kernel\":\"{}\",\"precision\":\"{}\",\"images_per_second\":{:.0},\"min\":{:.0},\"max\":{:.0},\"gflops\":{:.3},\"speedup\":{:.3},\"speedup_min\":{:.3},\"speedup_max\":{:.3},{}{}\"repeat\":{repeat},\"images\":{total}}}",
                    p.batch_size,
                    p.threads,
                    p.kernel.name(),
                    if matches!(p.kernel, Engine::Int8(_)) { "int8" } else { "f32" },
                    p.median,
                    p.min,
                    p.max,
                    p.gflops,
                    p.speedup.0,
                    p.speedup.1,
                    p.speedup.2,
                    p.vs_f32.map_or(String::new(), |(m, lo, hi)| format!(
                        "\"vs_f32\":{m:.3},\"vs_f32_min\":{lo:.3},\"vs_f32_max\":{hi:.3},"
                    )),
                    p.vs_threads.map_or(String::new(), |(m, lo, hi)| format!(
                        "\"vs_first_threads\":{m:.3},\"vs_first_threads_min\":{lo:.3},\"vs_first_threads_max\":{hi:.3},"
                    ))
                )
            })
            .collect();
        outln!("[{}]", rows.join(",\n "));
        return Ok(());
    }
    if args.has("markdown") {
        outln!("### {}, {total} images, {threads} thread(s), median of {repeat} interleaved rounds", cpu_name());
        outln!();
        let (th, th_rule) = if several { ("threads | ", "---|") } else { ("", "") };
        outln!(
            "| batch | {th}kernel | images/s | min–max | GFLOP/s | speedup over {baseline} (per round) | its min–max |"
        );
        outln!("|---|{th_rule}---|---|---|---|---|---|");
        for p in &points {
            outln!(
                "| {} | {}{} | {:.0} | {:.0}–{:.0} | {:.2} | {:.2}× | {:.2}–{:.2} |",
                p.batch_size,
                if several { format!("{} | ", p.threads) } else { String::new() },
                p.kernel.name(),
                p.median,
                p.min,
                p.max,
                p.gflops,
                p.speedup.0,
                p.speedup.1,
                p.speedup.2
            );
        }
    } else {
        outln!(
            "{total} images, {} network, {threads} thread(s), median of {repeat} interleaved rounds, {}",
            loaded.model.describe(),
            cpu_name()
        );
        outln!("speedup: over the same kernel at {baseline}, the median of the per-round ratios");
        // the kernel column as wide as its longest name
        let width = points.iter().map(|p| p.kernel.name().len()).max().unwrap_or(0).max(6);
        outln!(
            "{:>6}  {}{:<width$} {:>12}  {:>23}  {:>7}  {:>7}  {:>13}",
            "batch",
            if several { format!("{:>7}  ", "threads") } else { String::new() },
            "kernel",
            "images/s",
            "min–max",
            "GFLOP/s",
            "speedup",
            "its min–max"
        );
        for p in &points {
            outln!(
                "{:>6}  {}{:<width$} {:>12.0}  {:>23}  {:>7.2}  {:>6.2}×  {:>13}",
                p.batch_size,
                if several { format!("{:>7}  ", p.threads) } else { String::new() },
                p.kernel.name(),
                p.median,
                format!("{:.0}–{:.0}", p.min, p.max),
                p.gflops,
                p.speedup.0,
                format!("{:.2}–{:.2}", p.speedup.1, p.speedup.2)
            );
        }
    }
    let md = args.has("markdown");
    let spreads: Vec<(String, f64, f64)> = points
        .iter()
        .map(|p| {
            let threads = if several { format!(", {} thread(s)", p.threads) } else { String::new() };
            (format!("{} at batch {}{threads}", p.kernel.name(), p.batch_size), p.min, p.max)
        })
        .collect();
    if let Some(note) = unsteady_note(&spreads) {
        outln!("{}{note}", if md { "\n" } else { "" });
    }
    if several {
        outln!();
        for p in points.iter().filter(|p| p.vs_threads.is_some()) {
            let (m, lo, hi) = p.vs_threads.expect("filtered");
            outln!(
                "{}{} at batch {}: {} threads against {}: {m:.2}× (per round, {lo:.2}–{hi:.2})",
                if md { "- " } else { "" },
                p.kernel.name(),
                p.batch_size,
                p.threads,
                thread_counts[0]
            );
        }
    }
    if points.iter().any(|p| matches!(p.kernel, Engine::Int8(_))) {
        outln!(
            "{}int8: GFLOP/s is integer GOP/s, the dense network's operations per image",
            if md { "\n" } else { "" }
        );
    } else if points.iter().any(|p| p.vs_f32.is_some()) && md {
        outln!();
    }
    for p in points.iter().filter(|p| p.vs_f32.is_some()) {
        let (m, lo, hi) = p.vs_f32.expect("filtered");
        let with = if several { format!(", {} thread(s)", p.threads) } else { String::new() };
        outln!(
            "{}{} at batch {}{with} against {} at batch {}{with}: {m:.2}× (per round, {lo:.2}–{hi:.2})",
            if md { "- " } else { "" },
            p.kernel.name(),
            p.batch_size,
            engines.iter().find(|e| matches!(e, Engine::F32(_))).map_or("f32", |e| e.name()),
            p.batch_size
        );
    }
    if args.has("breakdown") {
        // the first f32 kernel listed, and the first int8 pass
        let f32_model = runners.iter().find_map(|r| match r {
            Runner::F32(m) => Some(m),
            Runner::Loaded(m) => Some(*m),
            Runner::Int8(_) => None,
        });
        if let Some(model) = f32_model {
            let footnote = model.kernel().runs_step_23_pass().then_some(
                "(step 23's passes below 6 images skip the network's checks; stage by stage, these are the kernel's layer calls)",
            );
            let names = crate::model::stage_names(&model.shapes(), model.kernel());
            let run = |batch: usize, out: &mut [u8]| model.breakdown(images, batch, out);
            let stages = breakdown(&names, model.kernel().name(), footnote, run, total, &batches, repeat)?;
            // step 23's pass runs below 6 images; larger batches take the
            // network's own pass, which leaves no layer out
            let small: Vec<usize> =
                batches.iter().copied().filter(|&b| b < linalg::kernels::avx512_chain::M_CHAIN).collect();
            let time =
                |batch: usize, left_out: u64, out: &mut [u8]| model.time_pass_without(images, batch, left_out, out);
            let layers = &names[1..=model.shapes().len()];
            let measured =
                inside_the_pass("step 23's pass", model.kernel().name(), time, layers, total, &small, repeat)?;
            // at batch 1, each layer's floor beside its cost inside step
            // 23's pass, or where there is none, beside its stage
            if let Some(b) = batches.iter().position(|&b| b == 1) {
                let from_stages;
                let (cost, against) = match small.iter().position(|&b| b == 1).and_then(|b| measured.get(b)) {
                    Some(inside) => (inside, "its cost inside step 23's pass"),
                    None => {
                        from_stages = LayerCosts {
                            layers: stages[1..=layers.len()].iter().map(|s| s[b]).collect(),
                            whole: stages.iter().map(|s| s[b]).sum(),
                        };
                        (&from_stages, "its stage at batch 1, clock read included")
                    }
                };
                floors_at_batch_1(model, layers, &images.pixels[..total * model.input_len()], cost, against)?;
            }
        }
        if let Some(q) = runners.iter().find_map(|r| if let Runner::Int8(q) = r { Some(q) } else { None }) {
            let footnote = Some(if q.kernel() == IntKernel::Avx2 {
                "(int8-avx2 runs each layer over the whole batch: the clock is read once a layer a batch)"
            } else {
                "(this pass runs image by image: the clock is read after each layer of each image, and each read waits for the layer's last instructions, so the stages add up to more than the pass takes untimed)"
            });
            let run = |batch: usize, out: &mut [u8]| q.breakdown(images, batch, out);
            let names = q.stage_names();
            let _ = breakdown(&names, q.kernel().name(), footnote, run, total, &batches, repeat)?;
            // the VNNI pass runs image by image at every batch size
            let time = |batch: usize, left_out: u64, out: &mut [u8]| q.time_pass_without(images, batch, left_out, out);
            let layers = &names[1..names.len() - 1];
            let measured = inside_the_pass("the VNNI pass", q.kernel().name(), time, layers, total, &batches, repeat)?;
            // at batch 1, each layer's floor beside its cost inside the pass
            if let Some(cost) = batches.iter().position(|&b| b == 1).and_then(|b| measured.get(b)) {
                int8_floors_at_batch_1(q, layers, &images.pixels[..total * q.layers[0].k], cost)?;
            }
        }
    }
    Ok(())
}

/// Passes of one configuration further apart than this (the fastest over
/// the slowest) mean that the machine changed speed within the rounds:
/// the rule `make measure` applies before it gives a target a verdict.
const UNSTEADY: f64 = 1.3;

/// The line under the table where some configurations' passes (`spreads`:
/// a label, the slowest and the fastest images/s) lie more than
/// [`UNSTEADY`] apart: the widest three, how many more, and what of the
/// table still holds.
fn unsteady_note(spreads: &[(String, f64, f64)]) -> Option<String> {
    let mut apart: Vec<(&str, f64)> = spreads
        .iter()
        .filter(|(_, min, max)| *max > UNSTEADY * min)
        .map(|(label, min, max)| (label.as_str(), max / min))
        .collect();
    apart.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut named: Vec<String> = apart.iter().take(3).map(|(label, r)| format!("{label} {r:.2}×")).collect();
    if apart.len() > 3 {
        named.push(format!("and {} more of the {}", apart.len() - 3, spreads.len()));
    }
    (!apart.is_empty()).then(|| {
        format!(
            "unsteady: the machine changed speed within the rounds (passes further apart than {UNSTEADY}×: {}); the speedups, taken round by round, still compare like with like; the images/s do not: rerun for those",
            named.join(", ")
        )
    })
}

/// The stage table of `--breakdown` for one kernel (`name`): ns per image
/// in each of `names` at each batch size, the median of `repeat` rounds,
/// each round timing every batch size in turn by `run(batch, out)`, which
/// returns the seconds of each stage. Returns the table: for each stage,
/// its ns per image at each batch size.
fn breakdown(
    names: &[String],
    name: &str,
    footnote: Option<&str>,
    mut run: impl FnMut(usize, &mut [u8]) -> Vec<f64>,
    total: usize,
    batches: &[usize],
    repeat: usize,
) -> Result<Vec<Vec<f64>>, Failure> {
    let mut out = vec![0u8; total];
    // seconds[b][stage][round]
    let mut seconds = vec![vec![Vec::with_capacity(repeat); names.len()]; batches.len()];
    for _ in 0..repeat {
        for (b, &batch) in batches.iter().enumerate() {
            for (stage, s) in run(batch, &mut out).into_iter().enumerate() {
                seconds[b][stage].push(s);
            }
        }
    }
    outln!();
    outln!(
        "where the time goes ({name}, one thread, ns per image, median of {repeat} rounds; the clock read between stages adds ~20 ns to each)"
    );
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(30);
    let mut header = format!("{:<width$}", "stage");
    for &b in batches {
        header += &format!(" {:>9}", format!("batch {b}"));
    }
    outln!("{header}");
    let per_image = |v: &mut Vec<f64>| median(v) * 1e9 / total as f64;
    let mut totals = vec![0.0; batches.len()];
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    for (stage, name) in names.iter().enumerate() {
        let ns: Vec<f64> = (0..batches.len()).map(|b| per_image(&mut seconds[b][stage])).collect();
        for (t, v) in totals.iter_mut().zip(&ns) {
            *t += v;
        }
        rows.push((name.clone(), ns));
    }
    for (name, ns) in &rows {
        let mut line = format!("{name:<width$}");
        for (v, t) in ns.iter().zip(&totals) {
            line += &format!(" {:>9}", format!("{v:.0} {:>2.0}%", 100.0 * v / t));
        }
        outln!("{line}");
    }
    let mut line = format!("{:<width$}", "total");
    for t in &totals {
        line += &format!(" {:>9}", format!("{t:.0}"));
    }
    outln!("{line}");
    if let Some(f) = footnote {
        outln!("{f}");
    }
    Ok(rows.into_iter().map(|(_, ns)| ns).collect())
}

/// Under `--breakdown`, for a pass that can leave layers out (`pass`:
/// step 23's below 6 images, the int8 VNNI pass at every batch size;
/// `time(batch, left_out, out)` gives the seconds of one pass over the
/// images with the layers whose bits are set in `left_out` left out, or
/// `None` where kernel `name` does not run such a pass): at each of
/// `batches`, each layer's cost inside the pass (the pass's time less the
/// time of the same pass with the layer left out) and alone (the pass
/// with only that layer, less the pass with no layer: the checks, the
/// loop and the argmax), so that the whole pass less the layers alone and
/// the rest is what the layers' waiting on each other costs. Every
/// configuration runs in each round, starting one further along each
/// round; each figure is the median of its per-round differences, ns per
/// image. No clock is read inside the pass, so at batch 1 this is the
/// stage table's account without its ~20 ns a stage; `layers` names the
/// layers.
fn inside_the_pass(
    pass: &str,
    name: &str,
    mut time: impl FnMut(usize, u64, &mut [u8]) -> Option<f64>,
    layers: &[String],
    total: usize,
    small: &[usize],
    repeat: usize,
) -> Result<Vec<LayerCosts>, Failure> {
    let mut out = vec![0u8; total];
    if small.is_empty() || time(small[0], 0, &mut out).is_none() {
        return Ok(Vec::new());
    }
    // the layers left out: none (the whole pass), each one, all but each
    // one, every one
    let every = (1u64 << layers.len()) - 1;
    let configs: Vec<u64> = std::iter::once(0)
        .chain((0..layers.len()).map(|i| 1 << i))
        .chain((0..layers.len()).map(|i| every & !(1 << i)))
        .chain(std::iter::once(every))
        .collect();
    let at = |left_out: u64| configs.iter().position(|&c| c == left_out).expect("a configuration");
    // seconds[batch][config][round]
    let mut seconds = vec![vec![Vec::with_capacity(repeat); configs.len()]; small.len()];
    for round in 0..repeat {
        for (b, &batch) in small.iter().enumerate() {
            for c in (0..configs.len()).map(|c| (c + round) % configs.len()) {
                let s = time(batch, configs[c], &mut out).expect("checked above");
                seconds[b][c].push(s);
            }
        }
    }
    let ns = |s: f64| s * 1e9 / total as f64;
    // the median over the rounds of a − b, ns per image
    let diff = |s: &[Vec<f64>], a: usize, b: usize| {
        let mut d: Vec<f64> = s[a].iter().zip(&s[b]).map(|(a, b)| a - b).collect();
        ns(median(&mut d))
    };
    outln!();
    outln!(
        "inside {pass} ({name}, one thread, ns per image, median of {repeat} rounds): a layer's cost in the pass is the pass's time less the same pass's without the layer; alone, the pass with only that layer less the pass with none; no clock is read inside the pass"
    );
    let width = layers.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(44);
    let (mut header, mut sub) = (format!("{:<width$}", "layer"), format!("{:<width$}", ""));
    for &b in small {
        header += &format!(" {:>18}", format!("batch {b}"));
        sub += &format!(" {:>11} {:>6}", "in the pass", "alone");
    }
    outln!("{header}");
    outln!("{sub}");
    // at each batch size, the whole pass and the pass with no layer
    let whole: Vec<f64> = seconds.iter_mut().map(|s| ns(median(&mut s[at(0)]))).collect();
    let none: Vec<f64> = seconds.iter_mut().map(|s| ns(median(&mut s[at(every)]))).collect();
    let mut added = vec![(0.0, 0.0); small.len()];
    let mut measured: Vec<LayerCosts> =
        whole.iter().map(|&whole| LayerCosts { layers: Vec::with_capacity(layers.len()), whole }).collect();
    for (i, name) in layers.iter().enumerate() {
        let mut line = format!("{name:<width$}");
        for (b, s) in seconds.iter().enumerate() {
            let inside = diff(s, at(0), at(1 << i));
            let alone = diff(s, at(every & !(1 << i)), at(every));
            added[b].0 += inside;
            added[b].1 += alone;
            measured[b].layers.push(inside);
            line += &format!(" {:>11} {alone:>6.0}", format!("{inside:.0} {:>2.0}%", 100.0 * inside / whole[b]));
        }
        outln!("{line}");
    }
    // each row: a label and, at each batch size, its "in the pass" and
    // "alone" cells (None: empty)
    type Cells = Vec<(Option<f64>, Option<f64>)>;
    let rows: [(&str, Cells); 4] = [
        ("the layers, added up", added.iter().map(|&(i, a)| (Some(i), Some(a))).collect()),
        ("no layer: the checks, the loop and the argmax", none.iter().map(|&v| (None, Some(v))).collect()),
        ("the whole pass", whole.iter().map(|&v| (Some(v), None)).collect()),
        (
            "the whole pass less the layers alone and no layer",
            whole.iter().zip(&none).zip(&added).map(|((w, n), (_, a))| (None, Some(w - n - a))).collect(),
        ),
    ];
    let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.0}"));
    for (label, values) in rows {
        let mut line = format!("{label:<width$}");
        for (inside, alone) in values {
            line += &format!(" {:>11} {:>6}", cell(inside), cell(alone));
        }
        outln!("{}", line.trim_end());
    }
    Ok(measured)
}

/// What a pass costs at one batch size, ns per image: each layer, and the
/// whole pass ([`inside_the_pass`]'s figures, or the stage table's).
struct LayerCosts {
    layers: Vec<f64>,
    whole: f64,
}

/// One layer's floor at batch 1: the bytes of weights it reads an image,
/// the size of all of its prepared weights (which cache they fit), the
/// operations of its multiply-adds an image and the peak rate they run at.
struct Floor {
    bytes: f64,
    size: usize,
    ops: f64,
    peak: f64,
}

/// Under `--breakdown` at batch 1: what each layer of `model` must cost
/// at least, by throughput alone, beside what it costs (`cost`, measured
/// as `against` says: inside step 23's pass where the kernel runs it,
/// else its stage). A layer's
/// floor is the larger of two times: the bytes of weights it needs an
/// image over the read rate of the cache they come from (the L1d where
/// all of the layer's weights fit in it, else the L2), and its
/// multiply-adds' FLOPs over the FMA peak of the kernel's instruction
/// set. Where the kernel skips zero inputs, the first layer reads only the
/// rows of the image's non-zero pixels, so its bytes and FLOPs are those
/// of the mean non-zero pixel count of `pixels` (the images the pass
/// ran); steps 25 and 26 read two rows of 16-bit weights for each pair of
/// pixels with a non-zero one, step 25 at `vpdpwssd`'s peak (half the
/// VNNI peak: two multiply-adds a lane where `vpdpbusd` does four). The
/// read rates and the peak are measured here as `infer kernels` measures
/// them. What the floors leave out is latency: at batch 1 each layer
/// waits on the last result of the one before. And W1's floor counts
/// every row it reads from L2, as step 23's pass reads them: a pass that
/// left W1's rows more of the L1d would find some of them there, since
/// half of a test image's non-zero pixels are non-zero in the image
/// before it.
fn floors_at_batch_1(
    model: &Model,
    layers: &[String],
    pixels: &[u8],
    cost: &LayerCosts,
    against: &str,
) -> Result<(), Failure> {
    let isa = model.kernel().isa();
    let Some(peak) = super::kernels::measure_peak(isa) else {
        // a CPU without the kernel's vector unit (the portable kernels off
        // x86): no multiply-add peak to time, so no floors
        outln!();
        outln!(
            "what bounds each layer at batch 1 ({}): not measured, this CPU has no {} multiply-add loop to time for the floors' peak",
            model.kernel().name(),
            isa.name()
        );
        return Ok(());
    };
    let k_first = model.input_len();
    let skips = model.kernel().skips_zero_inputs();
    let per_image = |count: usize| per_image(count, k_first, pixels);
    let non_zero = per_image(pixels.iter().filter(|&&p| p != 0).count());
    let fixed16 = matches!(model.kernel(), Kernel::Avx512Fixed16 | Kernel::Avx2Fixed16) && k_first.is_multiple_of(2);
    let pairs =
        if fixed16 { per_image(pixels.chunks_exact(2).filter(|p| p[0] != 0 || p[1] != 0).count()) } else { 0.0 };
    // step 25's multiply-adds at vpdpwssd's peak; step 26's (vpmaddwd and
    // vpaddd) at the AVX2 FMAs' rate, which is what both pipes give
    let first_peak = match model.kernel() {
        Kernel::Avx512Fixed16 => super::kernels::measure_peak(linalg::kernels::peak::Isa::Vnni).map(|p| p / 2.0),
        _ => Some(peak),
    }
    .unwrap_or(peak);
    let first_rows = if fixed16 {
        format!(
            "W1 reads two rows in 16 bits for each pair of pixels of which one is not 0 ({pairs:.1} of {} pairs on the mean), its multiply-adds at {:.1} GOP/s",
            k_first / 2,
            first_peak / 1e9
        )
    } else if skips {
        format!("W1 reads only the rows of the images' non-zero pixels ({non_zero:.1} of {k_first} on the mean)")
    } else {
        "W1 reads every row: this kernel does not skip zero inputs".to_string()
    };
    let floors: Vec<Floor> = model
        .shapes()
        .into_iter()
        .enumerate()
        .map(|(i, (k, n))| {
            // the rows the layer reads an image and the bytes of a weight
            let (rows, bytes_per_weight, peak) = match i {
                0 if fixed16 => (2.0 * pairs, 2, first_peak),
                0 if skips => (non_zero, 4, peak),
                _ => (k as f64, 4, peak),
            };
            let (bytes, size) = (rows * (n * bytes_per_weight) as f64, k * n * bytes_per_weight);
            Floor { bytes, size, ops: 2.0 * rows * n as f64, peak }
        })
        .collect();
    let ops = format!("its multiply-adds' FLOPs over the {} multiply-add peak ({:.1} GFLOP/s)", isa.name(), peak / 1e9);
    floors_table(model.kernel().name(), &ops, &first_rows, layers, &floors, cost, against)
}

/// The same for the int8 VNNI pass, against its cost inside the pass: W1
/// in quads of rows of int8 weights, read for each group of four pixels
/// of which one is not 0, the hidden layers' every quad (their inputs are
/// rarely 0), each quad's row as [`linalg::int8::vnni::split`] lays it out
/// (W1: 48 columns of 4 bytes and a tail of 2, 200 bytes); the operations
/// over the VNNI peak (`vpdpbusd`).
fn int8_floors_at_batch_1(q: &QModel, layers: &[String], pixels: &[u8], cost: &LayerCosts) -> Result<(), Failure> {
    let Some(peak) = super::kernels::measure_peak(linalg::kernels::peak::Isa::Vnni) else {
        return Ok(());
    };
    let k_first = q.layers[0].k;
    let quads = per_image(pixels.chunks(4).filter(|g| g.iter().any(|&p| p != 0)).count(), k_first, pixels);
    let floors: Vec<Floor> = q
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (main, tail) = linalg::int8::vnni::split(l.n);
            let row = 4 * (main + tail);
            let all = l.k.div_ceil(4);
            let used = if i == 0 { quads } else { all as f64 };
            Floor { bytes: used * row as f64, size: all * row, ops: 2.0 * used * 4.0 * l.n as f64, peak }
        })
        .collect();
    let first_rows = format!(
        "W1 reads a quad of rows of int8 weights for each group of four pixels of which one is not 0 ({quads:.1} of {} quads on the mean), the hidden layers every quad",
        k_first.div_ceil(4)
    );
    let ops = format!("its multiply-adds' operations over the VNNI peak ({:.1} GOP/s)", peak / 1e9);
    floors_table(q.kernel().name(), &ops, &first_rows, layers, &floors, cost, "its cost inside the VNNI pass")
}

/// A count over all of `pixels` (images of `k` pixels each), per image.
fn per_image(count: usize, k: usize, pixels: &[u8]) -> f64 {
    (count * k) as f64 / pixels.len() as f64
}

/// The floors' table: its heading, a row a layer with its floor beside its
/// cost, the layers added up, the whole pass.
fn floors_table(
    kernel: &str,
    ops: &str,
    first_rows: &str,
    layers: &[String],
    floors: &[Floor],
    cost: &LayerCosts,
    against: &str,
) -> Result<(), Failure> {
    let (l1d, l2) = super::kernels::cache_sizes();
    let (l1_buffer, l2_buffer) = super::kernels::read_buffers((l1d, l2));
    let (l1_read, l2_read) = (super::kernels::measure_read(l1_buffer), super::kernels::measure_read(l2_buffer));
    outln!();
    outln!(
        "what bounds each layer at batch 1 ({kernel}, ns per image): its floor by throughput alone is the larger of its weights' bytes over the read rate of the cache they come from (the L1d where the layer's weights fit in it, else the L2) and {ops}; {first_rows}; measured now: L1d {:.1} GB/s, L2 {:.1} GB/s; set against {against}; latency, each layer waiting on the one before, is not in the floors",
        l1_read / 1e9,
        l2_read / 1e9,
    );
    let width = layers.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(20);
    outln!(
        "{:<width$} {:>7} {:>4} {:>9} {:>7} {:>9} {:>6} {:>8} {:>16}",
        "layer",
        "bytes",
        "from",
        "at rate",
        "FLOP",
        "at peak",
        "floor",
        "measured",
        "floor ÷ measured"
    );
    let (mut total, mut spent_on_layers) = (0.0, 0.0);
    let row = |label: &str, cells: [&str; 5], floor: f64, spent: f64| {
        let [bytes, from, at_rate, flop, at_peak] = cells;
        format!(
            "{label:<width$} {bytes:>7} {from:>4} {at_rate:>9} {flop:>7} {at_peak:>9} {floor:>6.0} {spent:>8.0} {:>15.0}%",
            100.0 * floor / spent
        )
    };
    for (i, (f, name)) in floors.iter().zip(layers).enumerate() {
        let (from, rate) = match f.size {
            b if b <= l1d => ("L1d", Some(l1_read)),
            b if b <= l2 => ("L2", Some(l2_read)),
            _ => ("mem", None),
        };
        let (read_ns, peak_ns) = (rate.map(|r| f.bytes / r * 1e9), f.ops / f.peak * 1e9);
        let floor = read_ns.unwrap_or(0.0).max(peak_ns);
        let spent = cost.layers[i];
        total += floor;
        spent_on_layers += spent;
        let at_rate = read_ns.map_or("?".to_string(), |t| format!("{t:.0}"));
        let cells = [&format!("{:.0}", f.bytes), from, &at_rate, &format!("{:.0}", f.ops), &format!("{peak_ns:.0}")];
        outln!("{}", row(name, cells, floor, spent));
    }
    outln!("{}", row("the layers, added up", [""; 5], total, spent_on_layers));
    outln!("{}", row("the whole pass", [""; 5], total, cost.whole));
    Ok(())
}

/// The most thread counts one sweep may list.
const MAX_THREAD_COUNTS: usize = 16;

/// `--threads`: one count or a comma-separated list, each as
/// [`super::thread_count`] reads it.
fn thread_list(arg: Option<&str>) -> Result<Vec<usize>, Failure> {
    let Some(list) = arg else { return Ok(vec![1]) };
    let counts: Vec<usize> = list
        .split(',')
        .map(|s| match s.trim().parse::<usize>() {
            Ok(n) => super::thread_count(n),
            Err(_) => Err(Failure(format!("--threads '{list}': '{s}' is not a whole number ≥ 0"))),
        })
        .collect::<Result<_, _>>()?;
    if counts.len() > MAX_THREAD_COUNTS {
        fail!("--threads lists {} counts, more than the limit of {MAX_THREAD_COUNTS}", counts.len());
    }
    Ok(counts)
}

fn parse_list(list: &str) -> Result<Vec<usize>, Failure> {
    let sizes: Vec<usize> = list
        .split(',')
        .map(|s| match s.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(Failure(format!("--batch-sizes '{list}': '{s}' is not a whole number ≥ 1"))),
        })
        .collect::<Result<_, _>>()?;
    if sizes.len() > MAX_POINTS {
        fail!("--batch-sizes lists {} sizes, more than the limit of {MAX_POINTS}", sizes.len());
    }
    Ok(sizes)
}

fn kernels(arg: Option<&str>) -> Result<Vec<Kernel>, Failure> {
    match arg {
        None => Ok(vec![Kernel::best()]),
        Some("all") => Ok(Kernel::ALL.iter().copied().filter(|k| k.is_available()).collect()),
        Some(list) => list.split(',').map(|name| super::kernel_named(name.trim())).collect(),
    }
}

/// The CPU's model name from /proc/cpuinfo, or "unknown CPU".
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

#[cfg(test)]
mod tests {
    use super::unsteady_note;

    #[test]
    fn passes_more_than_1_3_times_apart_are_named() {
        let steady = [("avx512-pass at batch 1".to_string(), 1.50e6, 1.60e6)];
        assert_eq!(unsteady_note(&steady), None);
        let spreads = [
            ("avx512-pass at batch 1".to_string(), 1.10e6, 1.65e6),
            ("avx512-pass at batch 100".to_string(), 1.90e6, 2.05e6),
            ("naive at batch 100".to_string(), 1.0e4, 1.25e4),
        ];
        assert_eq!(
            unsteady_note(&spreads).as_deref(),
            Some(
                "unsteady: the machine changed speed within the rounds (passes further apart than 1.3×: avx512-pass at batch 1 1.50×); the speedups, taken round by round, still compare like with like; the images/s do not: rerun for those"
            )
        );
        // the widest three, then how many more
        let many: Vec<(String, f64, f64)> =
            (0..6).map(|i| (format!("k{i} at batch 1"), 1.0e6, 1.0e6 * (1.31 + 0.1 * i as f64))).collect();
        let note = unsteady_note(&many).expect("unsteady");
        assert!(
            note.contains("(passes further apart than 1.3×: k5 at batch 1 1.81×, k4 at batch 1 1.71×, k3 at batch 1 1.61×, and 3 more of the 6); "),
            "{note}"
        );
    }
}
