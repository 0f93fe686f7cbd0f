//! Reading a whole file with a size limit, gzip recognised by content.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::{Error, ErrorKind, Problem};

/// The first two bytes of every gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads `path` whole, refusing more than `limit` bytes.
///
/// # Errors
/// [`ErrorKind::Io`] if the path is a directory or cannot be read,
/// [`ErrorKind::Limits`] if the file is larger than `limit`.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    let io = |e: std::io::Error| Error::new(path, ErrorKind::Io, format!("cannot read: {e}"));
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(Error::new(path, ErrorKind::Io, "is a directory, expected a file"));
    }
    let mut bytes = Vec::new();
    File::open(path).map_err(io)?.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(Error::new(path, ErrorKind::Limits, format!("file is larger than the limit of {limit} bytes")));
    }
    Ok(bytes)
}

/// `bytes` itself, or, if it starts with the gzip magic `1f 8b`, every gzip
/// member decompressed, refusing more than `limit` bytes of output.
pub(crate) fn gunzip_if_gzip(bytes: Vec<u8>, limit: u64) -> Result<Vec<u8>, Problem> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(&bytes[..])
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| Problem::format(format!("gzip data is truncated or corrupt: {e}")))?;
    if out.len() as u64 > limit {
        return Err(Problem::limits(format!("gzip data decompresses to more than the limit of {limit} bytes")));
    }
    Ok(out)
}
