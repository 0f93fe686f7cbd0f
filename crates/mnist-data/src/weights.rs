//! Named weight arrays from pickles or text files, merged like a Python
//! `dict.update`, then checked into a chain of dense layers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Problem};
use crate::pickle::{parse_pickle, NdArray, MAX_PICKLE_BYTES};
use crate::read::read_limited;
use crate::text::{parse_text, MAX_TEXT_BYTES};

/// One named array and the file it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// The dict key (`W1`, `b1`, …).
    pub name: String,
    /// Sizes, outermost first.
    pub shape: Vec<usize>,
    /// The elements, row-major.
    pub data: Vec<f32>,
    /// The file that defined it.
    pub source: PathBuf,
}

impl Array {
    fn shape_str(&self) -> String {
        self.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×")
    }

    fn error(&self, detail: String) -> Error {
        Error::new(&self.source, ErrorKind::Format, detail)
    }
}

/// Named arrays in the order they were first defined.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weights {
    arrays: Vec<Array>,
    /// Where each name is in `arrays`.
    index: HashMap<String, usize>,
    sources: Vec<PathBuf>,
}

/// One dense layer `z = act(a·W + b)` taken from [`Weights`].
#[derive(Clone, Debug, PartialEq)]
#[allow(non_snake_case)]
pub struct Layer {
    /// Inputs (rows of W).
    pub k: usize,
    /// Outputs (columns of W).
    pub n: usize,
    /// `k×n`, row-major.
    pub W: Vec<f32>,
    /// `n` elements.
    pub b: Vec<f32>,
}

impl Weights {
    /// Reads a weights file: a numpy pickle (first byte `0x80`) or the text
    /// format of [`crate::text`]. Every array must be finite.
    ///
    /// # Errors
    /// I/O, format, limit and unsupported errors naming the file; a NaN or
    /// infinity names the array and its index.
    pub fn read(path: &Path) -> Result<Weights, Error> {
        let bytes = read_limited(path, MAX_PICKLE_BYTES.max(MAX_TEXT_BYTES))?;
        Weights::from_bytes(&bytes, path)
    }

    /// Parses a weights file held in memory, as [`Weights::read`] does;
    /// `source` names it in errors.
    ///
    /// # Errors
    /// As [`Weights::read`].
    pub fn from_bytes(bytes: &[u8], source: &Path) -> Result<Weights, Error> {
        let path = source;
        if bytes.len() as u64 > MAX_PICKLE_BYTES.max(MAX_TEXT_BYTES) {
            return Err(Problem::limits(format!(
                "file is larger than the limit of {} bytes",
                MAX_PICKLE_BYTES.max(MAX_TEXT_BYTES)
            ))
            .at(path));
        }
        let parsed = if bytes.is_empty() {
            Err(Problem::format("file is empty, expected a numpy pickle or a text weights file"))
        } else if bytes[0] == 0x80 {
            parse_pickle(bytes)
        } else if bytes.len() as u64 > MAX_TEXT_BYTES {
            Err(Problem::limits(format!("text weights file is larger than the limit of {MAX_TEXT_BYTES} bytes")))
        } else {
            parse_text(bytes)
        }
        .map_err(|p| p.at(path))?;
        let mut w = Weights { arrays: Vec::new(), index: HashMap::new(), sources: vec![path.to_owned()] };
        for (name, NdArray { shape, data }) in parsed {
            let a = Array { name, shape, data, source: path.to_owned() };
            if let Some(i) = a.data.iter().position(|v| !v.is_finite()) {
                return Err(a.error(format!(
                    "{}{} is {}, expected finite weights",
                    a.name,
                    index_str(&a.shape, i),
                    a.data[i]
                )));
            }
            w.index.insert(a.name.clone(), w.arrays.len());
            w.arrays.push(a);
        }
        Ok(w)
    }

