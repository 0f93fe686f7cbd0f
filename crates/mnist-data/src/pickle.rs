//! numpy weight pickles, read as data: nothing in the file is ever executed.
//!
//! A pickle is a program for a stack machine; `pickle.load` runs it and calls
//! whatever globals it names. This reader runs the same opcodes on a closed
//! set of values instead: the only globals it accepts are the handful numpy
//! uses to rebuild arrays ([`Global`]), each mapped to a fixed Rust function.
//! Any other global (`os.system`, `builtins.eval`, …) is an error naming it.
//!
//! What it reads: protocols 2 to 5 as numpy 1.x and 2.x write them;
//! `_reconstruct` + BUILD (protocols 2–4) and protocol 5's `_frombuffer`;
//! protocol 2's `_codecs.encode(<latin-1 text>, 'latin1')` bytes; float32 and
//! float64 (converted to f32); little- or big-endian; C or Fortran order
//! (arrays come out row-major).
//!
//! Objects live in an arena and the stack and memo hold indices into it, so a
//! memo entry *shares* its object as Python's memo does: the book's file
//! memoizes the `dtype` before BUILD sets its byte order, and later arrays
//! see that byte order through the memo.
//!
//! Limits (all checked before anything is allocated from the file's claims):
//! [`MAX_PICKLE_BYTES`] of file, [`MAX_STACK`] items on the stack,
//! [`MAX_MARK_DEPTH`] open marks, [`MAX_OBJECTS`] objects, [`MAX_NDIM`]
//! dimensions; a length field can never claim more than the bytes left.
//!
//! Work is bounded by the file, not by what it asks for: a memo reference
//! shares its object, and everything the reader *derives* rather than copies
//! from the file (decoded arrays, `_codecs.encode` bytes, an array handed out
//! under a second key) is counted against a budget of [`DERIVED_PER_BYTE`]
//! bytes per byte of file. An honest pickle derives at most about one byte
//! per byte of its data; a file that calls `_frombuffer` again and again on
//! one memoised buffer is refused instead of decoding fresh copies. Keys are
//! found through a map, so time is linear in the number of entries.

use std::collections::HashMap;

use byteorder::{BigEndian, ByteOrder, LittleEndian};

use crate::error::{Parsed, Problem};

/// The largest pickle accepted: 256 MiB.
pub const MAX_PICKLE_BYTES: u64 = 256 << 20;
/// The most items on the stack at once.
pub const MAX_STACK: usize = 10_000;
/// The most MARKs open at once (numpy's pickles use 2).
pub const MAX_MARK_DEPTH: usize = 64;
/// The most objects one pickle may create.
pub const MAX_OBJECTS: usize = 1_000_000;
/// The most dimensions of an array.
pub const MAX_NDIM: usize = 32;
/// Bytes the reader may derive (decode, convert, copy out) per byte of file,
/// plus [`DERIVED_SLACK`].
pub const DERIVED_PER_BYTE: u64 = 4;
/// Derived bytes allowed on top of [`DERIVED_PER_BYTE`], for tiny files.
pub const DERIVED_SLACK: u64 = 64 << 10;

/// An array read from a pickle, converted to `f32`, row-major (C order).
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray {
    /// Sizes of the dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `Π shape` elements in row-major order.
    pub data: Vec<f32>,
}

/// The globals a numpy weights pickle may name; nothing else is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Global {
    /// `numpy.core.multiarray._reconstruct` (numpy 1.x) or
    /// `numpy._core.multiarray._reconstruct` (numpy 2.x).
    Reconstruct,
    /// `numpy.ndarray`, the class `_reconstruct` is given.
    Ndarray,
    /// `numpy.dtype`.
    Dtype,
    /// `numpy.core.numeric._frombuffer` / `numpy._core.numeric._frombuffer`
    /// (protocol 5).
    FromBuffer,
    /// `_codecs.encode`, how protocol 2 stores `bytes`.
    CodecsEncode,
    /// `collections.OrderedDict`, an empty one to fill with SETITEMS.
    OrderedDict,
}

