//! The PostgreSQL rows of `sigap-bench` (issue 14): the SQLite scenarios
//! again with `sigap-server --database-url postgres://…?schema=bench_…`,
//! each beside its SQLite row and a PostgreSQL floor (`COPY` of the same
//! person rows) measured in the same run, and each checked for
//! correctness so that a fast wrong answer fails.
//!
//! Every scenario runs in a schema of its own (`bench_<uuid>`), dropped
//! when the scenario ends. The servers' connections carry the schema's
//! name as their `application_name`, so the harness can tell its own
//! backends from anybody else's on a shared database (CPU split, and the
//! wait-event sampler of `--pg-sample`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_postgres::types::{ToSql, Type};

use super::common::CoverageAsker;
use super::{Row, Scale, common, device_changes, ratio, row};
use crate::measure::{ms, percentile, secs, time_command};
use crate::people::{registrations_csv, roll_csv};
use crate::procs::{Agent, Server, bin, free_port};
use sigap_shared::wire::MAX_PUSH_CHANGES;

/// What the PostgreSQL group needs.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// A plain `postgres://` URL (no `schema=`); every scenario makes a
    /// schema of its own there and drops it at the end.
    pub url: String,
    /// Sample `pg_stat_activity` every 10 ms during the timed parts and
    /// log where the servers' backends spent their time.
    pub sample: bool,
}

/// The target for every PostgreSQL row: at most this many times
/// the SQLite row's time.
const TARGET_RATIO: f64 = 2.0;
const TARGET: &str = "≤ 2× the SQLite row (target of a later issue; reported)";

/// How many times the PostgreSQL floor is measured (median kept).
const FLOOR_RUNS: usize = 3;

// ---------------------------------------------------------------------
// A schema of its own, and a blocking SQL connection into it.

/// A schema of its own on the benchmark database, dropped at the end.
pub struct PgSchema {
    base: String,
    pub schema: String,
}

impl PgSchema {
    pub fn new(base: &str) -> PgSchema {
        PgSchema {
            base: base.to_string(),
            schema: format!("bench_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The URL a server is given: the schema, and the schema's name as the
    /// connections' application name.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}schema={}&application_name={}",
            self.base, self.schema, self.schema
        )
    }

    /// A connection of the harness's own into the schema.
    pub fn sql(&self) -> Sql {
        Sql::connect(&self.base, &self.schema)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let dropped = Sql::try_connect(&self.base, "public")
            .and_then(|sql| sql.exec(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema)));
        if let Err(e) = dropped {
            eprintln!("could not drop schema {}: {e}", self.schema);
        }
    }
}

/// A blocking tokio-postgres connection.
pub struct Sql {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Sql {
    pub fn connect(base: &str, schema: &str) -> Sql {
        Sql::try_connect(base, schema)
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", redact(base)))
    }

    pub fn try_connect(base: &str, schema: &str) -> Result<Sql, tokio_postgres::Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
                .batch_execute(&format!(
                    "SET search_path TO {schema}; SET application_name TO 'sigap-bench'"
                ))
                .await?;
            Ok::<_, tokio_postgres::Error>(client)
        })?;
        Ok(Sql { rt, client })
    }

    pub fn exec(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.rt.block_on(self.client.batch_execute(sql))
    }

    /// One row of `i64`s (counts, sums).
    pub fn ints(&self, sql: &str) -> Vec<i64> {
        let r = self
            .rt
            .block_on(self.client.query_one(sql, &[]))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        (0..r.len())
            .map(|i| r.try_get::<_, Option<i64>>(i).ok().flatten().unwrap_or(0))
            .collect()
    }

    pub fn int(&self, sql: &str) -> i64 {
        self.ints(sql)[0]
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((_, host)) => format!("postgres://…@{host}"),
        None => url.to_string(),
    }
}

// ---------------------------------------------------------------------
// Servers on either store.

/// What the scenarios need of a server, on either store.
trait Serving: Sync {
    fn url(&self) -> String;
    fn admin(&self, args: &[&str]) -> Output;
    fn pid(&self) -> u32;

    fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "sigap-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn token(&self, role: &str, name: &str, areas: &[&str]) -> String {
        let mut args = vec!["token", "create", "--role", role, "--name", name];
        for a in areas {
            args.extend(["--area", a]);
        }
        self.admin_ok(&args).trim().to_string()
    }

    /// The coverage answer, as a supervisor asks for it.
    fn coverage(&self, token: &str, query: &str) -> Value {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/coverage?{query}", self.url()))
            .bearer_auth(token)
            .send()
            .expect("coverage");
        assert!(resp.status().is_success(), "coverage: {}", resp.status());
        resp.json().expect("coverage JSON")
    }

    /// Persons covered in Kota Surakarta this year.
    fn covered(&self, token: &str) -> u64 {
        let year = crate::this_year();
        self.coverage(token, &format!("area=33.72&year={year}&depth=0"))["figures"]["covered"]
            .as_u64()
            .unwrap_or(0)
    }

    /// `coverage verify` must find the counters equal to a recount.
    fn verify_clean(&self) -> Duration {
        let start = Instant::now();
        let out = self.admin(&["coverage", "verify"]);
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "coverage verify found differences: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        took
    }
}

impl Serving for Server {
    fn url(&self) -> String {
        Server::url(self)
    }
    fn admin(&self, args: &[&str]) -> Output {
        Server::admin(self, args)
    }
    fn pid(&self) -> u32 {
        Server::pid(self)
    }
}

/// A running `sigap-server --database-url … serve`.
pub struct PgServer {
    db_url: String,
    child: Child,
    port: u16,
}

impl PgServer {
    pub fn start(db_url: &str) -> PgServer {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let port = free_port();
            let mut child = Command::new(bin("sigap-server"))
                .args(["--database-url", db_url])
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("sigap-server");
            let stdout = child.stdout.take().expect("stdout");
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            if line.contains("listening on") {
                return PgServer {
                    db_url: db_url.to_string(),
                    child,
                    port,
                };
            }
            let _ = child.wait();
            assert!(
                Instant::now() < deadline,
                "sigap-server on PostgreSQL did not start: {line:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Serving for PgServer {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    fn admin(&self, args: &[&str]) -> Output {
        Command::new(bin("sigap-server"))
            .args(["--database-url", &self.db_url])
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("sigap-server")
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Tokens made four processes at a time (not timed).
fn agent_tokens(server: &dyn Serving, n: u64) -> Vec<String> {
    let names: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
    let queue = std::sync::Mutex::new(names.iter().enumerate());
    let out = std::sync::Mutex::new(vec![String::new(); names.len()]);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let next = queue.lock().expect("queue").next();
                    let Some((i, name)) = next else { break };
                    let t = server.token("agent", name, &["33.72"]);
                    out.lock().expect("tokens")[i] = t;
                }
            });
        }
    });
    out.into_inner().expect("tokens")
}

// ---------------------------------------------------------------------
// Where the time goes: CPU of the server processes and of their
// backends, and (with --pg-sample) what the backends were doing.

/// CPU seconds (user + system) of a process so far, from /proc (USER_HZ
/// is 100 on Linux).
fn cpu_of(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map(|p| p.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    (tick(11) + tick(12)) / 100.0
}

/// CPU seconds of this process's waited-for children so far.
fn children_cpu() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let rest = stat.rsplit_once(')').map(|p| p.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(13) + tick(14)) / 100.0
}

/// Samples of the backends, by what they were doing.
type WaitCounts = HashMap<String, u64>;

/// Per backend: its CPU seconds when first seen (0 for one that started
/// during the part) and when last seen.
type BackendCpu = HashMap<u32, (f64, f64)>;

/// What to watch while a part is timed: the schema whose servers'
/// backends are looked at, the server processes, and whether to sample
/// what the backends wait for.
struct Probe<'a> {
    /// `None` for a SQLite server: its CPU only.
    pg: Option<&'a PgSchema>,
    pids: Vec<u32>,
    sample: bool,
}

/// Measures, over a timed part, the CPU of the server processes, of
/// their PostgreSQL backends (read from /proc every 20 ms, so that the
/// backends of short admin processes count too) and of this process and
/// its finished children (the clients), and with `sample` what the
/// backends were doing every 10 ms.
struct Watch {
    servers: Vec<(u32, f64)>,
    own: f64,
    children: f64,
    start: Instant,
    stop: Arc<AtomicBool>,
    poller: Option<std::thread::JoinHandle<(BackendCpu, WaitCounts)>>,
}

