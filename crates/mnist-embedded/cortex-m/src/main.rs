//! `mnist-cortex-m`: the book's network on a Cortex-M4F or a Cortex-M3, no
//! operating system, no allocator, nothing written but the stack. The
//! 10,000 test images are baked into the board's PSRAM
//! (`target/embedded/cortex-m-images.bin`, raw 28×28 pixels, written by
//! `scripts/embedded.sh cortex-m`); the firmware classifies each with both
//! models of `mnist-embedded` and prints, through Arm semihosting (the
//! debugger's, here qemu's, console):
//!
//! ```text
//! f32 7210414959...     one digit per image
//! int8 7210414959...
//! ```
//!
//! then asks the host to end the run: with success, or with failure after
//! a fault (a panic in `mnist-embedded` is one: its handler runs `udf`).
//! Its memory map is `link.x`: the Arm MPS2 AN386 (Cortex-M4F) and AN385
//! (Cortex-M3) boards, as `qemu-system-arm -M mps2-an386` and `-M
//! mps2-an385` emulate them, which share it. Built for
//! `thumbv7em-none-eabihf` the f32 model runs on the M4F's FPU; for
//! `thumbv7m-none-eabi`, on the M3, in the compiler's software floats.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

use mnist_embedded::{predict_f32, predict_int8, PIXELS};

/// The raw test images that `scripts/embedded.sh cortex-m` writes.
macro_rules! images {
    () => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../target/embedded/cortex-m-images.bin"))
    };
}

/// The test images, `count × PIXELS` bytes, in the board's PSRAM (link.x).
#[link_section = ".images"]
static IMAGES: [u8; images!().len()] = *images!();

// The vector table after the initial stack pointer (link.x): reset, then
// the 14 system exception vectors (NMI, HardFault, … SysTick), all to
// `fault` (no interrupt is enabled, so no device vector follows). On
// reset the M4F's FPU is off; any float instruction before CPACR gives
// CP10 and CP11 full access would fault, so that comes first, before any
// Rust code (on a core without an FPU, the M3, those bits ignore writes).
global_asm!(
    ".section .vector_table, \"a\"",
    ".word reset",
    ".rept 14",
    ".word fault",
    ".endr",
    ".section .text.reset, \"ax\"",
    ".global reset",
    ".thumb_func",
    "reset:",
    "ldr r0, =0xE000ED88",
    "ldr r1, [r0]",
    "orr r1, r1, #(0xF << 20)",
    "str r1, [r0]",
    "dsb",
    "isb",
    "bl {main}",
    "b .",
    ".global fault",
    ".thumb_func",
    "fault:",
    "bl {failed}",
    "b .",
    main = sym main,
    failed = sym failed,
);

/// A semihosting request: `bkpt 0xAB` with the operation in r0 and its
/// argument in r1; the host answers in r0.
///
/// # Safety
/// `arg` must be what the operation expects (a pointer to valid memory
/// where it takes one).
unsafe fn semihost(op: usize, arg: usize) -> usize {
    let ret: usize;
    asm!("bkpt 0xAB", inlateout("r0") op => ret, in("r1") arg, options(nostack));
    ret
}

/// SYS_WRITE0: writes a NUL-terminated string to the host's console.
const SYS_WRITE0: usize = 0x04;
/// SYS_EXIT, with the reason in r1.
const SYS_EXIT: usize = 0x18;
/// The reasons SYS_EXIT takes: the application ended, or it failed (qemu
/// exits with status 0 for the first, 1 for any other).
const APPLICATION_EXIT: usize = 0x20026;
const RUNTIME_ERROR: usize = 0x20023;

fn exit(reason: usize) -> ! {
    // SAFETY: SYS_EXIT takes its reason code in r1 and does not return
    unsafe { semihost(SYS_EXIT, reason) };
    loop {
        // SAFETY: wfi waits for an interrupt, none of which is enabled
        unsafe { asm!("wfi") };
    }
}

/// Writes `text` to the host's console, a line of up to 64 bytes at a time.
fn print(text: &[u8]) {
    for part in text.chunks(64) {
        let mut line = [0u8; 65];
        line[..part.len()].copy_from_slice(part);
        // SAFETY: `line` is NUL-terminated (65 bytes, at most 64 written)
        unsafe { semihost(SYS_WRITE0, line.as_ptr() as usize) };
    }
}

/// One line: `name`, a space, then each image's digit by `predict`.
fn classify_all(name: &[u8], predict: fn(&[u8]) -> Option<u8>) {
    print(name);
    print(b" ");
    for images in IMAGES.chunks(64 * PIXELS) {
        let mut digits = [0u8; 64];
        let mut n = 0;
        for image in images.chunks_exact(PIXELS) {
            match predict(image) {
                Some(d) => digits[n] = b'0' + d,
                None => exit(RUNTIME_ERROR),
            }
            n += 1;
        }
        print(&digits[..n]);
    }
    print(b"\n");
}

extern "C" fn main() -> ! {
    classify_all(b"f32", predict_f32);
    classify_all(b"int8", predict_int8);
    exit(APPLICATION_EXIT)
}

extern "C" fn failed() -> ! {
    print(b"mnist-cortex-m: a fault\n");
    exit(RUNTIME_ERROR)
}
