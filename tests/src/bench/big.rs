//! The scenarios on the big population (`Scale::big` persons): coverage
//! served from the cache and built while an agent pushes, an agent's pull
//! into a fresh replica, lookups in it, and memory.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use sigap_shared::wire::MAX_PUSH_CHANGES;

use super::common::{self, CoverageAsker, assert_outcomes, verify_clean};
use super::{Row, Scale, coverage_live, per_sec, ratio, row};
use crate::measure::{mib, ms, percentile, secs, time_command, wait_output_with_peak};
use crate::people::{change, person, registrations_csv, roll_csv};
use crate::procs::{Agent, Server};

/// Which parts of the big scenario run.
#[derive(Debug, Clone, Copy)]
pub struct Parts {
    pub coverage: bool,
    pub pull: bool,
    pub memory: bool,
}

/// A server holding a roll of `n` persons (`participants import`), a
/// baseline for the kota, and a supervisor's token.
fn roll_server(n: u64) -> (Server, String) {
    let server = Server::start();
    let roll = server.db().with_file_name("roll.csv");
    std::fs::write(&roll, roll_csv(0..n)).expect("roll");
    let year = crate::this_year().to_string();
    server.admin_ok(&[
        "baseline",
        "set",
        "--area",
        "33.72",
        "--year",
        &year,
        "--working-population",
        &(n * 2).to_string(),
    ]);
    server.admin_ok(&["participants", "import", roll.to_str().unwrap_or("")]);
    let _ = std::fs::remove_file(&roll);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    assert_eq!(common::covered(&server, &sup), n, "covered after the roll");
    // The roll went in through another process: the server's checkpoint
    // thread would be copying its WAL into the database for seconds, on
    // the cores the rows after this are timed on.
    checkpoint(&server);
    (server, sup)
}

/// Copies the server database's WAL into it now, as the server's own
/// checkpoint thread would over the next seconds.
fn checkpoint(server: &Server) {
    let conn = rusqlite::Connection::open(server.db()).expect("open the server database");
    conn.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(FULL)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("checkpoint");
    assert_eq!(busy, 0, "the checkpoint could not copy the whole WAL");
}

