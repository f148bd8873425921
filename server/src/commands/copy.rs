//! `sigap-server copy --from sqlite:PATH --to postgres://…`: a branch
//! office's database moved into the PostgreSQL database the region's
//! servers share ("moving up"), without loss and resumably.
//!
//! How:
//! - The office file is read with rusqlite, read-only, in one read
//!   transaction; a fingerprint of what it holds is kept in the target,
//!   so a second run (after an interruption) knows it reads the same.
//! - The target is written table by table in batches keyed by the
//!   office's primary keys. Each batch commits together with its step's
//!   progress (tables `copy_sources` and `copy_progress` in the target),
//!   so a run interrupted anywhere goes on at the next batch when run
//!   again, and copies nothing twice.
//! - Before anything is written, what would collide with the target's
//!   rows (a NIK, a device, a token name, a baseline or target with other
//!   figures) is looked for, and the copy refused with the list.
//! - Persons wait outside the feed (at negative positions, which no
//!   cursor reaches) until the last step numbers them after the target's
//!   feed, in their old order, a batch at a time under the row lock of
//!   `meta('feed_seq')` as the servers' own writes are numbered: a pull
//!   that is running meanwhile never skips one. Their coverage counts
//!   are added to the target's counters batch by batch, so `coverage
//!   verify` holds at every commit.
//! - At the end both sides are counted and recounted, and the result is
//!   printed as a table.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sigap_shared::merge::PersonRecord;
use sigap_shared::{AreaCode, Category, Nik};
use tokio_postgres::{Client, NoTls, Transaction};
use uuid::Uuid;

use super::{CommandError, Opened, open_database, usage};
use crate::cli::CopyArgs;
use crate::engine;
use crate::store::postgres::is_postgres_url;
use crate::store::sqlite::counters::{parse_date_text, roll_since};
use crate::store::{CounterDiff, PgStore, Store, StoreError, VerifyReport};

/// `sigap-server copy --help`, after the options.
pub const LONG_HELP: &str = "\
What is copied: tokens, laptops (devices), persons, the change log,
conflicts, baselines, targets, coverage counters and history, visits,
the counts of refused changes and the server's counters. The office file
is only read: stop the office's server first, and keep the file until
the copy is verified. The target's servers may keep serving meanwhile.

Run the same command again after an interruption: it goes on where it
stopped and copies nothing twice (its progress is kept in the target, in
the tables copy_sources and copy_progress). Persons copied so far count
in coverage at once and reach the agents' feed when the copy ends.

Several offices may be copied into one database, one after the other.
What two offices may share:
  persons    A NIK the target already holds (the same person registered
             by two offices) refuses the copy before anything is written:
             copy does not merge two offices' records of one person.
  tokens     A name the target gives to another token refuses the copy,
             unless --token-suffix renames the office's token (and its
             name in the office's change history, visits and conflicts).
             Admin tokens are copied revoked: an office's admin would be
             an admin of every area in the region; make regional admins
             with `token create --role admin`.
  laptops    A device in both refuses the copy.
  baselines, targets
             The same area and year with other figures refuses the copy;
             make them agree on either side (`baseline set`, `target
             set`) and run it again.
  counters   Added to the target's (they are sums); so is the coverage
             history of areas both hold (the kota, the province), day by
             day.
  conflicts  Get new ids.
  feed       The office's persons are numbered after the target's, in
             their old order.

Laptops: the target keeps its own replica key (the secret of the agents'
offline NIK lookup). Point each laptop at the regional server (`sigap
init --server URL`; its token stays valid): at its next `sigap sync` it
fetches the new key, empties its copy of the feed and pulls its areas
again from the start. That first sync is longer; nothing is lost (unsent
changes and receipts carry over).

The end is a table: the office's rows per table and the target's rows
that match them, and `coverage verify` of both sides. Exit codes: 0 copied
and verified, 1 a check differs, 2 refused (the message says what collides
and how to go on), 3 database error (run it again once fixed).";

/// The SQLite schema version this build reads (schema_v1 … schema_v9).
pub const SQLITE_SCHEMA_VERSION: i64 = 9;

/// The office's tables copy knows; anything else stops it.
const KNOWN_TABLES: &[&str] = &[
    "tokens",
    "persons",
    "changes",
    "devices",
    "counters",
    "baselines",
    "targets",
    "conflicts",
    "meta",
    "secrets",
    "coverage_history",
    "visits",
    "unlogged_rejections",
];

/// The steps, in the order they run.
const STEPS: &[&str] = &[
    "tokens",
    "baselines",
    "targets",
    "devices",
    "persons",
    "changes",
    "conflicts",
    "visits",
    "unlogged_rejections",
    "coverage_history",
    "meta",
    "feed",
];

/// Attempts at a batch that lost a race with a server's transaction.
const MAX_ATTEMPTS: u32 = 8;

/// Office keys asked about per query when checking.
const CHECK_CHUNK: usize = 10_000;

/// The advisory lock the servers take the coverage history's snapshots
/// under (`HISTORY_LOCK` of store/postgres/history.rs, "hist").
const HISTORY_LOCK: i32 = 0x68_69_73_74;

/// Tests interrupt a copy with this: the run stops with an error after
/// that many committed batches.
const STOP_ENV: &str = "SIGAP_COPY_STOP_AFTER_BATCHES";

/// Where the copy keeps its progress, in the target's schema.
const PROGRESS_TABLES: &str = "
CREATE TABLE IF NOT EXISTS copy_sources (
    source TEXT PRIMARY KEY,        -- the office: a hash of its replica key
    file TEXT NOT NULL,             -- where it was first read from
    fingerprint TEXT NOT NULL,      -- what it held then
    token_suffix TEXT,
    temp_base BIGINT NOT NULL,      -- persons wait at seq -(temp_base + 1 + office seq)
    started_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE TABLE IF NOT EXISTS copy_progress (
    source TEXT NOT NULL,
    step TEXT NOT NULL,
    last_key TEXT,                  -- the last office key copied
    copied BIGINT NOT NULL DEFAULT 0,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (source, step)
);";

impl From<rusqlite::Error> for CommandError {
    fn from(e: rusqlite::Error) -> CommandError {
        CommandError::Store(StoreError::from(e))
    }
}

impl From<tokio_postgres::Error> for CommandError {
    fn from(e: tokio_postgres::Error) -> CommandError {
        CommandError::Store(StoreError::from(e))
    }
}

fn corrupt(what: impl std::fmt::Display) -> CommandError {
    CommandError::Store(StoreError::Corrupt(what.to_string()))
}

fn now_millis() -> i64 {
    i64::try_from(sigap_shared::hlc::wall_millis()).unwrap_or(i64::MAX)
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Runs `copy`; `global_url` is the global --database-url, the target
/// when --to is not given.
pub fn run(args: &CopyArgs, global_url: Option<&str>) -> Result<ExitCode, CommandError> {
    let from = source_path(&args.from)?;
    let to = match (args.to.as_deref(), global_url) {
        (Some(u), _) => u,
        (None, Some(u)) if is_postgres_url(u) => u,
        _ => {
            return Err(usage(
                "copy needs the PostgreSQL database to copy into: --to postgres://user@host/db \
                 (or --database-url / SIGAP_DATABASE_URL)",
            ));
        }
    };
    if !is_postgres_url(to) {
        return Err(usage(format!(
            "--to {:?}: copy writes into PostgreSQL; give postgres://user@host/db[?schema=NAME]",
            without_password(to)
        )));
    }
    let source = Source::open(&from)?;
    // Opening the store brings the target's schema up to date (and makes
    // its replica key, if it is new).
    let store = match open_database(Some(to), Path::new(""))? {
        Opened::Postgres(s) => s,
        Opened::Sqlite(_) => return Err(usage("--to must name a PostgreSQL database")),
    };
    let stop_after = match std::env::var(STOP_ENV) {
        Ok(v) => Some(
            v.parse::<u64>()
                .map_err(|_| usage(format!("{STOP_ENV}={v:?} is not a number")))?,
        ),
        Err(_) => None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Task(format!("cannot start a runtime: {e}")))?;
    let client = rt.block_on(connect(to, store.schema()))?;
    let mut copier = Copier {
        client,
        schema: store.schema().to_string(),
        ctx: Ctx {
            src: source,
            batch: usize::try_from(args.batch_size).unwrap_or(5000),
            stop_after,
            batches: 0,
            temp_base: 0,
            tokens: TokenMap::default(),
            names: Names::default(),
        },
        notes: Vec::new(),
    };
    println!(
        "copying {} (office {}) into {}",
        from.display(),
        copier.ctx.src.id,
        describe_target(to, store.schema())
    );
    rt.block_on(copier.copy(args.token_suffix.as_deref()))?;
    let checks = rt.block_on(copier.check())?;
    let office = copier.ctx.src.recount()?;
    let target = store.verify_counters()?;
    Ok(report(&checks, &office, &target, &copier.notes, &store))
}

/// The office file named by `--from`: `sqlite:PATH`, `sqlite://PATH` or
/// a plain path.
fn source_path(from: &str) -> Result<PathBuf, CommandError> {
    if is_postgres_url(from) {
        return Err(usage(
            "--from: copy reads a branch office's SQLite file (sqlite:PATH); to move a \
             PostgreSQL database use pg_dump",
        ));
    }
    let path = match from.strip_prefix("sqlite:") {
        Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
        None if from.contains("://") => {
            return Err(usage(format!(
                "--from {from:?} is not sqlite:PATH; give the office's database file"
            )));
        }
        None => from,
    };
    if path.is_empty() {
        return Err(usage(
            "--from: give the office's database file, e.g. sqlite:/var/lib/sigap/office.db",
        ));
    }
    let path = PathBuf::from(path);
    if !path.is_file() {
        return Err(usage(format!(
            "--from: there is no file {}; give the office's database (the --db of its server)",
            path.display()
        )));
    }
    Ok(path)
}

/// The URL for messages: no password.
fn without_password(url: &str) -> String {
    match url.split_once('@') {
        Some((_, host)) => format!("postgres://…@{host}"),
        None => url.to_string(),
    }
}

/// "PostgreSQL database test on 127.0.0.1, schema s".
fn describe_target(url: &str, schema: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let (hosts, db) = match base.parse::<tokio_postgres::Config>() {
        Ok(c) => (
            c.get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    #[cfg(unix)]
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            c.get_dbname().unwrap_or("(default)").to_string(),
        ),
        Err(_) => (String::new(), String::new()),
    };
    format!("PostgreSQL database {db} on {hosts}, schema {schema}")
}

/// A plain connection into the target's schema.
async fn connect(url: &str, schema: &str) -> Result<Client, CommandError> {
    // Our own `schema=` parameter off (the store checked its name).
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("schema="))
        .collect();
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| usage(format!("cannot read the database URL: {e}")))?;
    config.options(format!("-c search_path={schema}"));
    config.application_name("sigap-server copy");
    let (client, conn) = config.connect(NoTls).await.map_err(|e| {
        CommandError::Store(StoreError::Database(format!(
            "cannot connect to the target: {e}"
        )))
    })?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "the copy's database connection ended");
        }
    });
    Ok(client)
}