impl Watch {
    fn start(probe: &Probe<'_>) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let poller = probe.pg.map(|pg| {
            let sql = Sql::connect(&pg.base, "public");
            let app = pg.schema.clone();
            let mut cpu = BackendCpu::new();
            let mut counts = WaitCounts::new();
            poll_backends(&sql, &app, &mut cpu, &mut counts, true);
            counts.clear();
            let (flag, sample) = (stop.clone(), probe.sample);
            std::thread::spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(if sample { 10 } else { 20 }));
                    poll_backends(&sql, &app, &mut cpu, &mut counts, false);
                }
                (cpu, counts)
            })
        });
        Watch {
            servers: probe.pids.iter().map(|p| (*p, cpu_of(*p))).collect(),
            own: cpu_of(std::process::id()),
            children: children_cpu(),
            start: Instant::now(),
            stop,
            poller,
        }
    }

    /// Lines saying where the CPU went during the part.
    fn finish(self, what: &str, sample: bool) -> Vec<String> {
        let wall = self.start.elapsed().as_secs_f64();
        let server: f64 = self.servers.iter().map(|(p, c)| cpu_of(*p) - c).sum();
        let own = cpu_of(std::process::id()) - self.own;
        let children = children_cpu() - self.children;
        self.stop.store(true, Ordering::Relaxed);
        let pg = self.poller.is_some();
        let (cpu, counts) = self
            .poller
            .map(|p| p.join().unwrap_or_default())
            .unwrap_or_default();
        let backend: f64 = cpu.values().map(|(first, last)| last - first).sum();
        let backends = if pg {
            format!(
                ", its PostgreSQL backends ({} seen) {backend:.2} s",
                cpu.len()
            )
        } else {
            String::new()
        };
        let mut lines = vec![format!(
            "  cpu during {what}: wall {wall:.2} s ({:.2} core-seconds on {} cores); \
             sigap-server {server:.2} s{backends}, \
             harness (clients) {own:.2} s, child processes that ended {children:.2} s",
            wall * cores() as f64,
            cores(),
        )];
        if sample && pg {
            let total: u64 = counts.values().sum();
            let mut v: Vec<(String, u64)> = counts.into_iter().collect();
            v.sort_by_key(|b| std::cmp::Reverse(b.1));
            lines.push(format!(
                "  what the backends were doing ({total} samples of every backend, every 10 ms):"
            ));
            for (what, n) in v.into_iter().take(14) {
                lines.push(format!(
                    "    {:5.1}%  {what}",
                    100.0 * n as f64 / total.max(1) as f64
                ));
            }
        }
        lines
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// One look at the backends named `app`: their CPU so far, and what each
/// is doing (by state, wait event and statement).
fn poll_backends(sql: &Sql, app: &str, cpu: &mut BackendCpu, counts: &mut WaitCounts, first: bool) {
    let rows = sql
        .rt
        .block_on(sql.client.query(
            "SELECT pid, state, coalesce(wait_event_type || ':' || wait_event, 'on CPU'),
                    left(regexp_replace(query, '\\s+', ' ', 'g'), 70)
             FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        ))
        .unwrap_or_default();
    for r in rows {
        let Some(pid) = r
            .try_get::<_, i32>(0)
            .ok()
            .and_then(|p| u32::try_from(p).ok())
        else {
            continue;
        };
        let now = cpu_of(pid);
        let entry = cpu
            .entry(pid)
            .or_insert((if first { now } else { 0.0 }, now));
        entry.1 = entry.1.max(now);
        let state: Option<String> = r.try_get(1).ok().flatten();
        let wait: String = r.try_get(2).unwrap_or_default();
        let query: String = r.try_get(3).unwrap_or_default();
        let key = match state.as_deref() {
            Some("idle") => "idle (no transaction open)".to_string(),
            Some("idle in transaction") => {
                format!("idle in transaction (waiting for sigap-server) after: {query}")
            }
            Some(s) => format!("{s}, {wait}: {query}"),
            None => "unknown".to_string(),
        };
        *counts.entry(key).or_default() += 1;
    }
}

/// Runs `part` with a [`Watch`] when there is a probe; the watch's lines
/// go to `notes`.
fn watched<T>(
    probe: Option<&Probe<'_>>,
    what: &str,
    notes: &mut Vec<String>,
    part: impl FnOnce() -> T,
) -> T {
    let watch = probe.map(Watch::start);
    let out = part();
    if let (Some(w), Some(p)) = (watch, probe) {
        notes.extend(w.finish(what, p.sample));
    }
    out
}

// ---------------------------------------------------------------------
// The floor: COPY of the same rows.

/// A value of the floor table.
enum Val {
    Int(i64),
    Int4(i32),
    Bool(bool),
    Uuid(uuid::Uuid),
    Text(String),
}

impl Val {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Val::Int(v) => v,
            Val::Int4(v) => v,
            Val::Bool(v) => v,
            Val::Uuid(v) => v,
            Val::Text(v) => v,
        }
    }
}

