//! The test images read on a second thread while the first classifies them.
//!
//! Inflating the 1.6 MB gzip of the test set takes about as long as
//! classifying its 10,000 images (about 18 ms each on one core of the AMD
//! EPYC Zen 3 VM). `infer eval` therefore reads the images a chunk at a
//! time on a thread of its own and classifies each chunk as it arrives: the
//! process takes about the longer of the two, not their sum. The reader
//! runs at most [`IN_FLIGHT`] chunks ahead, and the chunk buffers go back to
//! it to be filled again, so the images are never all in memory at once.
//!
//! Errors keep the order of reading the whole file first: when anything
//! else fails, the error of the image file, if it has one, is reported
//! instead (see [`ImageStream::first_error`]).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use mnist_data::{Error, ImageReader, Images};

use crate::Failure;

/// Chunks the reading thread may have read that the classifier has not yet
/// taken.
pub const IN_FLIGHT: usize = 4;

/// An image file being read on its own thread, a chunk of images at a time.
pub struct ImageStream {
    /// Number of images the header claims, rows and columns per image,
    /// once [`ImageStream::header`] has them.
    shape: Option<(usize, usize, usize)>,
    header: Receiver<(usize, usize, usize)>,
    path: PathBuf,
    chunks: Receiver<Vec<u8>>,
    spare: Sender<Vec<u8>>,
    /// The reading thread; its result is the verdict on the whole file.
    reader: Option<JoinHandle<Result<(), Error>>>,
}

impl ImageStream {
    /// Starts reading `path` on a new thread, `chunk` images at a time.
    ///
    /// # Panics
    /// If `chunk` is 0, or the thread cannot be started.
    pub fn open(path: &Path, chunk: usize) -> ImageStream {
        assert!(chunk > 0, "chunks hold at least one image");
        let (header_tx, header_rx) = mpsc::sync_channel(1);
        let (chunks_tx, chunks) = mpsc::sync_channel(IN_FLIGHT);
        let (spare, spare_rx) = mpsc::channel();
        let owned = path.to_path_buf();
        // on a CPU of its own where the process has one, so that it
        // inflates while this thread classifies ([`crate::affinity`])
        let cpu = crate::affinity::other_cpus().first().copied();
        let reader = std::thread::Builder::new()
            .name("image-reader".into())
            .spawn(move || {
                if let Some(cpu) = cpu {
                    crate::affinity::pin_to(cpu);
                }
                read_chunks(&owned, chunk, &header_tx, &chunks_tx, &spare_rx)
            })
            .expect("cannot start the image-reading thread");
        ImageStream { shape: None, header: header_rx, path: path.to_path_buf(), chunks, spare, reader: Some(reader) }
    }

    /// The number of images, rows and columns per image, from the header,
    /// once it is read and checked.
    ///
    /// # Errors
    /// The image file's header error.
    pub fn header(&mut self) -> Result<(usize, usize, usize), Failure> {
        if let Some(shape) = self.shape {
            return Ok(shape);
        }
        match self.header.recv() {
            Ok(shape) => {
                self.shape = Some(shape);
                Ok(shape)
            }
            // the thread ends without a header only on a header error
            Err(_) => Err(match self.reader.take().map(join) {
                Some(Err(e)) => e.into(),
                _ => Failure(format!("{}: the image reader ended early", self.path.display())),
            }),
        }
    }

    /// The next chunk of images, or `None` once the file has been read to
    /// its end and checked.
    ///
    /// # Errors
    /// The image file's error (short body, trailing bytes, corrupt gzip…).
    pub fn next_chunk(&mut self) -> Result<Option<Images>, Failure> {
        let (_, rows, cols) = self.header()?;
        match self.chunks.recv() {
            Ok(pixels) => Ok(Some(Images { count: pixels.len() / (rows * cols), rows, cols, pixels })),
            Err(_) => match self.reader.take() {
                Some(reader) => join(reader).map(|()| None).map_err(Failure::from),
                None => Ok(None),
            },
        }
    }

    /// Hands a chunk's buffer back to the reading thread to be filled again.
    pub fn recycle(&self, images: Images) {
        // the reader may have finished; then the buffer is simply dropped
        let _ = self.spare.send(images.pixels);
    }

    /// `other`, unless the image file itself is bad: then its error, as if
    /// the whole file had been read before anything else (the order of
    /// `infer`'s other commands).
    pub fn first_error(mut self, other: Failure) -> Failure {
        // closing the channel lets the reader check the rest without waiting
        let reader = self.reader.take();
        drop(self);
        match reader.map(join) {
            Some(Err(e)) => e.into(),
            _ => other,
        }
    }
}

/// The reading thread: header, then chunks, then the check of the file's
/// end, which is also made when the classifier stopped taking chunks.
fn read_chunks(
    path: &Path,
    chunk: usize,
    header: &SyncSender<(usize, usize, usize)>,
    chunks: &SyncSender<Vec<u8>>,
    spare: &Receiver<Vec<u8>>,
) -> Result<(), Error> {
    let mut reader = ImageReader::open(path)?;
    // the receiver waits for exactly this message
    let _ = header.send((reader.count, reader.rows, reader.cols));
    let mut left = reader.count;
    while left > 0 {
        let n = left.min(chunk);
        let mut pixels = spare.try_recv().unwrap_or_default();
        reader.read_images(n, &mut pixels)?;
        left -= n;
        if chunks.send(pixels).is_err() {
            break;
        }
    }
    reader.finish()
}

fn join(reader: JoinHandle<Result<(), Error>>) -> Result<(), Error> {
    reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
