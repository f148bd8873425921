//! The PostgreSQL rows of the benchmark harness at small sizes, so that
//! they cannot rot. Runs on the database of `SIGAP_TEST_DATABASE_URL`
//! (each scenario in a schema of its own, dropped after) and is skipped
//! with a notice when that is not set. Timings are not judged; the
//! correctness checks inside every scenario are (they panic).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigap_e2e::bench::{self, PgOptions, Scale};

#[test]
fn smoke_run_measures_the_postgres_rows() {
    let Some(url) = std::env::var("SIGAP_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "skipping the PostgreSQL benchmark smoke run: SIGAP_TEST_DATABASE_URL is not set"
        );
        return;
    };
    let pg = PgOptions { url, sample: false };
    let rows = bench::run_with(
        Scale::smoke(),
        &["postgres".to_string()],
        Some(&pg),
        &mut |line| eprintln!("{line}"),
    );
    let figures: Vec<&str> = rows.iter().map(|r| r.figure.as_str()).collect();
    assert_eq!(rows.len(), 7, "{figures:#?}");
    assert!(rows.iter().all(|r| r.figure.contains("PostgreSQL")));
    assert!(
        rows.iter()
            .all(|r| !r.measured.is_empty() && !r.baseline.is_empty())
    );
}
