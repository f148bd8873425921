//! The benchmark harness behind `sigap-bench`: every figure is measured
//! against a baseline taken in the same run, on the real binaries.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params_from_iter, types::Value as SqlValue};
use sigap_shared::wire::MAX_PUSH_CHANGES;

use crate::measure::{ms, percentile, secs, time_command};
use crate::people::{change, person, registrations_csv};
use crate::procs::{Agent, Server};

pub mod big;
pub mod common;
pub mod coverage_live;
pub mod mix;
pub mod postgres;
pub use postgres::PgOptions;

/// How big each scenario is.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Registrations in the end-to-end sync, the import and the floor.
    pub rows: u64,
    /// Concurrent agents, and changes each pushes.
    pub agents: u64,
    pub per_agent: u64,
    /// Persons behind the coverage query, the lookup replica and the
    /// memory figures.
    pub big: u64,
    /// Repetitions of short measurements.
    pub reps: usize,
}

impl Scale {
    /// The sizes the targets are stated for.
    pub fn full() -> Scale {
        Scale {
            rows: 100_000,
            agents: 200,
            per_agent: 500,
            big: 1_000_000,
            reps: 200,
        }
    }

    /// A small run for CI, so that the harness cannot rot.
    pub fn smoke() -> Scale {
        Scale {
            rows: 2_000,
            agents: 10,
            per_agent: 50,
            big: 5_000,
            reps: 10,
        }
    }
}

/// One line of the results table.
#[derive(Debug, Clone)]
pub struct Row {
    pub figure: String,
    pub measured: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    /// Whether the target is met; `None` where there is no target.
    pub met: Option<bool>,
}

fn row(
    figure: &str,
    measured: String,
    baseline: String,
    ratio: String,
    target: &str,
    met: Option<bool>,
) -> Row {
    Row {
        figure: figure.into(),
        measured,
        baseline,
        ratio,
        target: target.into(),
        met,
    }
}

/// The scenarios, by the names `--only` takes. `postgres` runs only with
/// a PostgreSQL database to measure on ([`run_with`]).
///
/// - `sync`: `sigap import` and the end-to-end `sigap sync`;
/// - `merge`: the three push rows below (`mix` and `agents` together);
/// - `mix`: merge throughput, realistic mix, beside new persons only;
/// - `agents`: 200 agents at once, beside new persons only;
/// - `register`: one `sigap register` against process start;
/// - `big`: the rows on the big population (`coverage`, `pull`, `memory`);
/// - `coverage`: cached answers, and answers built while an agent pushes;
/// - `pull`: an agent's pull into a fresh replica, and `sigap lookup`;
/// - `memory`: server and client peak memory;
/// - `postgres`: the PostgreSQL rows.
pub const SCENARIOS: [&str; 10] = [
    "sync", "merge", "mix", "agents", "register", "big", "coverage", "pull", "memory", "postgres",
];

/// How many times the floor is measured; its median is the baseline.
const FLOOR_RUNS: usize = 3;

/// Runs the SQLite scenarios named in `only` (all when empty); `log`
/// receives progress lines.
pub fn run(scale: Scale, only: &[String], log: &mut dyn FnMut(&str)) -> Vec<Row> {
    run_with(scale, only, None, log)
}