impl Global {
    fn lookup(module: &str, name: &str) -> Option<Global> {
        Some(match (module, name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => Global::Reconstruct,
            ("numpy", "ndarray") => Global::Ndarray,
            ("numpy", "dtype") => Global::Dtype,
            ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => Global::FromBuffer,
            ("_codecs", "encode") => Global::CodecsEncode,
            ("collections", "OrderedDict") => Global::OrderedDict,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Float {
    F32,
    F64,
}

impl Float {
    /// Bytes per element in the file.
    fn size(self) -> usize {
        match self {
            Float::F32 => 4,
            Float::F64 => 8,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

type Id = usize;

#[derive(Debug)]
enum Obj {
    None,
    Bool(bool),
    Int(i64),
    Float,
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    Global(Global),
    Dtype {
        float: Float,
        endian: Endian,
    },
    /// `None` until BUILD gives the array its state.
    Array(Option<NdArray>),
}

impl Obj {
    fn type_name(&self) -> &'static str {
        match self {
            Obj::None => "None",
            Obj::Bool(_) => "bool",
            Obj::Int(_) => "int",
            Obj::Float => "float",
            Obj::Str(_) => "str",
            Obj::Bytes(_) => "bytes",
            Obj::Tuple(_) => "tuple",
            Obj::List(_) => "list",
            Obj::Dict(_) => "dict",
            Obj::Global(_) => "global",
            Obj::Dtype { .. } => "numpy.dtype",
            Obj::Array(_) => "numpy.ndarray",
        }
    }
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    /// Position of the opcode being run, for error messages.
    op_pos: usize,
    arena: Vec<Obj>,
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
    /// Derived bytes still allowed, see [`DERIVED_PER_BYTE`].
    budget: u64,
}

/// Reads a numpy weights pickle: a dict from names to arrays, in the order
/// the dict holds them.
///
/// # Errors
/// [`crate::ErrorKind::Format`] for malformed pickles and shapes that do not
/// fit their data, [`crate::ErrorKind::Unsupported`] for a global not on the
/// allow-list or a dtype other than float32/float64,
/// [`crate::ErrorKind::Limits`] past the limits above. Messages carry the
/// byte offset of the opcode.
pub(crate) fn parse_pickle(data: &[u8]) -> Parsed<Vec<(String, NdArray)>> {
    if data.is_empty() {
        return Err(Problem::format("file is empty, expected a pickle"));
    }
    if data[0] != 0x80 {
        return Err(Problem::format(format!(
            "first byte 0x{:02x} is not a pickle PROTO opcode, expected 0x80 (protocol 2 to 5)",
            data[0]
        )));
    }
    let budget = (data.len() as u64).saturating_mul(DERIVED_PER_BYTE).saturating_add(DERIVED_SLACK);
    let mut vm = Vm {
        data,
        pos: 0,
        op_pos: 0,
        arena: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        budget,
    };
    let root = vm.run()?;
    vm.into_weights(root)
}

impl<'a> Vm<'a> {
    fn err(&self, detail: impl std::fmt::Display) -> Problem {
        Problem::format(format!("{detail} at byte {}", self.op_pos))
    }

    fn unsupported(&self, detail: impl std::fmt::Display) -> Problem {
        Problem::unsupported(format!("{detail} at byte {}", self.op_pos))
    }

    fn take(&mut self, n: u64) -> Parsed<&'a [u8]> {
        let left = (self.data.len() - self.pos) as u64;
        if n > left {
            return Err(self.err(format_args!(
                "opcode 0x{:02x} needs {n} bytes, found {left} before the end of the file",
                self.data.get(self.op_pos).copied().unwrap_or(0)
            )));
        }
        let s = &self.data[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn u8(&mut self) -> Parsed<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Parsed<u16> {
        Ok(LittleEndian::read_u16(self.take(2)?))
    }
    fn u32(&mut self) -> Parsed<u32> {
        Ok(LittleEndian::read_u32(self.take(4)?))
    }
    fn u64(&mut self) -> Parsed<u64> {
        Ok(LittleEndian::read_u64(self.take(8)?))
    }

    fn line(&mut self) -> Parsed<&'a str> {
        let rest = &self.data[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| self.err("GLOBAL name has no newline"))?;
        let s = std::str::from_utf8(&rest[..end]).map_err(|_| self.err("GLOBAL name is not UTF-8"))?;
        self.pos += end + 1;
        Ok(s)
    }

    /// Counts `bytes` the reader is about to derive against the budget.
    fn spend(&mut self, bytes: u64) -> Parsed<()> {
        match self.budget.checked_sub(bytes) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(Problem::limits(format!(
                "pickle of {} bytes derives more than {} bytes of data at byte {} (the same data used again and again)",
                self.data.len(),
                (self.data.len() as u64).saturating_mul(DERIVED_PER_BYTE).saturating_add(DERIVED_SLACK),
                self.op_pos
            ))),
        }
    }

    fn alloc(&mut self, obj: Obj) -> Parsed<Id> {
        if self.arena.len() >= MAX_OBJECTS {
            return Err(Problem::limits(format!(
                "pickle creates more than {MAX_OBJECTS} objects at byte {}",
                self.op_pos
            )));
        }
        self.arena.push(obj);
        Ok(self.arena.len() - 1)
    }

    fn push_id(&mut self, id: Id) -> Parsed<()> {
        if self.stack.len() >= MAX_STACK {
            return Err(Problem::limits(format!(
                "pickle stack holds more than {MAX_STACK} items at byte {}",
                self.op_pos
            )));
        }
        self.stack.push(id);
        Ok(())
    }

    fn push(&mut self, obj: Obj) -> Parsed<()> {
        let id = self.alloc(obj)?;
        self.push_id(id)
    }

    fn pop(&mut self) -> Parsed<Id> {
        if self.marks.last() == Some(&self.stack.len()) {
            return Err(self.err("pop across a MARK"));
        }
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }

    fn top(&self) -> Parsed<Id> {
        self.stack.last().copied().ok_or_else(|| self.err("stack underflow"))
    }

    fn pop_mark(&mut self) -> Parsed<Vec<Id>> {
        let mark = self.marks.pop().ok_or_else(|| self.err("no MARK to pop to"))?;
        Ok(self.stack.split_off(mark))
    }

    fn string(&mut self, n: u64) -> Parsed<()> {
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes).map_err(|_| self.err("string is not valid UTF-8"))?;
        self.push(Obj::Str(s.to_owned()))
    }

    fn bytes(&mut self, n: u64) -> Parsed<()> {
        let bytes = self.take(n)?.to_vec();
        self.push(Obj::Bytes(bytes))
    }

    fn memo_put(&mut self, key: u64) -> Parsed<()> {
        let top = self.top()?;
        self.memo.insert(key, top);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Parsed<()> {
        let id = *self.memo.get(&key).ok_or_else(|| self.err(format_args!("memo key {key} was never stored")))?;
        self.push_id(id)
    }

    fn global(&mut self, module: &str, name: &str) -> Parsed<()> {
        match Global::lookup(module, name) {
            Some(g) => self.push(Obj::Global(g)),
            None => Err(self.unsupported(format_args!(
                "global {module}.{name} is not allowed, expected only the numpy array globals (nothing in a weights file is executed)"
            ))),
        }
    }

    /// Runs opcodes until STOP; returns the object left on the stack.
    fn run(&mut self) -> Parsed<Id> {
        loop {
            self.op_pos = self.pos;
            if self.pos == self.data.len() {
                return Err(self.err("file ends before the STOP opcode"));
            }
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if !(2..=5).contains(&proto) {
                        return Err(self.unsupported(format_args!("pickle protocol {proto}, expected 2 to 5")));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: a length hint only
                }
                b'.' => {
                    let root = self.pop()?;
                    if !self.stack.is_empty() || !self.marks.is_empty() {
                        return Err(self.err("STOP with items left on the stack"));
                    }
                    if self.pos != self.data.len() {
                        return Err(self.err(format_args!(
                            "STOP followed by {} trailing bytes, expected the end of the file",
                            self.data.len() - self.pos
                        )));
                    }
                    return Ok(root);
                }
                b'(' => {
                    if self.marks.len() >= MAX_MARK_DEPTH {
                        return Err(Problem::limits(format!(
                            "MARKs nested more than {MAX_MARK_DEPTH} deep at byte {}",
                            self.op_pos
                        )));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let top = self.top()?;
                    self.push_id(top)?
                }
                b'N' => self.push(Obj::None)?,
                0x88 => self.push(Obj::Bool(true))?,
                0x89 => self.push(Obj::Bool(false))?,
                b'K' => {
                    let v = self.u8()?;
                    self.push(Obj::Int(v as i64))?
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Obj::Int(v as i64))?
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Obj::Int(v as i64))?
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    if n > 8 {
                        return Err(self.unsupported(format_args!("LONG1 of {n} bytes, expected at most 8")));
                    }
                    let bytes = self.take(n as u64)?;
                    let mut v: i64 = 0;
                    for (i, &b) in bytes.iter().enumerate() {
                        v |= (b as i64) << (8 * i);
                    }
                    if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.push(Obj::Int(v))?
                }
                b'G' => {
                    self.take(8)?; // BINFLOAT: no weights file needs its value
                    self.push(Obj::Float)?
                }
                b'X' => {
                    let n = self.u32()? as u64;
                    self.string(n)?
                }
                0x8c => {
                    let n = self.u8()? as u64;
                    self.string(n)?
                }
                0x8d => {
                    let n = self.u64()?;
                    self.string(n)?
                }
                b'U' | b'T' => {
                    // Python 2 str: decoded as latin-1, as pickle.load(encoding='latin1')
                    let n = if op == b'U' { self.u8()? as u64 } else { self.u32()? as u64 };
                    let s = self.take(n)?.iter().map(|&b| b as char).collect();
                    self.push(Obj::Str(s))?
                }
                b'C' => {
                    let n = self.u8()? as u64;
                    self.bytes(n)?
                }
                b'B' => {
                    let n = self.u32()? as u64;
                    self.bytes(n)?
                }
                0x8e | 0x96 => {
                    let n = self.u64()?;
                    self.bytes(n)?
                }
                b')' => self.push(Obj::Tuple(Vec::new()))?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Obj::Tuple(items))?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n || self.marks.last().is_some_and(|&m| self.stack.len() - m < n) {
                        return Err(self.err(format_args!("TUPLE{n} needs {n} items on the stack")));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(Obj::Tuple(items))?
                }
                b']' => self.push(Obj::List(Vec::new()))?,
                b'}' => self.push(Obj::Dict(Vec::new()))?,
                b'a' => {
                    let item = self.pop()?;
                    let list = self.top()?;
                    self.extend_list(list, vec![item])?
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let list = self.top()?;
                    self.extend_list(list, items)?
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    let dict = self.top()?;
                    self.set_items(dict, vec![key, value])?
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.err("SETITEMS with an odd number of items"));
                    }
                    let dict = self.top()?;
                    self.set_items(dict, items)?
                }
                b'q' => {
                    let k = self.u8()? as u64;
                    self.memo_put(k)?
                }
                b'r' => {
                    let k = self.u32()? as u64;
                    self.memo_put(k)?
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    self.memo_put(k)?
                }
                b'h' => {
                    let k = self.u8()? as u64;
                    self.memo_get(k)?
                }
                b'j' => {
                    let k = self.u32()? as u64;
                    self.memo_get(k)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(module, name)?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let global = match (&self.arena[module], &self.arena[name]) {
                        (Obj::Str(m), Obj::Str(n)) => Global::lookup(m, n).ok_or_else(|| {
                            self.unsupported(format_args!(
                                "global {}.{} is not allowed, expected only the numpy array globals (nothing in a weights file is executed)",
                                m.escape_debug(), n.escape_debug()
                            ))
                        })?,
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    };
                    self.push(Obj::Global(global))?
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let obj = self.reduce(func, args)?;
                    self.push(obj)?
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.top()?;
                    self.build(obj, state)?
                }
                0x81 | 0x92 | b'i' | b'o' => {
                    return Err(self.unsupported(format_args!(
                        "opcode 0x{op:02x} creates an arbitrary object, expected only numpy arrays"
                    )))
                }
                0x97 | 0x98 => {
                    return Err(
                        self.unsupported("out-of-band buffer (protocol 5 buffer_callback), expected in-band data")
                    )
                }
                _ => return Err(self.err(format_args!("opcode 0x{op:02x} is not supported in a weights pickle"))),
            }
        }
    }