/// `COPY` (binary) of `n` person rows in one transaction into a table
/// made `LIKE persons INCLUDING ALL` (the server's columns, keys and
/// indexes) in a freshly migrated schema; the rows are built before the
/// clock starts, as the SQLite floor's are. Returns the time to the
/// commit.
pub fn pg_floor(base: &str, n: u64) -> Duration {
    let pg = PgSchema::new(base);
    let out = Command::new(bin("sigap-server"))
        .args(["--database-url", &pg.url(), "migrate"])
        .output()
        .expect("sigap-server migrate");
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = pg.sql();
    sql.exec("CREATE TABLE floor_persons (LIKE persons INCLUDING ALL)")
        .expect("floor table");
    let columns: Vec<(String, String)> = sql
        .rt
        .block_on(sql.client.query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = $1 AND table_name = 'persons' ORDER BY ordinal_position",
            &[&pg.schema],
        ))
        .expect("persons columns")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(!columns.is_empty(), "the migrated schema has no persons");
    // The SQLite floor's values, by column name, typed for PostgreSQL.
    let like_sqlite: Vec<(String, String, bool)> = columns
        .iter()
        .map(|(name, ty)| {
            let t = if ty.contains("int") {
                "INTEGER"
            } else {
                "TEXT"
            };
            (name.clone(), t.to_string(), false)
        })
        .collect();
    let types: Vec<Type> = columns
        .iter()
        .map(|(_, ty)| match ty.as_str() {
            "bigint" => Type::INT8,
            "integer" => Type::INT4,
            "boolean" => Type::BOOL,
            "uuid" => Type::UUID,
            _ => Type::TEXT,
        })
        .collect();
    let device = uuid::Uuid::now_v7();
    let rows: Vec<Vec<Val>> = (0..n)
        .map(|i| {
            super::floor_row(i, &like_sqlite)
                .into_iter()
                .zip(&types)
                .map(|(v, ty)| {
                    let int = match &v {
                        rusqlite::types::Value::Integer(k) => *k,
                        _ => i as i64 + 1,
                    };
                    match *ty {
                        Type::INT8 => Val::Int(int),
                        Type::INT4 => Val::Int4(i32::try_from(int).unwrap_or(0)),
                        Type::BOOL => Val::Bool(false),
                        Type::UUID => Val::Uuid(device),
                        _ => Val::Text(match v {
                            rusqlite::types::Value::Text(s) => s,
                            other => format!("{other:?}"),
                        }),
                    }
                })
                .collect()
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    let copy = format!(
        "COPY floor_persons ({}) FROM STDIN (FORMAT binary)",
        names.join(",")
    );
    let mut client = sql.client;
    let took = sql.rt.block_on(async {
        let start = Instant::now();
        let tx = client.transaction().await.expect("tx");
        let sink = tx.copy_in(&copy).await.expect("copy");
        let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
        tokio::pin!(writer);
        for r in &rows {
            let vals: Vec<&(dyn ToSql + Sync)> = r.iter().map(Val::sql).collect();
            writer.as_mut().write(&vals).await.expect("copy row");
        }
        let copied = writer.finish().await.expect("copy finish");
        tx.commit().await.expect("commit");
        let took = start.elapsed();
        assert_eq!(copied, n, "COPY wrote {copied} rows of {n}");
        took
    });
    drop(client);
    took
}

/// The floor, measured [`FLOOR_RUNS`] times; the median.
fn pg_floor_median(base: &str, n: u64, log: &mut dyn FnMut(&str)) -> Duration {
    let mut runs: Vec<Duration> = (0..FLOOR_RUNS).map(|_| pg_floor(base, n)).collect();
    log(&format!(
        "  PostgreSQL floor, COPY of {n} rows: {}",
        runs.iter().map(|d| secs(*d)).collect::<Vec<_>>().join(", ")
    ));
    runs.sort();
    runs[FLOOR_RUNS / 2]
}

// ---------------------------------------------------------------------
// Checks of the stored state, beyond what the API answers.

/// The PostgreSQL tables hold exactly `persons` persons and `changes`
/// logged changes, all applied once, every person at a feed position of
/// its own, none above the position given out.
fn check_pg_state(pg: &PgSchema, persons: u64, changes: u64) {
    let sql = pg.sql();
    let p = sql.ints("SELECT count(*), count(DISTINCT seq), max(seq) FROM persons");
    let feed = sql.int("SELECT value FROM meta WHERE key = 'feed_seq'");
    let c = sql.ints(
        "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE outcome = 'applied'),
                count(DISTINCT (device_id, device_seq)) FROM changes",
    );
    let (persons, changes) = (persons as i64, changes as i64);
    assert_eq!(p[0], persons, "persons stored");
    assert_eq!(p[1], persons, "feed positions are not one per person");
    assert!(p[2] <= feed, "a person above the feed position given out");
    assert_eq!(
        c,
        vec![changes, changes, changes, changes],
        "changes logged / distinct ids / applied / distinct (device, seq)"
    );
}

// ---------------------------------------------------------------------
// The scenarios, each on either store.

/// `sigap import` (not timed) then the whole `sigap sync` (timed) of `n`
/// registrations from one device; checks the server holds them all.
fn sync_once(
    server: &dyn Serving,
    n: u64,
    probe: Option<&Probe<'_>>,
    notes: &mut Vec<String>,
) -> Duration {
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
    assert!(status.success(), "import failed");
    let (sync, status) = watched(probe, "the sync", notes, || {
        time_command(
            agent
                .command(&["sync"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
    });
    assert!(status.success(), "sync failed");
    let left = agent.status();
    assert_eq!(
        (
            left["pending_changes"].as_u64(),
            left["acked_changes"].as_u64()
        ),
        (Some(0), Some(n)),
        "changes left unsent: {left}"
    );
    assert_eq!(server.covered(&sup), n, "covered after the sync");
    server.verify_clean();
    sync
}

/// One device pushes `total` changes in pages of [`MAX_PUSH_CHANGES`],
/// two in flight; returns the wall time and each push's latency.
fn merge_once(
    server: &dyn Serving,
    total: u64,
    probe: Option<&Probe<'_>>,
    notes: &mut Vec<String>,
) -> (Duration, Vec<Duration>) {
    let token = server.token("agent", "one", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let changes = device_changes(uuid::Uuid::now_v7(), 0..total);
    let pushed = watched(probe, "the pushes", notes, || {
        common::push_changes(&server.url(), &token, changes, MAX_PUSH_CHANGES, 2)
    });
    common::assert_outcomes("the pushes", &pushed, &[("applied", total)]);
    let (took, lat) = (pushed.wall, pushed.latencies);
    assert_eq!(server.covered(&sup), total, "covered after the pushes");
    server.verify_clean();
    (took, lat)
}

/// `agents` devices push `per_agent` changes each, at once (released
/// together by a barrier), agent `i` to server `i % servers.len()`;
/// returns the wall time and each push's latency. Tokens are made on the
/// first server (the servers share one database).
fn agents_once(
    servers: &[&dyn Serving],
    agents: u64,
    per_agent: u64,
    probe: Option<&Probe<'_>>,
    notes: &mut Vec<String>,
) -> (Duration, Vec<Duration>) {
    let total = agents * per_agent;
    let sup = servers[0].token("supervisor", "spv", &["33.72"]);
    let tokens = agent_tokens(servers[0], agents);
    let batches: Vec<Vec<sigap_shared::Change>> = (0..agents)
        .map(|i| device_changes(uuid::Uuid::now_v7(), i * per_agent..(i + 1) * per_agent))
        .collect();
    let urls: Vec<String> = servers.iter().map(|s| s.url()).collect();
    let pushes = batches
        .into_iter()
        .zip(tokens)
        .enumerate()
        .map(|(i, (b, t))| (urls[i % urls.len()].clone(), t, b))
        .collect();
    let watch = probe.map(Watch::start);
    let pushed = common::push_at_once_to(pushes);
    if let (Some(w), Some(p)) = (watch, probe) {
        notes.extend(w.finish("the pushes", p.sample));
    }
    common::assert_outcomes("the pushes", &pushed, &[("applied", total)]);
    pushed.assert_each_device_holds(agents, per_agent);
    let (took, latencies) = (pushed.wall, pushed.latencies);
    for s in servers {
        assert_eq!(s.covered(&sup), total, "covered, asked of {}", s.url());
    }
    servers[0].verify_clean();
    (took, latencies)
}

/// The big population's figures on one store.
struct Big {
    import: Duration,
    first: Duration,
    p50: Duration,
    p99: Duration,
    recompute: Duration,
}

/// A roll of `n` persons imported by `participants import` (timed), then
/// the coverage to RT depth asked `reps` times and `coverage verify`.
fn big_once(
    server: &dyn Serving,
    n: u64,
    reps: usize,
    dir: &std::path::Path,
    probe: Option<&Probe<'_>>,
    notes: &mut Vec<String>,
) -> Big {
    let roll = dir.join("roll.csv");
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
    let (import, out) = watched(probe, "the roll import", notes, || {
        let start = Instant::now();
        let out = server.admin(&["participants", "import", roll.to_str().unwrap_or("")]);
        (start.elapsed(), out)
    });
    // The summary goes to stderr.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.contains(&format!(": {n} new participants")),
        "roll import: {said}"
    );
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let asker = CoverageAsker::default();
    let query = format!("area=33.72&year={year}&depth=4");
    let samples = watched(probe, "the coverage queries", notes, || {
        let mut samples = Vec::new();
        for _ in 0..reps {
            let a = asker.ask(&server.url(), &sup, &query);
            assert_eq!(a.covered, n, "covered in the depth-4 answer");
            samples.push(a.took());
        }
        samples
    });
    // The tree, asked once more after the clock: decoding it between the
    // timed asks would be timed in the next one (see `CoverageAsker`).
    let last = server.coverage(&sup, &query);
    // The children add up to the whole, down the tree.
    let kecamatan_sum: u64 = last["children"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|k| k["figures"]["covered"].as_u64())
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(kecamatan_sum, n, "kecamatan figures add up to the kota");
    let recompute = watched(probe, "coverage verify", notes, || server.verify_clean());
    Big {
        import,
        first: samples.first().copied().unwrap_or_default(),
        p50: percentile(&samples, 50.0),
        p99: percentile(&samples, 99.0),
        recompute,
    }
}

// ---------------------------------------------------------------------
// The rows.

fn times(a: Duration, b: Duration) -> String {
    format!("{:.2}×", ratio(a, b))
}

/// The PostgreSQL group: every row beside its SQLite row and the
/// PostgreSQL floor, measured here; `sqlite_floor` is the run's SQLite
/// floor (median).
pub fn rows(
    scale: Scale,
    opts: &PgOptions,
    sqlite_floor: Duration,
    log: &mut dyn FnMut(&str),
) -> Vec<Row> {
    let base = opts.url.as_str();
    let mut out = Vec::new();
    let n = scale.rows;

    log(&format!(
        "PostgreSQL floor: COPY of {n} person rows in one transaction (median of {FLOOR_RUNS})"
    ));
    let floor = pg_floor_median(base, n, log);
    out.push(row(
        &format!("PostgreSQL floor: `COPY` of {n} person rows (binary, one transaction, the server's `persons` keys and indexes)"),
        format!("{} ({:.0} rows/s)", secs(floor), super::per_sec(n, floor)),
        format!("SQLite floor {}", secs(sqlite_floor)),
        format!("{} the SQLite floor", times(floor, sqlite_floor)),
        "—",
        None,
    ));

    // End-to-end sync.
    log("end-to-end sync: SQLite, then PostgreSQL");
    let mut notes = Vec::new();
    let sqlite_sync = {
        let server = Server::start();
        let probe = sqlite_probe(&server);
        sync_once(&server, n, probe.as_ref(), &mut notes)
    };
    flush("SQLite", &mut notes, log);
    let pg_sync = {
        let pg = PgSchema::new(base);
        let server = PgServer::start(&pg.url());
        let probe = pg_probe(&pg, &[&server], opts);
        let d = sync_once(&server, n, probe.as_ref(), &mut notes);
        check_pg_state(&pg, n, n);
        d
    };
    flush("PostgreSQL", &mut notes, log);
    log(&format!(
        "  SQLite {}, PostgreSQL {}",
        secs(sqlite_sync),
        secs(pg_sync)
    ));
    let r = ratio(pg_sync, sqlite_sync);
    out.push(row(
        &format!("end-to-end `sigap sync` of {n} registrations, one device to a PostgreSQL server"),
        format!(
            "{} ({:.0} records/s)",
            secs(pg_sync),
            super::per_sec(n, pg_sync)
        ),
        format!(
            "SQLite server {}; PostgreSQL floor {}",
            secs(sqlite_sync),
            secs(floor)
        ),
        format!(
            "{} SQLite; {} PG floor",
            times(pg_sync, sqlite_sync),
            times(pg_sync, floor)
        ),
        TARGET,
        Some(r <= TARGET_RATIO),
    ));

    // Merge throughput.
    let total = scale.agents * scale.per_agent;
    log("merge throughput: SQLite, then PostgreSQL");
    let (sqlite_merge, _) = {
        let server = Server::start();
        let probe = sqlite_probe(&server);
        merge_once(&server, total, probe.as_ref(), &mut notes)
    };
    flush("SQLite", &mut notes, log);
    let (pg_merge, pg_merge_lat) = {
        let pg = PgSchema::new(base);
        let server = PgServer::start(&pg.url());
        let probe = pg_probe(&pg, &[&server], opts);
        let m = merge_once(&server, total, probe.as_ref(), &mut notes);
        check_pg_state(&pg, total, total);
        m
    };
    flush("PostgreSQL", &mut notes, log);
    let rate = |d: Duration| super::per_sec(total, d);
    out.push(row(
        "server merge throughput on PostgreSQL (HTTP push, pages of 10,000, two in flight)",
        format!(
            "{:.0} changes/s ({total} in {}; push p99 {})",
            rate(pg_merge),
            secs(pg_merge),
            ms(percentile(&pg_merge_lat, 99.0))
        ),
        format!(
            "SQLite {:.0} changes/s ({}); PostgreSQL floor {:.0} rows/s",
            rate(sqlite_merge),
            secs(sqlite_merge),
            super::per_sec(n, floor)
        ),
        format!(
            "{} SQLite's time; {:.2}× the PG floor rate",
            times(pg_merge, sqlite_merge),
            rate(pg_merge) / super::per_sec(n, floor)
        ),
        TARGET,
        Some(ratio(pg_merge, sqlite_merge) <= TARGET_RATIO),
    ));

    // Many agents at once: SQLite, one PostgreSQL server, two.
    let (agents, per) = (scale.agents, scale.per_agent);
    log(&format!(
        "{agents} agents × {per} changes at once: SQLite, one PostgreSQL server, two"
    ));
    let (sqlite_many, sqlite_lat) = {
        let server = Server::start();
        let probe = sqlite_probe(&server);
        agents_once(&[&server], agents, per, probe.as_ref(), &mut notes)
    };
    flush("SQLite", &mut notes, log);
    let (pg_one, pg_one_lat) = {
        let pg = PgSchema::new(base);
        let server = PgServer::start(&pg.url());
        let probe = pg_probe(&pg, &[&server], opts);
        let m = agents_once(&[&server], agents, per, probe.as_ref(), &mut notes);
        check_pg_state(&pg, total, total);
        check_devices(&pg, agents, per);
        m
    };
    flush("one PostgreSQL server", &mut notes, log);
    let (pg_two, pg_two_lat) = {
        let pg = PgSchema::new(base);
        let a = PgServer::start(&pg.url());
        let b = PgServer::start(&pg.url());
        let probe = pg_probe(&pg, &[&a, &b], opts);
        let m = agents_once(&[&a, &b], agents, per, probe.as_ref(), &mut notes);
        check_pg_state(&pg, total, total);
        check_devices(&pg, agents, per);
        m
    };
    flush("two PostgreSQL servers", &mut notes, log);
    let lat = |l: &[Duration]| {
        format!(
            "push p50 {}, p99 {}",
            ms(percentile(l, 50.0)),
            ms(percentile(l, 99.0))
        )
    };
    out.push(row(
        &format!("{agents} agents pushing {per} changes each at once, one PostgreSQL server"),
        format!(
            "{} wall; {}; all applied once",
            secs(pg_one),
            lat(&pg_one_lat)
        ),
        format!(
            "SQLite server {} wall, {}",
            secs(sqlite_many),
            lat(&sqlite_lat)
        ),
        format!("{} SQLite", times(pg_one, sqlite_many)),
        TARGET,
        Some(ratio(pg_one, sqlite_many) <= TARGET_RATIO),
    ));
    out.push(row(
        &format!(
            "{agents} agents pushing {per} changes each at once, two PostgreSQL servers on one database ({} each)",
            agents / 2
        ),
        format!(
            "{} wall; {}; all applied once",
            secs(pg_two),
            lat(&pg_two_lat)
        ),
        format!(
            "SQLite (one server) {}; one PostgreSQL server {}",
            secs(sqlite_many),
            secs(pg_one)
        ),
        format!(
            "{} SQLite; {} one PG server",
            times(pg_two, sqlite_many),
            times(pg_two, pg_one)
        ),
        TARGET,
        Some(ratio(pg_two, sqlite_many) <= TARGET_RATIO),
    ));

    // The big population.
    let big = scale.big;
    log(&format!(
        "coverage at {big} persons: COPY floor, SQLite, PostgreSQL"
    ));
    let big_floor = pg_floor(base, big);
    log(&format!("  COPY of {big} rows: {}", secs(big_floor)));
    let sqlite_big = {
        let server = Server::start();
        let dir = tempfile::TempDir::new().expect("tempdir");
        let probe = sqlite_probe(&server);
        big_once(
            &server,
            big,
            scale.reps,
            dir.path(),
            probe.as_ref(),
            &mut notes,
        )
    };
    flush("SQLite", &mut notes, log);
    log(&format!(
        "  SQLite: roll import {}, coverage p99 {}, verify {}",
        secs(sqlite_big.import),
        ms(sqlite_big.p99),
        secs(sqlite_big.recompute)
    ));
    let pg_big = {
        let pg = PgSchema::new(base);
        let server = PgServer::start(&pg.url());
        let dir = tempfile::TempDir::new().expect("tempdir");
        let probe = pg_probe(&pg, &[&server], opts);
        let b = big_once(
            &server,
            big,
            scale.reps,
            dir.path(),
            probe.as_ref(),
            &mut notes,
        );
        let sql = pg.sql();
        assert_eq!(sql.int("SELECT count(*) FROM persons"), big as i64);
        b
    };
    flush("PostgreSQL", &mut notes, log);
    out.push(row(
        &format!("roll of {big} persons imported on PostgreSQL (`sigap-server participants import`, one transaction)"),
        format!(
            "{} ({:.0} persons/s)",
            secs(pg_big.import),
            super::per_sec(big, pg_big.import)
        ),
        format!(
            "SQLite {}; PostgreSQL floor (`COPY` of {big} rows) {}",
            secs(sqlite_big.import),
            secs(big_floor)
        ),
        format!(
            "{} SQLite; {} PG floor",
            times(pg_big.import, sqlite_big.import),
            times(pg_big.import, big_floor)
        ),
        TARGET,
        Some(ratio(pg_big.import, sqlite_big.import) <= TARGET_RATIO),
    ));
    out.push(row(
        &format!("coverage query for Kota Surakarta, depth to RT, {big} persons, PostgreSQL"),
        format!(
            "p99 {} (p50 {}; first answer, built before it was cached: {}); full recompute (`coverage verify`) {}",
            ms(pg_big.p99),
            ms(pg_big.p50),
            ms(pg_big.first),
            secs(pg_big.recompute)
        ),
        format!(
            "SQLite p99 {} (p50 {}; first {}); recompute {}",
            ms(sqlite_big.p99),
            ms(sqlite_big.p50),
            ms(sqlite_big.first),
            secs(sqlite_big.recompute)
        ),
        format!(
            "p99 {} SQLite; first answer {} SQLite; {:.0}× faster than its recompute",
            times(pg_big.p99, sqlite_big.p99),
            times(pg_big.first, sqlite_big.first),
            ratio(pg_big.recompute, pg_big.p99)
        ),
        TARGET,
        Some(ratio(pg_big.p99, sqlite_big.p99) <= TARGET_RATIO),
    ));
    out
}

/// The probe of a SQLite server: its CPU.
fn sqlite_probe(server: &Server) -> Option<Probe<'static>> {
    Some(Probe {
        pg: None,
        pids: vec![Server::pid(server)],
        sample: false,
    })
}

/// The probe of PostgreSQL servers on `pg`.
fn pg_probe<'a>(pg: &'a PgSchema, servers: &[&PgServer], opts: &PgOptions) -> Option<Probe<'a>> {
    Some(Probe {
        pg: Some(pg),
        pids: servers.iter().map(|s| s.pid()).collect(),
        sample: opts.sample,
    })
}

/// Logs the watch lines kept for `store`'s part.
fn flush(store: &str, notes: &mut Vec<String>, log: &mut dyn FnMut(&str)) {
    for line in notes.drain(..) {
        log(&format!("  [{store}]{line}"));
    }
}

/// Every device's receipt counts its own `per_agent` changes.
fn check_devices(pg: &PgSchema, agents: u64, per_agent: u64) {
    let sql = pg.sql();
    let per = per_agent as i64;
    let n = sql.int(&format!(
        "SELECT count(*) FROM devices WHERE count = {per} AND highest_seq = {per}"
    ));
    assert_eq!(n, agents as i64, "devices holding all their changes");
}
