//! MNIST images and labels, and the book's `load_mnist` options.

use std::path::Path;

use crate::error::{Error, Problem};
use crate::idx::{expect_magic, parse_idx, read_idx, DataType, Idx};

/// Magic number of an image file: `u8` elements, 3 dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a label file: `u8` elements, 1 dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Number of classes: the digits 0 to 9.
pub const CLASSES: usize = 10;

/// Greyscale images as stored: `count × rows × cols` bytes, 0 (white) to
/// 255 (black). Kept as `u8`; inference converts one batch at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image (28).
    pub rows: usize,
    /// Pixel columns per image (28).
    pub cols: usize,
    /// `count × rows × cols` pixels, image after image, row-major.
    pub pixels: Vec<u8>,
}

impl Images {
    /// Reads an IDX image file (magic `0x00000803`), raw or gzip.
    ///
    /// # Errors
    /// As [`crate::idx::read_idx`], and [`crate::ErrorKind::Format`] if the
    /// file is not an image file.
    pub fn read(path: &Path) -> Result<Images, Error> {
        Images::from_idx(read_idx(path)?, path)
    }

    /// Parses an IDX image file, raw or gzip, held in memory; `source`
    /// names it in errors.
    ///
    /// # Errors
    /// As [`Images::read`].
    pub fn from_bytes(bytes: &[u8], source: &Path) -> Result<Images, Error> {
        Images::from_idx(parse_idx(bytes, source)?, source)
    }

    fn from_idx(idx: Idx, source: &Path) -> Result<Images, Error> {
        expect_magic(&idx, IMAGES_MAGIC, "images").map_err(|p| p.at(source))?;
        debug_assert_eq!(idx.dtype, DataType::U8);
        let (count, rows, cols) = (idx.dims[0], idx.dims[1], idx.dims[2]);
        if rows == 0 || cols == 0 {
            return Err(Problem::format(format!(
                "images of {rows}×{cols} pixels, expected at least one pixel per image"
            ))
            .at(source));
        }
        Ok(Images { count, rows, cols, pixels: idx.body })
    }

    /// Pixels per image, `rows × cols` (784).
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `i`.
    ///
    /// # Panics
    /// If `i >= count`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// Class labels, one byte each, every one below [`CLASSES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels {
    /// The labels in file order.
    pub labels: Vec<u8>,
}

impl Labels {
    /// Reads an IDX label file (magic `0x00000801`), raw or gzip.
    ///
    /// # Errors
    /// As [`crate::idx::read_idx`]; [`crate::ErrorKind::Format`] if the file
    /// is not a label file or a label is not a digit.
    pub fn read(path: &Path) -> Result<Labels, Error> {
        Labels::from_idx(read_idx(path)?, path)
    }

    /// Parses an IDX label file, raw or gzip, held in memory; `source`
    /// names it in errors.
    ///
    /// # Errors
    /// As [`Labels::read`].
    pub fn from_bytes(bytes: &[u8], source: &Path) -> Result<Labels, Error> {
        Labels::from_idx(parse_idx(bytes, source)?, source)
    }

    fn from_idx(idx: Idx, source: &Path) -> Result<Labels, Error> {
        expect_magic(&idx, LABELS_MAGIC, "labels").map_err(|p| p.at(source))?;
        if let Some((i, &l)) = idx.body.iter().enumerate().find(|(_, &l)| l as usize >= CLASSES) {
            return Err(Problem::format(format!("label {l} at index {i} is not a digit, expected 0 to 9")).at(source));
        }
        Ok(Labels { labels: idx.body })
    }
}

/// Images with their labels, counts checked to agree.
#[derive(Clone, Debug, PartialEq)]
pub struct LabeledImages {
    /// The images.
    pub images: Images,
    /// One label per image.
    pub labels: Labels,
}

impl LabeledImages {
    /// Reads both files and checks that they hold the same number of items.
    ///
    /// # Errors
    /// As [`Images::read`] and [`Labels::read`]; an image file with no
    /// images; a count mismatch names the label file.
    pub fn read(images: &Path, labels: &Path) -> Result<LabeledImages, Error> {
        let imgs = Images::read(images)?;
        LabeledImages::check(imgs, || Labels::read(labels), images, labels)
    }

    /// As [`LabeledImages::read`], from files held in memory; the paths
    /// name them in errors.
    ///
    /// # Errors
    /// As [`LabeledImages::read`].
    pub fn from_bytes(
        images: &[u8],
        labels: &[u8],
        images_source: &Path,
        labels_source: &Path,
    ) -> Result<LabeledImages, Error> {
        let imgs = Images::from_bytes(images, images_source)?;
        LabeledImages::check(imgs, || Labels::from_bytes(labels, labels_source), images_source, labels_source)
    }

    fn check(
        imgs: Images,
        read_labels: impl FnOnce() -> Result<Labels, Error>,
        images: &Path,
        labels: &Path,
    ) -> Result<LabeledImages, Error> {
        if imgs.count == 0 {
            return Err(Problem::format("holds no images, expected at least one").at(images));
        }
        let labs = read_labels()?;
        if labs.labels.len() != imgs.count {
            return Err(Problem::format(format!(
                "{} labels, expected {} (one per image in {})",
                labs.labels.len(),
                imgs.count,
                images.display()
            ))
            .at(labels));
        }
        Ok(LabeledImages { images: imgs, labels: labs })
    }
}

/// The options of the book's `load_mnist`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Pixels as `pixel / 255.0` in `[0, 1]` (else `0.0..=255.0`).
    pub normalize: bool,
    /// Each image as one row of `rows × cols` (else `1 × rows × cols`).
    pub flatten: bool,
    /// Labels as rows of [`CLASSES`] with a single 1.0 (else integers).
    pub one_hot_label: bool,
}

impl Default for Options {
    /// The book's chapter 3 call: `normalize=True, flatten=True,
    /// one_hot_label=False`.
    fn default() -> Self {
        Options { normalize: true, flatten: true, one_hot_label: false }
    }
}

/// Labels as `load_mnist` returns them.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One integer per image.
    Digits(Vec<u8>),
    /// `count × CLASSES` rows with a single 1.0.
    OneHot(Vec<f32>),
}

/// `load_mnist`'s result for one split: `x` with its shape, and `t`.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// The images as `f32`, in the layout `shape` says.
    pub x: Vec<f32>,
    /// `[count, rows·cols]` when flattened, else `[count, 1, rows, cols]`.
    pub shape: Vec<usize>,
    /// The labels.
    pub t: Targets,
}

/// The book's `load_mnist` for one split, from the data already read.
pub fn load_mnist(data: &LabeledImages, opts: Options) -> Split {
    // numpy: x.astype(float32) / 255.0, one correctly rounded f32 division
    let x = data.images.pixels.iter().map(|&p| if opts.normalize { p as f32 / 255.0 } else { p as f32 }).collect();
    let (count, rows, cols) = (data.images.count, data.images.rows, data.images.cols);
    let shape = if opts.flatten { vec![count, rows * cols] } else { vec![count, 1, rows, cols] };
    let t = if opts.one_hot_label {
        let mut v = vec![0.0; count * CLASSES];
        for (row, &l) in v.chunks_exact_mut(CLASSES).zip(&data.labels.labels) {
            row[l as usize] = 1.0;
        }
        Targets::OneHot(v)
    } else {
        Targets::Digits(data.labels.labels.clone())
    };
    Split { x, shape, t }
}
