//! `infer sweep`: throughput against batch size, as a table, JSON or an SVG
//! chart.

use std::time::Instant;

use linalg::Kernel;

use crate::args::{Args, Flag};
use crate::model::Model;
use crate::{fail, outln, svg, Failure};

const HELP: &str = "\
infer sweep: how throughput moves with batch size. For each kernel and batch
size: one untimed warm-up pass over the images (its predictions must equal
the first batch size's), then R timed passes; the table shows the median
images/s with the min–max of the R passes.

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
  --threads N       threads sharing the batches, 0 = every core [1]
  --repeat R        timed passes per point, 1 ≤ R ≤ 1000 [5]
  --limit N         only the first N images
  --json            print one JSON array instead of the table
  --plot FILE.svg   also write an SVG chart of images/s against batch size
  -h, --help        this help
  -V, --version     the version of infer
";

const DEFAULT_BATCHES: &[usize] = &[1, 2, 4, 8, 16, 32, 64, 100, 128, 256, 512, 1000, 10000];

/// One measured point.
#[derive(Clone, Debug)]
pub struct Point {
    /// The kernel.
    pub kernel: Kernel,
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
    /// Dense-equivalent GFLOP/s at the median.
    pub gflops: f64,
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
        Flag::Switch("json"),
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
    let threads = super::threads(&args)?;
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

    let mut points = Vec::new();
    let mut reference: Option<Vec<u8>> = None;
    for &kernel in &kernels {
        // load prepared the weights for the first kernel already
        let prepared;
        let model = if kernel == loaded.model.kernel() {
            &loaded.model
        } else {
            prepared = Model::new(&loaded.layers, kernel)?;
            &prepared
        };
        for &batch in &batches {
            let mut predictions = vec![0u8; total];
            model.predict(images, batch, threads, &mut predictions); // warm-up
            match &reference {
                None => reference = Some(predictions.clone()),
                Some(r) if *r != predictions => fail!(
                    "kernel {} at batch size {batch} predicts differently from the first point; not timing it",
                    kernel.name()
                ),
                Some(_) => {}
            }
            let mut rates: Vec<f64> = (0..repeat)
                .map(|_| {
                    let start = Instant::now();
                    model.predict(images, batch, threads, &mut predictions);
                    total as f64 / start.elapsed().as_secs_f64()
                })
                .collect();
            rates.sort_by(f64::total_cmp);
            let median =
                if repeat % 2 == 1 { rates[repeat / 2] } else { (rates[repeat / 2 - 1] + rates[repeat / 2]) / 2.0 };
            let gflops = median * model.flops_per_image() as f64 / 1e9;
            points.push(Point {
                kernel,
                batch_size: batch,
                threads,
                median,
                min: rates[0],
                max: rates[repeat - 1],
                gflops,
            });
        }
    }

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
                    "{{\"batch_size\":{},\"threads\":{},\"kernel\":\"{}\",\"images_per_second\":{:.0},\"min\":{:.0},\"max\":{:.0},\"gflops\":{:.3},\"speedup\":{:.3},\"repeat\":{repeat},\"images\":{total}}}",
                    p.batch_size,
                    p.threads,
                    p.kernel.name(),
                    p.median,
                    p.min,
                    p.max,
                    p.gflops,
                    speedup(&points, p)
                )
            })
            .collect();
        outln!("[{}]", rows.join(",\n "));
        return Ok(());
    }
    outln!(
        "{total} images, {} network, {threads} thread(s), median of {repeat} passes, {}",
        loaded.model.describe(),
        cpu_name()
    );
    outln!("speedup: over the kernel's first batch size ({})", batches[0]);
    outln!("{:>6}  {:<8} {:>12}  {:>23}  {:>7}  {:>7}", "batch", "kernel", "images/s", "min–max", "GFLOP/s", "speedup");
    for p in &points {
        outln!(
            "{:>6}  {:<8} {:>12.0}  {:>23}  {:>7.2}  {:>6.2}×",
            p.batch_size,
            p.kernel.name(),
            p.median,
            format!("{:.0}–{:.0}", p.min, p.max),
            p.gflops,
            speedup(&points, p)
        );
    }
    Ok(())
}

/// Median images/s of `p` over that of the first point of its kernel.
fn speedup(points: &[Point], p: &Point) -> f64 {
    let first = points.iter().find(|q| q.kernel == p.kernel).expect("p is among points");
    p.median / first.median
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
