//! MNIST images and labels, and the book's `load_mnist` options.

use std::path::Path;

use crate::error::{Error, Problem};
use crate::idx::{expect_magic, parse_idx, read_idx, DataType, Idx, IdxReader};

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
        debug_assert!(idx.magic != IMAGES_MAGIC || idx.dtype == DataType::U8);
        let (count, rows, cols) = image_shape(idx.magic, &idx.dims).map_err(|p| p.at(source))?;
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

/// Count, rows and columns of an image file's header, checked.
fn image_shape(magic: u32, dims: &[usize]) -> Result<(usize, usize, usize), Problem> {
    expect_magic(magic, IMAGES_MAGIC, "images")?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(Problem::format(format!("images of {rows}×{cols} pixels, expected at least one pixel per image")));
    }
    Ok((count, rows, cols))
}

/// An image file read a few images at a time, so that a reader can work on
/// the first images while the rest is still being inflated (`infer eval`
/// classifies them on one thread while another reads). The header is
/// checked as [`Images::read`] checks it; [`ImageReader::finish`] checks the
/// rest of the file.
pub struct ImageReader {
    idx: IdxReader<'static>,
    /// Number of images the header claims.
    pub count: usize,
    /// Pixel rows per image (28).
    pub rows: usize,
    /// Pixel columns per image (28).
    pub cols: usize,
}

impl ImageReader {
    /// Opens an IDX image file, raw or gzip, and checks its header.
    ///
    /// # Errors
    /// As [`Images::read`], for the header.
    pub fn open(path: &Path) -> Result<ImageReader, Error> {
        ImageReader::checked(IdxReader::open(path)?, path)
    }

    /// As [`ImageReader::open`], from any reader; `source` names it in
    /// errors.
    ///
    /// # Errors
    /// As [`Images::read`], for the header.
    pub fn from_reader(reader: impl std::io::Read + Send + 'static, source: &Path) -> Result<ImageReader, Error> {
        ImageReader::checked(IdxReader::from_reader(reader, source)?, source)
    }

    fn checked(idx: IdxReader<'static>, path: &Path) -> Result<ImageReader, Error> {
        match image_shape(idx.magic(), idx.dims()) {
            Ok((count, rows, cols)) => Ok(ImageReader { idx, count, rows, cols }),
            // the file's own error first, as when it is read whole
            Err(p) => idx.finish().and(Err(p.at(path))),
        }
    }

    /// Pixels per image, `rows × cols` (784).
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// Replaces the contents of `pixels` with the next `count` images
    /// (`pixels` grows only as the file delivers them).
    ///
    /// # Errors
    /// As [`Images::read`]: a read error, or the file ending before them.
    pub fn read_images(&mut self, count: usize, pixels: &mut Vec<u8>) -> Result<(), Error> {
        let len = (count as u64).saturating_mul(self.pixels_per_image() as u64);
        self.idx.read_body(len, pixels)
    }

    /// Reads the images not asked for without keeping them, and checks the
    /// file's end.
    ///
    /// # Errors
    /// As [`Images::read`], for the rest of the file.
    pub fn finish(self) -> Result<(), Error> {
        self.idx.finish()
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

    /// Reads a label file for the `count` images of the file `images`:
    /// at least one image, one label per image.
    ///
    /// # Errors
    /// As [`LabeledImages::read`], for the count and the labels.
    pub fn read_for(count: usize, images: &Path, labels: &Path) -> Result<Labels, Error> {
        Labels::matching(count, || Labels::read(labels), images, labels)
    }

    fn matching(
        count: usize,
        read_labels: impl FnOnce() -> Result<Labels, Error>,
        images: &Path,
        labels: &Path,
    ) -> Result<Labels, Error> {
        if count == 0 {
            return Err(Problem::format("holds no images, expected at least one").at(images));
        }
        let labs = read_labels()?;
        if labs.labels.len() != count {
            return Err(Problem::format(format!(
                "{} labels, expected {count} (one per image in {})",
                labs.labels.len(),
                images.display()
            ))
            .at(labels));
        }
        Ok(labs)
    }

    fn from_idx(idx: Idx, source: &Path) -> Result<Labels, Error> {
        expect_magic(idx.magic, LABELS_MAGIC, "labels").map_err(|p| p.at(source))?;
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
        let labs = Labels::matching(imgs.count, read_labels, images, labels)?;
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
