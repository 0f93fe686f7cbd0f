//! IDX files, the format MNIST ships in.
//!
//! Layout: two zero bytes, a type code, the number of dimensions `d`, then `d`
//! big-endian `u32` sizes, then the elements, big-endian, in row-major order.
//! The body must hold exactly `Π sizes × element size` bytes.
//!
//! gzip is recognised by its content (`1f 8b`), not by the file name, and
//! every gzip member is read. No allocation is sized by a header: the body is
//! read first (at most [`MAX_IDX_BYTES`]) and the header is checked against
//! what the file really holds.

use std::path::Path;

use byteorder::{BigEndian, ByteOrder};

use std::io::{BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, ErrorKind, Parsed, Problem};
use crate::read::{open_file, GZIP_MAGIC};

/// The largest IDX file accepted, after decompression: 256 MiB (the MNIST
/// training images are 47 MB).
pub const MAX_IDX_BYTES: u64 = 256 << 20;

/// The element type named by the third byte of an IDX file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    /// `0x08`: unsigned byte.
    U8,
    /// `0x09`: signed byte.
    I8,
    /// `0x0B`: big-endian `i16`.
    I16,
    /// `0x0C`: big-endian `i32`.
    I32,
    /// `0x0D`: big-endian `f32`.
    F32,
    /// `0x0E`: big-endian `f64`.
    F64,
}

impl DataType {
    /// The type for an IDX type code.
    pub fn from_code(code: u8) -> Option<DataType> {
        Some(match code {
            0x08 => DataType::U8,
            0x09 => DataType::I8,
            0x0B => DataType::I16,
            0x0C => DataType::I32,
            0x0D => DataType::F32,
            0x0E => DataType::F64,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DataType::U8 | DataType::I8 => 1,
            DataType::I16 => 2,
            DataType::I32 | DataType::F32 => 4,
            DataType::F64 => 8,
        }
    }
}

/// A parsed IDX file: element type, sizes and the body's bytes (big-endian).
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    /// The magic number, `0x0000TTDD` (type code, number of dimensions).
    pub magic: u32,
    /// The element type.
    pub dtype: DataType,
    /// The size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// `Π dims × dtype.size()` bytes.
    pub body: Vec<u8>,
}

impl Idx {
    /// Every element converted to `f64`, in file order.
    pub fn to_f64(&self) -> Vec<f64> {
        let b = &self.body;
        match self.dtype {
            DataType::U8 => b.iter().map(|&v| v as f64).collect(),
            DataType::I8 => b.iter().map(|&v| v as i8 as f64).collect(),
            DataType::I16 => b.chunks_exact(2).map(|c| BigEndian::read_i16(c) as f64).collect(),
            DataType::I32 => b.chunks_exact(4).map(|c| BigEndian::read_i32(c) as f64).collect(),
            DataType::F32 => b.chunks_exact(4).map(|c| BigEndian::read_f32(c) as f64).collect(),
            DataType::F64 => b.chunks_exact(8).map(BigEndian::read_f64).collect(),
        }
    }
}

/// Reads an IDX file, raw or gzip.
///
/// The file is read as a stream: the header first, then exactly the body
/// it claims (into a buffer reserved for the smaller of that claim and what
/// the file can really hold: its size, or for gzip its size times deflate's
/// largest ratio, 1032), then one more byte decides "trailing bytes". A lying
/// header cannot make it allocate more, and a gzip bomb behind an honest
/// header is never inflated into memory.
///
/// # Errors
/// I/O errors, [`crate::ErrorKind::Limits`] past [`MAX_IDX_BYTES`], and
/// [`crate::ErrorKind::Format`] for a bad header, a short body or trailing
/// bytes.
pub fn read_idx(path: &Path) -> Result<Idx, Error> {
    let (file, len) = open_file(path)?;
    read_idx_from(file, Some(len), path)
}

/// Reads an IDX file, raw or gzip, from any reader; `source` names it in
/// errors. `len`, when known, is the stream's size in bytes and bounds the
/// first allocation further.
///
/// # Errors
/// As [`read_idx`].
pub fn read_idx_from(reader: impl Read, len: Option<u64>, source: &Path) -> Result<Idx, Error> {
    let mut reader = BufReader::new(reader);
    let is_gzip = reader
        .fill_buf()
        .map_err(|e| Error::new(source, ErrorKind::Io, format!("cannot read: {e}")))?
        .starts_with(&GZIP_MAGIC);
    let len = len.unwrap_or(MAX_IDX_BYTES);
    let parsed = if is_gzip {
        parse_stream(MultiGzDecoder::new(reader), len.saturating_mul(1032), |e| {
            Problem::format(format!("gzip data is truncated or corrupt: {e}"))
        })
    } else {
        parse_stream(reader, len, |e| Problem::format(format!("cannot read: {e}")))
    };
    parsed.map_err(|p| p.at(source))
}