// ---------------------------------------------------------------------
// The office's file.

/// The office's database, read-only, in one read transaction.
struct Source {
    conn: Connection,
    /// Names the office in the target: a hash of its replica key.
    id: String,
    fingerprint: String,
    max_seq: i64,
}

impl Source {
    fn open(path: &Path) -> Result<Source, CommandError> {
        let not_ours = |why: String| {
            usage(format!(
                "{} is not a sigap-server database ({why}); give the office server's --db file",
                path.display()
            ))
        };
        let cannot = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => not_ours(e.to_string()),
            _ => usage(format!(
                "cannot read {}: {e} (the file must be readable, and its folder writable \
                 for SQLite's -shm file unless one is there)",
                path.display()
            )),
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(cannot)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let mut tables: BTreeSet<String> = BTreeSet::new();
        {
            let mut stmt = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                .map_err(cannot)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                tables.insert(r.get(0)?);
            }
        }
        if !tables.contains("persons") || !tables.contains("changes") {
            return Err(not_ours("it has no persons or changes table".into()));
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < SQLITE_SCHEMA_VERSION {
            return Err(usage(format!(
                "{} is at schema version {version}, older than this sigap-server copies \
                 ({SQLITE_SCHEMA_VERSION}); bring it up to date first: \
                 sigap-server --db {} migrate",
                path.display(),
                path.display()
            )));
        }
        if version > SQLITE_SCHEMA_VERSION {
            return Err(usage(format!(
                "{} is at schema version {version}, newer than this sigap-server knows \
                 ({SQLITE_SCHEMA_VERSION}); copy it with a newer sigap-server",
                path.display()
            )));
        }
        let unknown: Vec<&String> = tables
            .iter()
            .filter(|t| !t.starts_with("sqlite_") && !KNOWN_TABLES.contains(&t.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(usage(format!(
                "{} holds tables this sigap-server does not know ({}); copy it with the \
                 sigap-server that made them",
                path.display(),
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        // One snapshot for the whole run, even if something writes.
        conn.execute_batch("BEGIN")?;
        let key: Vec<u8> = conn
            .query_row(
                "SELECT value FROM secrets WHERE name = 'replica_key'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| not_ours("it has no replica key".into()))?;
        let mut hash = Sha256::new();
        hash.update(b"sigap office\0");
        hash.update(&key);
        let id = hex::encode(&hash.finalize()[..8]);
        let fingerprint = conn.query_row(
            "SELECT (SELECT COUNT(*) FROM persons), (SELECT COALESCE(MAX(seq), 0) FROM persons),
                    (SELECT COUNT(*) FROM changes), (SELECT COUNT(*) FROM conflicts),
                    (SELECT COALESCE(MAX(id), 0) FROM conflicts),
                    (SELECT COUNT(*) FROM conflicts WHERE status = 'open'),
                    (SELECT COUNT(*) FROM devices), (SELECT COALESCE(SUM(count), 0) FROM devices),
                    (SELECT COUNT(*) FROM tokens), (SELECT COALESCE(MAX(id), 0) FROM tokens),
                    (SELECT COUNT(*) FROM tokens WHERE revoked_at IS NOT NULL),
                    (SELECT COUNT(*) FROM visits), (SELECT COUNT(*) FROM coverage_history),
                    (SELECT COALESCE(MAX(taken_at), 0) FROM coverage_history),
                    (SELECT COUNT(*) FROM baselines), (SELECT COUNT(*) FROM targets),
                    (SELECT COALESCE(SUM(count), 0) FROM unlogged_rejections),
                    (SELECT COALESCE((SELECT value FROM meta WHERE key = 'generation'), 0))",
            [],
            |r| {
                let names = [
                    "persons",
                    "max_seq",
                    "changes",
                    "conflicts",
                    "max_conflict",
                    "open_conflicts",
                    "devices",
                    "device_changes",
                    "tokens",
                    "max_token",
                    "revoked",
                    "visits",
                    "history",
                    "history_taken",
                    "baselines",
                    "targets",
                    "unlogged",
                    "generation",
                ];
                let mut parts = Vec::new();
                for (i, n) in names.iter().enumerate() {
                    parts.push(format!("{n}={}", r.get::<_, i64>(i)?));
                }
                Ok(parts.join(" "))
            },
        )?;
        let max_seq: i64 =
            conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM persons", [], |r| {
                r.get(0)
            })?;
        let min_seq: i64 =
            conn.query_row("SELECT COALESCE(MIN(seq), 0) FROM persons", [], |r| {
                r.get(0)
            })?;
        if min_seq < 0 {
            return Err(corrupt(format!(
                "{} holds a person at feed position {min_seq}",
                path.display()
            )));
        }
        Ok(Source {
            conn,
            id,
            fingerprint,
            max_seq,
        })
    }

    /// A `--token-suffix` to suggest: the file's name, e.g. `-solo` for
    /// solo.db.
    fn suffix_example(&self) -> String {
        let stem: String = self
            .conn
            .path()
            .and_then(|p| Path::new(p).file_stem()?.to_str().map(str::to_lowercase))
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(12)
            .collect();
        if stem.is_empty() {
            "-office".to_string()
        } else {
            format!("-{stem}")
        }
    }

    fn count(&self, table: &str) -> Result<u64, CommandError> {
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Up to `n` ids (16-byte UUIDs) of `table`'s `col` after `after`.
    fn page_ids(
        &self,
        table: &str,
        col: &str,
        after: Option<Uuid>,
        n: usize,
    ) -> Result<Vec<Uuid>, CommandError> {
        let after = after.map(|u| u.as_bytes().to_vec()).unwrap_or_default();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {col} FROM {table} WHERE {col} > ?1 ORDER BY {col} LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after, len_i64(n)], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(uuid_of(&r?)?);
        }
        Ok(out)
    }

    /// Up to `n` persons' (seq, NIK) after feed position `after`.
    fn page_niks(&self, after: i64, n: usize) -> Result<Vec<(i64, String)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, nik FROM persons WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after, len_i64(n)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn tokens(&self) -> Result<Vec<TokenRow>, CommandError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, role, areas, hash, created_at, revoked_at, expires_at
             FROM tokens ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
                areas: r.get(3)?,
                hash: r.get(4)?,
                created_at: r.get(5)?,
                revoked_at: r.get(6)?,
                expires_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn baselines(&self) -> Result<Vec<(String, i32, i64)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT area, year, working_population FROM baselines ORDER BY area, year")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    #[allow(clippy::type_complexity)]
    fn targets(&self) -> Result<Vec<(String, i32, i32, Option<i64>)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT area, year, percent_bp, count FROM targets ORDER BY area, year")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn unlogged(&self) -> Result<Vec<(String, String, i64)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT agent, day, count FROM unlogged_rejections ORDER BY agent, day")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn meta(&self) -> Result<Vec<(String, i64)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM meta ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn counters(&self) -> Result<Vec<(String, String, i32, i64)>, CommandError> {
        let mut stmt = self.conn.prepare(
            "SELECT area, category, since_year, covered FROM counters
             ORDER BY area, category, since_year",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Areas of the coverage history with their row counts, by area.
    fn history_areas(&self) -> Result<Vec<(String, usize)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT area, COUNT(*) FROM coverage_history GROUP BY area ORDER BY area")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn history_of(&self, area: &str) -> Result<Vec<Snap>, CommandError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, pu, bpu, jakon, pmi, working_population, target_bp, target_count, taken_at
             FROM coverage_history WHERE area = ?1 ORDER BY day",
        )?;
        let rows = stmt.query_map([area], |r| {
            Ok(Snap {
                day: r.get(0)?,
                counts: [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
                working_population: r.get(5)?,
                target_bp: r.get(6)?,
                target_count: r.get(7)?,
                taken_at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `coverage verify` on the office, read-only: the counters against a
    /// recount of the persons by the rule the writes follow.
    fn recount(&self) -> Result<VerifyReport, CommandError> {
        let mut buckets: HashMap<(AreaCode, Category, i32), i64> = HashMap::new();
        let mut report = VerifyReport::default();
        let mut stmt = self
            .conn
            .prepare("SELECT record, participant, roll_as_of, registered_at FROM persons")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            report.persons += 1;
            let key = coverage_key(
                &r.get::<_, String>(0)?,
                r.get(1)?,
                r.get::<_, Option<String>>(2)?.as_deref(),
                r.get(3)?,
            )?;
            engine::add_deltas(&mut buckets, &None, &key);
        }
        type Key = (String, String, i32);
        let expected: HashMap<Key, i64> = buckets
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((a, c, y), n)| ((a.to_string(), c.as_str().to_string(), y), n))
            .collect();
        let stored: HashMap<Key, i64> = self
            .counters()?
            .into_iter()
            .map(|(a, c, y, n)| ((a, c, y), n))
            .collect();
        let mut keys: Vec<&Key> = expected.keys().chain(stored.keys()).collect();
        keys.sort();
        keys.dedup();
        report.counters = u64::try_from(keys.len()).unwrap_or(u64::MAX);
        for k in keys {
            let s = stored.get(k).copied().unwrap_or(0);
            let e = expected.get(k).copied().unwrap_or(0);
            if s != e {
                report.differences.push(CounterDiff {
                    area: k.0.clone(),
                    category: k.1.clone(),
                    since_year: k.2,
                    stored: s,
                    expected: e,
                });
            }
        }
        Ok(report)
    }
}

fn uuid_of(bytes: &[u8]) -> Result<Uuid, CommandError> {
    Uuid::from_slice(bytes).map_err(|e| corrupt(format!("an id in the office database: {e}")))
}

fn opt_uuid(bytes: Option<Vec<u8>>) -> Result<Option<Uuid>, CommandError> {
    bytes.as_deref().map(uuid_of).transpose()
}

/// Where a stored person counts, by [`engine::coverage_key`].
fn coverage_key(
    record: &str,
    participant: bool,
    roll_as_of: Option<&str>,
    registered_at: Option<i64>,
) -> Result<engine::CoverageKey, CommandError> {
    let record: PersonRecord = serde_json::from_str(record)
        .map_err(|e| corrupt(format!("a person record in the office database: {e}")))?;
    let as_of = roll_as_of.map(parse_date_text).transpose()?;
    Ok(engine::coverage_key(
        &record,
        roll_since(participant, as_of),
        registered_at,
    ))
}

// ---------------------------------------------------------------------
// Rows.

struct TokenRow {
    id: i64,
    name: String,
    role: String,
    areas: String,
    hash: String,
    created_at: i64,
    revoked_at: Option<i64>,
    expires_at: Option<i64>,
}

/// One day of an area's coverage history.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snap {
    day: String,
    counts: [i64; 4],
    working_population: Option<i64>,
    target_bp: Option<i32>,
    target_count: Option<i64>,
    taken_at: i64,
}

/// Token names of the office that the target knows by another name
/// (`--token-suffix`), applied to every name the office's rows carry.
#[derive(Debug, Default)]
struct Names {
    renamed: HashMap<String, String>,
}

impl Names {
    /// A token name, or an author such as `supervisor NAME`.
    fn name(&self, text: &str) -> String {
        if let Some(new) = self.renamed.get(text) {
            return new.clone();
        }
        if let Some(rest) = text.strip_prefix("supervisor ")
            && let Some(new) = self.renamed.get(rest)
        {
            return format!("supervisor {new}");
        }
        text.to_string()
    }

    fn opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.name(&t))
    }

    /// JSON whose `agent` members name tokens (claims, conflict sides);
    /// the same text when nothing is renamed.
    fn json(&self, text: &str) -> Result<String, CommandError> {
        if self.renamed.is_empty() {
            return Ok(text.to_string());
        }
        let mut v: Value = serde_json::from_str(text)
            .map_err(|e| corrupt(format!("JSON in the office database: {e}")))?;
        if !self.rename_in(&mut v) {
            return Ok(text.to_string());
        }
        serde_json::to_string(&v).map_err(corrupt)
    }

    fn opt_json(&self, text: Option<String>) -> Result<Option<String>, CommandError> {
        text.map(|t| self.json(&t)).transpose()
    }

    fn rename_in(&self, v: &mut Value) -> bool {
        let mut changed = false;
        match v {
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    if k == "agent"
                        && let Value::String(s) = item
                    {
                        let new = self.name(s);
                        if new != *s {
                            *s = new;
                            changed = true;
                        }
                    } else {
                        changed |= self.rename_in(item);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    changed |= self.rename_in(item);
                }
            }
            _ => {}
        }
        changed
    }
}

/// The office's token ids → the target's.
#[derive(Debug, Default)]
struct TokenMap {
    ids: HashMap<i64, i64>,
}

/// What the copy needs besides the target connection.
struct Ctx {
    src: Source,
    batch: usize,
    stop_after: Option<u64>,
    batches: u64,
    temp_base: i64,
    tokens: TokenMap,
    names: Names,
}

impl Ctx {
    /// The position a person waits at until the feed step numbers it.
    fn temp_seq(&self, seq: i64) -> i64 {
        -(self.temp_base + 1 + seq)
    }

    /// The range of waiting positions, lowest first.
    fn temp_range(&self) -> (i64, i64) {
        (self.temp_seq(self.src.max_seq), self.temp_seq(0))
    }

    fn token_id(&self, office_id: Option<i64>) -> Result<Option<i64>, CommandError> {
        office_id
            .map(|id| {
                self.tokens.ids.get(&id).copied().ok_or_else(|| {
                    corrupt(format!(
                        "a device of the office belongs to token {id}, which the office does not have"
                    ))
                })
            })
            .transpose()
    }

    /// Counts a committed batch; stops the run when a test asked to.
    fn batch_done(&mut self) -> Result<(), CommandError> {
        self.batches += 1;
        if let Some(n) = self.stop_after
            && self.batches >= n
        {
            return Err(CommandError::Io(std::io::Error::other(format!(
                "stopped after {n} batches as {STOP_ENV} asks; run the same copy again to finish it"
            ))));
        }
        Ok(())
    }
}

struct Copier {
    client: Client,
    /// The target's schema.
    schema: String,
    ctx: Ctx,
    /// Lines for the report.
    notes: Vec<String>,
}

/// Whether a failure is a lost race worth running the batch again for.
fn retryable(r: &Result<(), CommandError>) -> bool {
    matches!(r, Err(CommandError::Store(StoreError::Retry(_))))
}

async fn pause(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 25)).await;
}