    fn extend_list(&mut self, list: Id, items: Vec<Id>) -> Parsed<()> {
        match &mut self.arena[list] {
            Obj::List(v) => {
                v.extend(items);
                Ok(())
            }
            other => {
                let t = other.type_name();
                Err(self.err(format_args!("APPEND to a {t}, expected a list")))
            }
        }
    }

    fn set_items(&mut self, dict: Id, items: Vec<Id>) -> Parsed<()> {
        match &mut self.arena[dict] {
            Obj::Dict(v) => {
                v.extend(items.chunks_exact(2).map(|kv| (kv[0], kv[1])));
                Ok(())
            }
            other => {
                let t = other.type_name();
                Err(self.err(format_args!("SETITEM on a {t}, expected a dict")))
            }
        }
    }

    fn tuple(&self, id: Id, what: &str, len: usize) -> Parsed<Vec<Id>> {
        match &self.arena[id] {
            Obj::Tuple(v) if v.len() == len => Ok(v.clone()),
            Obj::Tuple(v) => Err(self.err(format_args!("{what} is a tuple of {}, expected {len} items", v.len()))),
            o => Err(self.err(format_args!("{what} is a {}, expected a tuple", o.type_name()))),
        }
    }

    fn str(&self, id: Id, what: &str) -> Parsed<&str> {
        match &self.arena[id] {
            Obj::Str(s) => Ok(s),
            o => Err(self.err(format_args!("{what} is a {}, expected a str", o.type_name()))),
        }
    }

