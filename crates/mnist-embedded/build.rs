//! Link flags for the freestanding runner: no C runtime, no libc, a static
//! non-PIE executable (its `_start` does not relocate itself). The library
//! is linked by C programs with their own flags.
fn main() {
    for arg in ["-nostartfiles", "-nostdlib", "-static", "-no-pie", "-Wl,--gc-sections", "-Wl,--build-id=none"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    for model in ["model_f32.rs", "model_int8.rs"] {
        println!("cargo:rerun-if-changed=../../target/embedded/{model}");
    }
}
