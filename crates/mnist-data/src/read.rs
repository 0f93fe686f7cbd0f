//! Opening files and reading them whole with a size limit.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, ErrorKind};

/// The first two bytes of every gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads `path` whole, refusing more than `limit` bytes.
///
/// # Errors
/// [`ErrorKind::Io`] if the path is a directory or cannot be read,
/// [`ErrorKind::Limits`] if the file is larger than `limit`.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    let (file, len) = open_file(path)?;
    let mut bytes = Vec::with_capacity(len.min(limit) as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::new(path, ErrorKind::Io, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(Error::new(path, ErrorKind::Limits, format!("file is larger than the limit of {limit} bytes")));
    }
    Ok(bytes)
}

/// Opens `path` for reading and returns its length.
///
/// # Errors
/// [`ErrorKind::Io`] if it is a directory or cannot be opened.
pub(crate) fn open_file(path: &Path) -> Result<(File, u64), Error> {
    let io = |e: std::io::Error| Error::new(path, ErrorKind::Io, format!("cannot read: {e}"));
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(Error::new(path, ErrorKind::Io, "is a directory, expected a file"));
    }
    Ok((File::open(path).map_err(io)?, meta.len()))
}
