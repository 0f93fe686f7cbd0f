//! What each fuzz target in `crates/mnist-data/fuzz/` runs, as plain
//! functions, so that `cargo test` replays every kept input without
//! cargo-fuzz.
//!
//! Each function reads its bytes the way a user's file would be read and
//! returns the outcome as one line: `ok: …` with what was read, or the error
//! exactly as `infer` prints it after `error: `. A panic, a hang or a blown
//! memory limit inside one of them is a bug.

use std::io::Write;
use std::path::Path;

use crate::idx::parse_idx;
use crate::{ImageReader, Images, Labels, Weights};

/// Separates the weights files inside one [`network`] input.
pub const FILE_SEPARATOR: &[u8] = b"\n%%%%\n";

fn outcome<T>(r: Result<T, crate::Error>, ok: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => format!("ok: {}", ok(v)),
        Err(e) => e.to_string(),
    }
}

/// The IDX reader on `data` as given (raw, or gzip by content): the
/// generic reader, then as an image file and as a label file, one line each.
pub fn idx(data: &[u8]) -> String {
    let source = Path::new("input");
    let generic = outcome(parse_idx(data, source), |i| format!("{:?} {:?}", i.dtype, i.dims));
    let whole = Images::from_bytes(data, source);
    // the chunked reader `infer eval` uses, in chunks of 1 to 7 images:
    // the same images or the same error
    let chunked = images_in_chunks(data, source, 1 + data.len() % 7);
    assert_eq!(
        chunked.as_ref().map_err(ToString::to_string),
        whole.as_ref().map_err(ToString::to_string),
        "the chunked image reader disagrees with the whole-file reader"
    );
    let images = outcome(whole, |i| format!("{} images {}×{}", i.count, i.rows, i.cols));
    let labels = outcome(Labels::from_bytes(data, source), |l| format!("{} labels", l.labels.len()));
    format!("{generic}\n{images}\n{labels}")
}

/// The images of `data` read `chunk` images at a time by [`ImageReader`].
fn images_in_chunks(data: &[u8], source: &Path, chunk: usize) -> Result<Images, crate::Error> {
    let mut reader = ImageReader::from_reader(std::io::Cursor::new(data.to_vec()), source)?;
    let (mut pixels, mut part, mut left) = (Vec::new(), Vec::new(), reader.count);
    while left > 0 {
        let n = left.min(chunk);
        reader.read_images(n, &mut part)?;
        pixels.extend_from_slice(&part);
        left -= n;
    }
    let (count, rows, cols) = (reader.count, reader.rows, reader.cols);
    reader.finish()?;
    Ok(Images { count, rows, cols, pixels })
}

/// `data` compressed into one gzip member. Reading it must give exactly
/// what [`idx`] gives for `data` itself, unless `data` is already gzip.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("writing to a Vec cannot fail");
    gz.finish().expect("writing to a Vec cannot fail")
}

/// The weights reader (numpy pickle, or the text format) on `data`.
pub fn weights(data: &[u8]) -> String {
    outcome(Weights::from_bytes(data, Path::new("input")), |w| {
        let arrays: Vec<String> = w.arrays().iter().map(|a| format!("{}{:?}", a.name, a.shape)).collect();
        arrays.join(" ")
    })
}

/// The whole weights-to-network path: `data[0]` is the input length
/// (0 means 784), `data[1]` the number of classes (0 means 10), and the
/// rest is one or more weights files separated by [`FILE_SEPARATOR`],
/// read in turn and merged like `dict.update`, then checked into a chain
/// of dense layers.
pub fn network(data: &[u8]) -> String {
    let [input, classes, rest @ ..] = data else {
        return "input of fewer than 2 bytes".to_string();
    };
    let input = if *input == 0 { 784 } else { *input as usize };
    let classes = if *classes == 0 { 10 } else { *classes as usize };
    let mut merged = Weights::default();
    for (i, file) in split(rest, FILE_SEPARATOR).enumerate() {
        match Weights::from_bytes(file, Path::new(&format!("file{i}"))) {
            Ok(w) => merged.update(w),
            Err(e) => return e.to_string(),
        }
    }
    outcome(merged.layers(input, classes), |layers| {
        let shapes: Vec<String> = layers.iter().map(|l| format!("{}×{}", l.k, l.n)).collect();
        format!("layers {}", shapes.join(", "))
    })
}

/// The parts of `data` between occurrences of `sep`.
fn split<'a>(mut data: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match data.windows(sep.len()).position(|w| w == sep) {
            Some(at) => {
                let part = &data[..at];
                data = &data[at + sep.len()..];
                Some(part)
            }
            None => {
                done = true;
                Some(data)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_empty_parts() {
        let parts: Vec<&[u8]> = split(b"a\n%%%%\n\n%%%%\nb", FILE_SEPARATOR).collect();
        assert_eq!(parts, [&b"a"[..], b"", b"b"]);
    }

    #[test]
    fn network_reads_and_merges() {
        let mut input = vec![2, 1];
        input.extend_from_slice(b"W1 2x1\n1 2\nb1 1\n0");
        input.extend_from_slice(FILE_SEPARATOR);
        input.extend_from_slice(b"b1 1\n5");
        assert_eq!(network(&input), "ok: layers 2×1");
        input[1] = 3;
        assert_eq!(network(&input), "file0: W1 is 2×1, expected 3 columns (one per class)");
    }
}