    fn shape(&self, id: Id) -> Parsed<Vec<usize>> {
        let dims = match &self.arena[id] {
            Obj::Tuple(v) => v,
            o => return Err(self.err(format_args!("array shape is a {}, expected a tuple", o.type_name()))),
        };
        if dims.len() > MAX_NDIM {
            return Err(Problem::limits(format!(
                "array has {} dimensions, limit {MAX_NDIM}, at byte {}",
                dims.len(),
                self.op_pos
            )));
        }
        dims.iter()
            .map(|&d| match self.arena[d] {
                Obj::Int(v) if v >= 0 => Ok(v as usize),
                _ => Err(self.err("array shape holds a value that is not a size")),
            })
            .collect()
    }

    fn dtype(&self, id: Id) -> Parsed<(Float, Endian)> {
        match self.arena[id] {
            Obj::Dtype { float, endian } => Ok((float, endian)),
            ref o => Err(self.err(format_args!("array dtype is a {}, expected a numpy.dtype", o.type_name()))),
        }
    }

    fn truth(&self, id: Id, what: &str) -> Parsed<bool> {
        match self.arena[id] {
            Obj::Bool(b) => Ok(b),
            Obj::Int(v) => Ok(v != 0),
            ref o => Err(self.err(format_args!("{what} is a {}, expected a bool", o.type_name()))),
        }
    }

