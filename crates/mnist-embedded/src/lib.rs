//! The book's network with its weights baked in (from `infer export`),
//! for builds with no operating system services: no std, no allocator, no
//! globals written. Two models, both read in place from read-only data:
//!
//! - [`F32`]: the f32 network, row-major weights read by
//!   `linalg::Network::classify_u8` (pixels never widened into a buffer);
//! - [`INT8`]: the integer-only int8 network (`linalg::int8`).
//!
//! The C functions `mnist_predict_f32` and `mnist_predict_int8`
//! (`include/mnist.h`) classify many images at once.
#![no_std]

/// The f32 model as `infer export --precision f32` wrote it.
#[allow(clippy::all)]
pub mod model_f32 {
    include!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/embedded/model_f32.rs"));
}

/// The int8 model as `infer export --precision int8` wrote it.
#[allow(clippy::all)]
pub mod model_int8 {
    include!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/embedded/model_int8.rs"));
}

use linalg::int8::QNetwork;
use linalg::Network;

/// Pixels per image.
pub const PIXELS: usize = model_f32::INPUT_LEN;
/// Classes.
pub const CLASSES: usize = model_f32::CLASSES;

/// The f32 network.
pub static F32: Network<'static> = match Network::new(&model_f32::LAYERS) {
    Ok(n) => n,
    Err(_) => panic!("the exported f32 layers do not chain"),
};

/// The int8 network.
pub static INT8: &QNetwork<'static> = &model_int8::NETWORK;

/// Widest hidden layer any model here may have (the book's: 100).
const SCRATCH: usize = 2 * 128;

/// The f32 network's digit for one image of [`PIXELS`] bytes, or `None`
/// if the image has the wrong length.
pub fn predict_f32(image: &[u8]) -> Option<u8> {
    let mut scratch = [0.0f32; SCRATCH];
    let mut a = [0.0f32; CLASSES];
    F32.classify_u8(image, &mut scratch, &mut a).ok().map(|c| c as u8)
}

/// The int8 network's digit for one image of [`PIXELS`] bytes, or `None`
/// if the image has the wrong length.
pub fn predict_int8(image: &[u8]) -> Option<u8> {
    let mut t = [0i32; CLASSES];
    INT8.predict(image, &mut t).ok().map(|c| c as u8)
}

/// Classifies `count` images into `digits` with `predict`; -1 for a null
/// pointer, -2 if a prediction failed.
///
/// # Safety
/// `images` must point to `count × 784` readable bytes and `digits` to
/// `count` writable ones.
unsafe fn predict_all(images: *const u8, count: usize, digits: *mut u8, predict: fn(&[u8]) -> Option<u8>) -> i32 {
    if images.is_null() || digits.is_null() {
        return -1;
    }
    let Some(len) = count.checked_mul(PIXELS) else { return -1 };
    let images = core::slice::from_raw_parts(images, len);
    let digits = core::slice::from_raw_parts_mut(digits, count);
    for (image, digit) in images.chunks_exact(PIXELS).zip(digits) {
        match predict(image) {
            Some(d) => *digit = d,
            None => return -2,
        }
    }
    0
}

/// C: classifies `count` 28×28 u8 images with the f32 network.
///
/// # Safety
/// As `include/mnist.h` says: `images` holds `count × 784` bytes, `digits`
/// `count`.
#[no_mangle]
pub unsafe extern "C" fn mnist_predict_f32(images: *const u8, count: usize, digits: *mut u8) -> i32 {
    predict_all(images, count, digits, predict_f32)
}

/// C: classifies `count` 28×28 u8 images with the int8 network.
///
/// # Safety
/// As [`mnist_predict_f32`].
#[no_mangle]
pub unsafe extern "C" fn mnist_predict_int8(images: *const u8, count: usize, digits: *mut u8) -> i32 {
    predict_all(images, count, digits, predict_int8)
}

/// The unwinder's personality routine, which `core` (built to unwind)
/// names in its unwind tables. This library never unwinds (panic = abort),
/// so it is never called; defining it lets C programs link `libmnist.a`
/// without a Rust runtime.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// No unwinding and nothing to report to: a panic (none is reachable from
/// the forward passes, which `make test` checks with `nm`) stops here.
#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: ud2 raises an invalid-opcode trap and never returns
    unsafe {
        core::arch::asm!("ud2", options(noreturn))
    }
    #[cfg(target_arch = "arm")]
    // SAFETY: udf is permanently undefined: a fault the firmware's
    // handler ends the run on (cortex-m/src/main.rs), never a return
    unsafe {
        core::arch::asm!("udf #0", options(noreturn))
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "arm")))]
    loop {}
}
