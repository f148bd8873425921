//! Every input kept under `fuzz/regressions/<target>/` (seeds, and each
//! crash the fuzzers found, once fixed) runs through the same checks the
//! fuzz targets make: `cargo test` fails if an old crash comes back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../fuzz/src/harness.rs"]
mod harness;

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs kept for {target}");
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

fn run(target: &str, check: fn(&[u8])) {
    for (path, data) in inputs(target) {
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails again", path.display());
    }
}

#[test]
fn nik_inputs() {
    run("nik", harness::nik);
}

#[test]
fn area_inputs() {
    run("area", harness::area);
}

#[test]
fn push_inputs() {
    run("push", harness::push);
}

#[test]
fn server_csv_inputs() {
    run("server_csv", harness::server_csv);
}

/// The push seeds are real pushes (not inputs the decoder turns away
/// before the store sees them), so the store's checks run on them.
#[test]
fn push_seeds_reach_the_store() {
    for (path, data) in inputs("push") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("crash-") {
            continue;
        }
        let decoded = serde_json::from_slice::<sigap_shared::wire::PushRequest>(&data);
        assert!(decoded.is_ok(), "{name}: {decoded:?}");
    }
}
