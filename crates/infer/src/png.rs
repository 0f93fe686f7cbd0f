//! Grayscale PNG files written by hand: the signature, an IHDR, one IDAT of
//! zlib-compressed scanlines (flate2) and an IEND, each chunk with its CRC-32
//! (flate2's `Crc`). No image crate.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::{Compression, Crc};

/// An 8-bit grayscale image, row-major, 0 = black.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gray {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width × height` values.
    pub pixels: Vec<u8>,
}

impl Gray {
    /// A `width × height` image filled with `value`.
    pub fn new(width: usize, height: usize, value: u8) -> Gray {
        Gray { width, height, pixels: vec![value; width * height] }
    }

    /// Copies `src` (`w × h`) with its top-left corner at `(x, y)`, each
    /// pixel enlarged to `scale × scale`; what falls outside is dropped.
    pub fn blit(&mut self, src: &[u8], w: usize, h: usize, x: usize, y: usize, scale: usize) {
        for sy in 0..h * scale {
            for sx in 0..w * scale {
                let (tx, ty) = (x + sx, y + sy);
                if tx < self.width && ty < self.height {
                    self.pixels[ty * self.width + tx] = src[(sy / scale) * w + sx / scale];
                }
            }
        }
    }

    /// The PNG file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend((self.width as u32).to_be_bytes());
        ihdr.extend((self.height as u32).to_be_bytes());
        ihdr.extend([8, 0, 0, 0, 0]); // bit depth 8, grayscale, deflate, filter 0, no interlace
        chunk(&mut out, b"IHDR", &ihdr);
        // each scanline starts with its filter type, 0 (none)
        let mut raw = Vec::with_capacity((self.width + 1) * self.height);
        for row in self.pixels.chunks_exact(self.width.max(1)).take(self.height) {
            raw.push(0);
            raw.extend_from_slice(row);
        }
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&raw).expect("writing to a Vec cannot fail");
        chunk(&mut out, b"IDAT", &z.finish().expect("writing to a Vec cannot fail"));
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend(crc.sum().to_be_bytes());
}

/// A 3×5 pixel font for the characters `0-9`, `>` and `-`: each glyph is 5
/// rows of 3 bits, most significant bit on the left.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '>' => [0b100, 0b010, 0b001, 0b010, 0b100],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        _ => [0; 5],
    }
}

/// Draws `text` in the 3×5 font at `(x, y)`, one pixel per font dot, with
/// a one-pixel gap between characters.
pub fn text(img: &mut Gray, text: &str, x: usize, y: usize, value: u8) {
    for (i, c) in text.chars().enumerate() {
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..3 {
                if bits & (0b100 >> col) != 0 {
                    let (px, py) = (x + 4 * i + col, y + row);
                    if px < img.width && py < img.height {
                        img.pixels[py * img.width + px] = value;
                    }
                }
            }
        }
    }
}
