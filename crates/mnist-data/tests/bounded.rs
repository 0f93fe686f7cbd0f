//! Work bounded by the input: inputs built by hand to make a reader spend
//! far more memory or time than their size (each one of a class that an
//! earlier version of a reader fell for), read from memory under an
//! allocator that records the peak.
//!
//! The time checks are complexity guards, not speed claims: each bound is
//! tens of times what a linear reader needs here and a fraction of what the
//! quadratic versions took (10 s to 74 s).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mnist_data::{ErrorKind, ImageReader, Images, Weights};

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new_size);
        if !q.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let now = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are global.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f`, returning its result, the peak of bytes allocated above what
/// was live before it, and the time it took.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    (out, PEAK.load(Ordering::Relaxed) - base, elapsed)
}

const MB: usize = 1 << 20;

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v
}

/// 200 MB of zeros behind an honest-looking header for 10,000 images,
/// gzipped to about 200 KB.
fn bomb() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&idx_header(0x0803, &[10_000, 28, 28])).unwrap();
    let chunk = vec![0u8; MB];
    for _ in 0..200 {
        gz.write_all(&chunk).unwrap();
    }
    gz.finish().unwrap()
}

/// The bomb, read without inflating the rest into memory.
#[test]
fn gzip_bomb_behind_an_honest_header_stays_small() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let file = bomb();
    assert!(file.len() < 400_000, "the bomb is {} bytes", file.len());
    let (result, peak, _) = measure(|| Images::from_bytes(&file, Path::new("bomb.gz")));
    let e = result.unwrap_err();
    assert_eq!(
        e.to_string(),
        "bomb.gz: trailing bytes: header 10000×28×28 needs 7840000 bytes after it, found 209715200"
    );
    assert!(peak < 20 * MB, "peak {peak} bytes reading a {}-byte file", file.len());
}

/// The same bomb read a chunk of 500 images at a time, as `infer eval`
/// reads (100 at a time at its default batch size; 500 at batch 500):
/// memory stays at one chunk.
#[test]
fn gzip_bomb_read_in_chunks_stays_at_one_chunk() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let file = bomb();
    let (result, peak, _) = measure(|| {
        let mut reader = ImageReader::from_reader(std::io::Cursor::new(file), Path::new("bomb.gz"))?;
        let mut pixels = Vec::new();
        for _ in 0..20 {
            reader.read_images(500, &mut pixels)?;
        }
        reader.finish()
    });
    let e = result.unwrap_err();
    assert_eq!(
        e.to_string(),
        "bomb.gz: trailing bytes: header 10000×28×28 needs 7840000 bytes after it, found 209715200"
    );
    assert!(peak < 2 * MB, "peak {peak} bytes reading in chunks of 392,000 bytes");
}

/// A header claiming 4 billion images before 10 bytes: a chunk of them
/// grows only as bytes arrive.
#[test]
fn a_chunk_is_not_sized_by_the_header() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut file = idx_header(0x0803, &[u32::MAX, 65_535, 65_535]);
    file.extend_from_slice(&[0; 10]);
    let (result, peak, _) = measure(|| {
        let mut reader = ImageReader::from_reader(std::io::Cursor::new(file), Path::new("liar.idx"))?;
        reader.read_images(500, &mut Vec::new())
    });
    let e = result.unwrap_err();
    assert_eq!(
        e.to_string(),
        "liar.idx: body is short: header 4294967295×65535×65535 needs 18446181123756261375 bytes, found 10"
    );
    assert!(peak < 64 * 1024, "peak {peak} bytes for a 26-byte file");
}

/// An image file of 0×28-pixel images claiming 2.8 billion of them: refused,
/// not accepted with an empty body.
#[test]
fn images_of_zero_pixels_are_refused() {
    let file = idx_header(0x0803, &[2_800_000_000, 0, 28]);
    let e = Images::from_bytes(&file, Path::new("zero.idx")).unwrap_err();
    assert_eq!(e.to_string(), "zero.idx: images of 0×28 pixels, expected at least one pixel per image");
}

/// Pickle opcodes, just enough to build the amplification cases by hand.
struct Pickle(Vec<u8>);

impl Pickle {
    fn new() -> Pickle {
        Pickle(vec![0x80, 4])
    }
    fn op(&mut self, bytes: &[u8]) -> &mut Pickle {
        self.0.extend_from_slice(bytes);
        self
    }
    fn str(&mut self, s: &str) -> &mut Pickle {
        self.0.push(0x8c);
        self.0.push(s.len() as u8);
        self.op(s.as_bytes())
    }
    fn memoize(&mut self) -> &mut Pickle {
        self.op(&[0x94])
    }
    /// MEMOIZE then POP: kept for later, off the stack.
    fn keep(&mut self) -> &mut Pickle {
        self.op(&[0x94, b'0'])
    }
    fn get(&mut self, key: u32) -> &mut Pickle {
        self.0.push(b'j');
        self.op(&key.to_le_bytes())
    }
    fn global(&mut self, module: &str, name: &str) -> &mut Pickle {
        self.str(module).str(name).op(&[0x93])
    }
    fn bytes(&mut self, data: &[u8]) -> &mut Pickle {
        self.0.push(b'B');
        self.0.extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.op(data)
    }
    fn int(&mut self, v: u16) -> &mut Pickle {
        self.0.push(b'M');
        self.op(&v.to_le_bytes())
    }
    /// `numpy.dtype('f4', False, True)`.
    fn dtype_f4(&mut self) -> &mut Pickle {
        self.global("numpy", "dtype").str("f4").op(&[0x89, 0x88, 0x87, b'R'])
    }
    fn stop(&mut self) -> Vec<u8> {
        self.op(b".");
        std::mem::take(&mut self.0)
    }
}

const FLOATS: u16 = 25_000; // 100 KB of float32

/// Protocol 5's `_frombuffer` called again and again on one memoised
/// 100 KB buffer: each call used to decode a fresh copy (1.7 GB from 200 KB).
#[test]
fn frombuffer_on_a_memoised_buffer_is_bounded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut p = Pickle::new();
    p.op(b"}").memoize(); // 0: the dict
    p.global("numpy._core.numeric", "_frombuffer").keep(); // 1
    p.op(b"(").bytes(&[0; FLOATS as usize * 4]).dtype_f4().int(FLOATS).op(&[0x85]).str("C").op(b"t").keep(); // 2
    for i in 0..17_000 {
        p.str(&format!("k{i}")).get(1).get(2).op(b"Rs");
    }
    let file = p.stop();
    let (result, peak, _) = measure(|| Weights::from_bytes(&file, Path::new("amp.pkl")));
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limits, "{e}");
    assert!(e.detail().starts_with(&format!("pickle of {} bytes derives more than", file.len())), "{e}");
    assert!(peak < 8 * file.len() + MB, "peak {peak} bytes reading a {}-byte file", file.len());
}

/// The same through `_reconstruct` + BUILD with a memoised state.
#[test]
fn reconstruct_and_build_on_a_memoised_state_is_bounded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut p = Pickle::new();
    p.op(b"}").memoize(); // 0
    p.global("numpy.core.multiarray", "_reconstruct").keep(); // 1
    p.global("numpy", "ndarray").int(0).op(&[0x85]).op(&[b'C', 1, b'b']).op(&[0x87]).keep(); // 2: its arguments
    p.op(b"(").int(1).int(FLOATS).op(&[0x85]).dtype_f4().op(&[0x89]).bytes(&[0; FLOATS as usize * 4]);
    p.op(b"t").keep(); // 3: the state
    for i in 0..5_000 {
        p.str(&format!("k{i}")).get(1).get(2).op(b"R").get(3).op(b"bs");
    }
    let file = p.stop();
    let (result, peak, _) = measure(|| Weights::from_bytes(&file, Path::new("amp.pkl")));
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limits, "{e}");
    assert!(peak < 8 * file.len() + MB, "peak {peak} bytes reading a {}-byte file", file.len());
}

/// 140,000 distinct keys, each holding a one-element array: read in linear
/// time (each key used to be compared with every earlier one: 74 s).
#[test]
fn many_pickle_keys_take_linear_time() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut p = Pickle::new();
    p.op(b"}").memoize(); // 0
    p.global("numpy._core.numeric", "_frombuffer").keep(); // 1
    p.op(b"(").bytes(&[0; 4]).dtype_f4().int(1).op(&[0x85]).str("C").op(b"t").keep(); // 2
    p.str("k").get(1).get(2).op(b"R").memoize().op(b"s"); // 3: one array
    for i in 0..140_000 {
        p.str(&format!("k{i}")).get(3).op(b"s");
    }
    let file = p.stop();
    let (result, peak, time) = measure(|| Weights::from_bytes(&file, Path::new("keys.pkl")));
    let w = result.unwrap();
    assert_eq!(w.arrays().len(), 140_001);
    assert_eq!(w.get("k139999").unwrap().data, [0.0]);
    assert!(peak < 64 * file.len(), "peak {peak} bytes reading a {}-byte file", file.len());
    assert!(time < Duration::from_secs(5), "{time:?} for 140,000 keys");
}

fn text_weights(names: impl Iterator<Item = String>) -> Vec<u8> {
    names.map(|n| format!("{n} 1\n0.5\n")).collect::<String>().into_bytes()
}

/// The text format's duplicate-name check and `Weights::update` with
/// 60,000 names each (a 360 KB file used to take 11.6 s).
#[test]
fn many_text_names_and_merges_take_linear_time() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let a = text_weights((0..60_000).map(|i| format!("a{i}")));
    let b = text_weights((0..60_000).map(|i| format!("a{}", i * 2)));
    let (result, peak, time) = measure(|| {
        let mut w = Weights::from_bytes(&a, Path::new("a.txt"))?;
        w.update(Weights::from_bytes(&b, Path::new("b.txt"))?);
        Ok::<_, mnist_data::Error>(w)
    });
    let w = result.unwrap();
    assert_eq!(w.arrays().len(), 90_000);
    assert_eq!(w.get("a119998").unwrap().source, Path::new("b.txt"));
    assert!(peak < 64 * (a.len() + b.len()), "peak {peak} bytes");
    assert!(time < Duration::from_secs(5), "{time:?} for 120,000 names");
    let twice = text_weights((0..60_000).map(|i| format!("a{i}")).chain(["a7".to_string()]));
    let e = Weights::from_bytes(&twice, Path::new("twice.txt")).unwrap_err();
    assert_eq!(e.to_string(), "twice.txt: line 120001: a7 is defined twice");
}
