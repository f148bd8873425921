//! The SQLite store: one file, WAL, one writer connection (all writes are
//! serialised through it), a few read connections used concurrently.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use sigap_shared::coverage::{Percent, Target};
use sigap_shared::merge::PersonRecord;
use sigap_shared::{AreaCode, ReplicaKey};

use super::{AreaData, Baseline, NewToken, Role, StoreError, TokenInfo, category_index};

mod activity;
mod checkpoint;
pub(crate) mod counters;
pub(crate) mod erase;
pub mod history;
mod read;
pub(crate) mod write;

/// The schema's versions, oldest first.
fn migrations() -> Vec<M<'static>> {
    vec![
        M::up(include_str!("sqlite/schema_v1.sql")),
        M::up(include_str!("sqlite/schema_v2.sql")),
        M::up(include_str!("sqlite/schema_v3.sql")),
        M::up(include_str!("sqlite/schema_v4.sql")),
        M::up(include_str!("sqlite/schema_v5.sql")),
        // Who counts changed with the per-year counters: recount them.
        M::up_with_hook(include_str!("sqlite/schema_v6.sql"), counters::rebuild_hook),
        M::up(include_str!("sqlite/schema_v7.sql")),
        M::up_with_hook(include_str!("sqlite/schema_v8.sql"), new_replica_key_hook),
        M::up(include_str!("sqlite/schema_v9.sql")),
        M::up(include_str!("sqlite/schema_v10.sql")),
        M::up(include_str!("sqlite/schema_v11.sql")),
        M::up(include_str!("sqlite/schema_v12.sql")),
    ]
}

/// Makes the deployment's replica key (see `schema_v8.sql`).
fn new_replica_key_hook(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    tx.execute(
        "INSERT INTO secrets (name, value) VALUES ('replica_key', ?1)",
        [bytes.as_slice()],
    )?;
    Ok(())
}

/// The deployment's replica key, as the migration made it.
fn load_replica_key(conn: &Connection) -> Result<ReplicaKey, StoreError> {
    let bytes: Vec<u8> = conn
        .query_row(
            "SELECT value FROM secrets WHERE name = 'replica_key'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| corrupt("the replica key is missing from the secrets table"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| corrupt("the replica key in the secrets table is not 32 bytes"))?;
    Ok(ReplicaKey::from_bytes(bytes))
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Database(e.to_string())
    }
}

impl From<rusqlite_migration::Error> for StoreError {
    fn from(e: rusqlite_migration::Error) -> StoreError {
        StoreError::Migration(e.to_string())
    }
}

/// Where the store reads the time (Unix milliseconds): tests move it.
pub type Clock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

/// Read connections kept open for reuse.
const MAX_IDLE_READERS: usize = 8;

/// The SQLite implementation of [`super::Store`].
/// What a backup holds, read back from the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    pub persons: u64,
    pub changes: u64,
    pub bytes: u64,
}

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Notified after every push commits, for a push that waits for a
    /// device's earlier page (see `push_impl`).
    pushed: Condvar,
    /// Pushes sharing a write transaction (see `write::Groups`); boxed,
    /// the store stays small.
    groups: Box<write::Groups>,
    readers: Mutex<Vec<Connection>>,
    /// Unix milliseconds now: the wall clock, or a test's.
    clock: Clock,
    /// The last coverage snapshot this process took.
    taken: Mutex<history::Taken>,
    /// Keys the feed's lookup hashes; handed to enrolled devices.
    replica_key: ReplicaKey,
    /// Declared last: stops after the connections above are closed.
    _checkpointer: checkpoint::Checkpointer,
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Acknowledged data must survive a power loss, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Lookaside slots for the writer's small allocations (cursors, records
/// being built, statement state): the workspace builds SQLite without a
/// default lookaside (`.cargo/config.toml`: every `sigap` command is a short
/// process that would build and walk the slab at each open), so without
/// this every one of them went to `malloc` and `free` through SQLCipher's
/// allocator, about 40 a change (BENCHMARKS.md, issue 16).
const LOOKASIDE_SLOT: i32 = 1200;
const LOOKASIDE_SLOTS: i32 = 512;

/// Gives `conn` its own lookaside memory; a connection that already uses
/// lookaside memory keeps what it has.
#[allow(unsafe_code)]
fn enable_lookaside(conn: &Connection) -> Result<(), StoreError> {
    // SAFETY: `handle` is this open connection's pointer, used on this
    // thread while `conn` is borrowed. SQLITE_DBCONFIG_LOOKASIDE takes
    // exactly a buffer pointer (null: SQLite allocates and owns it) and
    // two ints, as passed; SQLite refuses (SQLITE_BUSY) rather than
    // replacing lookaside memory in use.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_config(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBCONFIG_LOOKASIDE,
            std::ptr::null_mut::<std::ffi::c_void>(),
            LOOKASIDE_SLOT,
            LOOKASIDE_SLOTS,
        )
    };
    match rc {
        rusqlite::ffi::SQLITE_OK | rusqlite::ffi::SQLITE_BUSY => Ok(()),
        code => Err(StoreError::Task(format!(
            "cannot give the writer connection lookaside memory (SQLite code {code})"
        ))),
    }
}

