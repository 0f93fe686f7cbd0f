//! Proof that `linalg` builds without std: a `#![no_std]` `#![no_main]`
//! binary with its own panic handler runs a two-layer network on stack
//! buffers.
#![no_std]
#![no_main]

use core::panic::PanicInfo;

use linalg::{Dense, Kernel, Network};

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}

/// Entry point for a C runtime: classifies one 4-pixel "image" and returns
/// its class (0 or 1), or 100 + a step number if a step failed.
#[no_mangle]
pub extern "C" fn main() -> i32 {
    let w1 = [0.5f32; 4 * 3];
    let b1 = [0.1f32; 3];
    let w2 = [0.25f32; 3 * 2];
    let b2 = [0.0f32, 1.0];
    let kernel = Kernel::best();
    let mut p1 = [0.0f32; 64];
    let mut p2 = [0.0f32; 64];
    let (l1, l2) = (kernel.prepared_len(4, 3), kernel.prepared_len(3, 2));
    kernel.prepare(4, 3, &w1, &mut p1[..l1]);
    kernel.prepare(3, 2, &w2, &mut p2[..l2]);
    let layers = [
        match Dense::new(kernel, 4, 3, &p1[..l1], &b1) {
            Ok(l) => l,
            Err(_) => return 101,
        },
        match Dense::new(kernel, 3, 2, &p2[..l2], &b2) {
            Ok(l) => l,
            Err(_) => return 102,
        },
    ];
    let Ok(net) = Network::new(&layers) else { return 103 };
    let x = [0.0f32, 0.2, 0.4, 1.0];
    let mut scratch = [0.0f32; 16];
    let mut y = [0.0f32; 2];
    if net.forward(1, &x, &mut scratch, &mut y).is_err() {
        return 104;
    }
    linalg::activation::argmax(&y).map_or(105, |c| c as i32)
}
