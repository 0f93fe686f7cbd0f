//! `infer eval`: classify the test set and print the book's accuracy line.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use linalg::kernels::Kernel;
use mnist_data::{Images, Labels, Weights, CLASSES};

use super::report;
use crate::args::{Args, Flag};
use crate::model::Model;
use crate::pyfmt::py_float;
use crate::quant::QModel;
use crate::stream::ImageStream;
use crate::{fail, out, outln, Failure};

const HELP: &str = "\
infer eval: classify the test images and print Accuracy:<fraction correct>,
as the book's script does.

Usage: infer eval [FLAGS]

Flags:
";

const HELP_TAIL: &str = "  --batch-size N    images per forward pass, N ≥ 1; 1 runs one image at a
                    time; the last batch may be smaller [100]
  --limit N         only the first N images
  --threads N       threads sharing the batches, 0 = every core [1]
  --kernel NAME     matmul kernel (see 'infer kernels') [fastest available]
  --predictions F   write one predicted digit per line to F, in file order
  --precision P     f32 (the book's network) or int8 (integer-only, int8
                    weights; the summary, the JSON and the report also
                    compare it with f32) [f32]
  --json            print one JSON object instead of the summary
  --report          also print the confusion matrix, per-class precision and
                    recall, and the most confused pairs (with --json: the
                    matrix as \"confusion\", rows true, columns predicted)
  --misclassified F write a PNG grid of every misclassified image to F,
                    each tagged true>predicted
  -h, --help        this help
  -V, --version     the version of infer
";

/// Images per chunk handed from the reading thread to the classifier, at
/// least: small, so that classifying starts soon after reading does and
/// ends soon after it, and each chunk (78 KB of pixels) is still in cache
/// when it is classified. On the AMD EPYC Zen 3 VM, `make run` took a
/// median of about 2 ms less (10 alternating rounds of `hyperfine -N -w 2
/// -r 10`, 100 faster in every round) with 100 than with 500.
const CHUNK_IMAGES: usize = 100;

/// Runs `infer eval`.
///
/// # Errors
/// Usage errors and unreadable or inconsistent inputs.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let mut flags = super::DATA_FLAGS.to_vec();
    flags.extend([
        Flag::Value("batch-size"),
        Flag::Value("limit"),
        Flag::Value("threads"),
        Flag::Value("kernel"),
        Flag::Value("predictions"),
        Flag::Value("misclassified"),
        Flag::Value("precision"),
        Flag::Switch("json"),
        Flag::Switch("report"),
    ]);
    let Some(args) = Args::parse("eval", &flags, argv, &format!("{HELP}{}{HELP_TAIL}", super::DATA_HELP))? else {
        return Ok(());
    };
    args.no_positional()?;
    let batch_size = args.number("batch-size", 1, 100)?;
    let threads = super::threads(&args)?;
    // a named kernel is checked now; the default is chosen once the images
    // are being read (on an AVX-512 CPU, Kernel::best times two kernels for
    // about a millisecond, which would otherwise delay the inflating that
    // bounds the whole process)
    let kernel = super::kernel(&args)?;
    let paths = super::DataPaths::from_args(&args)?;
    let predictions_path = args.get("predictions").map(Path::new);
    for flag in ["predictions", "misclassified"] {
        if let Some(p) = args.get(flag) {
            super::refuse_to_overwrite_inputs(Path::new(p), flag, &args)?;
        }
    }
    // the images are read on a second thread while this one reads the rest
    // and classifies them chunk by chunk (crate::stream); chunks hold whole
    // batches, enough for every thread
    let chunk = batch_size * threads * CHUNK_IMAGES.div_ceil(batch_size);
    let mut stream = ImageStream::open(&paths.images, chunk);
    let mut setup = || -> Result<_, Failure> {
        // the weights first: the header has arrived by then
        let weights = Weights::read_all(&paths.weights)?;
        let (count, rows, cols) = stream.header()?;
        let labels = Labels::read_for(count, &paths.images, &paths.labels)?;
        let layers = weights.layers(rows * cols, CLASSES)?;
        let model = Model::new(&layers, kernel.unwrap_or_else(Kernel::best))?;
        let total = super::limit(&args, count, &paths.images)?;
        let int8 = match args.get("precision").unwrap_or("f32") {
            "f32" => None,
            "int8" => Some(QModel::new(&layers)?),
            other => fail!("--precision '{other}' is not a precision, expected f32 or int8"),
        };
        Ok((labels, model, total, int8, (rows, cols)))
    };
    let (labels, model, total, int8, (rows, cols)) = match setup() {
        Ok(s) => s,
        Err(e) => return Err(stream.first_error(e)),
    };
    let model = &model;

    let mut predictions = vec![0u8; total];
    // int8: the f32 network's predictions too, to say where they differ
    let mut f32_predictions = int8.as_ref().map(|_| vec![0u8; total]);
    // --misclassified draws the images: keep the ones classified
    let mut kept = Vec::new();
    let (mut done, mut seconds) = (0, 0.0);
    while let Some(images) = stream.next_chunk()? {
        let n = images.count.min(total - done);
        if n > 0 {
            let out = &mut predictions[done..done + n];
            let start = Instant::now();
            match &int8 {
                None => model.predict(&images, batch_size, threads, out),
                Some(q) => q.predict(&images, batch_size, threads, out),
            }
            seconds += start.elapsed().as_secs_f64();
            if let Some(f) = &mut f32_predictions {
                model.predict(&images, batch_size, threads, &mut f[done..done + n]);
            }
            if args.get("misclassified").is_some() {
                kept.extend_from_slice(&images.pixels[..n * images.pixels_per_image()]);
            }
            done += n;
        }
        stream.recycle(images);
    }
    let images = Images { count: total, rows, cols, pixels: kept };
    let agreement = f32_predictions
        .as_ref()
        .map(|f| f.iter().zip(&predictions).filter(|(a, b)| a == b).count() as f64 / total as f64);
    let correct = predictions.iter().zip(&labels.labels).filter(|(p, t)| p == t).count();
    let accuracy = correct as f64 / total as f64;

    if let Some(p) = predictions_path {
        write_predictions(p, &predictions)?;
    }
    let labels = &labels.labels[..total];
    if let Some(p) = args.get("misclassified") {
        let grid = report::misclassified_grid(&images, labels, &predictions);
        std::fs::write(p, grid.encode()).map_err(|e| Failure(format!("{p}: cannot write the PNG: {e}")))?;
    }
    let per_second = total as f64 / seconds;
    if args.has("json") {
        let layers: Vec<String> = model.shapes().iter().map(|(k, n)| format!("[{k},{n}]")).collect();
        // --report adds the confusion matrix, m[true][predicted]
        let confusion = if args.has("report") {
            let rows: Vec<String> = report::matrix(labels, &predictions, model.output_len())
                .iter()
                .map(|row| format!("[{}]", row.iter().map(usize::to_string).collect::<Vec<_>>().join(",")))
                .collect();
            format!(",\"confusion\":[{}]", rows.join(","))
        } else {
            String::new()
        };
        let precision = match (&int8, agreement) {
            (Some(q), Some(a)) => {
                format!(
                    ",\"precision\":\"int8\",\"int8_kernel\":\"{}\",\"agreement_with_f32\":{},\"model_bytes\":{}",
                    q.kernel().name(),
                    py_float(a),
                    q.bytes()
                )
            }
            _ => ",\"precision\":\"f32\"".to_string(),
        };
        outln!(
            "{{\"accuracy\":{},\"correct\":{correct},\"total\":{total},\"batch_size\":{batch_size},\"threads\":{threads},\
             \"kernel\":\"{}\",\"layers\":[{}],\"seconds\":{seconds:.6},\"images_per_second\":{per_second:.0}{precision}{confusion}}}",
            py_float(accuracy),
            model.kernel().name(),
            layers.join(",")
        );
        return Ok(());
    }
    let shapes: Vec<String> =
        model.shapes().iter().enumerate().map(|(i, (k, n))| format!("W{} {k}×{n}", i + 1)).collect();
    outln!("images      {total} from {}", paths.images.display());
    outln!("network     {} ({}), sigmoid hidden, softmax out", model.describe(), shapes.join(", "));
    outln!("weights     {}", paths.weights.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" + "));
    match (&int8, agreement) {
        (Some(q), Some(a)) => {
            outln!("precision   int8, integer-only ({} bytes of model), {} pass", q.bytes(), q.kernel().name());
            outln!("agreement   {} of the f32 network's predictions", py_float(a));
        }
        _ => match model.first_layer_note() {
            Some(note) => outln!("kernel      {} ({note})", model.kernel().name()),
            None => outln!("kernel      {}", model.kernel().name()),
        },
    }
    if int8.as_ref().is_some_and(|q| q.kernel() == crate::quant::IntKernel::Portable) {
        outln!("batch size  1 (the portable int8 pass runs one image at a time)");
    } else {
        outln!("batch size  {batch_size}{}", if batch_size == 1 { " (one image at a time)" } else { "" });
    }
    outln!("threads     {threads}");
    outln!(
        "time        {seconds:.4} s, {per_second:.0} images/s, {:.2} {}",
        per_second * model.flops_per_image() as f64 / 1e9,
        if int8.is_some() { "GOP/s (integer, dense-equivalent)" } else { "GFLOP/s" }
    );
    if args.has("report") {
        out!("{}", report::confusion(labels, &predictions, model.output_len()));
        if let Some(f) = &f32_predictions {
            out!("{}", report::precision_differences(labels, f, &predictions));
        }
    }
    if let Some(p) = args.get("misclassified") {
        outln!("misclassified {} images, drawn in {p}", total - correct);
    }
    outln!("Accuracy:{}", py_float(accuracy));
    Ok(())
}

fn write_predictions(path: &Path, predictions: &[u8]) -> Result<(), Failure> {
    let text: String = predictions.iter().map(|p| format!("{p}\n")).collect();
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Failure(format!("{}: cannot write predictions: {e}", path.display())))
}