/// Syncs the database's folder when this process created its WAL file.
///
/// Why: SQLite is built without its own folder sync (see
/// `.cargo/config.toml`), which it did at the first commit of every
/// process. A new WAL file's name must reach the disk before a push
/// committed into it is answered; while this connection is open no other
/// process removes the file.
fn sync_folder_if_new(db: &Path, wal: &Path, existed: bool) -> std::io::Result<()> {
    if existed || !wal.exists() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        let folder = match db.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(folder)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = db;
    Ok(())
}

/// The write-ahead log beside the database at `db`.
fn wal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let wal = wal_path(path);
        let wal_existed = wal.exists();
        let mut conn = Connection::open(path)?;
        enable_lookaside(&conn)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "could not switch {} to WAL mode (got {mode})",
                path.display()
            )));
        }
        configure(&conn)?;
        // The writer walks the persons and changes indexes for every
        // change; a larger page cache keeps them in memory instead of
        // re-reading pages from the OS. 64 MiB, not the 128 MiB it was:
        // with sync-size pages a 1,000,000-change ingest peaked at 280–288
        // MiB against the 300 MB target, and at 201 MiB with this, for no
        // measurable loss at 100,000 changes (BENCHMARKS.md). Checkpoints
        // run on their own thread instead of inside the writer's commits.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // What a write frees on a page it rewrites anyway is zeroed (no
        // extra I/O), so overwritten personal data does not linger there.
        conn.pragma_update(None, "secure_delete", "FAST")?;
        Migrations::new(migrations()).to_latest(&mut conn)?;
        let replica_key = load_replica_key(&conn)?;
        // By now the WAL file exists (the migrations read the schema).
        sync_folder_if_new(path, &wal, wal_existed).map_err(|e| {
            StoreError::Task(format!("cannot sync the folder of {}: {e}", path.display()))
        })?;
        let checkpointer = checkpoint::Checkpointer::start(path)
            .map_err(|e| StoreError::Task(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(conn),
            pushed: Condvar::new(),
            groups: Box::default(),
            readers: Mutex::new(Vec::new()),
            clock: std::sync::Arc::new(now_millis),
            taken: Mutex::default(),
            replica_key,
            _checkpointer: checkpointer,
        })
        .and_then(SqliteStore::backfill_history)
    }

    /// Fills the coverage history's past days once (see
    /// `history::backfill`).
    fn backfill_history(self) -> Result<SqliteStore, StoreError> {
        let today = history::day_of_millis(self.now());
        {
            let conn = self.writer()?;
            let tx = conn.unchecked_transaction()?;
            history::backfill(&tx, today)?;
            tx.commit()?;
        }
        Ok(self)
    }

    /// The same store reading the time from `clock` (tests).
    pub fn with_clock(mut self, clock: Clock) -> SqliteStore {
        self.clock = clock;
        self
    }

    pub(super) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The writer, with no transaction open on it: a group of pushes
    /// that left its transaction open for more pushes is committed first
    /// (its members are answered).
    fn writer(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        let conn = self.writer_unsettled()?;
        if let Err(e) = self.settle(&conn) {
            tracing::warn!(error = %e, "a group of pushes failed to commit");
        }
        Ok(conn)
    }

    /// The writer as it is: a push group's transaction may be open on it.
    fn writer_unsettled(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.writer
            .lock()
            .map_err(|_| StoreError::Task("the writer lock is poisoned".into()))
    }

    /// Pushes waiting for the writer, and push groups committed (tests).
    #[doc(hidden)]
    pub fn push_group_stats(&self) -> (usize, u64) {
        (self.groups.waiting(), self.groups.commits())
    }

    /// Runs `f` on a read connection.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self
            .readers
            .lock()
            .map_err(|_| StoreError::Task("the reader pool lock is poisoned".into()))?
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                c
            }
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < MAX_IDLE_READERS
        {
            pool.push(conn);
        }
        out
    }

    /// Writes a consistent copy of the database to `dest`, which must not
    /// exist, while the server keeps serving: `VACUUM INTO` reads one
    /// snapshot in a read transaction, so writers are not held up and the
    /// copy is compact. Then reads the copy back and checks it.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupSummary, StoreError> {
        let dest_text = dest.to_str().ok_or_else(|| StoreError::Invalid {
            code: "invalid_path".into(),
            message: format!("{} is not valid UTF-8; choose another name", dest.display()),
        })?;
        if dest.exists() {
            return Err(StoreError::Invalid {
                code: "backup_exists".into(),
                message: format!(
                    "{} already exists; choose a new file name (a backup never overwrites)",
                    dest.display()
                ),
            });
        }
        self.read(|c| {
            c.execute("VACUUM INTO ?1", [dest_text])?;
            Ok(())
        })?;
        let copy = Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::Corrupt(format!(
                "the copy at {} failed its integrity check: {check}",
                dest.display()
            )));
        }
        let count = |table: &str| -> Result<u64, StoreError> {
            let n: i64 =
                copy.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(BackupSummary {
            persons: count("persons")?,
            changes: count("changes")?,
            bytes: std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0),
        })
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Direct access to the writer connection, for tests that tamper with
    /// the data.
    #[doc(hidden)]
    pub fn with_writer<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.writer()?;
        Ok(f(&conn)?)
    }
}

