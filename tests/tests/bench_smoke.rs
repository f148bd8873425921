//! The benchmark harness at small sizes, so that it cannot rot. Timings
//! here are not judged (debug build, shared CI machine); the full run is
//! `cargo build --release --workspace --bins && target/release/sigap-bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigap_e2e::bench::{self, Scale};

#[test]
fn smoke_run_measures_every_figure() {
    let rows = bench::run(Scale::smoke(), &[], &mut |line| eprintln!("{line}"));
    let figures: Vec<&str> = rows.iter().map(|r| r.figure.as_str()).collect();
    assert_eq!(rows.len(), 13, "{figures:#?}");
    // Correctness inside the benchmark is judged even in a smoke run: a
    // scenario whose answers are wrong panics (every change's answer,
    // persons, conflicts, coverage and `coverage verify` are checked);
    // its timings are not judged here.
    for name in [
        "realistic mix",
        "new persons only",
        "agents pushing",
        "cached answers",
        "had to be built",
        "agent pull",
        "`sigap lookup`",
        "server peak memory",
    ] {
        assert!(
            figures.iter().any(|f| f.contains(name)),
            "no row {name:?}: {figures:#?}"
        );
    }
    let concurrent = rows
        .iter()
        .find(|r| r.figure.contains("agents pushing"))
        .unwrap();
    assert!(
        concurrent.measured.contains("all applied once"),
        "{concurrent:?}"
    );
    let table = bench::markdown(&rows);
    assert_eq!(table.lines().count(), 2 + rows.len());
    assert!(
        rows.iter()
            .all(|r| !r.measured.is_empty() && !r.baseline.is_empty())
    );
}
