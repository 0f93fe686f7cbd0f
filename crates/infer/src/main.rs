//! `infer`: chapter 3 of "Deep Learning from Scratch" on the command line.
//! See `infer --help`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = infer::run(&args) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}