/// Runs the scenarios named in `only` (all when empty), the PostgreSQL
/// group too when `pg` names a database (`postgres` in `only` without one
/// runs nothing of it).
pub fn run_with(
    scale: Scale,
    only: &[String],
    pg: Option<&PgOptions>,
    log: &mut dyn FnMut(&str),
) -> Vec<Row> {
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut rows = Vec::new();
    log(&format!(
        "floor: rows into SQLite in one transaction (median of {FLOOR_RUNS})"
    ));
    // One insert of a fraction of a second moves by a quarter between
    // runs on a shared machine; every ratio divides by it.
    let mut floors: Vec<Duration> = (0..FLOOR_RUNS).map(|_| floor_insert(scale.rows)).collect();
    log(&format!("  {}", listed(&floors)));
    let floor = median(&mut floors);

    if wanted("sync") {
        log("sigap import and end-to-end sync");
        rows.extend(import_and_sync(scale, floor, log));
    }
    let (mix, agents) = (
        wanted("merge") || wanted("mix"),
        wanted("merge") || wanted("agents"),
    );
    if mix || agents {
        let total = scale.agents * scale.per_agent;
        log("merge throughput: new persons only (the baseline of the next rows)");
        let one = new_persons(total);
        if mix {
            log("merge throughput: realistic mix");
            rows.push(mix::realistic_mix(
                Scale {
                    rows: total,
                    ..scale
                },
                one.took,
                log,
            ));
        }
        rows.push(new_persons_row(total, &one, floor, scale.rows));
        if agents {
            log("concurrent agents");
            rows.push(concurrent_agents(scale, &one));
        }
    }
    if wanted("register") {
        log("process start vs one registration");
        rows.extend(register_vs_start(scale));
    }
    let parts = big::Parts {
        coverage: wanted("big") || wanted("coverage"),
        pull: wanted("big") || wanted("pull"),
        memory: wanted("big") || wanted("memory"),
    };
    if parts.coverage || parts.pull || parts.memory {
        log("the big population: coverage, pull and lookup, memory");
        rows.extend(big::rows(scale, parts, log));
    }
    if let Some(pg) = pg
        && wanted("postgres")
    {
        log("PostgreSQL (each scenario beside its SQLite row, measured again here)");
        rows.extend(postgres::rows(scale, pg, floor, log));
    }
    rows
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// The floor: the same rows inserted through rusqlite in one transaction
/// into a table with the server's own schema and indexes (read from a
/// freshly migrated server database).
pub fn floor_insert(n: u64) -> Duration {
    let (_server_dir, server_db) = Server::fresh_db();
    let source = Connection::open(&server_db).expect("server db");
    let schema: Vec<String> = source
        .prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'persons' AND sql IS NOT NULL")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("persons schema");
    assert!(
        !schema.is_empty(),
        "the server database has no persons table"
    );
    let columns: Vec<(String, String, bool)> = source
        .prepare("SELECT name, type, \"notnull\" FROM pragma_table_info('persons')")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .expect("persons columns");
    let dir = tempfile::TempDir::new().expect("tempdir");
    let mut db = Connection::open(dir.path().join("floor.db")).expect("floor db");
    db.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .expect("pragmas");
    for sql in &schema {
        db.execute_batch(sql).expect("schema");
    }
    let rows: Vec<Vec<SqlValue>> = (0..n).map(|i| floor_row(i, &columns)).collect();
    let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    let sql = format!(
        "INSERT INTO persons ({}) VALUES ({})",
        names.join(","),
        vec!["?"; names.len()].join(",")
    );
    let start = Instant::now();
    let tx = db.transaction().expect("tx");
    {
        let mut stmt = tx.prepare(&sql).expect("insert");
        for r in &rows {
            stmt.execute(params_from_iter(r.iter())).expect("row");
        }
    }
    tx.commit().expect("commit");
    start.elapsed()
}

/// A row for the floor table: each column filled from person `i` by name.
fn floor_row(i: u64, columns: &[(String, String, bool)]) -> Vec<SqlValue> {
    let p = person(i);
    let c = change(i, uuid::Uuid::nil(), i + 1);
    columns
        .iter()
        .map(|(name, ty, _)| {
            let n = name.as_str();
            let text = |s: String| SqlValue::Text(s);
            if n == "nik" {
                text(p.nik.clone())
            } else if n.contains("kelurahan") {
                text(p.kelurahan.clone())
            } else if n == "rw" {
                SqlValue::Integer(i64::from(p.rw))
            } else if n == "rt" {
                SqlValue::Integer(i64::from(p.rt))
            } else if n == "category" {
                text("bpu".into())
            } else if n == "status" {
                text("registered".into())
            } else if n.contains("fields") || n.contains("record") {
                text(serde_json::to_string(&c.fields).unwrap_or_default())
            } else if n.contains("stamps") {
                text(format!("{{\"name\":\"{}\"}}", c.hlc))
            } else if n.contains("area") || n.contains("rt_code") {
                text(format!("{}/{}/{}", p.kelurahan, p.rw, p.rt))
            } else if ty.to_uppercase().contains("INT") {
                SqlValue::Integer(i as i64 + 1)
            } else {
                text(format!("v{i}"))
            }
        })
        .collect()
}

/// How many times the import and the end-to-end sync are measured, each
/// on a fresh server and device; their medians are the figures, set
/// against the floor's median (they move between runs as it does).
const SYNC_RUNS: usize = 3;

/// The middle of `runs` (sorted here).
fn median(runs: &mut [Duration]) -> Duration {
    runs.sort();
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}

/// The runs as "1.234 s, 1.301 s, 1.452 s", in the order they were taken.
fn listed(runs: &[Duration]) -> String {
    runs.iter().map(|d| secs(*d)).collect::<Vec<_>>().join(", ")
}

fn import_and_sync(scale: Scale, floor: Duration, log: &mut dyn FnMut(&str)) -> Vec<Row> {
    let (mut imports, mut syncs) = (Vec::new(), Vec::new());
    for _ in 0..SYNC_RUNS {
        let (import, sync) = one_import_and_sync(scale);
        log(&format!("  import {}, sync {}", secs(import), secs(sync)));
        imports.push(import);
        syncs.push(sync);
    }
    let (import_runs, sync_runs) = (listed(&imports), listed(&syncs));
    let (import, sync) = (median(&mut imports), median(&mut syncs));
    let n = scale.rows;
    // Both against the floor, under the same 3× target.
    let against_floor = |name: String, took: Duration, unit: &str, runs: &str| {
        row(
            &name,
            format!(
                "{} ({:.0} {unit}/s; runs {runs})",
                secs(took),
                per_sec(n, took)
            ),
            format!("floor {}", secs(floor)),
            format!("{:.1}× floor", ratio(took, floor)),
            "≤ 3× the floor",
            Some(ratio(took, floor) <= 3.0),
        )
    };
    vec![
        against_floor(
            format!(
                "end-to-end `sigap sync` of {n} registrations, one device to a SQLite server (median of {SYNC_RUNS}, each on a fresh server and device)"
            ),
            sync,
            "records",
            &sync_runs,
        ),
        against_floor(
            format!("`sigap import` of {n} CSV rows (median of {SYNC_RUNS})"),
            import,
            "rows",
            &import_runs,
        ),
    ]
}

/// One `sigap import` and the `sigap sync` after it, on a fresh server
/// and device, checked: (import, sync).
fn one_import_and_sync(scale: Scale) -> (Duration, Duration) {
    let server = Server::start();
    let token = server.token("agent", "bench", &["33.72"]);
    let agent = Agent::new();
    agent.init(&server.url(), "bench", &token);
    let csv = agent.dir().join("rows.csv");
    std::fs::write(&csv, registrations_csv(0..scale.rows)).expect("csv");
    let (import, status) = time_command(
        agent
            .command(&["import", csv.to_str().unwrap_or("")])
            .stdout(Stdio::null()),
    );
    assert!(status.success(), "import failed");
    let (sync, status) = time_command(
        agent
            .command(&["sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    assert!(status.success(), "sync failed");
    let n = scale.rows;
    // Everything sent and acknowledged, held and counted once.
    let left = agent.status();
    assert_eq!(
        (
            left["pending_changes"].as_u64(),
            left["acked_changes"].as_u64()
        ),
        (Some(0), Some(n)),
        "changes left unsent: {left}"
    );
    let sup = server.token("supervisor", "spv", &["33.72"]);
    assert_eq!(common::covered(&server, &sup), n, "covered after the sync");
    assert_eq!(
        common::db_count(&server.db(), "SELECT count(*) FROM persons"),
        n,
        "persons held"
    );
    common::verify_clean(&server);
    (import, sync)
}

fn device_changes(device: uuid::Uuid, people: std::ops::Range<u64>) -> Vec<sigap_shared::Change> {
    let first = people.start;
    people.map(|n| change(n, device, n - first + 1)).collect()
}

/// The new-persons push: `total` registrations of new persons from one
/// device, in pages of [`MAX_PUSH_CHANGES`], two in flight as `sigap
/// sync` sends them. The baseline of the realistic mix and of the
/// concurrent agents.
struct OneAgent {
    took: Duration,
    latencies: Vec<Duration>,
}

fn new_persons(total: u64) -> OneAgent {
    let server = Server::start();
    let token = server.token("agent", "one", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let changes = device_changes(uuid::Uuid::now_v7(), 0..total);
    let pushed = common::push_changes(&server.url(), &token, changes, MAX_PUSH_CHANGES, 2);
    let took = pushed.wall;
    common::assert_outcomes("new persons", &pushed, &[("applied", total)]);
    assert_eq!(
        common::covered(&server, &sup),
        total,
        "covered after the pushes"
    );
    assert_eq!(
        common::db_count(&server.db(), "SELECT count(*) FROM persons"),
        total,
        "persons held"
    );
    common::verify_clean(&server);
    OneAgent {
        took,
        latencies: pushed.latencies,
    }
}

fn new_persons_row(total: u64, one: &OneAgent, floor: Duration, rows: u64) -> Row {
    let rate = per_sec(total, one.took);
    row(
        &format!(
            "merge throughput, new persons only: {total} registrations (HTTP push, pages of 10,000, two in flight; idempotency and coverage upkeep included)"
        ),
        format!(
            "{rate:.0} changes/s ({total} in {}; push p99 {})",
            secs(one.took),
            ms(percentile(&one.latencies, 99.0))
        ),
        format!("floor {:.0} rows/s", per_sec(rows, floor)),
        format!("{:.2}× floor rate", rate / per_sec(rows, floor)),
        "— (reported beside the realistic mix)",
        None,
    )
}

/// `agents` devices push `per_agent` new registrations each, at once (one
/// push each, released together by a barrier), beside one agent pushing
/// the same number.
fn concurrent_agents(scale: Scale, one: &OneAgent) -> Row {
    let total = scale.agents * scale.per_agent;
    let server = Server::start();
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let batches: Vec<(String, Vec<sigap_shared::Change>)> = (0..scale.agents)
        .map(|i| {
            (
                server.token("agent", &format!("a{i}"), &["33.72"]),
                device_changes(
                    uuid::Uuid::now_v7(),
                    i * scale.per_agent..(i + 1) * scale.per_agent,
                ),
            )
        })
        .collect();
    let pushed = common::push_at_once(&server.url(), batches);
    let many = pushed.wall;
    // Every change applied once: each answered `applied`, each device's
    // receipt counts its own, the server holds and covers each person once.
    common::assert_outcomes("concurrent agents", &pushed, &[("applied", total)]);
    pushed.assert_each_device_holds(scale.agents, scale.per_agent);
    assert_eq!(
        common::db_count(&server.db(), "SELECT count(*) FROM persons"),
        total,
        "persons held"
    );
    assert_eq!(
        common::db_count(
            &server.db(),
            "SELECT count(*) FROM changes WHERE in_log = 1 AND outcome = 'applied'"
        ),
        total,
        "changes logged as applied"
    );
    assert_eq!(common::covered(&server, &sup), total, "covered");
    common::verify_clean(&server);
    let p99 = percentile(&pushed.latencies, 99.0);
    let times = ratio(many, one.took);
    row(
        &format!(
            "{} agents pushing {} changes each at once",
            scale.agents, scale.per_agent
        ),
        format!(
            "{} wall; push p50 {}, p99 {}; all applied once (answers, receipts, persons, change log, `coverage verify`)",
            secs(many),
            ms(percentile(&pushed.latencies, 50.0)),
            ms(p99),
        ),
        format!(
            "one agent pushing the same {total}: {} wall, push p99 {}",
            secs(one.took),
            ms(percentile(&one.latencies, 99.0))
        ),
        format!("{times:.2}× one agent"),
        "every change applied once; push p99 ≤ 500 ms; wall ≤ 1.5× one agent",
        Some(p99 <= Duration::from_millis(500) && times <= 1.5),
    )
}

/// `sigap register` of person `i` on `agent`'s device, timed.
fn time_register(agent: &Agent, i: u64, passphrase: bool) -> Duration {
    let p = person(i);
    let mut cmd = agent.command(&[
        "register",
        "--nik",
        &p.nik,
        "--name",
        &p.name,
        "--birth-date",
        &p.birth_date,
        "--sex",
        p.sex,
        "--kelurahan",
        &p.kelurahan,
        "--rw",
        &p.rw.to_string(),
        "--rt",
        &p.rt.to_string(),
        "--category",
        "bpu",
        "--occupation",
        "pedagang",
    ]);
    if !passphrase {
        cmd.env_remove("SIGAP_PASSPHRASE");
    }
    let (d, status) = time_command(cmd.stdout(Stdio::null()));
    assert!(status.success(), "register failed");
    d
}

/// One registration against process start, as an agent works: the
/// database unlocked for the day (`sigap unlock`: the key in the OS
/// keyring), and, beside it, with the passphrase given to every command
/// (`SIGAP_PASSPHRASE`: Argon2id derives the key each time).
fn register_vs_start(scale: Scale) -> Vec<Row> {
    let agent = Agent::new();
    agent.init("http://127.0.0.1:9", "bench", "none");
    let reps = scale.reps.clamp(5, 100);
    let mut start = Vec::new();
    let mut per_command = Vec::new();
    for i in 0..reps as u64 {
        let (d, _) = time_command(agent.command(&["--version"]).stdout(Stdio::null()));
        start.push(d);
        per_command.push(time_register(&agent, i, true));
    }
    // Where no keyring can keep the key, every command derives it.
    let unlocked = agent.run(&["unlock", "--for", "1h"]).status.success();
    // Its baseline is taken beside it, one process start before each
    // registration: the passphrase runs above fill the page cache and
    // allocator with Argon2id's memory, conditions the unlocked commands
    // do not share.
    let (mut reg, mut reg_start) = (Vec::new(), Vec::new());
    for i in 0..reps as u64 {
        let (d, _) = time_command(agent.command(&["--version"]).stdout(Stdio::null()));
        reg_start.push(d);
        reg.push(time_register(&agent, reps as u64 + i, !unlocked));
    }
    let _ = agent.run(&["lock"]);
    let s = percentile(&start, 50.0);
    let rs = percentile(&reg_start, 50.0);
    let (r, p) = (percentile(&reg, 50.0), percentile(&per_command, 50.0));
    vec![
        row(
            if unlocked {
                "`sigap register` one record, database unlocked (whole process, median)"
            } else {
                "`sigap register` one record, no keyring: passphrase per command (whole process, median)"
            },
            ms(r),
            format!("`sigap --version` {} (taken alternately with it)", ms(rs)),
            format!("{:.2}× process start", ratio(r, rs)),
            "≤ 2× process start",
            Some(ratio(r, rs) <= 2.0),
        ),
        row(
            "`sigap register` one record, passphrase given to the command (`SIGAP_PASSPHRASE`, Argon2id each time; median)",
            ms(p),
            format!("`sigap --version` {}", ms(s)),
            format!("{:.2}× process start", ratio(p, s)),
            "—",
            None,
        ),
    ]
}

/// The results as the BENCHMARKS.md table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| figure | measured | baseline (same run) | ratio | target | met |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.figure, r.measured, r.baseline, r.ratio, r.target, met
        ));
    }
    out
}

/// The whole BENCHMARKS.md: machine, command, date, then the table.
pub fn document(table: &str, command: &str, scale: Scale) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    let date = time::OffsetDateTime::now_utc().date();
    let pg_note = if table.contains("PostgreSQL") {
        "\nPostgreSQL rows (`--postgres URL`) run each scenario again on\n\
         `sigap-server --database-url`, beside its SQLite row measured again in the same\n\
         run and a PostgreSQL floor: the same rows sent by binary `COPY` in one\n\
         transaction into a table made `LIKE persons INCLUDING ALL`.\n"
    } else {
        ""
    };
    format!(
        "# SIGAP benchmarks\n\n{RESULTS_START}\n\
         - date: {date}\n- machine: {cpu}, {cores} cores, {mem} memory\n\
         - command: `{command}`\n- sizes: {scale:?}\n\n\
         Every figure is measured by the harness in `tests/src/bench.rs` on the real\n\
         `sigap` and `sigap-server` binaries, beside a baseline measured in the same run.\n\
         The floor is the same rows inserted through rusqlite in one transaction into a\n\
         table with the server's own `persons` schema and indexes.\n{pg_note}\n{table}{RESULTS_END}\n"
    )
}

