//! `mnist-freestanding`: a static x86_64 Linux executable with no libc, no
//! allocator and no std, only the book's network baked in. Its own `_start`,
//! raw `read`/`write`/`exit_group` system calls and its own `memcpy`,
//! `memmove`, `memset`, `memcmp` and `bcmp`.
//!
//! ```text
//! mnist-freestanding [int8] < images.idx     one digit per line (f32, or the int8 model)
//! mnist-freestanding stack                   bytes of stack each forward pass used
//! ```
//!
//! stdin is a raw (uncompressed) IDX image file of 28×28 images. A bad
//! header or a short body prints one line on stderr and exits with 2.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

use mnist_embedded::{predict_f32, predict_int8, PIXELS};

// The kernel enters with rsp pointing at argc, then argv[0..argc], NULL.
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {main}",
    "ud2",
    main = sym start,
);

const STDIN: usize = 0;
const STDOUT: usize = 1;
const STDERR: usize = 2;

/// # Safety
/// Raw system call with three arguments.
unsafe fn syscall3(n: usize, a: usize, b: usize, c: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b, in("rdx") c,
         lateout("rcx") _, lateout("r11") _, options(nostack));
    ret
}

fn exit(code: i32) -> ! {
    // SAFETY: exit_group never returns
    unsafe {
        syscall3(231, code as usize, 0, 0);
        asm!("ud2", options(noreturn))
    }
}

/// Writes all of `buf` to `fd`; false on an error.
fn write_all(fd: usize, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable slice
        let n = unsafe { syscall3(1, fd, buf.as_ptr() as usize, buf.len()) };
        if n == -4 {
            continue; // EINTR
        }
        if n <= 0 {
            return false;
        }
        buf = buf.get(n as usize..).unwrap_or(&[]);
    }
    true
}

/// Reads until `buf` is full or the input ends; the bytes read, or None on
/// an error.
fn read_full(buf: &mut [u8]) -> Option<usize> {
    let mut got = 0;
    while got < buf.len() {
        let rest = buf.get_mut(got..)?;
        // SAFETY: rest is a valid writable slice
        let n = unsafe { syscall3(0, STDIN, rest.as_mut_ptr() as usize, rest.len()) };
        if n == -4 {
            continue;
        }
        if n < 0 {
            return None;
        }
        if n == 0 {
            break;
        }
        got += n as usize;
    }
    Some(got)
}

/// One line on stderr, exit status 2.
fn fail(parts: &[&[u8]]) -> ! {
    let _ = write_all(STDERR, b"error: stdin: ");
    for p in parts {
        let _ = write_all(STDERR, p);
    }
    let _ = write_all(STDERR, b"\n");
    exit(2)
}

/// `v` in decimal, into the end of `buf`; returns the digits.
fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(b) = buf.get_mut(i) {
            *b = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(&[])
}