/// Records that a batch of `step` up to `last` committed (inside its
/// transaction).
async fn advance(
    tx: &Transaction<'_>,
    source: &str,
    step: &str,
    last: &str,
    rows: usize,
) -> Result<(), CommandError> {
    tx.execute(
        "UPDATE copy_progress SET last_key = $3, copied = copied + $4
         WHERE source = $1 AND step = $2",
        &[&source, &step, &last, &len_i64(rows)],
    )
    .await?;
    Ok(())
}

async fn mark_done(tx: &Transaction<'_>, source: &str, step: &str) -> Result<(), CommandError> {
    tx.execute(
        "UPDATE copy_progress SET done = TRUE WHERE source = $1 AND step = $2",
        &[&source, &step],
    )
    .await?;
    Ok(())
}

/// A table copied in batches by its primary key.
trait Batched {
    const STEP: &'static str;
    type Row;
    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<Self::Row>, CommandError>;
    fn key(row: &Self::Row) -> String;
    async fn write(ctx: &Ctx, tx: &Transaction<'_>, rows: &[Self::Row])
    -> Result<(), CommandError>;
}

fn after_id(after: Option<&str>) -> Result<Vec<u8>, CommandError> {
    Ok(match after {
        Some(text) => Uuid::parse_str(text)
            .map_err(|e| corrupt(format!("copy_progress key {text:?}: {e}")))?
            .as_bytes()
            .to_vec(),
        None => Vec::new(),
    })
}

fn after_int(after: Option<&str>) -> Result<i64, CommandError> {
    match after {
        Some(text) => text
            .parse()
            .map_err(|e| corrupt(format!("copy_progress key {text:?}: {e}"))),
        None => Ok(i64::MIN),
    }
}

/// Fails when a batch inserted fewer rows than it held: another writer
/// has some of its keys.
fn all_written(n: u64, rows: usize, what: &str) -> Result<(), CommandError> {
    if usize::try_from(n).ok() == Some(rows) {
        return Ok(());
    }
    Err(usage(format!(
        "{} of {rows} {what} of this batch are already in the target: something wrote them \
         there while the copy ran (a server of the target, or another copy of the same office). \
         Nothing of this batch was written; find out who, then run the copy again",
        rows.saturating_sub(usize::try_from(n).unwrap_or(0))
    )))
}

struct Devices;
struct DeviceRow {
    device_id: Uuid,
    count: i64,
    highest_seq: i64,
    max_seq: i64,
    hash: String,
    token_id: Option<i64>,
    last_push_at: Option<i64>,
    pending: Option<i64>,
}

impl Batched for Devices {
    const STEP: &'static str = "devices";
    type Row = DeviceRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<DeviceRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT device_id, count, highest_seq, max_seq, hash, token_id, last_push_at, pending
             FROM devices WHERE device_id > ?1 ORDER BY device_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_id(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                DeviceRow {
                    device_id: Uuid::nil(),
                    count: r.get(1)?,
                    highest_seq: r.get(2)?,
                    max_seq: r.get(3)?,
                    hash: r.get(4)?,
                    token_id: r.get(5)?,
                    last_push_at: r.get(6)?,
                    pending: r.get(7)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, mut row) = r?;
            row.device_id = uuid_of(&id)?;
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &DeviceRow) -> String {
        row.device_id.to_string()
    }

    async fn write(
        ctx: &Ctx,
        tx: &Transaction<'_>,
        rows: &[DeviceRow],
    ) -> Result<(), CommandError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.device_id).collect();
        let count: Vec<i64> = rows.iter().map(|r| r.count).collect();
        let highest: Vec<i64> = rows.iter().map(|r| r.highest_seq).collect();
        let max: Vec<i64> = rows.iter().map(|r| r.max_seq).collect();
        let hash: Vec<&str> = rows.iter().map(|r| r.hash.as_str()).collect();
        let token: Vec<Option<i64>> = rows
            .iter()
            .map(|r| ctx.token_id(r.token_id))
            .collect::<Result<_, _>>()?;
        let last: Vec<Option<i64>> = rows.iter().map(|r| r.last_push_at).collect();
        let pending: Vec<Option<i64>> = rows.iter().map(|r| r.pending).collect();
        let n = tx
            .execute(
                "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash, token_id,
                                      last_push_at, pending)
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[],
                                      $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
                 ON CONFLICT DO NOTHING",
                &[&ids, &count, &highest, &max, &hash, &token, &last, &pending],
            )
            .await?;
        all_written(n, rows.len(), "laptops (devices)")
    }
}

struct Persons;
struct PersonRow {
    seq: i64,
    nik: String,
    record: String,
    kelurahan: Option<String>,
    participant: bool,
    registered_by: Option<String>,
    registered_hlc: Option<String>,
    registered_at: Option<i64>,
    sole_device: Option<Uuid>,
    review: Option<String>,
    last_changed_by: Option<String>,
    claims: Option<String>,
    roll_as_of: Option<String>,
}