pub(super) fn now_millis() -> i64 {
    i64::try_from(sigap_shared::hlc::wall_millis()).unwrap_or(i64::MAX)
}

/// Marks a change to what coverage answers are built from (see
/// [`super::Store::data_generation`]).
fn bump_generation(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('generation', 1)
         ON CONFLICT(key) DO UPDATE SET value = value + 1",
    )?
    .execute([])?;
    Ok(())
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn parse_area(text: &str) -> Result<AreaCode, StoreError> {
    AreaCode::parse(text).map_err(corrupt)
}

fn parse_record(text: &str) -> Result<PersonRecord, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("person record: {e}")))
}

fn token_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(TokenInfo, String, String)> {
    let role: String = row.get(2)?;
    let areas: String = row.get(3)?;
    Ok((
        TokenInfo {
            id: row.get(0)?,
            name: row.get(1)?,
            role: Role::Agent,
            areas: Vec::new(),
            created_at: row.get(4)?,
            revoked_at: row.get(5)?,
            expires_at: row.get(6)?,
        },
        role,
        areas,
    ))
}

fn finish_token(
    (mut t, role, areas): (TokenInfo, String, String),
) -> Result<TokenInfo, StoreError> {
    t.role = Role::parse(&role).ok_or_else(|| corrupt(format!("token role {role:?}")))?;
    t.areas = areas
        .split(',')
        .filter(|s| !s.is_empty())
        .map(parse_area)
        .collect::<Result<_, _>>()?;
    Ok(t)
}

const TOKEN_COLUMNS: &str = "id, name, role, areas, created_at, revoked_at, expires_at";

