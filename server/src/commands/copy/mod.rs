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

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tokio_postgres::{Client, NoTls};

use super::{CommandError, Opened, open_database, usage};
use crate::cli::CopyArgs;
use crate::store::postgres::is_postgres_url;
use crate::store::{Store, StoreError};

mod batched;
mod collisions;
mod feed;
mod history;
mod progress;
mod report;
mod small_tables;
mod source;
mod tables;
mod tokens;

use report::report;
use source::Source;
use tables::{Changes, Conflicts, Devices, Persons, Visits};
use tokens::{Names, TokenMap};

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

pub use source::SQLITE_SCHEMA_VERSION;

/// Office keys asked about per query when checking.
const CHECK_CHUNK: usize = 10_000;

/// Tests interrupt a copy with this: the run stops with an error after
/// that many committed batches.
const STOP_ENV: &str = "SIGAP_COPY_STOP_AFTER_BATCHES";

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

impl Copier {
    /// Runs the steps not done yet; `checked`: the collisions were
    /// looked for already.
    pub(super) async fn run_steps(
        &mut self,
        suffix: Option<&str>,
        checked: bool,
    ) -> Result<(), CommandError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_files_not_other_urls() {
        assert!(source_path("postgres://h/db").is_err());
        assert!(source_path("mysql://h/db").is_err());
        assert!(source_path("sqlite:/no/such/file.db").is_err());
    }
}