impl Batched for Persons {
    const STEP: &'static str = "persons";
    type Row = PersonRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<PersonRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT seq, nik, record, kelurahan, participant, registered_by, registered_hlc,
                    registered_at, sole_device, review, last_changed_by, claims, roll_as_of
             FROM persons WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_int(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Option<Vec<u8>>>(8)?,
                PersonRow {
                    seq: r.get(0)?,
                    nik: r.get(1)?,
                    record: r.get(2)?,
                    kelurahan: r.get(3)?,
                    participant: r.get(4)?,
                    registered_by: r.get(5)?,
                    registered_hlc: r.get(6)?,
                    registered_at: r.get(7)?,
                    sole_device: None,
                    review: r.get(9)?,
                    last_changed_by: r.get(10)?,
                    claims: r.get(11)?,
                    roll_as_of: r.get(12)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (sole, mut row) = r?;
            row.sole_device = opt_uuid(sole)?;
            row.registered_by = ctx.names.opt(row.registered_by);
            row.last_changed_by = ctx.names.opt(row.last_changed_by);
            row.claims = ctx.names.opt_json(row.claims)?;
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &PersonRow) -> String {
        row.seq.to_string()
    }

    async fn write(
        ctx: &Ctx,
        tx: &Transaction<'_>,
        rows: &[PersonRow],
    ) -> Result<(), CommandError> {
        // Their coverage first, in the order the servers' pushes add to
        // the counters (so the two never wait on each other in a circle).
        let mut buckets: HashMap<(AreaCode, Category, i32), i64> = HashMap::new();
        for p in rows {
            let key = coverage_key(
                &p.record,
                p.participant,
                p.roll_as_of.as_deref(),
                p.registered_at,
            )?;
            engine::add_deltas(&mut buckets, &None, &key);
        }
        let mut deltas: Vec<(String, &'static str, i32, i64)> = buckets
            .into_iter()
            .filter(|(_, d)| *d != 0)
            .map(|((a, c, y), d)| (a.to_string(), c.as_str(), y, d))
            .collect();
        deltas.sort();
        if !deltas.is_empty() {
            let areas: Vec<&str> = deltas.iter().map(|d| d.0.as_str()).collect();
            let cats: Vec<&str> = deltas.iter().map(|d| d.1).collect();
            let years: Vec<i32> = deltas.iter().map(|d| d.2).collect();
            let ds: Vec<i64> = deltas.iter().map(|d| d.3).collect();
            tx.execute(
                "INSERT INTO counters (area, category, since_year, covered)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::integer[], $4::bigint[])
                 ON CONFLICT (area, category, since_year)
                 DO UPDATE SET covered = counters.covered + excluded.covered",
                &[&areas, &cats, &years, &ds],
            )
            .await?;
            tx.execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
                &[],
            )
            .await?;
        }
        let seqs: Vec<i64> = rows.iter().map(|p| ctx.temp_seq(p.seq)).collect();
        let niks: Vec<&str> = rows.iter().map(|p| p.nik.as_str()).collect();
        let records: Vec<&str> = rows.iter().map(|p| p.record.as_str()).collect();
        let kel: Vec<Option<&str>> = rows.iter().map(|p| p.kelurahan.as_deref()).collect();
        let part: Vec<bool> = rows.iter().map(|p| p.participant).collect();
        let reg_by: Vec<Option<&str>> = rows.iter().map(|p| p.registered_by.as_deref()).collect();
        let reg_hlc: Vec<Option<&str>> = rows.iter().map(|p| p.registered_hlc.as_deref()).collect();
        let reg_at: Vec<Option<i64>> = rows.iter().map(|p| p.registered_at).collect();
        let sole: Vec<Option<Uuid>> = rows.iter().map(|p| p.sole_device).collect();
        let review: Vec<Option<&str>> = rows.iter().map(|p| p.review.as_deref()).collect();
        let last_by: Vec<Option<&str>> =
            rows.iter().map(|p| p.last_changed_by.as_deref()).collect();
        let claims: Vec<Option<&str>> = rows.iter().map(|p| p.claims.as_deref()).collect();
        let as_of: Vec<Option<&str>> = rows.iter().map(|p| p.roll_as_of.as_deref()).collect();
        let n = tx
            .execute(
                "INSERT INTO persons (seq, nik, record, kelurahan, participant, registered_by,
                                      registered_hlc, registered_at, sole_device, review,
                                      last_changed_by, claims, roll_as_of)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[],
                                      $5::boolean[], $6::text[], $7::text[], $8::bigint[],
                                      $9::uuid[], $10::text[], $11::text[], $12::text[],
                                      $13::text[])
                 ON CONFLICT DO NOTHING",
                &[
                    &seqs, &niks, &records, &kel, &part, &reg_by, &reg_hlc, &reg_at, &sole,
                    &review, &last_by, &claims, &as_of,
                ],
            )
            .await?;
        all_written(n, rows.len(), "persons")
    }
}

struct Changes;
struct ChangeRow {
    id: Uuid,
    device_id: Uuid,
    device_seq: i64,
    in_log: bool,
    nik: String,
    hlc: String,
    kind: String,
    fields: String,
    agent: String,
    received_at: i64,
    outcome: String,
    reject_code: Option<String>,
    reject_reason: Option<String>,
}

impl Batched for Changes {
    const STEP: &'static str = "changes";
    type Row = ChangeRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<ChangeRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT id, device_id, device_seq, in_log, nik, hlc, kind, fields, agent,
                    received_at, outcome, reject_code, reject_reason
             FROM changes WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_id(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                ChangeRow {
                    id: Uuid::nil(),
                    device_id: Uuid::nil(),
                    device_seq: r.get(2)?,
                    in_log: r.get(3)?,
                    nik: r.get(4)?,
                    hlc: r.get(5)?,
                    kind: r.get(6)?,
                    fields: r.get(7)?,
                    agent: r.get(8)?,
                    received_at: r.get(9)?,
                    outcome: r.get(10)?,
                    reject_code: r.get(11)?,
                    reject_reason: r.get(12)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, device, mut row) = r?;
            row.id = uuid_of(&id)?;
            row.device_id = uuid_of(&device)?;
            row.agent = ctx.names.name(&row.agent);
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &ChangeRow) -> String {
        row.id.to_string()
    }

    async fn write(_: &Ctx, tx: &Transaction<'_>, rows: &[ChangeRow]) -> Result<(), CommandError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let devices: Vec<Uuid> = rows.iter().map(|r| r.device_id).collect();
        let seqs: Vec<i64> = rows.iter().map(|r| r.device_seq).collect();
        let in_log: Vec<bool> = rows.iter().map(|r| r.in_log).collect();
        let niks: Vec<&str> = rows.iter().map(|r| r.nik.as_str()).collect();
        let hlcs: Vec<&str> = rows.iter().map(|r| r.hlc.as_str()).collect();
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        let fields: Vec<&str> = rows.iter().map(|r| r.fields.as_str()).collect();
        let agents: Vec<&str> = rows.iter().map(|r| r.agent.as_str()).collect();
        let received: Vec<i64> = rows.iter().map(|r| r.received_at).collect();
        let outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
        let codes: Vec<Option<&str>> = rows.iter().map(|r| r.reject_code.as_deref()).collect();
        let reasons: Vec<Option<&str>> = rows.iter().map(|r| r.reject_reason.as_deref()).collect();
        let n = tx
            .execute(
                "INSERT INTO changes (id, device_id, device_seq, in_log, nik, hlc, kind, fields,
                                      agent, received_at, outcome, reject_code, reject_reason)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::boolean[],
                                      $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                                      $10::bigint[], $11::text[], $12::text[], $13::text[])
                 ON CONFLICT DO NOTHING",
                &[
                    &ids, &devices, &seqs, &in_log, &niks, &hlcs, &kinds, &fields, &agents,
                    &received, &outcomes, &codes, &reasons,
                ],
            )
            .await?;
        all_written(n, rows.len(), "changes")
    }
}

struct Conflicts;
struct ConflictRow {
    id: i64,
    nik: String,
    kelurahan: Option<String>,
    fields: String,
    existing: String,
    incoming: String,
    change_id: Uuid,
    status: String,
    opened_at: i64,
    resolved_at: Option<i64>,
    resolved_by: Option<String>,
    resolution: Option<String>,
    note: Option<String>,
}

impl Batched for Conflicts {
    const STEP: &'static str = "conflicts";
    type Row = ConflictRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<ConflictRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT id, nik, kelurahan, fields, existing, incoming, change_id, status, opened_at,
                    resolved_at, resolved_by, resolution, note
             FROM conflicts WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_int(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Vec<u8>>(6)?,
                ConflictRow {
                    id: r.get(0)?,
                    nik: r.get(1)?,
                    kelurahan: r.get(2)?,
                    fields: r.get(3)?,
                    existing: r.get(4)?,
                    incoming: r.get(5)?,
                    change_id: Uuid::nil(),
                    status: r.get(7)?,
                    opened_at: r.get(8)?,
                    resolved_at: r.get(9)?,
                    resolved_by: r.get(10)?,
                    resolution: r.get(11)?,
                    note: r.get(12)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (change, mut row) = r?;
            row.change_id = uuid_of(&change)?;
            row.existing = ctx.names.json(&row.existing)?;
            row.incoming = ctx.names.json(&row.incoming)?;
            row.resolved_by = ctx.names.opt(row.resolved_by);
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &ConflictRow) -> String {
        row.id.to_string()
    }

    async fn write(
        _: &Ctx,
        tx: &Transaction<'_>,
        rows: &[ConflictRow],
    ) -> Result<(), CommandError> {
        // New ids from the target's sequence: nothing refers to them.
        let niks: Vec<&str> = rows.iter().map(|r| r.nik.as_str()).collect();
        let kel: Vec<Option<&str>> = rows.iter().map(|r| r.kelurahan.as_deref()).collect();
        let fields: Vec<&str> = rows.iter().map(|r| r.fields.as_str()).collect();
        let existing: Vec<&str> = rows.iter().map(|r| r.existing.as_str()).collect();
        let incoming: Vec<&str> = rows.iter().map(|r| r.incoming.as_str()).collect();
        let change: Vec<Uuid> = rows.iter().map(|r| r.change_id).collect();
        let status: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
        let opened: Vec<i64> = rows.iter().map(|r| r.opened_at).collect();
        let resolved: Vec<Option<i64>> = rows.iter().map(|r| r.resolved_at).collect();
        let by: Vec<Option<&str>> = rows.iter().map(|r| r.resolved_by.as_deref()).collect();
        let resolution: Vec<Option<&str>> = rows.iter().map(|r| r.resolution.as_deref()).collect();
        let note: Vec<Option<&str>> = rows.iter().map(|r| r.note.as_deref()).collect();
        tx.execute(
            "INSERT INTO conflicts (nik, kelurahan, fields, existing, incoming, change_id, status,
                                    opened_at, resolved_at, resolved_by, resolution, note)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::uuid[], $7::text[], $8::bigint[], $9::bigint[],
                                  $10::text[], $11::text[], $12::text[])",
            &[
                &niks,
                &kel,
                &fields,
                &existing,
                &incoming,
                &change,
                &status,
                &opened,
                &resolved,
                &by,
                &resolution,
                &note,
            ],
        )
        .await?;
        Ok(())
    }
}

struct Visits;
struct VisitRow {
    id: Uuid,
    device_id: Uuid,
    agent: String,
    kelurahan: String,
    rw: i32,
    rt: i32,
    households: i32,
    note: Option<String>,
    visited_at: i64,
    received_at: i64,
}

impl Batched for Visits {
    const STEP: &'static str = "visits";
    type Row = VisitRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<VisitRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT id, device_id, agent, kelurahan, rw, rt, households, note, visited_at,
                    received_at
             FROM visits WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_id(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                VisitRow {
                    id: Uuid::nil(),
                    device_id: Uuid::nil(),
                    agent: r.get(2)?,
                    kelurahan: r.get(3)?,
                    rw: r.get(4)?,
                    rt: r.get(5)?,
                    households: r.get(6)?,
                    note: r.get(7)?,
                    visited_at: r.get(8)?,
                    received_at: r.get(9)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, device, mut row) = r?;
            row.id = uuid_of(&id)?;
            row.device_id = uuid_of(&device)?;
            row.agent = ctx.names.name(&row.agent);
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &VisitRow) -> String {
        row.id.to_string()
    }

