//! `ImageReader`, the chunked reader behind `infer eval`, against
//! `Images::read`, the whole-file reader: the same pixels, and for every
//! broken file the same error.

use std::path::{Path, PathBuf};

use mnist_data::{ImageReader, Images};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Reads `path` in chunks of `chunk` images, as `infer eval` does.
fn read_in_chunks(path: &Path, chunk: usize) -> Result<Vec<u8>, mnist_data::Error> {
    let mut reader = ImageReader::open(path)?;
    let (mut all, mut pixels, mut left) = (Vec::new(), Vec::new(), reader.count);
    while left > 0 {
        let n = left.min(chunk);
        reader.read_images(n, &mut pixels)?;
        assert_eq!(pixels.len(), n * reader.pixels_per_image());
        all.extend_from_slice(&pixels);
        left -= n;
    }
    reader.finish()?;
    Ok(all)
}

#[test]
fn chunks_hold_the_files_pixels() {
    let path = fixtures().join("t10k-images-idx3-ubyte.gz");
    let whole = Images::read(&path).unwrap();
    for chunk in [1, 333, 500, 10_000] {
        assert!(read_in_chunks(&path, chunk).unwrap() == whole.pixels, "chunks of {chunk}");
    }
}

/// Stopping early still checks the rest of the file.
#[test]
fn finish_reads_and_checks_the_rest() {
    let mut file = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2];
    file.extend_from_slice(&[7; 12 + 5]);
    let source = Path::new("trailing.idx");
    let mut reader = ImageReader::from_reader(std::io::Cursor::new(file.clone()), source).unwrap();
    let mut pixels = Vec::new();
    reader.read_images(1, &mut pixels).unwrap();
    assert_eq!(pixels, [7; 4]);
    let e = reader.finish().unwrap_err();
    assert_eq!(e.to_string(), "trailing.idx: trailing bytes: header 3×2×2 needs 12 bytes after it, found 17");
    assert_eq!(e.to_string(), Images::from_bytes(&file, source).unwrap_err().to_string());
}

#[test]
fn every_broken_file_gives_the_whole_file_error() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures().join("bad")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        let whole = Images::read(&path).map(|i| i.pixels).map_err(|e| e.to_string());
        let chunked = read_in_chunks(&path, 500).map_err(|e| e.to_string());
        assert_eq!(chunked, whole, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 10, "{checked} files in fixtures/bad");
}