    fn raw_bytes(&self, id: Id) -> Parsed<&[u8]> {
        match &self.arena[id] {
            Obj::Bytes(b) => Ok(b),
            o => Err(self.unsupported(format_args!("array data is a {}, expected raw bytes", o.type_name()))),
        }
    }

    fn reduce(&mut self, func: Id, args: Id) -> Parsed<Obj> {
        let Obj::Global(g) = self.arena[func] else {
            return Err(
                self.err(format_args!("REDUCE calls a {}, expected an allowed global", self.arena[func].type_name()))
            );
        };
        match g {
            Global::Reconstruct => {
                let a = self.tuple(args, "_reconstruct arguments", 3)?;
                if !matches!(self.arena[a[0]], Obj::Global(Global::Ndarray)) {
                    return Err(self.unsupported("_reconstruct of a class other than numpy.ndarray"));
                }
                Ok(Obj::Array(None))
            }
            Global::Dtype => {
                let a = self.tuple(args, "dtype arguments", 3)?;
                let code = self.str(a[0], "dtype code")?;
                let (float, endian) = match code.trim_start_matches(['<', '=', '|']) {
                    "f4" => (Float::F32, Endian::Little),
                    "f8" => (Float::F64, Endian::Little),
                    _ => match code {
                        ">f4" => (Float::F32, Endian::Big),
                        ">f8" => (Float::F64, Endian::Big),
                        _ => return Err(self.unsupported(format_args!("dtype '{code}', expected float32 or float64"))),
                    },
                };
                Ok(Obj::Dtype { float, endian })
            }
            Global::FromBuffer => {
                let a = self.tuple(args, "_frombuffer arguments", 4)?;
                let (float, endian) = self.dtype(a[1])?;
                let shape = self.shape(a[2])?;
                let fortran = match self.str(a[3], "_frombuffer order")? {
                    "C" => false,
                    "F" => true,
                    o => return Err(self.err(format_args!("_frombuffer order '{o}', expected 'C' or 'F'"))),
                };
                self.spend_on_array(float, a[0])?;
                let raw = self.raw_bytes(a[0])?;
                let array = self.make_array(shape, float, endian, fortran, raw)?;
                Ok(Obj::Array(Some(array)))
            }
            Global::CodecsEncode => {
                let a = self.tuple(args, "_codecs.encode arguments", 2)?;
                let enc = self.str(a[1], "encoding")?;
                if enc != "latin1" && enc != "latin-1" {
                    return Err(self.unsupported(format_args!("_codecs.encode to '{enc}', expected 'latin1'")));
                }
                let text_len = self.str(a[0], "_codecs.encode text")?.len() as u64;
                self.spend(text_len)?;
                let text = self.str(a[0], "_codecs.encode text")?;
                let bytes = text
                    .chars()
                    .map(|c| {
                        u8::try_from(c as u32).map_err(|_| self.err("latin-1 text holds a character above U+00FF"))
                    })
                    .collect::<Parsed<Vec<u8>>>()?;
                Ok(Obj::Bytes(bytes))
            }
            Global::OrderedDict => {
                self.tuple(args, "OrderedDict arguments", 0)?;
                Ok(Obj::Dict(Vec::new()))
            }
            Global::Ndarray => Err(self.unsupported("numpy.ndarray called directly, expected _reconstruct")),
        }
    }