    async fn write(_: &Ctx, tx: &Transaction<'_>, rows: &[VisitRow]) -> Result<(), CommandError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let devices: Vec<Uuid> = rows.iter().map(|r| r.device_id).collect();
        let agents: Vec<&str> = rows.iter().map(|r| r.agent.as_str()).collect();
        let kel: Vec<&str> = rows.iter().map(|r| r.kelurahan.as_str()).collect();
        let rw: Vec<i32> = rows.iter().map(|r| r.rw).collect();
        let rt: Vec<i32> = rows.iter().map(|r| r.rt).collect();
        let households: Vec<i32> = rows.iter().map(|r| r.households).collect();
        let note: Vec<Option<&str>> = rows.iter().map(|r| r.note.as_deref()).collect();
        let visited: Vec<i64> = rows.iter().map(|r| r.visited_at).collect();
        let received: Vec<i64> = rows.iter().map(|r| r.received_at).collect();
        let n = tx
            .execute(
                "INSERT INTO visits (id, device_id, agent, kelurahan, rw, rt, households, note,
                                     visited_at, received_at)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[],
                                      $5::integer[], $6::integer[], $7::integer[], $8::text[],
                                      $9::bigint[], $10::bigint[])
                 ON CONFLICT DO NOTHING",
                &[
                    &ids,
                    &devices,
                    &agents,
                    &kel,
                    &rw,
                    &rt,
                    &households,
                    &note,
                    &visited,
                    &received,
                ],
            )
            .await?;
        all_written(n, rows.len(), "visits")
    }
}

/// What running a token step would do.
#[derive(Debug, Default)]
struct TokenPlan {
    /// Office token id → target token id, for tokens the target has.
    known: Vec<(i64, i64, String)>,
    /// Office tokens to insert, under the name they get.
    new: Vec<(usize, String)>,
    /// Names taken in the target by other tokens.
    taken: Vec<String>,
}

/// Merges two coverage histories of one area, each a step function (a
/// day without a row has the figures of the row before it): on every day
/// either has, the counts are the sums of both sides' figures then; the
/// baseline and target are the target's row's of that day, else ours.
fn merge_history(ours: &[Snap], theirs: &[Snap]) -> Vec<Snap> {
    let days: BTreeSet<&str> = ours.iter().chain(theirs).map(|s| s.day.as_str()).collect();
    let at = |side: &[Snap], day: &str| -> [i64; 4] {
        side.iter()
            .take_while(|s| s.day.as_str() <= day)
            .last()
            .map_or([0; 4], |s| s.counts)
    };
    days.into_iter()
        .map(|day| {
            let a = at(ours, day);
            let b = at(theirs, day);
            let own = theirs
                .iter()
                .find(|s| s.day == day)
                .or_else(|| ours.iter().find(|s| s.day == day));
            let taken = ours
                .iter()
                .chain(theirs)
                .filter(|s| s.day == day)
                .map(|s| s.taken_at)
                .max()
                .unwrap_or(0);
            Snap {
                day: day.to_string(),
                counts: [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]],
                working_population: own.and_then(|s| s.working_population),
                target_bp: own.and_then(|s| s.target_bp),
                target_count: own.and_then(|s| s.target_count),
                taken_at: taken,
            }
        })
        .collect()
}