    /// Reads every file in turn, later files adding or replacing arrays by
    /// name, as `dict.update`.
    ///
    /// # Errors
    /// As [`Weights::read`]; [`ErrorKind::Format`] for an empty list.
    pub fn read_all<P: AsRef<Path>>(paths: &[P]) -> Result<Weights, Error> {
        let mut w = Weights::default();
        for p in paths {
            w.update(Weights::read(p.as_ref())?);
        }
        if w.arrays.is_empty() {
            return Err(Error::new("weights", ErrorKind::Format, "no weights file given"));
        }
        Ok(w)
    }

    /// Adds or replaces arrays by name, like Python's `dict.update`.
    pub fn update(&mut self, other: Weights) {
        for a in other.arrays {
            match self.index.get(&a.name) {
                Some(&i) => self.arrays[i] = a,
                None => {
                    self.index.insert(a.name.clone(), self.arrays.len());
                    self.arrays.push(a);
                }
            }
        }
        self.sources.extend(other.sources);
    }

    /// The array called `name`.
    pub fn get(&self, name: &str) -> Option<&Array> {
        self.index.get(name).map(|&i| &self.arrays[i])
    }

    /// Every array, in order.
    pub fn arrays(&self) -> &[Array] {
        &self.arrays
    }

    /// The layers `W1, b1, W2, b2, …, Wn, bn`: each `Wi` is `ki×ni`, each
    /// `bi` has `ni` elements, `k1 = input_len`, `k(i+1) = ni`, and
    /// `nn = classes`.
    ///
    /// # Errors
    /// [`ErrorKind::Format`] naming the array that is missing or whose shape
    /// does not chain.
    pub fn layers(&self, input_len: usize, classes: usize) -> Result<Vec<Layer>, Error> {
        let first_source = || self.sources.first().cloned().unwrap_or_default();
        let mut layers: Vec<Layer> = Vec::new();
        while let Some(w) = self.get(&format!("W{}", layers.len() + 1)) {
            let i = layers.len() + 1;
            let (k, n) = match w.shape[..] {
                [k, n] => (k, n),
                _ => return Err(w.error(format!("W{i} has shape ({}), expected 2 dimensions k×n", w.shape_str()))),
            };
            let (want_k, from) = match layers.last() {
                None => (input_len, "pixels per image".to_string()),
                Some(prev) => (prev.n, format!("the columns of W{}", i - 1)),
            };
            if k != want_k {
                return Err(w.error(format!("W{i} is {k}×{n}, expected {want_k} rows ({from})")));
            }
            let b = self.get(&format!("b{i}")).ok_or_else(|| {
                w.error(format!("b{i} is missing, expected a bias of {n} for W{i} ({k}×{n}) in the weights"))
            })?;
            let b_len = match b.shape[..] {
                [len] | [1, len] => len,
                _ => 0,
            };
            if b_len != n {
                return Err(b.error(format!(
                    "b{i} has shape ({}), expected {n} elements (the columns of W{i})",
                    b.shape_str()
                )));
            }
            layers.push(Layer { k, n, W: w.data.clone(), b: b.data.clone() });
        }
        let Some(last) = layers.last() else {
            return Err(Error::new(
                first_source(),
                ErrorKind::Format,
                "W1 is missing, expected arrays W1, b1, W2, b2, …",
            ));
        };
        let depth = layers.len();
        if let Some(b) = self.get(&format!("b{}", depth + 1)) {
            return Err(b.error(format!(
                "b{} has no W{}, expected the layers to end at W{depth}",
                depth + 1,
                depth + 1
            )));
        }
        if last.n != classes {
            let w = self.get(&format!("W{depth}")).expect("found above");
            return Err(
                w.error(format!("W{depth} is {}×{}, expected {classes} columns (one per class)", last.k, last.n))
            );
        }
        Ok(layers)
    }
}

/// `[i]` or `[i, j]`: the position of flat index `flat` in `shape`.
fn index_str(shape: &[usize], mut flat: usize) -> String {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d].max(1);
        flat /= shape[d].max(1);
    }
    format!("[{}]", idx.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
}
