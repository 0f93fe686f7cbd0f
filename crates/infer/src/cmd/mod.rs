//! One module per `infer` command, and what they share: loading the test set
//! and the weights named by the common flags.

pub mod eval;
pub mod export;
pub mod kernels;
pub mod lessons;
pub mod report;
pub mod show;
pub mod sweep;

use std::path::{Path, PathBuf};

use linalg::Kernel;
use mnist_data::{LabeledImages, Weights, CLASSES};

use crate::args::{Args, Flag};
use crate::fixtures;
use crate::model::Model;
use crate::Failure;

/// The flags that choose the data and the network.
pub const DATA_FLAGS: &[Flag] = &[Flag::Value("images"), Flag::Value("labels"), Flag::Value("weights")];

/// Help text for [`DATA_FLAGS`].
pub const DATA_HELP: &str = "  --images PATH     IDX image file, raw or gzip [fixtures/t10k-images-idx3-ubyte.gz]
  --labels PATH     IDX label file, raw or gzip [fixtures/t10k-labels-idx1-ubyte.gz]
  --weights PATH    numpy pickle or text weights; repeat to add or replace
                    arrays by name, like dict.update [fixtures/sample_weight.pkl]
";

/// The test set and the network, loaded from the flags.
pub struct Loaded {
    /// Images and labels.
    pub data: LabeledImages,
    /// Where the images came from.
    pub images_path: PathBuf,
    /// The weights files, in the order given.
    pub weights_paths: Vec<PathBuf>,
    /// The network.
    pub model: Model,
    /// The layers as read, for preparing them for another kernel.
    pub layers: Vec<mnist_data::Layer>,
}

impl Loaded {
    /// How many images to use: all of them, or `--limit N` (N ≥ 1).
    ///
    /// # Errors
    /// A limit that is not a whole number ≥ 1 or exceeds the images.
    pub fn limit(&self, args: &Args) -> Result<usize, Failure> {
        limit(args, self.data.images.count, &self.images_path)
    }
}

/// How many of the `count` images in `images` to use: all of them, or
/// `--limit N` (N ≥ 1).
///
/// # Errors
/// A limit that is not a whole number ≥ 1 or exceeds the images.
pub fn limit(args: &Args, count: usize, images: &Path) -> Result<usize, Failure> {
    match args.get("limit") {
        None => Ok(count),
        Some(_) => match args.number("limit", 1, 0)? {
            n if n > count => crate::fail!("--limit {n} is more than the {count} images in {}", images.display()),
            n => Ok(n),
        },
    }
}

/// The files named by [`DATA_FLAGS`], or the bundled ones.
pub struct DataPaths {
    /// `--images`.
    pub images: PathBuf,
    /// `--labels`.
    pub labels: PathBuf,
    /// Every `--weights`, in the order given.
    pub weights: Vec<PathBuf>,
}

impl DataPaths {
    /// The paths given by the flags, or the bundled fixtures.
    ///
    /// # Errors
    /// A bundled fixture that cannot be found.
    pub fn from_args(args: &Args) -> Result<DataPaths, Failure> {
        let images = fixtures::or_bundled(args.get("images"), fixtures::IMAGES)?;
        let labels = fixtures::or_bundled(args.get("labels"), fixtures::LABELS)?;
        let weights = match args.all("weights") {
            w if w.is_empty() => vec![fixtures::or_bundled(None, fixtures::WEIGHTS)?],
            w => w.into_iter().map(PathBuf::from).collect(),
        };
        Ok(DataPaths { images, labels, weights })
    }

    /// Reads the weights, checks them against images of `pixels_per_image`
    /// pixels, and prepares the network for `kernel`.
    ///
    /// # Errors
    /// A one-line message naming the file and the fact.
    pub fn network(&self, pixels_per_image: usize, kernel: Kernel) -> Result<(Vec<mnist_data::Layer>, Model), Failure> {
        let weights = Weights::read_all(&self.weights)?;
        let layers = weights.layers(pixels_per_image, CLASSES)?;
        let model = Model::new(&layers, kernel)?;
        Ok((layers, model))
    }
}

/// Reads the files named by [`DATA_FLAGS`] and prepares the network for
/// `kernel`.
///
/// # Errors
/// A one-line message naming the file and the fact.
pub fn load(args: &Args, kernel: Kernel) -> Result<Loaded, Failure> {
    let paths = DataPaths::from_args(args)?;
    let data = LabeledImages::read(&paths.images, &paths.labels)?;
    let (layers, model) = paths.network(data.images.pixels_per_image(), kernel)?;
    Ok(Loaded { data, images_path: paths.images, weights_paths: paths.weights, model, layers })
}

/// The kernel named by `--kernel`, checked; `None` for the default
/// ([`Kernel::best`]), which the caller chooses when it needs it (on an
/// AVX-512 CPU `best` times two kernels for about a millisecond).
///
/// # Errors
/// An unknown name, or a kernel this CPU cannot run.
pub fn kernel(args: &Args) -> Result<Option<Kernel>, Failure> {
    args.get("kernel").map(kernel_named).transpose()
}

/// The kernel called `name`.
///
/// # Errors
/// An unknown name, or a kernel this CPU cannot run.
pub fn kernel_named(name: &str) -> Result<Kernel, Failure> {
    let k = Kernel::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Kernel::ALL.iter().map(|k| k.name()).collect();
        Failure(format!("--kernel '{name}' is not a kernel, expected one of: {}", names.join(", ")))
    })?;
    if !k.is_available() {
        crate::fail!("--kernel '{name}' needs CPU features this machine lacks");
    }
    Ok(k)
}

/// `--threads N`, where 0 means every core.
///
/// # Errors
/// A value that is not a whole number, or more than [`MAX_THREADS`].
pub fn threads(args: &Args) -> Result<usize, Failure> {
    thread_count(args.number("threads", 0, 1)?)
}

/// One `--threads` value: 0 means every core.
///
/// # Errors
/// More than [`MAX_THREADS`].
pub fn thread_count(n: usize) -> Result<usize, Failure> {
    match n {
        0 => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        n if n > MAX_THREADS => crate::fail!("--threads {n} is more than the limit of {MAX_THREADS}"),
        n => Ok(n),
    }
}

/// The most threads `--threads` may ask for.
pub const MAX_THREADS: usize = 256;

/// Fails if `out`, the path given with `--flag`, is one of the input files
/// (given or bundled): nothing the user gave is modified.
///
/// # Errors
/// Names the path and the flag.
pub fn refuse_to_overwrite_inputs(out: &Path, flag: &str, args: &Args) -> Result<(), Failure> {
    let Ok(out_real) = out.canonicalize() else { return Ok(()) }; // a new file
    let mut inputs: Vec<String> = args.all("weights").iter().map(|s| s.to_string()).collect();
    inputs.extend(args.get("images").map(str::to_string));
    inputs.extend(args.get("labels").map(str::to_string));
    if let Ok(dir) = crate::fixtures::dir() {
        for f in [crate::fixtures::IMAGES, crate::fixtures::LABELS, crate::fixtures::WEIGHTS] {
            inputs.push(dir.join(f).display().to_string());
        }
    }
    if inputs.iter().any(|i| Path::new(i).canonicalize().is_ok_and(|p| p == out_real)) {
        crate::fail!("{}: --{flag} would overwrite an input file, expected a new path", out.display());
    }
    Ok(())
}