impl Copier {
    async fn copy(&mut self, suffix: Option<&str>) -> Result<(), CommandError> {
        self.client.batch_execute(PROGRESS_TABLES).await?;
        let id = self.ctx.src.id.clone();
        // One copy of an office into a database at a time.
        let lock_key = i64::from_str_radix(&id[..15], 16).unwrap_or(0);
        let locked: bool = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key])
            .await?
            .get(0);
        if !locked {
            return Err(usage(
                "another copy of this office into this database is running; wait for it to end",
            ));
        }
        let Some(row) = self
            .client
            .query_opt(
                "SELECT fingerprint, token_suffix, temp_base, started_at, finished_at
                 FROM copy_sources WHERE source = $1",
                &[&id],
            )
            .await?
        else {
            return self.first_run(suffix).await;
        };
        let fingerprint: String = row.get(0);
        let was_suffix: Option<String> = row.get(1);
        self.ctx.temp_base = row.get(2);
        let started: i64 = row.get(3);
        let finished: Option<i64> = row.get(4);
        let since = crate::time_text::format_time(started);
        if fingerprint != self.ctx.src.fingerprint {
            return Err(usage(if finished.is_some() {
                format!(
                    "this office was copied into this database on {since} and has changed since \
                     (its server kept running?); copying it again would copy it twice. What its \
                     laptops sent since reaches the target when they sync with the regional \
                     server (each resends what the target lacks); redo there any roll import, \
                     baseline or resolution made at the office since. (Then: {fingerprint}; \
                     now: {})",
                    self.ctx.src.fingerprint
                )
            } else {
                format!(
                    "the copy of this office into this database began on {since} from other \
                     data than the file holds now (its server ran in between?), so it cannot \
                     go on: the rows copied so far would not fit the rest. Copy from the file \
                     as it was, or into a new database or schema (?schema=NAME). (Then: \
                     {fingerprint}; now: {})",
                    self.ctx.src.fingerprint
                )
            }));
        }
        // Once the tokens are copied, their names are settled.
        if was_suffix.as_deref() != suffix && !self.step_done("tokens").await? {
            return Err(usage(format!(
                "the copy of this office began with {}; run it again with the same",
                match &was_suffix {
                    Some(s) => format!("--token-suffix {s:?}"),
                    None => "no --token-suffix".to_string(),
                }
            )));
        }
        if finished.is_some() {
            self.plan_and_map_tokens(suffix, true).await?;
            self.note_renames();
            self.notes.push(format!(
                "this office was copied into this database on {since}: nothing left to copy"
            ));
            return Ok(());
        }
        self.notes
            .push(format!("went on with the copy begun on {since}"));
        self.run_steps(suffix, false).await
    }

    async fn first_run(&mut self, suffix: Option<&str>) -> Result<(), CommandError> {
        // Refused before anything is written.
        self.precheck(suffix, &HashMap::new()).await?;
        let id = self.ctx.src.id.clone();
        let n = self.ctx.src.max_seq + 1;
        let tx = self.client.transaction().await?;
        let value: i64 = tx
            .query_one(
                "INSERT INTO meta (key, value) VALUES ('copy_temp_seq', $1)
                 ON CONFLICT (key) DO UPDATE SET value = meta.value + excluded.value
                 RETURNING value",
                &[&n],
            )
            .await?
            .get(0);
        self.ctx.temp_base = value - n;
        let file = std::fs::canonicalize(self.ctx.src.conn.path().unwrap_or_default())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        tx.execute(
            "INSERT INTO copy_sources (source, file, fingerprint, token_suffix, temp_base,
                                       started_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &id,
                &file,
                &self.ctx.src.fingerprint,
                &suffix,
                &self.ctx.temp_base,
                &now_millis(),
            ],
        )
        .await?;
        for step in STEPS {
            tx.execute(
                "INSERT INTO copy_progress (source, step) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&id, step],
            )
            .await?;
        }
        tx.commit().await?;
        self.run_steps(suffix, true).await
    }

    /// Each step's last key and whether it is done.
    async fn progress(&self) -> Result<HashMap<String, (Option<String>, bool)>, CommandError> {
        let rows = self
            .client
            .query(
                "SELECT step, last_key, done FROM copy_progress WHERE source = $1",
                &[&self.ctx.src.id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), (r.get(1), r.get(2))))
            .collect())
    }

    /// Runs the steps not done yet; `checked`: the collisions were
    /// looked for already.
    async fn run_steps(&mut self, suffix: Option<&str>, checked: bool) -> Result<(), CommandError> {
        if !checked {
            let progress = self.progress().await?;
            self.precheck(suffix, &progress).await?;
        }
        self.tokens(suffix).await?;
        self.baselines().await?;
        self.targets().await?;
        self.batched::<Devices>().await?;
        self.batched::<Persons>().await?;
        self.batched::<Changes>().await?;
        self.batched::<Conflicts>().await?;
        self.batched::<Visits>().await?;
        self.unlogged().await?;
        self.history().await?;
        self.meta().await?;
        self.feed().await?;
        self.client
            .execute(
                "UPDATE copy_sources SET finished_at = $2 WHERE source = $1",
                &[&self.ctx.src.id, &now_millis()],
            )
            .await?;
        Ok(())
    }

    /// Everything that would collide with the target's rows, for the
    /// steps not done yet; refuses the copy with the whole list.
    async fn precheck(
        &mut self,
        suffix: Option<&str>,
        progress: &HashMap<String, (Option<String>, bool)>,
    ) -> Result<(), CommandError> {
        let pending = |step: &str| -> (Option<String>, bool) {
            match progress.get(step) {
                Some((key, done)) => (key.clone(), !done),
                None => (None, true),
            }
        };
        let mut problems = Vec::new();
        let plan = self.plan_tokens(suffix).await?;
        if !plan.taken.is_empty() {
            let list = plan.taken.join(", ");
            problems.push(match suffix {
                None => {
                    let example = self.ctx.src.suffix_example();
                    format!(
                        "tokens named {list} are in the office and, as other tokens, in the \
                         target. A token's name is its agent's name in the change history and \
                         on the agents page, so copy does not merge or rename them on its own: \
                         run it again with --token-suffix SUFFIX (e.g. --token-suffix={example}) \
                         to copy them as {}; their secrets keep working",
                        plan.taken
                            .iter()
                            .map(|n| format!("{n}{example}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                Some(s) => format!(
                    "tokens named {list} are in the office and the target, and the names \
                     --token-suffix {s:?} gives them are taken too; choose another suffix"
                ),
            });
        }
        if let (after, true) = pending("devices") {
            let after = after
                .as_deref()
                .map(Uuid::parse_str)
                .transpose()
                .map_err(|e| corrupt(format!("copy_progress key: {e}")))?;
            let mut found = Vec::new();
            let mut from = after;
            loop {
                let ids = self
                    .ctx
                    .src
                    .page_ids("devices", "device_id", from, CHECK_CHUNK)?;
                let Some(last) = ids.last().copied() else {
                    break;
                };
                for r in self
                    .client
                    .query(
                        "SELECT device_id FROM devices WHERE device_id = ANY($1)",
                        &[&ids],
                    )
                    .await?
                {
                    found.push(r.get::<_, Uuid>(0));
                }
                from = Some(last);
            }
            if !found.is_empty() {
                problems.push(format!(
                    "{} of the office's laptops are known to the target already ({}): a laptop \
                     that synced with this office and with the target (or another office \
                     copied there). copy does not merge a laptop's two logs; give the laptop \
                     to one server only",
                    found.len(),
                    found
                        .iter()
                        .take(3)
                        .map(Uuid::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if let (after, true) = pending("persons") {
            let mut from = after_int(after.as_deref())?;
            let mut found: Vec<String> = Vec::new();
            loop {
                let page = self.ctx.src.page_niks(from, CHECK_CHUNK)?;
                let Some(last) = page.last().map(|p| p.0) else {
                    break;
                };
                let niks: Vec<&str> = page.iter().map(|p| p.1.as_str()).collect();
                for r in self
                    .client
                    .query("SELECT nik FROM persons WHERE nik = ANY($1)", &[&niks])
                    .await?
                {
                    found.push(r.get(0));
                }
                from = last;
            }
            if !found.is_empty() {
                let total = self.ctx.src.count("persons")?;
                found.sort();
                let shown: Vec<String> = found
                    .iter()
                    .take(5)
                    .map(|n| Nik::parse(n).map_or_else(|_| "(bad NIK)".to_string(), |n| n.masked()))
                    .collect();
                problems.push(format!(
                    "{} of the office's {total} persons are in the target already (NIK {}{}): \
                     the same people registered by another office or in the region. copy does \
                     not merge two offices' records of the same person, so nothing is copied. \
                     Copy this office into a database or schema of its own (?schema=NAME) \
                     instead",
                    found.len(),
                    shown.join(", "),
                    if found.len() > shown.len() {
                        ", …"
                    } else {
                        ""
                    }
                ));
            }
        }
        if pending("baselines").1 {
            let theirs: HashMap<(String, i32), i64> = self
                .client
                .query("SELECT area, year, working_population FROM baselines", &[])
                .await?
                .iter()
                .map(|r| ((r.get(0), r.get(1)), r.get(2)))
                .collect();
            let differ: Vec<String> = self
                .ctx
                .src
                .baselines()?
                .into_iter()
                .filter_map(|(area, year, n)| match theirs.get(&(area.clone(), year)) {
                    Some(t) if *t != n => Some(format!("{area} {year}: office {n}, target {t}")),
                    _ => None,
                })
                .collect();
            if !differ.is_empty() {
                problems.push(format!(
                    "baselines differ ({}): make them agree with `sigap-server baseline set` \
                     on either side, then run the copy again",
                    differ.join("; ")
                ));
            }
        }
        if pending("targets").1 {
            let theirs: HashMap<(String, i32), (i32, Option<i64>)> = self
                .client
                .query("SELECT area, year, percent_bp, count FROM targets", &[])
                .await?
                .iter()
                .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
                .collect();
            let differ: Vec<String> = self
                .ctx
                .src
                .targets()?
                .into_iter()
                .filter_map(
                    |(area, year, bp, count)| match theirs.get(&(area.clone(), year)) {
                        Some(t) if *t != (bp, count) => Some(format!(
                            "{area} {year}: office {}, target {}",
                            target_text(bp, count),
                            target_text(t.0, t.1)
                        )),
                        _ => None,
                    },
                )
                .collect();
            if !differ.is_empty() {
                problems.push(format!(
                    "targets differ ({}): make them agree with `sigap-server target set` on \
                     either side, then run the copy again",
                    differ.join("; ")
                ));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        let mut text = String::from("refusing to copy; nothing was copied by this run:");
        for p in problems {
            text.push_str("\n  - ");
            text.push_str(&p);
        }
        Err(usage(text))
    }

    /// Which office tokens the target has (by their hash, the token
    /// itself), which are new and under what name, and which names
    /// collide.
    async fn plan_tokens(&self, suffix: Option<&str>) -> Result<TokenPlan, CommandError> {
        let ours = self.ctx.src.tokens()?;
        let mut by_hash: HashMap<String, (i64, String)> = HashMap::new();
        let mut names: HashSet<String> = HashSet::new();
        for r in self
            .client
            .query("SELECT id, name, hash FROM tokens", &[])
            .await?
        {
            let name: String = r.get(1);
            names.insert(name.clone());
            by_hash.insert(r.get(2), (r.get(0), name));
        }
        let mut plan = TokenPlan::default();
        // Names the office keeps, then the renamed ones must avoid them too.
        let mut used: HashSet<String> = names.clone();
        for t in &ours {
            if !by_hash.contains_key(&t.hash) && !names.contains(&t.name) {
                used.insert(t.name.clone());
            }
        }
        for (i, t) in ours.iter().enumerate() {
            if let Some((id, name)) = by_hash.get(&t.hash) {
                plan.known.push((t.id, *id, name.clone()));
            } else if !names.contains(&t.name) {
                plan.new.push((i, t.name.clone()));
            } else if let Some(s) = suffix
                && !used.contains(&format!("{}{s}", t.name))
            {
                let new = format!("{}{s}", t.name);
                used.insert(new.clone());
                plan.new.push((i, new));
            } else {
                plan.taken.push(t.name.clone());
            }
        }
        Ok(plan)
    }

    /// The token maps from the target's tokens (for a copy whose tokens
    /// step is done).
    async fn plan_and_map_tokens(
        &mut self,
        suffix: Option<&str>,
        done: bool,
    ) -> Result<TokenPlan, CommandError> {
        let plan = self.plan_tokens(suffix).await?;
        let ours = self.ctx.src.tokens()?;
        let by_id: HashMap<i64, &TokenRow> = ours.iter().map(|t| (t.id, t)).collect();
        if done && !plan.new.is_empty() {
            return Err(corrupt(format!(
                "{} of the office's tokens were copied but are gone from the target (deleted \
                 by hand?)",
                plan.new.len()
            )));
        }
        for (office, target, name) in &plan.known {
            self.ctx.tokens.ids.insert(*office, *target);
            if let Some(t) = by_id.get(office)
                && t.name != *name
            {
                self.ctx.names.renamed.insert(t.name.clone(), name.clone());
            }
        }
        Ok(plan)
    }

    async fn tokens(&mut self, suffix: Option<&str>) -> Result<(), CommandError> {
        let progress = self.progress().await?;
        let done = progress.get("tokens").is_some_and(|p| p.1);
        let plan = self.plan_and_map_tokens(suffix, done).await?;
        if done {
            self.note_renames();
            return Ok(());
        }
        let ours = self.ctx.src.tokens()?;
        let now = now_millis();
        let mut revoked = Vec::new();
        let mut renamed = Vec::new();
        let tx = self.client.transaction().await?;
        for (i, name) in &plan.new {
            let Some(t) = ours.get(*i) else {
                continue;
            };
            // An office's admin would be an admin of every area here.
            let revoked_at = match (t.role.as_str(), t.revoked_at) {
                ("admin", None) => {
                    revoked.push(name.clone());
                    Some(now)
                }
                (_, r) => r,
            };
            let id: i64 = tx
                .query_one(
                    "INSERT INTO tokens (name, role, areas, hash, created_at, revoked_at,
                                         expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        name,
                        &t.role,
                        &t.areas,
                        &t.hash,
                        &t.created_at,
                        &revoked_at,
                        &t.expires_at,
                    ],
                )
                .await?
                .get(0);
            self.ctx.tokens.ids.insert(t.id, id);
            if *name != t.name {
                renamed.push(format!("{} → {name}", t.name));
                self.ctx.names.renamed.insert(t.name.clone(), name.clone());
            }
        }
        advance(&tx, &self.ctx.src.id, "tokens", "", plan.new.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "tokens").await?;
        tx.commit().await?;
        self.ctx.batch_done()?;
        if !renamed.is_empty() {
            self.notes.push(format!(
                "tokens renamed (--token-suffix), also in the office's history: {}",
                renamed.join(", ")
            ));
        }
        if !revoked.is_empty() {
            self.notes.push(format!(
                "admin tokens copied revoked (an office's admin would be an admin of every \
                 area here; make regional admins with `token create --role admin`): {}",
                revoked.join(", ")
            ));
        }
        Ok(())
    }

    /// Says which tokens a copy begun earlier renamed.
    fn note_renames(&mut self) {
        let mut renamed: Vec<String> = self
            .ctx
            .names
            .renamed
            .iter()
            .map(|(a, b)| format!("{a} → {b}"))
            .collect();
        renamed.sort();
        if !renamed.is_empty() {
            self.notes.push(format!(
                "tokens renamed (--token-suffix), also in the office's history: {}",
                renamed.join(", ")
            ));
        }
    }

    /// Whether a one-transaction step is done.
    async fn step_done(&self, step: &str) -> Result<bool, CommandError> {
        Ok(self
            .client
            .query_opt(
                "SELECT done FROM copy_progress WHERE source = $1 AND step = $2",
                &[&self.ctx.src.id, &step],
            )
            .await?
            .is_some_and(|r| r.get(0)))
    }

    async fn baselines(&mut self) -> Result<(), CommandError> {
        if self.step_done("baselines").await? {
            return Ok(());
        }
        let rows = self.ctx.src.baselines()?;
        let tx = self.client.transaction().await?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let n: Vec<i64> = rows.iter().map(|r| r.2).collect();
        // The same figures may be there already (the check refused others).
        tx.execute(
            "INSERT INTO baselines (area, year, working_population)
             SELECT * FROM UNNEST($1::text[], $2::integer[], $3::bigint[])
             ON CONFLICT DO NOTHING",
            &[&areas, &years, &n],
        )
        .await?;
        tx.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
            &[],
        )
        .await?;
        advance(&tx, &self.ctx.src.id, "baselines", "", rows.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "baselines").await?;
        tx.commit().await?;
        self.ctx.batch_done()
    }

    async fn targets(&mut self) -> Result<(), CommandError> {
        if self.step_done("targets").await? {
            return Ok(());
        }
        let rows = self.ctx.src.targets()?;
        let tx = self.client.transaction().await?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let bp: Vec<i32> = rows.iter().map(|r| r.2).collect();
        let count: Vec<Option<i64>> = rows.iter().map(|r| r.3).collect();
        tx.execute(
            "INSERT INTO targets (area, year, percent_bp, count)
             SELECT * FROM UNNEST($1::text[], $2::integer[], $3::integer[], $4::bigint[])
             ON CONFLICT DO NOTHING",
            &[&areas, &years, &bp, &count],
        )
        .await?;
        tx.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
            &[],
        )
        .await?;
        advance(&tx, &self.ctx.src.id, "targets", "", rows.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "targets").await?;
        tx.commit().await?;
        self.ctx.batch_done()
    }

    async fn unlogged(&mut self) -> Result<(), CommandError> {
        if self.step_done("unlogged_rejections").await? {
            return Ok(());
        }
        let rows = self.ctx.src.unlogged()?;
        let agents: Vec<String> = rows.iter().map(|r| self.ctx.names.name(&r.0)).collect();
        let days: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        let counts: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let tx = self.client.transaction().await?;
        // Sums per agent and day.
        tx.execute(
            "INSERT INTO unlogged_rejections (agent, day, count)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
             ON CONFLICT (agent, day)
             DO UPDATE SET count = unlogged_rejections.count + excluded.count",
            &[&agents, &days, &counts],
        )
        .await?;
        advance(&tx, &self.ctx.src.id, "unlogged_rejections", "", rows.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "unlogged_rejections").await?;
        tx.commit().await?;
        self.ctx.batch_done()
    }

    async fn meta(&mut self) -> Result<(), CommandError> {
        if self.step_done("meta").await? {
            return Ok(());
        }
        let rows = self.ctx.src.meta()?;
        let tx = self.client.transaction().await?;
        for (key, value) in &rows {
            match key.as_str() {
                // The target's own: bumped below, or given out there.
                "generation" | "feed_seq" | "copy_temp_seq" | "history_day" => {}
                // How many roll imports ran, whether the history was
                // backfilled: the larger.
                "roll_imports" | "history_backfilled" => {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ($1, $2)
                         ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)",
                        &[key, value],
                    )
                    .await?;
                }
                _ => {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[key, value],
                    )
                    .await?;
                }
            }
        }
        // Coverage answers cached by the servers are rebuilt.
        tx.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
            &[],
        )
        .await?;
        advance(&tx, &self.ctx.src.id, "meta", "", rows.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "meta").await?;
        tx.commit().await?;
        self.ctx.batch_done()
    }

    /// Copies `T`'s rows after the step's last key, a batch per
    /// transaction with the step's progress.
    async fn batched<T: Batched>(&mut self) -> Result<(), CommandError> {
        let (mut after, done) = self
            .progress()
            .await?
            .remove(T::STEP)
            .unwrap_or((None, false));
        if done {
            return Ok(());
        }
        loop {
            let rows = T::read(&self.ctx, after.as_deref())?;
            let Some(last) = rows.last().map(T::key) else {
                break;
            };
            let mut attempt = 0;
            loop {
                attempt += 1;
                let result = async {
                    let tx = self.client.transaction().await?;
                    T::write(&self.ctx, &tx, &rows).await?;
                    advance(&tx, &self.ctx.src.id, T::STEP, &last, rows.len()).await?;
                    tx.commit().await?;
                    Ok::<(), CommandError>(())
                }
                .await;
                if retryable(&result) && attempt < MAX_ATTEMPTS {
                    pause(attempt).await;
                    continue;
                }
                result?;
                break;
            }
            self.ctx.batch_done()?;
            after = Some(last);
        }
        self.client
            .execute(
                "UPDATE copy_progress SET done = TRUE WHERE source = $1 AND step = $2",
                &[&self.ctx.src.id, &T::STEP],
            )
            .await?;
        Ok(())
    }

    /// The coverage history, area by area: an area the target has no
    /// history of is copied, one it has is added to it day by day.
    async fn history(&mut self) -> Result<(), CommandError> {
        let (after, done) = self
            .progress()
            .await?
            .remove("coverage_history")
            .unwrap_or((None, false));
        if done {
            return Ok(());
        }
        let areas: Vec<(String, usize)> = self
            .ctx
            .src
            .history_areas()?
            .into_iter()
            .filter(|(a, _)| after.as_ref().is_none_or(|x| a > x))
            .collect();
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut rows_in_group = 0usize;
        for (area, n) in areas {
            match groups.last_mut() {
                Some(g) if rows_in_group + n <= self.ctx.batch => g.push(area),
                _ => {
                    groups.push(vec![area]);
                    rows_in_group = 0;
                }
            }
            rows_in_group += n;
        }
        let mut merged_areas = Vec::new();
        for group in groups {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let mut merged = Vec::new();
                let result = async {
                    let tx = self.client.transaction().await?;
                    // The lock the servers take a snapshot under
                    // (`HISTORY_LOCK` in store/postgres/history.rs).
                    tx.execute(
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                        &[&HISTORY_LOCK, &self.schema],
                    )
                    .await?;
                    let mut rows = 0;
                    for area in &group {
                        let ours = self.ctx.src.history_of(area)?;
                        let theirs = target_history(&tx, area).await?;
                        let snaps = if theirs.is_empty() {
                            ours
                        } else {
                            merged.push(area.clone());
                            tx.execute("DELETE FROM coverage_history WHERE area = $1", &[area])
                                .await?;
                            merge_history(&ours, &theirs)
                        };
                        rows += snaps.len();
                        insert_history(&tx, area, &snaps).await?;
                    }
                    let last = group.last().cloned().unwrap_or_default();
                    advance(&tx, &self.ctx.src.id, "coverage_history", &last, rows).await?;
                    tx.commit().await?;
                    Ok::<(), CommandError>(())
                }
                .await;
                if retryable(&result) && attempt < MAX_ATTEMPTS {
                    pause(attempt).await;
                    continue;
                }
                result?;
                merged_areas.extend(merged);
                break;
            }
            self.ctx.batch_done()?;
        }
        if !merged_areas.is_empty() {
            self.notes.push(format!(
                "coverage history added day by day to the target's for areas both hold: {}",
                merged_areas.join(", ")
            ));
        }
        self.client
            .execute(
                "UPDATE copy_progress SET done = TRUE WHERE source = $1 AND step = 'coverage_history'",
                &[&self.ctx.src.id],
            )
            .await?;
        Ok(())
    }

    /// Gives the office's waiting persons their places in the target's
    /// feed, in their old order, a batch per transaction: each takes its
    /// positions under the row lock of `meta('feed_seq')`, held to
    /// commit, as the servers' writes do, so a pull never skips one.
    async fn feed(&mut self) -> Result<(), CommandError> {
        if self.step_done("feed").await? {
            return Ok(());
        }
        let (lo, hi) = self.ctx.temp_range();
        let limit = len_i64(self.ctx.batch);
        loop {
            let mut attempt = 0;
            let mut numbered = 0usize;
            loop {
                attempt += 1;
                let result = async {
                    let tx = self.client.transaction().await?;
                    let niks: Vec<String> = tx
                        .query(
                            "SELECT nik FROM persons WHERE seq BETWEEN $1 AND $2
                             ORDER BY seq DESC LIMIT $3",
                            &[&lo, &hi, &limit],
                        )
                        .await?
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    if niks.is_empty() {
                        mark_done(&tx, &self.ctx.src.id, "feed").await?;
                        tx.commit().await?;
                        return Ok::<usize, CommandError>(0);
                    }
                    // Locked in NIK order, as pushes lock persons; a push
                    // may have given some a place meanwhile.
                    let mut waiting: Vec<(String, i64)> = tx
                        .query(
                            "SELECT nik, seq FROM persons WHERE nik = ANY($1)
                             ORDER BY nik FOR UPDATE",
                            &[&niks],
                        )
                        .await?
                        .iter()
                        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
                        .filter(|(_, seq)| (lo..=hi).contains(seq))
                        .collect();
                    // Old order: the waiting position counts down.
                    waiting.sort_by_key(|w| std::cmp::Reverse(w.1));
                    let n = len_i64(waiting.len());
                    if n > 0 {
                        let last: i64 = tx
                            .query_one(
                                "UPDATE meta SET value = value + $1 WHERE key = 'feed_seq'
                                 RETURNING value",
                                &[&n],
                            )
                            .await?
                            .get(0);
                        let seqs: Vec<i64> = (last - n + 1..=last).collect();
                        let niks: Vec<&str> = waiting.iter().map(|w| w.0.as_str()).collect();
                        tx.execute(
                            "UPDATE persons p SET seq = v.seq
                             FROM UNNEST($1::text[], $2::bigint[]) AS v(nik, seq)
                             WHERE p.nik = v.nik",
                            &[&niks, &seqs],
                        )
                        .await?;
                        advance(
                            &tx,
                            &self.ctx.src.id,
                            "feed",
                            &last.to_string(),
                            waiting.len(),
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(niks.len())
                }
                .await;
                let result: Result<(), CommandError> = match result {
                    Ok(n) => {
                        numbered = n;
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                if retryable(&result) && attempt < MAX_ATTEMPTS {
                    pause(attempt).await;
                    continue;
                }
                result?;
                break;
            }
            if numbered == 0 {
                return Ok(());
            }
            self.ctx.batch_done()?;
        }
    }

    /// Counts, per table, the office's rows and the target's rows that
    /// match them.
    async fn check(&self) -> Result<Vec<Check>, CommandError> {
        let src = &self.ctx.src;
        let client = &self.client;
        let mut checks = Vec::new();

        let tokens = src.tokens()?;
        let hashes: Vec<&str> = tokens.iter().map(|t| t.hash.as_str()).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM tokens WHERE hash = ANY($1)",
                &[&hashes],
            )
            .await?
            .get(0);
        checks.push(Check::new("tokens", tokens.len(), present));

        for (table, col) in [
            ("devices", "device_id"),
            ("changes", "id"),
            ("visits", "id"),
        ] {
            let mut from = None;
            let mut present = 0i64;
            loop {
                let ids = src.page_ids(table, col, from, CHECK_CHUNK)?;
                let Some(last) = ids.last().copied() else {
                    break;
                };
                let n: i64 = client
                    .query_one(
                        &format!("SELECT COUNT(*) FROM {table} WHERE {col} = ANY($1)"),
                        &[&ids],
                    )
                    .await?
                    .get(0);
                present += n;
                from = Some(last);
            }
            checks.push(Check::new(table, src.count(table)?, present));
        }

        let mut from = i64::MIN;
        let (mut present, mut waiting) = (0i64, 0i64);
        let (mut first, mut last_seq): (Option<i64>, Option<i64>) = (None, None);
        loop {
            let page = src.page_niks(from, CHECK_CHUNK)?;
            let Some(last) = page.last().map(|p| p.0) else {
                break;
            };
            let niks: Vec<&str> = page.iter().map(|p| p.1.as_str()).collect();
            let r = client
                .query_one(
                    "SELECT COUNT(*), COUNT(*) FILTER (WHERE seq < 0),
                            MIN(seq) FILTER (WHERE seq > 0), MAX(seq)
                     FROM persons WHERE nik = ANY($1)",
                    &[&niks],
                )
                .await?;
            present += r.get::<_, i64>(0);
            waiting += r.get::<_, i64>(1);
            if let Some(m) = r.get::<_, Option<i64>>(2) {
                first = Some(first.map_or(m, |f: i64| f.min(m)));
            }
            if let Some(m) = r.get::<_, Option<i64>>(3) {
                last_seq = Some(last_seq.map_or(m, |l: i64| l.max(m)));
            }
            from = last;
        }
        let mut persons = Check::new("persons", src.count("persons")?, present);
        // Every position given out is at most the feed's counter, or a
        // later write could take one a pull has passed.
        let feed_seq: i64 = client
            .query_one("SELECT value FROM meta WHERE key = 'feed_seq'", &[])
            .await?
            .get(0);
        let max_seq = client
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM persons", &[])
            .await?
            .get::<_, i64>(0);
        if waiting > 0 {
            persons.fail(format!("{waiting} not yet in the feed"));
        } else if max_seq > feed_seq {
            persons.fail(format!(
                "a person is at feed position {max_seq}, beyond feed_seq {feed_seq}"
            ));
        } else if let (Some(a), Some(b)) = (first, last_seq) {
            persons.note = format!("feed positions {a}..{b}, feed_seq {feed_seq}");
        }
        checks.push(persons);

        // Conflicts by what they are about (their ids are new).
        let mut stmt = src
            .conn
            .prepare("SELECT nik, change_id, opened_at FROM conflicts")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let (mut niks, mut changes, mut opened) = (Vec::new(), Vec::new(), Vec::new());
        for r in rows {
            let (n, c, o) = r?;
            niks.push(n);
            changes.push(uuid_of(&c)?);
            opened.push(o);
        }
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM conflicts c
                 JOIN UNNEST($1::text[], $2::uuid[], $3::bigint[]) AS v(nik, change_id, opened_at)
                   ON c.nik = v.nik AND c.change_id = v.change_id AND c.opened_at = v.opened_at",
                &[&niks, &changes, &opened],
            )
            .await?
            .get(0);
        checks.push(Check::new("conflicts", niks.len(), present));

        let rows = src.baselines()?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let n: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM baselines b
                 JOIN UNNEST($1::text[], $2::integer[], $3::bigint[]) AS v(area, year, n)
                   ON b.area = v.area AND b.year = v.year AND b.working_population = v.n",
                &[&areas, &years, &n],
            )
            .await?
            .get(0);
        checks.push(Check::new("baselines", rows.len(), present));

        let rows = src.targets()?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let bp: Vec<i32> = rows.iter().map(|r| r.2).collect();
        let count: Vec<Option<i64>> = rows.iter().map(|r| r.3).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM targets t
                 JOIN UNNEST($1::text[], $2::integer[], $3::integer[], $4::bigint[])
                      AS v(area, year, bp, count)
                   ON t.area = v.area AND t.year = v.year AND t.percent_bp = v.bp
                  AND t.count IS NOT DISTINCT FROM v.count",
                &[&areas, &years, &bp, &count],
            )
            .await?
            .get(0);
        checks.push(Check::new("targets", rows.len(), present));

        // Counters are sums: the target's hold at least the office's.
        let rows = src.counters()?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let cats: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.2).collect();
        let n: Vec<i64> = rows.iter().map(|r| r.3).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM UNNEST($1::text[], $2::text[], $3::integer[], $4::bigint[])
                      AS v(area, category, since_year, n)
                 LEFT JOIN counters c ON c.area = v.area AND c.category = v.category
                                     AND c.since_year = v.since_year
                 WHERE COALESCE(c.covered, 0) >= v.n",
                &[&areas, &cats, &years, &n],
            )
            .await?
            .get(0);
        let mut counters = Check::new("counters", rows.len(), present);
        counters.note = "added to the target's".into();
        checks.push(counters);

        let mut stmt = src.conn.prepare("SELECT area, day FROM coverage_history")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let (mut areas, mut days) = (Vec::new(), Vec::new());
        for r in rows {
            let (a, d) = r?;
            areas.push(a);
            days.push(d);
        }
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM coverage_history h
                 JOIN UNNEST($1::text[], $2::text[]) AS v(area, day)
                   ON h.area = v.area AND h.day = v.day",
                &[&areas, &days],
            )
            .await?
            .get(0);
        checks.push(Check::new("coverage_history", areas.len(), present));

        let rows = src.unlogged()?;
        let agents: Vec<String> = rows.iter().map(|r| self.ctx.names.name(&r.0)).collect();
        let days: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        let counts: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM unlogged_rejections u
                 JOIN UNNEST($1::text[], $2::text[], $3::bigint[]) AS v(agent, day, n)
                   ON u.agent = v.agent AND u.day = v.day AND u.count >= v.n",
                &[&agents, &days, &counts],
            )
            .await?
            .get(0);
        checks.push(Check::new("unlogged_rejections", rows.len(), present));

        let rows = src.meta()?;
        let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let present: i64 = client
            .query_one("SELECT COUNT(*) FROM meta WHERE key = ANY($1)", &[&keys])
            .await?
            .get(0);
        let mut meta = Check::new("meta", rows.len(), present);
        meta.note = "generation bumped; roll_imports, history_backfilled: the larger".into();
        checks.push(meta);
        Ok(checks)
    }
}

