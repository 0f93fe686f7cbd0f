//! The weights reader: a numpy pickle (first byte 0x80) or the text format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mnist_data::fuzz;

fuzz_target!(|data: &[u8]| {
    let _ = fuzz::weights(data);
});
