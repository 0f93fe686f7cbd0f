//! The teaching commands, pinned exactly: softmax and argmax print what the
//! book's numpy code prints, `show --png` holds the IDX pixels, and the
//! confusion matrix's diagonal is the 9352 correct images.

mod common;

use std::io::Read;

use common::{infer, root};
use mnist_data::Images;

fn stdout(args: &[&str]) -> String {
    let r = infer(args);
    assert_eq!(r.code, 0, "infer {args:?}: {}", r.stderr);
    r.stdout
}

#[test]
fn softmax_overflow_and_the_fix() {
    let out = stdout(&["softmax", "1010", "1000", "990"]);
    assert_eq!(
        out,
        "a                          [1010. 1000.  990.]\n\
         naive softmax              [nan nan nan]\n\
         \x20                          (exp overflows to inf, and inf / inf is nan)\n\
         \x20 sum                      nan\n\
         max-subtracted softmax     [9.99954600e-01 4.53978686e-05 2.06106005e-09]\n\
         \x20 sum                      1.0\n"
    );
}

#[test]
fn softmax_of_the_books_example_sums_to_one() {
    let out = stdout(&["softmax", "0.3", "2.9", "4.0"]);
    assert!(
        out.contains("max-subtracted softmax     [0.01821127 0.24519181 0.73659691]\n  sum                      1.0\n"),
        "{out}"
    );
}

#[test]
fn argmax_along_each_axis() {
    let m = "0.1,0.8,0.1;0.3,0.1,0.6;0.2,0.5,0.3;0.8,0.1,0.1";
    assert_eq!(stdout(&["argmax", "--axis", "1", m]), "[1 2 1 0]\n");
    assert_eq!(stdout(&["argmax", "--axis", "0", m]), "[3 0 1]\n");
    assert_eq!(stdout(&["argmax", "--axis", "1", "1 2 3; 3 2 1"]), "[2 0]\n");
    let r = infer(&["argmax", "--axis", "1", "1,2;3"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "error: rows of [2, 1] values: every row needs the same number of values, at least one\n");
}

/// Decodes a grayscale 8-bit PNG as `infer` writes it, checking every CRC.
fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let (mut pos, mut width, mut height, mut idat) = (8, 0, 0, Vec::new());
    while pos < bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        let crc = u32::from_be_bytes(bytes[pos + 8 + len..pos + 12 + len].try_into().unwrap());
        let mut c = flate2::Crc::new();
        c.update(kind);
        c.update(data);
        assert_eq!(c.sum(), crc, "CRC of {}", String::from_utf8_lossy(kind));
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(&data[8..], &[8, 0, 0, 0, 0], "8-bit grayscale, no interlace");
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).unwrap();
    assert_eq!(raw.len(), (width + 1) * height);
    let pixels = raw.chunks_exact(width + 1).flat_map(|line| {
        assert_eq!(line[0], 0, "filter type none");
        line[1..].to_vec()
    });
    (width, height, pixels.collect())
}

