//! Weights to network: several files merged like dict.update, then checked
//! into a chain of dense layers (see mnist_data::fuzz::network).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mnist_data::fuzz;

fuzz_target!(|data: &[u8]| {
    let _ = fuzz::network(data);
});