    fn build(&mut self, obj: Id, state: Id) -> Parsed<()> {
        match self.arena[obj] {
            Obj::Dtype { float, .. } => {
                let order = match &self.arena[state] {
                    Obj::Tuple(v) if v.len() >= 2 => v[1],
                    _ => return Err(self.err("dtype state is not a tuple of at least 2 items")),
                };
                let endian = match self.str(order, "dtype byte order")? {
                    "<" | "=" | "|" => Endian::Little,
                    ">" => Endian::Big,
                    o => return Err(self.err(format_args!("dtype byte order '{o}', expected '<', '>', '=' or '|'"))),
                };
                self.arena[obj] = Obj::Dtype { float, endian };
                Ok(())
            }
            Obj::Array(None) => {
                let s = self.tuple(state, "array state", 5)?;
                let shape = self.shape(s[1])?;
                let (float, endian) = self.dtype(s[2])?;
                let fortran = self.truth(s[3], "is_fortran")?;
                self.spend_on_array(float, s[4])?;
                let raw = self.raw_bytes(s[4])?;
                let array = self.make_array(shape, float, endian, fortran, raw)?;
                self.arena[obj] = Obj::Array(Some(array));
                Ok(())
            }
            ref o => Err(self.unsupported(format_args!("BUILD on a {}, expected a dtype or an array", o.type_name()))),
        }
    }

    /// Counts the `f32` array that `raw` (of `float` elements) decodes into.
    fn spend_on_array(&mut self, float: Float, raw: Id) -> Parsed<()> {
        let len = self.raw_bytes(raw)?.len() as u64;
        self.spend(len / float.size() as u64 * 4)
    }

    fn make_array(
        &self,
        shape: Vec<usize>,
        float: Float,
        endian: Endian,
        fortran: bool,
        raw: &[u8],
    ) -> Parsed<NdArray> {
        let size = float.size();
        let dims = shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×");
        let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let need = count.and_then(|c| c.checked_mul(size));
        if need != Some(raw.len()) {
            return Err(self.err(format_args!(
                "array data is {} bytes, expected {} for shape ({dims}) of {}",
                raw.len(),
                need.map_or("more than 2^64".to_string(), |n| n.to_string()),
                if size == 4 { "float32" } else { "float64" }
            )));
        }
        let values: Vec<f32> = match (float, endian) {
            (Float::F32, Endian::Little) => raw.chunks_exact(4).map(LittleEndian::read_f32).collect(),
            (Float::F32, Endian::Big) => raw.chunks_exact(4).map(BigEndian::read_f32).collect(),
            (Float::F64, Endian::Little) => raw.chunks_exact(8).map(|c| LittleEndian::read_f64(c) as f32).collect(),
            (Float::F64, Endian::Big) => raw.chunks_exact(8).map(|c| BigEndian::read_f64(c) as f32).collect(),
        };
        let data = if fortran && shape.len() > 1 { fortran_to_c(&shape, &values) } else { values };
        Ok(NdArray { shape, data })
    }

