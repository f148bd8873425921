//! `sigap-bench`: measures SIGAP against its targets, each figure beside a
//! baseline taken in the same run, and writes BENCHMARKS.md.
//!
//! Full run (release binaries; several minutes on 2 cores):
//!
//! ```sh
//! cargo build --release --workspace --bins && target/release/sigap-bench
//! ```
//!
//! `--smoke` runs small sizes (CI runs it through a test); `--out FILE`
//! writes elsewhere than BENCHMARKS.md; `--stdout` only prints.

use std::process::ExitCode;

use sigap_e2e::bench::{self, Scale};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "sigap-bench: measure SIGAP against its performance targets\n\n\
             usage: sigap-bench [--smoke] [--out FILE | --stdout]\n\n\
             Needs the sigap and sigap-server binaries beside it:\n  \
             cargo build --release --workspace --bins && target/release/sigap-bench"
        );
        return ExitCode::SUCCESS;
    }
    let smoke = args.iter().any(|a| a == "--smoke");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "BENCHMARKS.md".to_string());
    let scale = if smoke { Scale::smoke() } else { Scale::full() };
    let rows = bench::run(scale, &mut |line| eprintln!("{line}"));
    let table = bench::markdown(&rows);
    let command = if smoke {
        "target/release/sigap-bench --smoke"
    } else {
        "cargo build --release --workspace --bins && target/release/sigap-bench"
    };
    let fresh = bench::document(&table, command, scale);
    // Keep the notes written around the results (profiles, before/after):
    // only the part between the markers is replaced.
    let doc = match std::fs::read_to_string(&out) {
        Ok(old) => bench::splice_results(&old, &fresh).unwrap_or(fresh),
        Err(_) => fresh,
    };
    if args.iter().any(|a| a == "--stdout") {
        print!("{doc}");
    } else if let Err(e) = std::fs::write(&out, &doc) {
        eprintln!("error: cannot write {out}: {e}");
        return ExitCode::from(3);
    } else {
        eprintln!("wrote {out}");
        print!("{table}");
    }
    ExitCode::SUCCESS
}