const RESULTS_START: &str = "<!-- results: written by sigap-bench -->";
const RESULTS_END: &str = "<!-- end of results -->";

/// Replaces the results part of an existing BENCHMARKS.md with the one of
/// `fresh`, keeping everything around it; `None` if either lacks markers.
pub fn splice_results(old: &str, fresh: &str) -> Option<String> {
    let part = |doc: &str| -> Option<(usize, usize)> {
        let start = doc.find(RESULTS_START)?;
        let end = doc.find(RESULTS_END)? + RESULTS_END.len();
        (start < end).then_some((start, end))
    };
    let (os, oe) = part(old)?;
    let (fs, fe) = part(fresh)?;
    Some(format!("{}{}{}", &old[..os], &fresh[fs..fe], &old[oe..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_run_and_the_runs_are_listed_as_taken() {
        let ms = Duration::from_millis;
        let mut runs = vec![ms(2212), ms(1708), ms(1964)];
        assert_eq!(listed(&runs), "2.212 s, 1.708 s, 1.964 s");
        assert_eq!(median(&mut runs), ms(1964));
        assert_eq!(median(&mut [ms(900)]), ms(900));
        assert_eq!(median(&mut []), Duration::ZERO);
    }

    #[test]
    fn splice_keeps_the_notes_around_the_results() {
        let old =
            format!("# B\n\nintro\n{RESULTS_START}\nold table\n{RESULTS_END}\n\n## Notes\nkept\n");
        let fresh = document("| new |\n", "cmd", Scale::smoke());
        let spliced = splice_results(&old, &fresh).unwrap();
        assert!(spliced.starts_with("# B\n\nintro\n"));
        assert!(spliced.contains("| new |") && !spliced.contains("old table"));
        assert!(spliced.ends_with("## Notes\nkept\n"));
        assert_eq!(splice_results("no markers", &fresh), None);
    }
}