/// A fresh agent's `sigap sync` pulling everything `server` holds: wall
/// time, peak memory (persons received checked against `n`), and the
/// agent with its replica.
fn pull_fresh(server: &Server, n: u64, name: &str) -> (Duration, u64, Agent) {
    let token = server.token("agent", name, &["33.72"]);
    let agent = Agent::new();
    agent.init(&server.url(), name, &token);
    let child = agent
        .command(&["sync", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sync");
    let (took, status, peak, out) = wait_output_with_peak(child);
    assert!(status.success(), "pull failed");
    let summary: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
    assert_eq!(
        summary["received"].as_u64(),
        Some(n),
        "persons pulled into a fresh replica: {summary}"
    );
    (took, peak, agent)
}

pub fn rows(scale: Scale, parts: Parts, log: &mut dyn FnMut(&str)) -> Vec<Row> {
    let n = scale.big;
    let mut rows = Vec::new();
    if parts.coverage || parts.pull {
        log(&format!("  a roll of {n} persons"));
        let (server, sup) = roll_server(n);
        let mut recompute = None;
        let mut cached_p99 = None;
        if parts.coverage {
            log("  coverage, cached answers (nothing written between asks)");
            let year = crate::this_year();
            let asker = CoverageAsker::default();
            let query = format!("area=33.72&year={year}&depth=4");
            let mut samples = Vec::new();
            for _ in 0..=scale.reps {
                let a = asker.ask(&server.url(), &sup, &query);
                assert_eq!(a.covered, n, "covered in a cached answer");
                samples.push(a.took());
            }
            // The first answer is built; nothing is written after it, so
            // every other one is served from the cache.
            let first = samples.remove(0);
            let took = verify_clean(&server);
            let p99 = percentile(&samples, 99.0);
            recompute = Some(took);
            cached_p99 = Some(p99);
            rows.push(row(
                &format!(
                    "coverage query for Kota Surakarta, depth to RT, {n} persons: cached answers (nothing written between asks; the roll's WAL copied into the database first)"
                ),
                format!(
                    "p99 {} (p50 {}; {} answers; the first, built before it was cached and not counted: {})",
                    ms(p99),
                    ms(percentile(&samples, 50.0)),
                    samples.len(),
                    ms(first)
                ),
                format!("full recompute (`coverage verify`) {}", secs(took)),
                format!("{:.0}× faster than the recompute", ratio(took, p99)),
                "p99 ≤ 2 ms",
                Some(p99 <= Duration::from_millis(2)),
            ));
        }
        if parts.pull {
            log("  pull into a fresh replica, then lookups");
            let (pull, pull_peak, agent) = pull_fresh(&server, n, "bench");
            let small_n = (n / 10).max(1);
            let (small_server, _) = roll_server(small_n);
            let (small_pull, small_peak, _) = pull_fresh(&small_server, small_n, "small");
            verify_clean(&small_server);
            drop(small_server);
            let rate = per_sec(n, pull);
            let flat = pull_peak as f64 <= 1.5 * small_peak as f64;
            rows.push(row(
                &format!("agent pull of {n} persons into a fresh replica (whole `sigap sync`)"),
                format!(
                    "{} ({rate:.0} rows/s); client peak memory {}",
                    secs(pull),
                    mib(pull_peak)
                ),
                format!(
                    "pull of {small_n} persons: {} ({:.0} rows/s), peak {}",
                    secs(small_pull),
                    per_sec(small_n, small_pull),
                    mib(small_peak)
                ),
                format!(
                    "{:.2}× the small pull's memory",
                    pull_peak as f64 / small_peak.max(1) as f64
                ),
                "≤ 4 s (≥ 250,000 rows/s); memory flat (≤ 1.5× the small pull's)",
                Some(pull <= Duration::from_secs(4) && flat),
            ));
            rows.push(lookup_row(&agent, n));
        }
        if parts.coverage {
            log("  coverage while an agent pushes 100 changes/s");
            let live = coverage_live::measure(&server, n, n, scale.reps);
            let took = verify_clean(&server);
            let built = percentile(&live.built, 99.0);
            let cached = percentile(&live.cached, 99.0);
            rows.push(row(
                &format!(
                    "coverage query for Kota Surakarta, depth to RT, {n} persons, while an agent pushes 100 changes/s: answers that had to be built"
                ),
                format!(
                    "built p99 {} (p50 {}; {} answers); cached between pushes p99 {} (p50 {}; {} answers); {} left out (a push in flight, kind unknown); {} changes pushed, push p99 {}",
                    ms(built),
                    ms(percentile(&live.built, 50.0)),
                    live.built.len(),
                    ms(cached),
                    ms(percentile(&live.cached, 50.0)),
                    live.cached.len(),
                    live.unsure,
                    live.pushed,
                    ms(percentile(&live.push_latencies, 99.0))
                ),
                format!(
                    "full recompute (`coverage verify`) {}; cached, nothing written: p99 {}",
                    secs(recompute.unwrap_or(took)),
                    cached_p99.map(ms).unwrap_or_else(|| "—".into())
                ),
                format!(
                    "built p99 {:.0}× faster than the recompute",
                    ratio(recompute.unwrap_or(took), built)
                ),
                "built p99 ≤ 20 ms; cached p99 ≤ 2 ms",
                Some(
                    !live.built.is_empty()
                        && built <= Duration::from_millis(20)
                        && !live.cached.is_empty()
                        && cached <= Duration::from_millis(2),
                ),
            ));
        }
        drop(server);
    }
    if parts.memory {
        log("  memory: server ingesting, client syncing");
        let (server_peak, push_big) = server_ingest_peak(n);
        let client_small = client_push_peak((n / 10).max(1));
        let client_big = client_push_peak(n);
        rows.push(row(
            &format!(
                "server peak memory, {n} changes pushed as `sigap sync` sends them (pages of 10,000, two in flight)"
            ),
            mib(server_peak),
            format!("the pushes took {}", secs(push_big)),
            "—".into(),
            "≤ 300 MB",
            Some(server_peak <= 300 * 1000 * 1000),
        ));
        rows.push(row(
            &format!("client peak memory syncing {n} changes"),
            mib(client_big),
            format!("{} syncing {}", mib(client_small), (n / 10).max(1)),
            format!(
                "{:.2}× the small backlog",
                client_big as f64 / client_small.max(1) as f64
            ),
            "flat (independent of backlog)",
            Some((client_big as f64) <= 1.5 * client_small as f64),
        ));
    }
    rows
}

/// `sigap lookup` against the replica `agent` has just pulled, beside
/// `sigap --version`, as an agent asks it: the database unlocked for the
/// day (`sigap unlock`), so no command derives the key (Argon2id takes
/// ~20 ms by design; the register row reports that case).
fn lookup_row(agent: &Agent, n: u64) -> Row {
    let nik = person(n / 2).nik;
    let unlocked = agent.run(&["unlock", "--for", "1h"]).status.success();
    let mut lookups = Vec::new();
    let mut starts = Vec::new();
    for _ in 0..25 {
        let mut cmd = agent.command(&["lookup", &nik]);
        if unlocked {
            cmd.env_remove("SIGAP_PASSPHRASE");
        }
        let (d, status) = time_command(cmd.stdout(Stdio::null()));
        assert!(status.success(), "lookup failed");
        lookups.push(d);
        let (d, _) = time_command(agent.command(&["--version"]).stdout(Stdio::null()));
        starts.push(d);
    }
    let _ = agent.run(&["lock"]);
    let lookup = percentile(&lookups, 50.0);
    let start = percentile(&starts, 50.0);
    row(
        &format!(
            "`sigap lookup` against a {n}-person replica (whole process, median; {})",
            if unlocked {
                "database unlocked"
            } else {
                "no keyring: passphrase per command"
            }
        ),
        ms(lookup),
        format!("`sigap --version` {}", ms(start)),
        format!("{:.2}× process start", ratio(lookup, start)),
        "≤ 10 ms",
        Some(lookup <= Duration::from_millis(10)),
    )
}

/// Peak memory of a server while one device pushes `n` new registrations
/// in pages of [`MAX_PUSH_CHANGES`], two in flight, as `sigap sync` sends
/// them (pages made as they are sent); and the time the pushes took.
fn server_ingest_peak(n: u64) -> (u64, Duration) {
    let server = Server::start();
    let token = server.token("agent", "bench", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let pid = server.pid();
    let device = uuid::Uuid::now_v7();
    let page = MAX_PUSH_CHANGES as u64;
    let pages = n.div_ceil(page);
    let start = Instant::now();
    let pushed = common::push_pages(
        &server.url(),
        &token,
        usize::try_from(pages).unwrap_or(usize::MAX),
        &|i| {
            let from = i as u64 * page;
            (from..(from + page).min(n))
                .map(|k| change(k, device, k + 1))
                .collect()
        },
        2,
    );
    let took = start.elapsed();
    // VmHWM: the highest the server's resident memory has been.
    let peak = crate::measure::peak_rss(pid).unwrap_or(0);
    assert_outcomes("the pushes", &pushed, &[("applied", n)]);
    assert_eq!(
        common::covered(&server, &sup),
        n,
        "covered after the pushes"
    );
    verify_clean(&server);
    (peak, took)
}

/// Peak memory of `sigap sync` pushing a backlog of `n` changes.
fn client_push_peak(n: u64) -> u64 {
    let server = Server::start();
    let token = server.token("agent", "bench", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agent = Agent::new();
    agent.init(&server.url(), "bench", &token);
    let csv = agent.dir().join("rows.csv");
    std::fs::write(&csv, registrations_csv(0..n)).expect("csv");
    let status = agent
        .command(&["import", csv.to_str().unwrap_or("")])
        .stdout(Stdio::null())
        .status()
        .expect("import");
    assert!(status.success());
    let child = agent
        .command(&["sync"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sync");
    let (_, status, peak) = crate::measure::wait_with_peak(child);
    assert!(status.success(), "sync failed");
    assert_eq!(common::covered(&server, &sup), n, "covered after the sync");
    verify_clean(&server);
    peak
}