fn be32(b: &[u8]) -> u32 {
    match b {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: the kernel's initial stack: argc, then argc pointers
    let argc = unsafe { *sp };
    let mut buf = [0u8; 8];
    let arg1: &[u8] = if argc >= 2 {
        // SAFETY: argv[1] is a NUL-terminated string
        unsafe { first_bytes(*sp.add(2) as *const u8, &mut buf) }
    } else {
        b""
    };
    match arg1 {
        b"" => classify(predict_f32),
        b"int8" => classify(predict_int8),
        b"f32" => classify(predict_f32),
        b"stack" => stack(),
        _ => {
            let _ = write_all(STDERR, b"error: unknown argument, expected none, 'f32', 'int8' or 'stack'\n");
            exit(2)
        }
    }
}

/// The string at `p`, copied into `buf` up to its NUL (a longer one is
/// cut, and matches no argument).
///
/// # Safety
/// `p` must point to a NUL-terminated string.
unsafe fn first_bytes(p: *const u8, buf: &mut [u8; 8]) -> &[u8] {
    let mut n = 0;
    for (i, b) in buf.iter_mut().enumerate() {
        let c = core::ptr::read_volatile(p.add(i));
        if c == 0 {
            break;
        }
        *b = c;
        n = i + 1;
    }
    if n == buf.len() {
        return b"?"; // longer than any argument
    }
    buf.get(..n).unwrap_or(&[])
}

fn classify(predict: fn(&[u8]) -> Option<u8>) -> ! {
    let mut header = [0u8; 16];
    let got = read_full(&mut header).unwrap_or_else(|| fail(&[b"cannot read"]));
    if got < 16 {
        let mut d = [0u8; 20];
        fail(&[b"header is ", decimal(got as u64, &mut d), b" bytes, expected 16 (an IDX image file)"]);
    }
    let (magic, count, rows, cols) = (be32(&header), be32(&header[4..]), be32(&header[8..]), be32(&header[12..]));
    if magic != 0x0803 {
        fail(&[b"magic is not 0x00000803, expected a raw (not gzip) IDX image file"]);
    }
    if rows as usize * cols as usize != PIXELS {
        fail(&[b"images are not 28x28, expected 784 pixels each"]);
    }
    let mut image = [0u8; PIXELS];
    let mut out = [0u8; 512];
    let mut used = 0;
    for i in 0..count {
        let got = read_full(&mut image).unwrap_or_else(|| fail(&[b"cannot read"]));
        if got < PIXELS {
            let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
            let _ = write_all(STDOUT, out.get(..used).unwrap_or(&[]));
            fail(&[
                b"body is short: header claims ",
                decimal(count as u64, &mut a),
                b" images, found ",
                decimal(i as u64, &mut b),
            ]);
        }
        let digit = predict(&image).unwrap_or(0);
        if let Some(pair) = out.get_mut(used..used + 2) {
            pair.copy_from_slice(&[b'0' + digit, b'\n']);
        }
        used += 2;
        if used == out.len() {
            if !write_all(STDOUT, &out) {
                exit(1);
            }
            used = 0;
        }
    }
    if !write_all(STDOUT, out.get(..used).unwrap_or(&[])) {
        exit(1);
    }
    let mut extra = [0u8; 1];
    if read_full(&mut extra) != Some(0) {
        fail(&[b"trailing bytes after the images the header claims"]);
    }
    exit(0)
}

/// Paints 64 KiB of stack below the current frame, runs each forward pass
/// on a fully inked image (no pixel skipped), and reports how deep each
/// wrote: the worst-case stack of the forward pass, measured.
fn stack() -> ! {
    let image = [255u8; PIXELS];
    let mut line = [0u8; 64];
    for (name, predict) in [(&b"f32 "[..], predict_f32 as fn(&[u8]) -> Option<u8>), (b"int8 ", predict_int8)] {
        let used = measure(&image, predict);
        let mut d = [0u8; 20];
        let digits = decimal(used as u64, &mut d);
        let n = name.len() + digits.len();
        if let Some(a) = line.get_mut(..name.len()) {
            a.copy_from_slice(name);
        }
        if let Some(a) = line.get_mut(name.len()..n) {
            a.copy_from_slice(digits);
        }
        let _ = write_all(STDOUT, line.get(..n).unwrap_or(&[]));
        let _ = write_all(STDOUT, b" bytes of stack\n");
    }
    exit(0)
}

const PAINT: usize = 64 * 1024;
const COLOUR: u8 = 0xA5;

/// Bytes of stack below this frame that `predict(image)` wrote.
#[inline(never)]
fn measure(image: &[u8], predict: fn(&[u8]) -> Option<u8>) -> usize {
    let sp: usize;
    // SAFETY: reads rsp
    unsafe { asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    let low = sp - PAINT;
    // SAFETY: the PAINT bytes below rsp are unused stack (the main thread's
    // stack grows on demand far beyond 64 KiB); 256 bytes are left for the
    // frame of this loop
    unsafe {
        let p = low as *mut u8;
        for i in 0..PAINT - 256 {
            core::ptr::write_volatile(p.add(i), COLOUR);
        }
    }
    let _ = core::hint::black_box(predict(core::hint::black_box(image)));
    // the lowest byte that no longer holds the paint
    let mut deepest = sp;
    for i in 0..PAINT - 256 {
        // SAFETY: as above
        if unsafe { core::ptr::read_volatile((low + i) as *const u8) } != COLOUR {
            deepest = low + i;
            break;
        }
    }
    sp - deepest
}

// The memory functions the compiler may call; no libc provides them here.

/// # Safety
/// As C's `memcpy`.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    asm!("rep movsb", inout("rcx") n => _, inout("rdi") dest => _, inout("rsi") src => _, options(nostack, preserves_flags));
    dest
}

/// # Safety
/// As C's `memmove`.
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize) <= (src as usize) || (dest as usize) >= (src as usize).wrapping_add(n) {
        return memcpy(dest, src, n);
    }
    // overlapping with dest above src: copy backwards
    asm!("std", "rep movsb", "cld", inout("rcx") n => _, inout("rdi") dest.add(n - 1) => _,
         inout("rsi") src.add(n - 1) => _, options(nostack));
    dest
}

/// # Safety
/// As C's `memset`.
#[no_mangle]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    asm!("rep stosb", inout("rcx") n => _, inout("rdi") dest => _, in("al") c as u8, options(nostack, preserves_flags));
    dest
}

/// # Safety
/// As C's `memcmp`.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        let (x, y) = (*a.add(i), *b.add(i));
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// As C's `bcmp`.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}
