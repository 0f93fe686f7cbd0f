//! `infer show`: one test image with its label, the network's prediction
//! and top-3 probabilities, drawn in the terminal and optionally as a PNG.

use std::io::IsTerminal;

use crate::args::{Args, Flag};
use crate::png::Gray;
use crate::{fail, out, outln, Failure};

const HELP: &str = "\
infer show: one test image, its true label, the network's prediction and
its three most likely digits, with the digit drawn in the terminal
(Unicode half blocks in shades of grey, or ASCII when the output is not a
terminal or with --ascii).

Usage: infer show INDEX [FLAGS]      INDEX from 0

Flags:
";

const HELP_TAIL: &str = "  --png FILE        also write the image as a grayscale PNG holding exactly
                    the 28×28 pixel values (0 = black background)
  --scale N         enlarge the PNG N times, 1 ≤ N ≤ 64 [1]
  --ascii           draw with ASCII characters
  -h, --help        this help
  -V, --version     the version of infer
";

/// The largest `--scale`: 28 × 64 = 1792 pixels a side.
const MAX_SCALE: usize = 64;

/// Darkest to brightest, for the ASCII drawing.
const RAMP: &[u8] = b" .:-=+*#%@";

/// Runs `infer show`.
///
/// # Errors
/// A missing or out-of-range index, unreadable inputs, an unwritable PNG.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let mut flags = super::DATA_FLAGS.to_vec();
    flags.extend([Flag::Value("png"), Flag::Value("scale"), Flag::Switch("ascii")]);
    let Some(args) = Args::parse("show", &flags, argv, &format!("{HELP}{}{HELP_TAIL}", super::DATA_HELP))? else {
        return Ok(());
    };
    let [index] = &args.positional[..] else {
        fail!("show needs one image index, e.g. 'infer show 0' (see 'infer show --help')");
    };
    let scale = args.number("scale", 1, 1)?;
    if scale > MAX_SCALE {
        fail!("--scale {scale} is more than the limit of {MAX_SCALE}");
    }
    if let Some(p) = args.get("png") {
        super::refuse_to_overwrite_inputs(std::path::Path::new(p), "png", &args)?;
    }
    let loaded = super::load(&args, linalg::Kernel::best())?;
    let images = &loaded.data.images;
    let i = match index.parse::<usize>() {
        Ok(i) if i < images.count => i,
        _ => fail!(
            "index '{index}' is not an image of {}, expected 0 to {}",
            loaded.images_path.display(),
            images.count - 1
        ),
    };
    let (w, h) = (images.cols, images.rows);
    // the PNG first: a path that cannot be written fails before any output
    if let Some(path) = args.get("png") {
        let mut img = Gray::new(w * scale, h * scale, 0);
        img.blit(images.image(i), w, h, 0, 0, scale);
        std::fs::write(path, img.encode()).map_err(|e| Failure(format!("{path}: cannot write the PNG: {e}")))?;
    }
    let y = loaded.model.probabilities(images, i, 1);
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| y[b].total_cmp(&y[a]).then(a.cmp(&b)));
    let label = loaded.data.labels.labels[i];
    let verdict = if order[0] == label as usize { "correct" } else { "wrong" };
    outln!("image {i} of {}: label {label}, predicted {} ({verdict})", loaded.images_path.display(), order[0]);
    let top: Vec<String> = order.iter().take(3).map(|&c| format!("{c}: {:.4}", y[c])).collect();
    outln!("top 3: {}", top.join("  "));
    let pixels = images.image(i);
    if args.has("ascii") || !std::io::stdout().is_terminal() {
        out!("{}", ascii(pixels, w, h));
    } else {
        out!("{}", half_blocks(pixels, w, h));
    }
    if let Some(path) = args.get("png") {
        outln!("wrote {path} ({}×{} pixels)", w * scale, h * scale);
    }
    Ok(())
}

/// Two characters per pixel (terminal cells are about twice as tall as
/// wide), from a 10-step ramp.
pub fn ascii(pixels: &[u8], w: usize, h: usize) -> String {
    let mut s = String::with_capacity((2 * w + 1) * h);
    for row in pixels.chunks_exact(w).take(h) {
        for &p in row {
            let c = RAMP[p as usize * (RAMP.len() - 1) / 255] as char;
            s.push(c);
            s.push(c);
        }
        s.push('\n');
    }
    s
}

/// One terminal cell per two pixels: '▀' with the upper pixel as the
/// foreground and the lower as the background, in the 24 greys of the
/// 256-colour palette (232 black … 255 white).
pub fn half_blocks(pixels: &[u8], w: usize, h: usize) -> String {
    let grey = |p: u8| 232 + p as usize * 23 / 255;
    let mut s = String::new();
    for y in (0..h).step_by(2) {
        for x in 0..w {
            let top = pixels[y * w + x];
            let bottom = if y + 1 < h { pixels[(y + 1) * w + x] } else { 0 };
            s += &format!("\x1b[38;5;{}m\x1b[48;5;{}m▀", grey(top), grey(bottom));
        }
        s += "\x1b[0m\n";
    }
    s
}
