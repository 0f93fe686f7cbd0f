//! Strict readers for the files of chapter 3 of "Deep Learning from Scratch".
//!
//! - [`idx`]: any IDX file, raw or gzip (recognised by content, every member
//!   read), with [`mnist`] on top for MNIST images and labels and the book's
//!   `load_mnist` options.
//! - [`pickle`]: numpy weight pickles, protocols 2 to 5, read as data (an
//!   allow-list of globals; nothing executes).
//! - [`text`]: a plain-text weights format for hand-edited experiments.
//! - [`weights`]: named arrays from either, merged like `dict.update` and
//!   checked into a chain of dense layers.
//!
//! Every error names the file and says what was expected and what was found.
//! No allocation is sized by a header: files are read with a limit and every
//! size a header claims is checked against the bytes really there.
#![warn(missing_docs)]

mod error;
pub mod fuzz;
pub mod idx;
pub mod mnist;
pub mod pickle;
mod read;
pub mod text;
pub mod weights;

pub use error::{Error, ErrorKind};
pub use mnist::{load_mnist, ImageReader, Images, LabeledImages, Labels, Options, CLASSES};
pub use read::{read_limited, GZIP_MAGIC};
pub use weights::{Layer, Weights};
