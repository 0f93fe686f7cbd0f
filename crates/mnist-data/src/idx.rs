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
pub fn read_idx_from(reader: impl Read + Send, len: Option<u64>, source: &Path) -> Result<Idx, Error> {
    let mut r = IdxReader::from_reader(reader, source)?;
    // what the stream can really hold: its size, or for gzip its size times
    // deflate's largest ratio
    let hint = len.unwrap_or(MAX_IDX_BYTES).saturating_mul(if r.gzip { 1032 } else { 1 });
    let mut body = Vec::with_capacity(r.need.min(hint).min(r.room) as usize);
    if let Err(e) = r.read_to_end(&mut body) {
        return Err(r.io_error(e));
    }
    let (magic, dtype, dims) = (r.magic, r.dtype, r.dims.clone());
    r.finish()?;
    Ok(Idx { magic, dtype, dims, body })
}

/// Parses an IDX file, raw or gzip, held in memory; `source` names it in
/// errors.
///
/// # Errors
/// As [`read_idx`].
pub fn parse_idx(bytes: &[u8], source: &Path) -> Result<Idx, Error> {
    read_idx_from(bytes, Some(bytes.len() as u64), source)
}

/// An IDX file opened for reading in pieces: the header parsed and checked,
/// the body handed out as it is read (as [`Read`]), and [`IdxReader::finish`]
/// checking that the body was whole and nothing followed it. A reader of a
/// large file can work on the first images while the rest is inflated;
/// [`read_idx`] is this reader read to the end.
pub struct IdxReader<'r> {
    stream: Box<dyn Read + Send + 'r>,
    gzip: bool,
    source: std::path::PathBuf,
    magic: u32,
    dtype: DataType,
    dims: Vec<usize>,
    /// body bytes the header claims
    need: u64,
    /// body bytes the limit allows
    room: u64,
    /// body bytes read so far
    found: u64,
}

impl<'r> IdxReader<'r> {
    /// Opens an IDX file, raw or gzip, and reads its header.
    ///
    /// # Errors
    /// As [`read_idx`], for the header.
    pub fn open(path: &Path) -> Result<IdxReader<'static>, Error> {
        let (file, _) = open_file(path)?;
        IdxReader::from_reader(file, path)
    }

    /// Reads the header of an IDX stream, raw or gzip; `source` names it in
    /// errors.
    ///
    /// # Errors
    /// As [`read_idx`], for the header.
    pub fn from_reader(reader: impl Read + Send + 'r, source: &Path) -> Result<IdxReader<'r>, Error> {
        let mut reader = BufReader::new(reader);
        let gzip = reader
            .fill_buf()
            .map_err(|e| Error::new(source, ErrorKind::Io, format!("cannot read: {e}")))?
            .starts_with(&GZIP_MAGIC);
        let mut stream: Box<dyn Read + Send + 'r> =
            if gzip { Box::new(MultiGzDecoder::new(reader)) } else { Box::new(reader) };
        let fail = |e| read_problem(gzip, e);
        let (magic, dtype, dims, header) = parse_header(&mut stream, fail).map_err(|p| p.at(source))?;
        let need = dims.iter().try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64)).ok_or_else(|| {
            Problem::format(format!("header sizes {dims:?} overflow, expected a body under 2^64 bytes")).at(source)
        })?;
        let room = MAX_IDX_BYTES - header;
        Ok(IdxReader { stream, gzip, source: source.to_path_buf(), magic, dtype, dims, need, room, found: 0 })
    }

    /// The magic number, `0x0000TTDD`.
    pub fn magic(&self) -> u32 {
        self.magic
    }

    /// The size of each dimension, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The error for a failed read of the body.
    pub fn io_error(&self, e: std::io::Error) -> Error {
        read_problem(self.gzip, e).at(&self.source)
    }

    /// Replaces the contents of `buf` with the next `len` bytes of the body.
    /// `buf` grows only as bytes arrive, so a header claiming more than the
    /// file holds cannot make it allocate more than about twice the file.
    ///
    /// # Errors
    /// A read error, or the body ending (or passing the limit) first: the
    /// error [`IdxReader::finish`] gives.
    pub fn read_body(&mut self, len: u64, buf: &mut Vec<u8>) -> Result<(), Error> {
        // a buffer handed back at this length is filled in place (no
        // zeroing of its spare capacity, as read_to_end does each time)
        let read = if buf.len() as u64 == len {
            read_full(self, buf)
        } else {
            buf.clear();
            self.take(len).read_to_end(buf)
        };
        match read {
            Ok(got) if got as u64 == len => Ok(()),
            Ok(_) => Err(self.body_problem().unwrap_or_else(|| Problem::format("body ended early")).at(&self.source)),
            Err(e) => Err(self.io_error(e)),
        }
    }

    /// Reads what is left of the body without keeping it, then checks that
    /// the body was whole and that nothing follows it (counted, up to the
    /// limit, without being kept).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Limits`] past [`MAX_IDX_BYTES`], and
    /// [`crate::ErrorKind::Format`] for a short body or trailing bytes.
    pub fn finish(mut self) -> Result<(), Error> {
        if let Err(e) = std::io::copy(&mut self, &mut std::io::sink()) {
            return Err(self.io_error(e));
        }
        if let Some(p) = self.body_problem() {
            return Err(p.at(&self.source));
        }
        let rest = self.room + 1 - self.found;
        let extra = match std::io::copy(&mut (&mut self.stream).take(rest), &mut std::io::sink()) {
            Ok(n) => n,
            Err(e) => return Err(self.io_error(e)),
        };
        if extra == 0 {
            return Ok(());
        }
        let problem = if self.found + extra > self.room {
            Problem::limits(format!("IDX data is larger than the limit of {MAX_IDX_BYTES} bytes"))
        } else {
            Problem::format(format!(
                "trailing bytes: header {} needs {} bytes after it, found {}",
                self.shape(),
                self.need,
                self.found + extra
            ))
        };
        Err(problem.at(&self.source))
    }

    /// What is wrong with the body read so far, once the stream has ended
    /// or passed the limit.
    fn body_problem(&self) -> Option<Problem> {
        if self.found > self.room {
            return Some(Problem::limits(format!("IDX data is larger than the limit of {MAX_IDX_BYTES} bytes")));
        }
        (self.found < self.need).then(|| {
            Problem::format(format!(
                "body is short: header {} needs {} bytes, found {}",
                self.shape(),
                self.need,
                self.found
            ))
        })
    }

    fn shape(&self) -> String {
        self.dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×")
    }
}