/// Parses an IDX file, raw or gzip, held in memory; `source` names it in
/// errors.
///
/// # Errors
/// As [`read_idx`].
pub fn parse_idx(bytes: &[u8], source: &Path) -> Result<Idx, Error> {
    read_idx_from(bytes, Some(bytes.len() as u64), source)
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Parses an (already decompressed) IDX stream. `hint` bounds the body's
/// first allocation; `fail` turns a read error into a message.
fn parse_stream(mut r: impl Read, hint: u64, fail: impl Fn(std::io::Error) -> Problem) -> Parsed<Idx> {
    let mut head = [0u8; 4];
    let got = read_full(&mut r, &mut head).map_err(&fail)?;
    if got == 0 {
        return Err(Problem::format("file is empty, expected an IDX header"));
    }
    if got < 4 {
        return Err(Problem::format(format!("file is {got} bytes, expected at least a 4-byte IDX magic number")));
    }
    let magic = BigEndian::read_u32(&head);
    if head[0] != 0 || head[1] != 0 {
        return Err(Problem::format(format!(
            "magic 0x{magic:08x} is not IDX, expected two zero bytes, a type code and a dimension count"
        )));
    }
    let dtype = DataType::from_code(head[2]).ok_or_else(|| {
        Problem::format(format!(
            "magic 0x{magic:08x} has type code 0x{:02x}, expected one of 0x08 0x09 0x0b 0x0c 0x0d 0x0e",
            head[2]
        ))
    })?;
    let ndim = head[3] as usize;
    let header = 4 + 4 * ndim;
    let mut sizes = [0u8; 4 * 255];
    let sizes = &mut sizes[..4 * ndim];
    let got = read_full(&mut r, sizes).map_err(&fail)?;
    if got < sizes.len() {
        return Err(Problem::format(format!(
            "header of {ndim} dimensions needs {header} bytes, found a file of {}",
            4 + got
        )));
    }
    let dims: Vec<usize> = sizes.chunks_exact(4).map(|c| BigEndian::read_u32(c) as usize).collect();
    let need = dims
        .iter()
        .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| Problem::format(format!("header sizes {dims:?} overflow, expected a body under 2^64 bytes")))?;
    let shape = || dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×");
    // the body may hold this many bytes; one more is over the limit
    let room = MAX_IDX_BYTES - header as u64;
    let mut body = Vec::with_capacity(need.min(hint).min(room) as usize);
    (&mut r).take(need.min(room + 1)).read_to_end(&mut body).map_err(&fail)?;
    let found = body.len() as u64;
    if found > room {
        return Err(Problem::limits(format!("IDX data is larger than the limit of {MAX_IDX_BYTES} bytes")));
    }
    if found < need {
        return Err(Problem::format(format!("body is short: header {} needs {need} bytes, found {found}", shape())));
    }
    // the body is complete: anything after it is an error, counted without
    // being kept (up to the limit)
    let extra = std::io::copy(&mut (&mut r).take(room + 1 - found), &mut std::io::sink()).map_err(&fail)?;
    if extra > 0 {
        if found + extra > room {
            return Err(Problem::limits(format!("IDX data is larger than the limit of {MAX_IDX_BYTES} bytes")));
        }
        return Err(Problem::format(format!(
            "trailing bytes: header {} needs {need} bytes after it, found {}",
            shape(),
            found + extra
        )));
    }
    Ok(Idx { magic, dtype, dims, body })
}

fn describe_magic(magic: u32) -> String {
    match magic {
        0x0000_0803 => format!("0x{magic:08x} is an image file"),
        0x0000_0801 => format!("0x{magic:08x} is a label file"),
        _ => format!("0x{magic:08x}"),
    }
}

/// Checks the magic of a parsed file against the one a reader wants.
pub(crate) fn expect_magic(idx: &Idx, want: u32, what: &str) -> Parsed<()> {
    if idx.magic != want {
        return Err(Problem::format(format!("magic {}, expected 0x{want:08x} ({what})", describe_magic(idx.magic))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: Vec<u8>) -> Parsed<Idx> {
        let len = bytes.len() as u64;
        parse_stream(&bytes[..], len, |e| Problem::format(e.to_string()))
    }

    fn file(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn parses_every_type() {
        let idx = parse(file(0x0000_0d01, &[2], &[0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0])).unwrap();
        assert_eq!(idx.dtype, DataType::F32);
        assert_eq!(idx.to_f64(), [1.0, -2.0]);
        let idx = parse(file(0x0000_0b02, &[1, 2], &[0xff, 0xfe, 0, 7])).unwrap();
        assert_eq!((idx.dims.clone(), idx.to_f64()), (vec![1, 2], vec![-2.0, 7.0]));
        let idx = parse(file(0x0000_0900, &[], &[0xff])).unwrap();
        assert_eq!(idx.to_f64(), [-1.0]);
    }

    #[test]
    fn header_claiming_more_than_the_body_is_refused_without_allocating() {
        let e = parse(file(0x0000_0803, &[u32::MAX, 28, 28], &[0; 10])).unwrap_err();
        assert_eq!(e.detail, "body is short: header 4294967295×28×28 needs 3367254359280 bytes, found 10");
    }

    /// Random damage to a small IDX file: Ok or a typed error, never a panic.
    #[test]
    fn damaged_headers_never_panic() {
        let good = file(0x0000_0803, &[3, 2, 2], &[7; 12]);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bad = good.clone();
            bad[(state % 16) as usize] = (state >> 8) as u8;
            bad.truncate(((state >> 16) % 40) as usize);
            let _ = parse(bad);
        }
    }

    #[test]
    fn bad_type_code() {
        let e = parse(file(0x0000_0703, &[1, 1, 1], &[0])).unwrap_err();
        assert!(e.detail.starts_with("magic 0x00000703 has type code 0x07"), "{}", e.detail);
    }
}