async fn target_history(tx: &Transaction<'_>, area: &str) -> Result<Vec<Snap>, CommandError> {
    Ok(tx
        .query(
            "SELECT day, pu, bpu, jakon, pmi, working_population, target_bp, target_count,
                    taken_at
             FROM coverage_history WHERE area = $1 ORDER BY day FOR UPDATE",
            &[&area],
        )
        .await?
        .iter()
        .map(|r| Snap {
            day: r.get(0),
            counts: [r.get(1), r.get(2), r.get(3), r.get(4)],
            working_population: r.get(5),
            target_bp: r.get(6),
            target_count: r.get(7),
            taken_at: r.get(8),
        })
        .collect())
}

async fn insert_history(
    tx: &Transaction<'_>,
    area: &str,
    snaps: &[Snap],
) -> Result<(), CommandError> {
    if snaps.is_empty() {
        return Ok(());
    }
    let areas: Vec<&str> = snaps.iter().map(|_| area).collect();
    let days: Vec<&str> = snaps.iter().map(|s| s.day.as_str()).collect();
    let col = |i: usize| snaps.iter().map(|s| s.counts[i]).collect::<Vec<i64>>();
    let (pu, bpu, jakon, pmi) = (col(0), col(1), col(2), col(3));
    let wp: Vec<Option<i64>> = snaps.iter().map(|s| s.working_population).collect();
    let bp: Vec<Option<i32>> = snaps.iter().map(|s| s.target_bp).collect();
    let tc: Vec<Option<i64>> = snaps.iter().map(|s| s.target_count).collect();
    let taken: Vec<i64> = snaps.iter().map(|s| s.taken_at).collect();
    tx.execute(
        "INSERT INTO coverage_history (area, day, pu, bpu, jakon, pmi, working_population,
                                       target_bp, target_count, taken_at)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[],
                              $6::bigint[], $7::bigint[], $8::integer[], $9::bigint[],
                              $10::bigint[])",
        &[
            &areas, &days, &pu, &bpu, &jakon, &pmi, &wp, &bp, &tc, &taken,
        ],
    )
    .await?;
    Ok(())
}