/// The body, up to what the header claims (and one byte past the limit).
impl Read for IdxReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.need.min(self.room + 1) - self.found;
        let len = (buf.len() as u64).min(left) as usize;
        if len == 0 {
            return Ok(0);
        }
        let n = self.stream.read(&mut buf[..len])?;
        self.found += n as u64;
        Ok(n)
    }
}

fn read_problem(gzip: bool, e: std::io::Error) -> Problem {
    if gzip {
        Problem::format(format!("gzip data is truncated or corrupt: {e}"))
    } else {
        Problem::format(format!("cannot read: {e}"))
    }
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

/// Parses an IDX header: magic, element type, sizes, and its length in
/// bytes. `fail` turns a read error into a message.
fn parse_header(
    r: &mut impl Read,
    fail: impl Fn(std::io::Error) -> Problem,
) -> Parsed<(u32, DataType, Vec<usize>, u64)> {
    let mut head = [0u8; 4];
    let got = read_full(r, &mut head).map_err(&fail)?;
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
    let got = read_full(r, sizes).map_err(&fail)?;
    if got < sizes.len() {
        return Err(Problem::format(format!(
            "header of {ndim} dimensions needs {header} bytes, found a file of {}",
            4 + got
        )));
    }
    let dims = sizes.chunks_exact(4).map(|c| BigEndian::read_u32(c) as usize).collect();
    Ok((magic, dtype, dims, header as u64))
}

fn describe_magic(magic: u32) -> String {
    match magic {
        0x0000_0803 => format!("0x{magic:08x} is an image file"),
        0x0000_0801 => format!("0x{magic:08x} is a label file"),
        _ => format!("0x{magic:08x}"),
    }
}

/// Checks the magic of a parsed file against the one a reader wants.
pub(crate) fn expect_magic(magic: u32, want: u32, what: &str) -> Parsed<()> {
    if magic != want {
        return Err(Problem::format(format!("magic {}, expected 0x{want:08x} ({what})", describe_magic(magic))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: Vec<u8>) -> Result<Idx, Error> {
        parse_idx(&bytes, Path::new("test.idx"))
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
        assert_eq!(e.detail(), "body is short: header 4294967295×28×28 needs 3367254359280 bytes, found 10");
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
        assert!(e.detail().starts_with("magic 0x00000703 has type code 0x07"), "{e}");
    }
}
