//! Every input kept under `fuzz/regressions/field_csv/` (seeds, and each
//! crash the `field_csv` fuzz target found, once fixed) runs through the
//! target's checks (fuzz/src/field_csv.rs), and through the real `sigap
//! import`: `cargo test` fails if an old crash comes back. The server's
//! targets are replayed by server/tests/fuzz_regressions.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

#[path = "../../fuzz/src/field_csv.rs"]
mod field_csv;

use std::path::PathBuf;

use common::*;

fn inputs() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/field_csv");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "no inputs kept in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

#[test]
fn field_csv_inputs_pass_the_fuzz_checks() {
    for (path, data) in inputs() {
        let outcome = std::panic::catch_unwind(|| field_csv::field_csv(&data));
        assert!(outcome.is_ok(), "{} fails again", path.display());
    }
}

/// The same inputs as files for `sigap import`: an answer (all, part or
/// none imported) and never a crash; what it says it imported is what the
/// database holds, and every rejection names a line below the header.
#[test]
fn field_csv_inputs_import_or_are_refused_cleanly() {
    for (path, data) in inputs() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let env = Env::new();
        let file = env.path("input.csv");
        std::fs::write(&file, &data).unwrap();
        let run = env.run(&["import", "--json", file.to_str().unwrap()]);
        assert!(
            matches!(run.code, 0..=2),
            "{name}: exit {}\n{}",
            run.code,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        let records = env.count("SELECT COUNT(*) FROM records");
        if run.code == 2 {
            // The file as a whole was refused (its header): nothing saved.
            assert_eq!(records, 0, "{name}");
            continue;
        }
        let summary = run.json();
        assert_eq!(summary["imported"], records, "{name}: {summary}");
        for r in summary["rejected"].as_array().unwrap() {
            assert!(r["line"].as_u64().unwrap() >= 2, "{name}: {r}");
        }
    }
}