    fn into_weights(mut self, root: Id) -> Parsed<Vec<(String, NdArray)>> {
        let Obj::Dict(items) = &mut self.arena[root] else {
            return Err(Problem::format(format!(
                "pickle holds a {}, expected a dict of numpy arrays",
                self.arena[root].type_name()
            )));
        };
        let items = std::mem::take(items);
        // a dict keeps the first position of a key and the last value:
        // (name, value id) in first-position order, found through a map
        let mut order: Vec<(String, Id)> = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        for (k, v) in items {
            let Obj::Str(name) = &self.arena[k] else {
                return Err(Problem::format(format!(
                    "dict key is a {}, expected a str naming an array",
                    self.arena[k].type_name()
                )));
            };
            match position.get(name) {
                Some(&i) => order[i].1 = v,
                None => {
                    position.insert(name.clone(), order.len());
                    order.push((name.clone(), v));
                }
            }
        }
        let mut out: Vec<(String, NdArray)> = Vec::with_capacity(order.len());
        // where each array object went first: a second key holding the same
        // object gets a copy, counted against the budget
        let mut first_use: HashMap<Id, usize> = HashMap::new();
        for (name, v) in order {
            if let Some(&i) = first_use.get(&v) {
                self.spend(out[i].1.data.len() as u64 * 4)?;
                let copy = out[i].1.clone();
                out.push((name, copy));
                continue;
            }
            let array = match &mut self.arena[v] {
                Obj::Array(Some(a)) => std::mem::replace(a, NdArray { shape: Vec::new(), data: Vec::new() }),
                Obj::Array(None) => return Err(Problem::format(format!("{name} is an array that BUILD never filled"))),
                o => return Err(Problem::format(format!("{name} is a {}, expected a numpy array", o.type_name()))),
            };
            first_use.insert(v, out.len());
            out.push((name, array));
        }
        Ok(out)
    }
}

/// Reorders `values`, stored in Fortran order (first index fastest), into C
/// order (last index fastest).
fn fortran_to_c(shape: &[usize], values: &[f32]) -> Vec<f32> {
    // stride of each dimension in the Fortran layout
    let mut fstride = vec![1usize; shape.len()];
    for d in 1..shape.len() {
        fstride[d] = fstride[d - 1] * shape[d - 1];
    }
    let mut out = Vec::with_capacity(values.len());
    let mut index = vec![0usize; shape.len()];
    for _ in 0..values.len() {
        out.push(values[index.iter().zip(&fstride).map(|(i, s)| i * s).sum::<usize>()]);
        // advance the C-order odometer: last dimension fastest
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_order_becomes_row_major() {
        // [[1, 2, 3], [4, 5, 6]] stored column by column
        assert_eq!(fortran_to_c(&[2, 3], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn a_huge_length_is_refused_before_allocating() {
        // PROTO 4, BINBYTES8 claiming 2^60 bytes
        let mut p = vec![0x80, 4, 0x8e];
        p.extend_from_slice(&(1u64 << 60).to_le_bytes());
        let e = parse_pickle(&p).unwrap_err();
        assert_eq!(
            e.detail,
            "opcode 0x8e needs 1152921504606846976 bytes, found 0 before the end of the file at byte 2"
        );
    }

    /// Random damage to the book's pickle: every result is Ok or a typed
    /// error, never a panic, and nothing is allocated beyond the file.
    #[test]
    fn damaged_pickles_never_panic() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sample_weight.pkl");
        let good = std::fs::read(path).unwrap();
        assert_eq!(parse_pickle(&good).unwrap().len(), 6);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // every truncation point in the opcode-dense header and tail
        for cut in (0..2000).chain(good.len() - 2000..good.len()) {
            let _ = parse_pickle(&good[..cut]);
        }
        // bytes overwritten with random values, in the opcodes (outside the
        // raw float data) where they change the program
        let opcodes: Vec<usize> = (0..good.len()).filter(|&i| i < 1000 || good.len() - i < 1000).collect();
        for _ in 0..3000 {
            let mut bad = good.clone();
            for _ in 0..1 + next() % 4 {
                let i = opcodes[(next() % opcodes.len() as u64) as usize];
                bad[i] = next() as u8;
            }
            let _ = parse_pickle(&bad);
        }
    }

    #[test]
    fn globals_outside_the_allow_list_are_refused() {
        let p = b"\x80\x02cos\nsystem\nq\x00.";
        let e = parse_pickle(p).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Unsupported);
        assert!(e.detail.starts_with("global os.system is not allowed"), "{}", e.detail);
    }
}
