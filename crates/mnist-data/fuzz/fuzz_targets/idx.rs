//! The IDX reader, raw and gzip: every input read as given (gzip by
//! content), and every raw input also gzipped, which must read the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mnist_data::{fuzz, GZIP_MAGIC};

fuzz_target!(|data: &[u8]| {
    let raw = fuzz::idx(data);
    if !data.starts_with(&GZIP_MAGIC) {
        assert_eq!(raw, fuzz::idx(&fuzz::gzip(data)), "gzip changed the outcome");
    }
});