impl SqliteStore {
    /// Finds an unrevoked token, expired or not: the caller tells an
    /// expired token apart to say so (see `http::auth`).
    pub(super) fn find_token_impl(&self, hash: &str) -> Result<Option<TokenInfo>, StoreError> {
        self.read(|c| {
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1 AND revoked_at IS NULL"
            );
            let row = c
                .prepare_cached(&sql)?
                .query_row([hash], token_from_row)
                .optional()?;
            row.map(finish_token).transpose()
        })
    }

    pub(super) fn create_token_impl(&self, t: &NewToken) -> Result<TokenInfo, StoreError> {
        let conn = self.writer()?;
        let exists: Option<i64> = conn
            .query_row("SELECT id FROM tokens WHERE name = ?1", [&t.name], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_some() {
            return Err(StoreError::Invalid {
                code: "token_name_taken".into(),
                message: format!(
                    "a token named {:?} already exists; choose another name or revoke it first",
                    t.name
                ),
            });
        }
        let areas: Vec<String> = t.areas.iter().map(|a| a.to_string()).collect();
        let now = now_millis();
        conn.execute(
            "INSERT INTO tokens (name, role, areas, hash, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.name,
                t.role.as_str(),
                areas.join(","),
                t.hash,
                now,
                t.expires_at
            ],
        )?;
        Ok(TokenInfo {
            id: conn.last_insert_rowid(),
            name: t.name.clone(),
            role: t.role,
            areas: t.areas.clone(),
            created_at: now,
            revoked_at: None,
            expires_at: t.expires_at,
        })
    }

    pub(super) fn list_tokens_impl(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.read(|c| {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id");
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], token_from_row)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(finish_token(r?)?);
            }
            Ok(out)
        })
    }

    pub(super) fn revoke_token_impl(&self, key: &str) -> Result<Option<TokenInfo>, StoreError> {
        let conn = self.writer()?;
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE name = ?1 OR CAST(id AS TEXT) = ?1 ORDER BY (name = ?1) DESC LIMIT 1"
        );
        let Some(row) = conn.query_row(&sql, [key], token_from_row).optional()? else {
            return Ok(None);
        };
        let mut token = finish_token(row)?;
        if token.revoked_at.is_none() {
            let now = now_millis();
            conn.execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2",
                params![now, token.id],
            )?;
            token.revoked_at = Some(now);
        }
        Ok(Some(token))
    }

    pub(super) fn set_baselines_impl(&self, rows: &[Baseline]) -> Result<(), StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO baselines (area, year, working_population) VALUES (?1, ?2, ?3)
                 ON CONFLICT(area, year) DO UPDATE SET working_population = excluded.working_population",
            )?;
            for b in rows {
                let pop = i64::try_from(b.working_population).unwrap_or(i64::MAX);
                stmt.execute(params![b.area.to_string(), b.year, pop])?;
            }
        }
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn set_target_impl(
        &self,
        area: &AreaCode,
        year: i32,
        t: Target,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let count = t.count.map(|c| i64::try_from(c).unwrap_or(i64::MAX));
        tx.execute(
            "INSERT INTO targets (area, year, percent_bp, count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(area, year) DO UPDATE SET percent_bp = excluded.percent_bp, count = excluded.count",
            params![area.to_string(), year, t.percent.basis_points(), count],
        )?;
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn area_data_impl(
        &self,
        area: &AreaCode,
        year: i32,
        counted_through: i32,
    ) -> Result<AreaData, StoreError> {
        use sigap_shared::Level;
        let code = area.to_string();
        let glob = match area.level() {
            Level::Province | Level::Kota | Level::Kecamatan => format!("{code}.*"),
            Level::Kelurahan | Level::Rw => format!("{code}/*"),
            Level::Rt => code.clone(),
        };
        // Every counter of the area and inside it, in key order: a range of
        // the primary key (a code's descendants sort after it and before
        // the code followed by `0`), summed here. Summing in SQL sorted the
        // rows into a temporary B-tree first, ten times the cost of the
        // scan at a kota's depth.
        let end = format!("{code}0");
        self.read(|c| {
            let mut data = AreaData::default();
            // Everyone whose coverage started by the end of the year.
            let mut stmt = c.prepare_cached(
                "SELECT area, category, covered FROM counters
                 WHERE area >= ?1 AND area < ?2 AND since_year <= ?3
                 ORDER BY area, category, since_year",
            )?;
            let mut rows = stmt.query(params![code, end, counted_through])?;
            // The area being summed: its text, its code when inside `area`,
            // and its sums by category.
            let mut current: Option<(String, Option<AreaCode>, [i64; 4])> = None;
            while let Some(r) = rows.next()? {
                let text = r.get_ref(0)?.as_str().map_err(corrupt)?;
                if current.as_ref().is_none_or(|(t, _, _)| t != text) {
                    let parsed = parse_area(text)?;
                    let inside = crate::coverage::inside(area, &parsed).then_some(parsed);
                    let done = current.replace((text.to_string(), inside, [0; 4]));
                    keep_sums(&mut data, done);
                }
                let cat = r.get_ref(1)?.as_str().map_err(corrupt)?;
                let cat: sigap_shared::Category = cat.parse().map_err(corrupt)?;
                let n: i64 = r.get(2)?;
                if let Some((_, _, sums)) = current.as_mut() {
                    let slot = &mut sums[category_index(cat)];
                    *slot = slot.saturating_add(n);
                }
            }
            keep_sums(&mut data, current);
            let mut stmt = c.prepare_cached(
                "SELECT area, working_population FROM baselines WHERE year = ?3 AND (area = ?1 OR area GLOB ?2)",
            )?;
            let mut rows = stmt.query(params![code, glob, year])?;
            while let Some(r) = rows.next()? {
                let a = parse_area(&r.get::<_, String>(0)?)?;
                let n: i64 = r.get(1)?;
                data.baselines.insert(a, u64::try_from(n).unwrap_or(0));
            }
            let mut stmt = c.prepare_cached(
                "SELECT area, percent_bp, count FROM targets WHERE year = ?3 AND (area = ?1 OR area GLOB ?2)",
            )?;
            let mut rows = stmt.query(params![code, glob, year])?;
            while let Some(r) = rows.next()? {
                let a = parse_area(&r.get::<_, String>(0)?)?;
                let bp: u32 = r.get(1)?;
                let count: Option<i64> = r.get(2)?;
                data.targets.insert(
                    a,
                    Target {
                        percent: Percent(bp),
                        count: count.map(|c| u64::try_from(c).unwrap_or(0)),
                    },
                );
            }
            Ok(data)
        })
    }
}

/// Keeps an area's summed counters (the categories whose sum is not 0,
/// as the SQL `HAVING SUM(covered) <> 0` did), when the area is inside
/// the one asked for.
fn keep_sums(data: &mut AreaData, summed: Option<(String, Option<AreaCode>, [i64; 4])>) {
    let Some((_, Some(area), sums)) = summed else {
        return;
    };
    if sums.iter().all(|n| *n == 0) {
        return;
    }
    let entry = data.counters.entry(area).or_default();
    for (slot, n) in entry.iter_mut().zip(sums) {
        if n != 0 {
            *slot = u64::try_from(n).unwrap_or(0);
        }
    }
}

