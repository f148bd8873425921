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
//! writes elsewhere than BENCHMARKS.md; `--stdout` only prints; `--only
//! sync,merge` runs some scenarios and prints their rows (BENCHMARKS.md is
//! left alone unless `--out` is given).
//!
//! Scenarios (`--only` names; every row beside a baseline taken in the same
//! run, every server checked with `sigap-server coverage verify` after):
//!
//! - `sync`: `sigap import`, then the end-to-end `sigap sync`, three times
//!   on fresh servers and devices, their medians against the floor (rows
//!   inserted through rusqlite in one transaction);
//! - `mix`: merge throughput of a realistic mix (new persons, edits of the
//!   device's own, registrations of persons another device holds, some
//!   conflicting, voids, edits after a supervisor's resolution), beside new
//!   persons only pushed the same way;
//! - `agents`: 200 agents × 500 changes at once, beside one agent pushing
//!   the same (new persons only);
//! - `merge`: `mix` and `agents` together;
//! - `register`: one `sigap register` against `sigap --version`;
//! - `coverage`: coverage to RT depth on the big population, cached, and
//!   built while an agent pushes 100 changes/s;
//! - `pull`: an agent's pull of the big population into a fresh replica
//!   (beside a pull a tenth the size), and `sigap lookup` in it;
//! - `memory`: server peak memory while the big population is pushed as
//!   `sigap sync` pushes, client peak memory syncing;
//! - `big`: `coverage`, `pull` and `memory` together;
//! - `postgres`: the PostgreSQL rows (needs `--postgres`).
//!
//! `--postgres URL` (or `SIGAP_BENCH_DATABASE_URL`) adds the PostgreSQL
//! rows: each scenario again on `sigap-server --database-url URL?schema=…`
//! (a schema of its own per scenario, dropped after), beside its SQLite
//! row and a `COPY` floor measured in the same run. `--only postgres`
//! runs only those (and the SQLite rows they are compared with);
//! `--pg-sample` also logs what the servers' backends waited for.

use std::process::ExitCode;

use sigap_e2e::bench::{self, Scale};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "sigap-bench: measure SIGAP against its performance targets\n\n\
             usage: sigap-bench [--smoke] [--only NAME,...] [--postgres URL [--pg-sample]]\n\
             \x20                  [--out FILE | --stdout]\n\n\
             --only runs some scenarios: {}\n\
             \x20 sync: sigap import and end-to-end sigap sync, against the floor\n\
             \x20 mix: merge throughput, realistic mix, beside new persons only\n\
             \x20 agents: 200 agents x 500 changes at once, beside one agent\n\
             \x20 merge: mix and agents\n\
             \x20 register: one sigap register against process start\n\
             \x20 coverage: coverage to RT depth, cached and built while an agent pushes\n\
             \x20 pull: an agent's pull into a fresh replica, and sigap lookup\n\
             \x20 memory: server and client peak memory\n\
             \x20 big: coverage, pull and memory\n\
             \x20 postgres: the PostgreSQL rows (needs --postgres)\n\
             --postgres URL (or SIGAP_BENCH_DATABASE_URL) adds the PostgreSQL rows\n\
             (postgres://user@host/db; each scenario in a schema of its own, dropped after);\n\
             --pg-sample logs what the servers' PostgreSQL backends waited for\n\
             --write-registrations N FILE / --write-roll N FILE write generated CSV\n\n\
             Needs the sigap and sigap-server binaries beside it:\n  \
             cargo build --release --workspace --bins && target/release/sigap-bench",
            bench::SCENARIOS.join(", ")
        );
        return ExitCode::SUCCESS;
    }
    if let Some(code) = write_data(&args) {
        return code;
    }
    let smoke = args.iter().any(|a| a == "--smoke");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "BENCHMARKS.md".to_string());
    let only: Vec<String> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(bad) = only
        .iter()
        .find(|o| !bench::SCENARIOS.contains(&o.as_str()))
    {
        eprintln!(
            "error: no scenario {bad:?}; --only takes a comma-separated list of: {}",
            bench::SCENARIOS.join(", ")
        );
        return ExitCode::from(2);
    }
    let pg_url = args
        .iter()
        .position(|a| a == "--postgres")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var("SIGAP_BENCH_DATABASE_URL").ok())
        .filter(|u| !u.is_empty());
    let pg = pg_url.map(|url| bench::PgOptions {
        url,
        sample: args.iter().any(|a| a == "--pg-sample"),
    });
    if let Some(pg) = &pg
        && !(pg.url.starts_with("postgres://") || pg.url.starts_with("postgresql://"))
    {
        eprintln!("error: --postgres takes a postgres://… URL");
        return ExitCode::from(2);
    }
    if pg.is_none() && only.iter().any(|o| o == "postgres") {
        eprintln!(
            "error: --only postgres needs a database: --postgres postgres://user@host/db \
             (or SIGAP_BENCH_DATABASE_URL)"
        );
        return ExitCode::from(2);
    }
    let scale = if smoke { Scale::smoke() } else { Scale::full() };
    let rows = bench::run_with(scale, &only, pg.as_ref(), &mut |line| eprintln!("{line}"));
    let table = bench::markdown(&rows);
    if !only.is_empty() && !args.iter().any(|a| a == "--out") {
        // A partial run never replaces the full table in BENCHMARKS.md.
        print!("{table}");
        return ExitCode::SUCCESS;
    }
    let mut command = if smoke {
        "target/release/sigap-bench --smoke".to_string()
    } else {
        "cargo build --release --workspace --bins && target/release/sigap-bench".to_string()
    };
    if pg.is_some() {
        command.push_str(" --postgres postgres://…");
    }
    let fresh = bench::document(&table, &command, scale);
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

/// `--write-registrations N FILE` / `--write-roll N FILE`: the harness's
/// generated people as CSV, for profiling one scenario by hand.
fn write_data(args: &[String]) -> Option<ExitCode> {
    let i = args
        .iter()
        .position(|a| a == "--write-registrations" || a == "--write-roll")?;
    let (Some(n), Some(file)) = (
        args.get(i + 1).and_then(|n| n.parse::<u64>().ok()),
        args.get(i + 2),
    ) else {
        eprintln!("error: {} takes a count and a file name", args[i]);
        return Some(ExitCode::from(2));
    };
    let text = if args[i] == "--write-roll" {
        sigap_e2e::people::roll_csv(0..n)
    } else {
        sigap_e2e::people::registrations_csv(0..n)
    };
    Some(match std::fs::write(file, text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write {file}: {e}");
            ExitCode::from(3)
        }
    })
}
