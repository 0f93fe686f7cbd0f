//! `infer`: chapter 3 of "Deep Learning from Scratch" on the command line.
//! See `infer --help`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match infer::run(&args) {
        Ok(()) => {}
        Err(e) if e.is_broken_pipe() => {}
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