impl super::Store for SqliteStore {
    fn find_token(&self, hash: &str) -> Result<Option<TokenInfo>, StoreError> {
        self.find_token_impl(hash)
    }
    fn create_token(&self, token: &NewToken) -> Result<TokenInfo, StoreError> {
        self.create_token_impl(token)
    }
    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.list_tokens_impl()
    }
    fn revoke_token(&self, id_or_name: &str) -> Result<Option<TokenInfo>, StoreError> {
        self.revoke_token_impl(id_or_name)
    }
    fn push(
        &self,
        by: &super::Pusher<'_>,
        req: &sigap_shared::wire::PushRequest,
    ) -> Result<sigap_shared::wire::PushResponse, StoreError> {
        self.push_impl(by, req)
    }
    fn pull(
        &self,
        areas: Option<&[AreaCode]>,
        cursor: u64,
        limit: usize,
        skip: Option<uuid::Uuid>,
    ) -> Result<sigap_shared::wire::PullPage, StoreError> {
        self.pull_impl(areas, cursor, limit, skip)
    }
    fn claim_device(&self, device: uuid::Uuid, token_id: i64) -> Result<(), StoreError> {
        self.claim_device_impl(device, token_id)
    }
    fn assign_device(&self, device: uuid::Uuid, token_id: i64) -> Result<(), StoreError> {
        self.assign_device_impl(device, token_id)
    }
    fn move_person(
        &self,
        nik: &sigap_shared::Nik,
        to: &sigap_shared::Fields,
        by: &str,
    ) -> Result<PersonRecord, StoreError> {
        self.move_person_impl(nik, to, by)
    }
    fn review(&self, areas: Option<&[AreaCode]>) -> Result<Vec<super::ReviewItem>, StoreError> {
        self.review_impl(areas)
    }
    fn erase_person(
        &self,
        nik: &sigap_shared::Nik,
        by: &str,
        reason: &str,
    ) -> Result<super::Erasure, StoreError> {
        self.erase_person_impl(nik, by, reason)
    }
    fn registrations_per_day(
        &self,
        areas: Option<&[AreaCode]>,
        from_millis: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.registrations_per_day_impl(areas, from_millis)
    }
    fn replica_key(&self) -> Result<ReplicaKey, StoreError> {
        Ok(self.replica_key.clone())
    }
    fn device_receipt(
        &self,
        device: uuid::Uuid,
    ) -> Result<sigap_shared::wire::Receipt, StoreError> {
        self.device_receipt_impl(device)
    }
    fn device_changes(
        &self,
        device: uuid::Uuid,
        after_seq: u64,
        limit: usize,
    ) -> Result<(Vec<super::DeviceChange>, bool), StoreError> {
        self.device_changes_impl(device, after_seq, limit)
    }
    fn set_baselines(&self, rows: &[Baseline]) -> Result<(), StoreError> {
        self.set_baselines_impl(rows)
    }
    fn set_target(&self, area: &AreaCode, year: i32, target: Target) -> Result<(), StoreError> {
        self.set_target_impl(area, year, target)
    }
    fn import_participants_as_of(
        &self,
        rows: &[super::RollRow],
        as_of: time::Date,
    ) -> Result<super::ImportSummary, StoreError> {
        self.import_participants_impl(rows, as_of)
    }
    fn area_data(
        &self,
        area: &AreaCode,
        year: i32,
        counted_through: i32,
    ) -> Result<AreaData, StoreError> {
        self.area_data_impl(area, year, counted_through)
    }
    fn data_generation(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            let g: Option<i64> = c
                .prepare_cached("SELECT value FROM meta WHERE key = 'generation'")?
                .query_row([], |r| r.get(0))
                .optional()?;
            Ok(g.map_or(0, |g| u64::try_from(g).unwrap_or(0)))
        })
    }
    fn verify_counters(&self) -> Result<super::VerifyReport, StoreError> {
        self.verify_counters_impl()
    }
    fn database_bytes(&self) -> Result<u64, StoreError> {
        Ok([self.path().to_path_buf(), wal_path(self.path())]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum())
    }
    fn conflicts(&self, status: Option<&str>) -> Result<Vec<super::Conflict>, StoreError> {
        self.conflicts_impl(status)
    }
    fn conflict(&self, id: i64) -> Result<Option<super::Conflict>, StoreError> {
        self.conflict_impl(id)
    }
    fn resolve_conflict(
        &self,
        id: i64,
        fields: &sigap_shared::Fields,
        note: Option<&str>,
        by: &str,
    ) -> Result<super::Conflict, StoreError> {
        self.resolve_conflict_impl(id, fields, note, by)
    }
    fn resolve_at(
        &self,
        nik: &sigap_shared::Nik,
        fields: &sigap_shared::Fields,
        hlc: sigap_shared::Hlc,
        by: &str,
    ) -> Result<(), StoreError> {
        self.resolve_at_impl(nik, fields, hlc, by)
    }
    fn person(
        &self,
        nik: &sigap_shared::Nik,
        history: bool,
    ) -> Result<Option<super::PersonView>, StoreError> {
        self.person_impl(nik, history)
    }
    fn now_millis(&self) -> i64 {
        self.now()
    }
    fn snapshot_coverage(&self, retake: bool) -> Result<(), StoreError> {
        self.roll_history(retake)
    }
    fn coverage_history(
        &self,
        area: &AreaCode,
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<super::HistoryRow>, StoreError> {
        self.history_impl(area, from, to)
    }
    fn add_visits(
        &self,
        token_id: i64,
        agent: &str,
        device: uuid::Uuid,
        visits: &[super::NewVisit],
    ) -> Result<Vec<bool>, StoreError> {
        self.add_visits_impl(token_id, agent, device, visits)
    }
    fn activity(
        &self,
        area: &AreaCode,
        from: time::Date,
        to: time::Date,
    ) -> Result<super::Activity, StoreError> {
        self.activity_impl(area, from, to)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::Store;
    use sigap_shared::merge::Fields;
    use sigap_shared::{Category, Hlc, Nik};

    #[test]
    fn persons_stored_by_version_1_keep_their_feed_order_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let nik = Nik::parse("3372011203850001").unwrap();
        let kel = AreaCode::parse("33.72.01.1001").unwrap();
        {
            let mut conn = Connection::open(&path).unwrap();
            Migrations::new(migrations()[..1].to_vec())
                .to_latest(&mut conn)
                .unwrap();
            let fields = Fields {
                kelurahan: Some(kel),
                rw: Some(3),
                rt: Some(5),
                category: Some(Category::Bpu),
                ..Fields::default()
            };
            let hlc = Hlc {
                millis: 0,
                counter: 1,
                device: uuid::Uuid::nil(),
            };
            let record = PersonRecord::from_write(nik.clone(), &fields, hlc);
            conn.execute(
                "INSERT INTO persons (nik, record, kelurahan, cov_area, category, participant, seq)
                 VALUES (?1, ?2, '33.72.01.1001', '33.72.01.1001/3/5', 'bpu', 1, 41)",
                params![nik.as_str(), serde_json::to_string(&record).unwrap()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let page = store.pull(Some(&[kel]), 0, 10, None).unwrap();
        assert_eq!(page.persons.len(), 1);
        assert_eq!(page.persons[0].seq, 41);
        assert_eq!(page.next_cursor, 41);
        let p = store.person(&nik, false).unwrap().unwrap();
        assert!(p.participant);
        assert_eq!(p.seq, 41);
        assert_eq!(p.fields.rt, Some(5));
        // The next write continues the feed after the migrated person.
        let summary = store
            .import_participants(&[crate::store::RollRow {
                nik: Nik::parse("3372015204900002").unwrap(),
                kelurahan: kel,
                rw: 1,
                rt: 1,
                category: Category::Bpu,
            }])
            .unwrap();
        assert_eq!(summary.created, 1);
        let page = store.pull(None, 41, 10, None).unwrap();
        assert_eq!(page.persons.len(), 1);
        assert_eq!(page.persons[0].seq, 42);
    }

    #[test]
    fn the_change_log_keeps_its_rows_and_keys_when_it_gets_row_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v10.db");
        let device = uuid::Uuid::from_u128(9);
        let ids: Vec<uuid::Uuid> = (1..=3).map(|i| uuid::Uuid::from_u128(100 - i)).collect();
        let log = "INSERT INTO changes (id, device_id, device_seq, in_log, nik, hlc, kind,
                                       fields, agent, received_at, outcome, reject_code,
                                       reject_reason)
                   VALUES (?1, ?2, ?3, 1, '3372011203850001', ?4, 'edit', '{}', 'budi',
                           ?5, ?6, ?7, NULL)
                   ON CONFLICT DO NOTHING";
        {
            let mut conn = Connection::open(&path).unwrap();
            Migrations::new(migrations()[..10].to_vec())
                .to_latest(&mut conn)
                .unwrap();
            // Ids in the opposite order of their numbers and arrival: the
            // old table was kept in id order.
            for (i, id) in ids.iter().enumerate() {
                let seq = i64::try_from(i + 1).unwrap();
                let (outcome, code) = if seq == 2 {
                    ("rejected", Some("invalid_nik"))
                } else {
                    ("applied", None)
                };
                conn.execute(
                    log,
                    params![
                        id.as_bytes().as_slice(),
                        device.as_bytes().as_slice(),
                        seq,
                        format!("h{seq}"),
                        1_000 + seq,
                        outcome,
                        code
                    ],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let (rows, more) = store.device_changes_impl(device, 0, 10).unwrap();
        assert!(!more);
        let got: Vec<(u64, uuid::Uuid, &str, Option<&str>)> = rows
            .iter()
            .map(|r| (r.device_seq, r.id, r.outcome.as_str(), r.code.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, ids[0], "applied", None),
                (2, ids[1], "rejected", Some("invalid_nik")),
                (3, ids[2], "applied", None)
            ]
        );
        let conn = store.writer().unwrap();
        // A change id is still one row: a repeated change is not logged again.
        let again = conn
            .execute(
                log,
                params![
                    ids[1].as_bytes().as_slice(),
                    uuid::Uuid::from_u128(10).as_bytes().as_slice(),
                    7,
                    "h7",
                    2_000,
                    "applied",
                    None::<&str>
                ],
            )
            .unwrap();
        assert_eq!(again, 0);
        // Nor is another change at a number the device's log holds.
        let taken = conn
            .execute(
                log,
                params![
                    uuid::Uuid::from_u128(500).as_bytes().as_slice(),
                    device.as_bytes().as_slice(),
                    3,
                    "h8",
                    2_000,
                    "applied",
                    None::<&str>
                ],
            )
            .unwrap();
        assert_eq!(taken, 0);
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM pragma_index_list('changes') ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            indexes,
            [
                "changes_device_seq",
                "changes_nik",
                "changes_received",
                "sqlite_autoindex_changes_1"
            ]
        );
        let by_nik: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM changes WHERE nik = '3372011203850001'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(by_nik, 3);
    }

    /// A registration of `nik` at Pajang RW 3 RT 5, written by a device at
    /// `millis`.
    fn field_record(nik: &Nik, millis: u64, status: sigap_shared::Status) -> PersonRecord {
        let fields = Fields {
            name: Some("Warga".into()),
            birth_date: Some(nik.birth_date()),
            sex: Some(nik.sex()),
            kelurahan: Some(AreaCode::parse("33.72.01.1001").unwrap()),
            rw: Some(3),
            rt: Some(5),
            category: Some(Category::Bpu),
            occupation: Some("pedagang".into()),
            programs: Some(sigap_shared::registration::parse_programs("jkk,jkm").unwrap()),
            status: Some(status),
            ..Fields::default()
        };
        let hlc = Hlc {
            millis,
            counter: 0,
            device: uuid::Uuid::from_u128(7),
        };
        PersonRecord::from_write(nik.clone(), &fields, hlc)
    }

    #[test]
    fn upgrading_a_version_5_database_recounts_coverage_by_the_new_rule() {
        use sigap_shared::Status;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.db");
        let kota = AreaCode::parse("33.72").unwrap();
        let in_2024: u64 = 1_719_792_000_000; // 2024-07-01
        let niks: Vec<Nik> = [
            "3372011203850001",
            "3372015204900002",
            "3372011203850003",
            "3372011203850004",
            "3372011203850005",
        ]
        .iter()
        .map(|n| Nik::parse(n).unwrap())
        .collect();
        {
            let mut conn = Connection::open(&path).unwrap();
            Migrations::new(migrations()[..5].to_vec())
                .to_latest(&mut conn)
                .unwrap();
            let roll_only = {
                let fields = Fields {
                    kelurahan: Some(AreaCode::parse("33.72.01.1001").unwrap()),
                    rw: Some(3),
                    rt: Some(5),
                    category: Some(Category::Pu),
                    ..Fields::default()
                };
                let hlc = Hlc {
                    millis: 0,
                    counter: 1,
                    device: uuid::Uuid::nil(),
                };
                PersonRecord::from_write(niks[0].clone(), &fields, hlc)
            };
            // (record, participant, registered_at)
            let persons = [
                // In the roll only: undated, so covered for every year.
                (roll_only, true, None),
                // In the roll, and registered in 2024 then voided: version
                // 5 stopped counting them.
                (
                    field_record(&niks[1], in_2024, Status::Void),
                    true,
                    Some(in_2024),
                ),
                // Registered in the field in 2024.
                (
                    field_record(&niks[2], in_2024, Status::Registered),
                    false,
                    Some(in_2024),
                ),
                // Registered, then voided, not in the roll: not covered.
                (
                    field_record(&niks[3], in_2024, Status::Void),
                    false,
                    Some(in_2024),
                ),
                // A partial record (an edit without its registration):
                // version 5 counted it, for it has an address.
                (
                    {
                        let mut r = field_record(&niks[4], in_2024, Status::Registered);
                        r.fields.name = None;
                        r.stamps.0.remove(&sigap_shared::Field::Name);
                        r
                    },
                    false,
                    None,
                ),
            ];
            for (i, (record, participant, at)) in persons.iter().enumerate() {
                conn.execute(
                    "INSERT INTO persons (seq, nik, record, kelurahan, participant, registered_at)
                     VALUES (?1, ?2, ?3, '33.72.01.1001', ?4, ?5)",
                    params![
                        i64::try_from(i + 1).unwrap(),
                        record.nik.as_str(),
                        serde_json::to_string(record).unwrap(),
                        participant,
                        at.map(|m| i64::try_from(m).unwrap())
                    ],
                )
                .unwrap();
            }
            // What version 5 kept: the live records with an address.
            for (cat, n) in [("pu", 1), ("bpu", 2)] {
                conn.execute(
                    "INSERT INTO counters (area, category, covered) VALUES ('33.72', ?1, ?2)",
                    params![cat, n],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let report = store.verify_counters().unwrap();
        assert_eq!(report.persons, 5);
        assert!(report.differences.is_empty(), "{report:?}");
        let covered = |year: i32, through: i32| {
            let data = store.area_data(&kota, year, through).unwrap();
            data.counters.get(&kota).copied().unwrap_or_default()
        };
        // [pu, bpu, jakon, pmi]: the voided roll participant counts at the
        // merged category (bpu), undated like every roll row of version 5.
        assert_eq!(covered(2023, 2023), [1, 1, 0, 0]);
        assert_eq!(covered(2024, 2024), [1, 2, 0, 0]);
        assert_eq!(covered(2026, i32::MAX), [1, 2, 0, 0]);
        // An undated participant stays covered since always when a dated
        // roll lists them again.
        let row = crate::store::RollRow {
            nik: niks[0].clone(),
            kelurahan: AreaCode::parse("33.72.01.1001").unwrap(),
            rw: 3,
            rt: 5,
            category: Category::Pu,
        };
        let summary = store
            .import_participants_as_of(&[row], time::macros::date!(2026 - 01 - 05))
            .unwrap();
        assert_eq!(summary.unchanged, 1);
        assert_eq!(covered(2023, 2023), [1, 1, 0, 0]);
    }

    #[test]
    fn a_version_11_database_keeps_its_records_and_writes_stamps_as_masks_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v11.db");
        let niks: Vec<Nik> = ["3372011203850001", "3372011203850003"]
            .iter()
            .map(|n| Nik::parse(n).unwrap())
            .collect();
        let records: Vec<PersonRecord> = niks
            .iter()
            .map(|n| field_record(n, 1_719_792_000_000, sigap_shared::Status::Registered))
            .collect();
        // As a version 11 server wrote them: each group's fields by name.
        let names_form = |r: &PersonRecord| {
            serde_json::json!({
                "nik": r.nik,
                "fields": r.fields,
                "stamps": serde_json::to_value(&r.stamps).unwrap(),
            })
            .to_string()
        };
        {
            let mut conn = Connection::open(&path).unwrap();
            Migrations::new(migrations()[..11].to_vec())
                .to_latest(&mut conn)
                .unwrap();
            for (i, r) in records.iter().enumerate() {
                let json = names_form(r);
                assert!(json.contains(r#"["name","birth_date""#), "{json}");
                conn.execute(
                    "INSERT INTO persons (seq, nik, record, kelurahan, participant, registered_at)
                     VALUES (?1, ?2, ?3, '33.72.01.1001', 0, 1719792000000)",
                    params![i64::try_from(i + 1).unwrap(), r.nik.as_str(), json],
                )
                .unwrap();
            }
            counters::rebuild(&conn).unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 12);
        let report = store.verify_counters().unwrap();
        assert!(report.differences.is_empty(), "{report:?}");
        // A supervisor moves the first person: saved again, in masks.
        let to = Fields {
            rt: Some(6),
            ..Fields::default()
        };
        let moved = store.move_person(&niks[0], &to, "spv").unwrap();
        let raw = |nik: &Nik| -> String {
            store
                .read(|c| {
                    Ok(c.query_row(
                        "SELECT record FROM persons WHERE nik = ?1",
                        [nik.as_str()],
                        |r| r.get(0),
                    )?)
                })
                .unwrap()
        };
        let saved: serde_json::Value = serde_json::from_str(&raw(&niks[0])).unwrap();
        let groups = saved["stamps"].as_object().unwrap();
        assert!(
            groups.values().all(serde_json::Value::is_u64),
            "stamps not stored as masks: {saved}"
        );
        // Every field but the RT at the registration's time; the RT at the
        // move's.
        let mut masks: Vec<u64> = groups.values().filter_map(|v| v.as_u64()).collect();
        masks.sort_unstable();
        let written = records[0].stamps.0.keys().fold(0, |m, f| m | f.bit());
        let rt = sigap_shared::Field::Rt.bit();
        assert_eq!(masks, vec![u64::from(rt), u64::from(written & !rt)]);
        // The untouched person's row is as the old server left it, and
        // both read back whole, the stamps shown by name as before.
        assert_eq!(raw(&niks[1]), names_form(&records[1]));
        let view = store.person(&niks[0], false).unwrap().unwrap();
        assert_eq!(view.fields, moved.fields);
        assert_eq!(view.stamps, serde_json::to_value(&moved.stamps).unwrap());
        assert!(
            view.stamps.to_string().contains(r#"["rt"]"#),
            "{}",
            view.stamps
        );
        let old = store.person(&niks[1], false).unwrap().unwrap();
        assert_eq!(
            old.stamps,
            serde_json::to_value(&records[1].stamps).unwrap()
        );
        assert_eq!(old.fields, records[1].fields);
        let report = store.verify_counters().unwrap();
        assert!(report.differences.is_empty(), "{report:?}");
    }
}