#[test]
fn show_writes_the_exact_pixels_and_reports_the_prediction() {
    let images = Images::read(&root().join("fixtures/t10k-images-idx3-ubyte.gz")).unwrap();
    let dir = std::env::temp_dir().join(format!("infer-show-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (index, scale) in [(0usize, 1usize), (8, 3)] {
        let png = dir.join(format!("{index}.png"));
        let out = stdout(&["show", &index.to_string(), "--png", png.to_str().unwrap(), "--scale", &scale.to_string()]);
        let (w, h, pixels) = decode_png(&std::fs::read(&png).unwrap());
        assert_eq!((w, h), (28 * scale, 28 * scale));
        for y in 0..h {
            for x in 0..w {
                assert_eq!(pixels[y * w + x], images.image(index)[(y / scale) * 28 + x / scale], "({x}, {y})");
            }
        }
        let first = out.lines().next().unwrap();
        let want = if index == 0 { "label 7, predicted 7 (correct)" } else { "label 5, predicted 6 (wrong)" };
        assert!(first.ends_with(want), "{first}");
        // not a terminal: the ASCII drawing, 28 lines of 56 characters
        let drawing: Vec<&str> = out.lines().skip(2).take(28).collect();
        assert!(drawing.iter().all(|l| l.len() == 56), "{out}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn confusion_matrix_diagonal_is_9352() {
    let out = stdout(&["eval", "--report"]);
    assert!(out.contains("diagonal (correct): 9352 of 10000\n"), "{out}");
    assert!(out.contains("most confused (true→predicted): 4→9 ×35, 5→3 ×34, 9→4 ×31, 3→2 ×24, 7→2 ×24\n"), "{out}");
    // sum the printed diagonal itself
    let rows: Vec<Vec<usize>> = out
        .lines()
        .skip_while(|l| !l.starts_with("confusion matrix"))
        .skip(2)
        .take(10)
        .map(|l| l.split_whitespace().skip(1).take(10).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!((0..10).map(|i| rows[i][i]).sum::<usize>(), 9352);
    assert_eq!(rows.iter().flatten().sum::<usize>(), 10000);
}

#[test]
fn misclassified_grid_holds_648_tagged_images() {
    let png = std::env::temp_dir().join(format!("infer-mis-{}.png", std::process::id()));
    let out = stdout(&["eval", "--misclassified", png.to_str().unwrap()]);
    assert!(out.contains("misclassified 648 images"), "{out}");
    let (w, h, pixels) = decode_png(&std::fs::read(&png).unwrap());
    assert_eq!((w, h), (30 * 30, 22 * 37));
    // cell i, 30 to a row, 30×37 pixels each, holds the i-th misclassified
    // image below its tag: the first is test image 8 (label 5, predicted 6),
    // the last comes from the last chunk eval read
    let predictions = png.with_extension("txt");
    stdout(&["eval", "--predictions", predictions.to_str().unwrap()]);
    let predicted: Vec<u8> =
        std::fs::read_to_string(&predictions).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    let labels = mnist_data::Labels::read(&root().join("fixtures/t10k-labels-idx1-ubyte.gz")).unwrap();
    let wrong: Vec<usize> = (0..10_000).filter(|&i| predicted[i] != labels.labels[i]).collect();
    assert_eq!((wrong.len(), wrong[0]), (648, 8));
    let images = Images::read(&root().join("fixtures/t10k-images-idx3-ubyte.gz")).unwrap();
    for (cell, &i) in wrong.iter().enumerate() {
        let (x, y0) = (cell % 30 * 30, cell / 30 * 37 + 7);
        for y in 0..28 {
            let row = &pixels[(y0 + y) * w + x..(y0 + y) * w + x + 28];
            assert_eq!(row, &images.image(i)[y * 28..(y + 1) * 28], "cell {cell}, image {i}");
        }
    }
    std::fs::remove_file(png).unwrap();
    std::fs::remove_file(predictions).unwrap();
}

#[test]
fn kernels_checks_and_times_every_kernel_on_every_layer() {
    let out = stdout(&["kernels", "--json", "--rounds", "1"]);
    let rows: Vec<&str> = out.trim().trim_start_matches('[').trim_end_matches(']').split(",\n ").collect();
    let available = linalg::Kernel::ALL.iter().filter(|k| k.is_available()).count()
        + infer::quant::IntKernel::ALL.iter().filter(|k| k.is_available()).count();
    // and W1 read from the u8 pixels by each kernel that reads them
    let on_pixels: Vec<&linalg::Kernel> =
        linalg::Kernel::ALL.iter().filter(|k| k.is_available() && k.reads_pixels()).collect();
    assert_eq!(rows.len(), 3 * 2 * available + 2 * on_pixels.len(), "{out}");
    for m in [1, 100] {
        for kernel in &on_pixels {
            let head =
                format!("{{\"layer\":\"W1\",\"k\":784,\"n\":50,\"m\":{m},\"kernel\":\"{} on u8\",", kernel.name());
            let row = rows.iter().find(|r| r.starts_with(&head)).unwrap_or_else(|| panic!("no row {head} in {out}"));
            let err: f64 = row.split("\"error\":").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
            // steps 25 and 26 sum W1 over the pixels in 16-bit fixed point
            let fixed = matches!(**kernel, linalg::Kernel::Avx512Fixed16 | linalg::Kernel::Avx2Fixed16);
            let bound = if fixed { 1e-4 } else { 1e-5 };
            assert!(err < bound, "{row}");
        }
    }
    for (layer, k, n) in [("W1", 784, 50), ("W2", 50, 100), ("W3", 100, 10)] {
        for m in [1, 100] {
            for kernel in linalg::Kernel::ALL.iter().filter(|k| k.is_available()) {
                let head =
                    format!("{{\"layer\":\"{layer}\",\"k\":{k},\"n\":{n},\"m\":{m},\"kernel\":\"{}\",", kernel.name());
                let row =
                    rows.iter().find(|r| r.starts_with(&head)).unwrap_or_else(|| panic!("no row {head} in {out}"));
                // every kernel agrees with the naive one to float32 rounding
                let err: f64 = row.split("\"error\":").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
                assert!(err < 1e-5, "{row}");
            }
            for kernel in infer::quant::IntKernel::ALL.iter().filter(|k| k.is_available()) {
                let head =
                    format!("{{\"layer\":\"{layer}\",\"k\":{k},\"n\":{n},\"m\":{m},\"kernel\":\"{}\",", kernel.name());
                let row =
                    rows.iter().find(|r| r.starts_with(&head)).unwrap_or_else(|| panic!("no row {head} in {out}"));
                // the integer passes equal the portable one exactly
                assert!(row.contains("\"error\":0.000e0,"), "{row}");
            }
        }
    }
}

/// One step of the ladder on one layer: --kernel, --layers, --batch-sizes
/// pick the rows; --markdown prints a table headed by the CPU with the
/// peak of every instruction set and the read bandwidth of L1d and L2.
#[test]
fn kernels_filters_and_markdown() {
    let out =
        stdout(&["kernels", "--kernel", "ikj", "--layers", "W3", "--batch-sizes", "7", "--rounds", "2", "--markdown"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("### ") && lines[0].ends_with(", one core, median of 2 interleaved rounds"), "{out}");
    assert!(lines[2].starts_with("- peak sse2: ") && lines[3].starts_with("- peak avx2: "), "{out}");
    assert!(lines[4].starts_with("- peak avx512: ") && lines[5].starts_with("- peak avx2-int: "), "{out}");
    assert!(lines[6].starts_with("- peak avx512-vnni: "), "{out}");
    assert!(
        lines[7].starts_with("- read L1d: ") && lines[7].ends_with(" KB buffer read over and over, best of 5)"),
        "{out}"
    );
    assert!(
        lines[8].starts_with("- read L2: ") && lines[8].ends_with(" KB buffer read over and over, best of 5)"),
        "{out}"
    );
    assert_eq!(lines[10], "| layer | m | kernel | µs/call | min–max | GFLOP/s | % of its ISA's peak | error |");
    assert_eq!(lines.len(), 13, "{out}");
    assert!(lines[12].starts_with("| W3 100×10 | 7 | ikj | "), "{out}");
    // off x86 (make test-aarch64) no peak is measured: no % of it
    let of_peak = if linalg::kernels::peak::Isa::Sse2.is_available() { "% sse2 | 0.0e0 |" } else { "| - | 0.0e0 |" };
    assert!(lines[12].ends_with(of_peak), "{out}");
}