fn target_text(bp: i32, count: Option<i64>) -> String {
    let pct = format!("{}.{:02}%", bp / 100, bp % 100);
    match count {
        Some(c) => format!("{pct} ({c} people)"),
        None => pct,
    }
}

/// One row of the report's table.
struct Check {
    table: &'static str,
    office: u64,
    target: u64,
    ok: bool,
    note: String,
}

impl Check {
    fn new(table: &'static str, office: impl TryInto<u64>, target: i64) -> Check {
        let office = office.try_into().unwrap_or(u64::MAX);
        let target = u64::try_from(target).unwrap_or(0);
        Check {
            table,
            office,
            target,
            ok: office == target,
            note: String::new(),
        }
    }

    fn fail(&mut self, why: String) {
        self.ok = false;
        self.note = why;
    }
}

fn verify_line(side: &str, r: &VerifyReport) -> String {
    if r.differences.is_empty() {
        format!(
            "{side}: ok, coverage counters match a recount of {} persons ({} counters)",
            r.persons, r.counters
        )
    } else {
        let shown: Vec<String> = r
            .differences
            .iter()
            .take(5)
            .map(|d| {
                format!(
                    "{} {} since {}: stored {}, recount {}",
                    d.area, d.category, d.since_year, d.stored, d.expected
                )
            })
            .collect();
        format!(
            "{side}: {} of {} counters differ from a recount of {} persons ({})",
            r.differences.len(),
            r.counters,
            r.persons,
            shown.join("; ")
        )
    }
}

fn report(
    checks: &[Check],
    office: &VerifyReport,
    target: &VerifyReport,
    notes: &[String],
    store: &PgStore,
) -> ExitCode {
    println!();
    println!("{:<20} {:>10} {:>10}  CHECK", "TABLE", "OFFICE", "TARGET");
    for c in checks {
        let mut verdict = if c.ok {
            "ok".to_string()
        } else {
            "DIFFERS".to_string()
        };
        if !c.note.is_empty() {
            verdict.push_str(&format!(" ({})", c.note));
        }
        println!(
            "{:<20} {:>10} {:>10}  {verdict}",
            c.table, c.office, c.target
        );
    }
    println!();
    println!("coverage verify");
    println!("  {}", verify_line("office", office));
    println!("  {}", verify_line("target", target));
    if !office.differences.is_empty() && target.differences.is_empty() {
        println!("  (the office's stored counters were off; the target was given the recount's)");
    }
    for n in notes {
        println!("note: {n}");
    }
    let ok = checks.iter().all(|c| c.ok) && target.differences.is_empty();
    if ok {
        println!(
            "copied and verified into PostgreSQL (schema {}). Point the office's laptops at the \
             regional server (sigap init --server URL): at their next sync they fetch its key and \
             pull their areas again.",
            store.schema()
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "the copy does not match the office (DIFFERS above); run it again, and if it still differs, keep the office's server in use and report this"
        );
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn snap(day: &str, pu: i64, wp: Option<i64>) -> Snap {
        Snap {
            day: day.into(),
            counts: [pu, 0, 0, 0],
            working_population: wp,
            target_bp: None,
            target_count: None,
            taken_at: 1,
        }
    }

    #[test]
    fn histories_add_up_as_step_functions() {
        let ours = [snap("2026-01-01", 5, None), snap("2026-01-03", 7, None)];
        let theirs = [
            snap("2026-01-02", 10, Some(100)),
            snap("2026-01-03", 11, Some(100)),
        ];
        let m = merge_history(&ours, &theirs);
        let pu: Vec<(&str, i64, Option<i64>)> = m
            .iter()
            .map(|s| (s.day.as_str(), s.counts[0], s.working_population))
            .collect();
        assert_eq!(
            pu,
            [
                ("2026-01-01", 5, None),
                ("2026-01-02", 15, Some(100)),
                ("2026-01-03", 18, Some(100)),
            ]
        );
    }

    #[test]
    fn renamed_tokens_are_renamed_wherever_a_name_is_written() {
        let mut names = Names::default();
        names.renamed.insert("budi".into(), "budi-solo".into());
        assert_eq!(names.name("budi"), "budi-solo");
        assert_eq!(names.name("supervisor budi"), "supervisor budi-solo");
        assert_eq!(names.name("membership roll"), "membership roll");
        assert_eq!(names.name("budiman"), "budiman");
        let json =
            r#"{"a":{"agent":"budi","name":{"value":"budi","hlc":"x"}},"b":{"agent":"ani"}}"#;
        let out: Value = serde_json::from_str(&names.json(json).unwrap()).unwrap();
        assert_eq!(out["a"]["agent"], "budi-solo");
        assert_eq!(out["a"]["name"]["value"], "budi");
        assert_eq!(out["b"]["agent"], "ani");
        // Untouched text stays byte for byte.
        let other = r#"{"b": {"agent": "ani"}}"#;
        assert_eq!(names.json(other).unwrap(), other);
    }

    #[test]
    fn sources_are_files_not_other_urls() {
        assert!(source_path("postgres://h/db").is_err());
        assert!(source_path("mysql://h/db").is_err());
        assert!(source_path("sqlite:/no/such/file.db").is_err());
    }
}
