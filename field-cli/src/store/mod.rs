//! The local store: one SQLite file (WAL, synchronous=FULL) holding the
//! device's configuration, its records, the outbox (which is also the change
//! history), the receipts of the server, the replica of the agent's areas
//! and the visit log.

pub mod outbox;
pub mod records;
pub mod repair;
pub mod replica;
pub mod visits;
pub mod writer;

use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use uuid::Uuid;

use crate::error::{CliError, Result};
use crate::i18n::t;

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        "CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE records (
        nik TEXT PRIMARY KEY,
        fields TEXT NOT NULL,
        stamps TEXT NOT NULL,
        warnings TEXT NOT NULL DEFAULT '[]',
        name TEXT NOT NULL DEFAULT '',
        kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
     );
     CREATE INDEX records_area ON records(kelurahan, rw, rt);
     CREATE TABLE changes (
        device_seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        nik TEXT NOT NULL,
        hlc TEXT NOT NULL,
        kind TEXT NOT NULL,
        fields TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'acked', 'rejected')),
        outcome TEXT,
        reject_code TEXT,
        reject_reason TEXT,
        superseded_by INTEGER REFERENCES changes(device_seq),
        created_at TEXT NOT NULL,
        answered_at TEXT
     );
     CREATE INDEX changes_nik ON changes(nik);
     CREATE INDEX changes_state ON changes(state, device_seq);
     CREATE TABLE receipts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        count INTEGER NOT NULL,
        highest_seq INTEGER NOT NULL,
        hash TEXT NOT NULL
     );
     CREATE TABLE replica (
        nik TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        participant INTEGER NOT NULL,
        registered_by TEXT,
        registered_at INTEGER,
        name TEXT,
        kelurahan TEXT, rw INTEGER, rt INTEGER, status TEXT,
        seq INTEGER NOT NULL
     );
     CREATE TABLE visits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kelurahan TEXT NOT NULL, rw INTEGER NOT NULL, rt INTEGER NOT NULL,
        households INTEGER NOT NULL,
        note TEXT,
        visited_at TEXT NOT NULL
     );
     CREATE INDEX visits_area ON visits(kelurahan, rw, rt);",
    ),
    // The pull feed no longer carries NIKs nor names: the replica is keyed
    // by the NIK's lookup hash and holds masked persons. It is emptied and
    // the pull cursor reset, so the next `sigap sync` fills it again.
    M::up(
        "DROP TABLE replica;
     CREATE TABLE replica (
        nik_hash TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        participant INTEGER NOT NULL,
        registered_by TEXT,
        registered_at INTEGER,
        name_masked TEXT,
        kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
        seq INTEGER NOT NULL
     );
     DELETE FROM config WHERE key IN ('pull_cursor', 'last_pull_at');",
    ),
    // The replica keyed by its lookup hash alone (no rowid and no separate
    // index), and without a JSON copy of each person beside the columns:
    // a pull writes a third of the bytes it wrote.
    M::up(
        "CREATE TABLE replica_v3 (
        nik_hash TEXT PRIMARY KEY,
        nik_masked TEXT NOT NULL,
        name_masked TEXT,
        participant INTEGER NOT NULL,
        registered_by TEXT,
        registered_at INTEGER,
        kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
        seq INTEGER NOT NULL
     ) WITHOUT ROWID;
     INSERT INTO replica_v3 (nik_hash, nik_masked, name_masked, participant, registered_by,
            registered_at, kelurahan, rw, rt, category, status, seq)
        SELECT nik_hash, COALESCE(json_extract(state, '$.nik_masked'), ''), name_masked,
            participant, registered_by, registered_at, kelurahan, rw, rt, category, status, seq
        FROM replica;
     DROP TABLE replica;
     ALTER TABLE replica_v3 RENAME TO replica;",
    ),
    // Only pending and rejected changes are looked up by state; an answered
    // change now leaves the pending index instead of moving within one
    // index of every change.
    M::up(
        "DROP INDEX changes_state;
     CREATE INDEX changes_pending ON changes(device_seq) WHERE state = 'pending';
     CREATE INDEX changes_rejected ON changes(device_seq) WHERE state = 'rejected';",
    ),
    // The state check written with ORs: as an IN list it made SQLite build
    // a temporary table for every change inserted (a third of the cost of
    // an import row). SQLite cannot alter a check, so the table is rebuilt.
    M::up(
        "CREATE TABLE changes_v5 (
        device_seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        nik TEXT NOT NULL,
        hlc TEXT NOT NULL,
        kind TEXT NOT NULL,
        fields TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state = 'pending' OR state = 'acked' OR state = 'rejected'),
        outcome TEXT,
        reject_code TEXT,
        reject_reason TEXT,
        superseded_by INTEGER REFERENCES changes_v5(device_seq),
        created_at TEXT NOT NULL,
        answered_at TEXT
     );
     INSERT INTO changes_v5 (device_seq, id, nik, hlc, kind, fields, state, outcome,
            reject_code, reject_reason, superseded_by, created_at, answered_at)
        SELECT device_seq, id, nik, hlc, kind, fields, state, outcome,
            reject_code, reject_reason, superseded_by, created_at, answered_at
        FROM changes;
     DROP TABLE changes;
     ALTER TABLE changes_v5 RENAME TO changes;
     CREATE INDEX changes_nik ON changes(nik);
     CREATE INDEX changes_pending ON changes(device_seq) WHERE state = 'pending';
     CREATE INDEX changes_rejected ON changes(device_seq) WHERE state = 'rejected';",
    ),
    // Half the bytes per registration: a record made by one write (a
    // registration not edited since) points at that change for its fields
    // and timestamps instead of holding a second copy of both (no foreign
    // key: a new record is inserted before its change, so that inserting
    // it is also the check that the NIK is new here); the records
    // table is keyed by NIK alone (no rowid, no separate index); a change's
    // id loses its unique index, which nothing reads (ids are UUIDv7 made
    // here, and the server refuses a reused one).
    M::up(
        "CREATE TABLE records_v6 (
        nik TEXT PRIMARY KEY,
        fields TEXT,
        stamps TEXT,
        fields_seq INTEGER,
        warnings TEXT NOT NULL DEFAULT '[]',
        name TEXT NOT NULL DEFAULT '',
        kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        CHECK ((fields IS NULL AND stamps IS NULL AND fields_seq IS NOT NULL)
            OR (fields IS NOT NULL AND stamps IS NOT NULL AND fields_seq IS NULL))
     ) WITHOUT ROWID;
     INSERT INTO records_v6 (nik, fields, stamps, warnings, name, kelurahan, rw, rt, category,
            status, created_at, updated_at)
        SELECT nik, fields, stamps, warnings, name, kelurahan, rw, rt, category,
            status, created_at, updated_at
        FROM records;
     DROP TABLE records;
     ALTER TABLE records_v6 RENAME TO records;
     CREATE INDEX records_area ON records(kelurahan, rw, rt);
     CREATE TABLE changes_v6 (
        device_seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        nik TEXT NOT NULL,
        hlc TEXT NOT NULL,
        kind TEXT NOT NULL,
        fields TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state = 'pending' OR state = 'acked' OR state = 'rejected'),
        outcome TEXT,
        reject_code TEXT,
        reject_reason TEXT,
        superseded_by INTEGER REFERENCES changes_v6(device_seq),
        created_at TEXT NOT NULL,
        answered_at TEXT
     );
     INSERT INTO changes_v6 (device_seq, id, nik, hlc, kind, fields, state, outcome,
            reject_code, reject_reason, superseded_by, created_at, answered_at)
        SELECT device_seq, id, nik, hlc, kind, fields, state, outcome,
            reject_code, reject_reason, superseded_by, created_at, answered_at
        FROM changes;
     DROP TABLE changes;
     ALTER TABLE changes_v6 RENAME TO changes;
     CREATE INDEX changes_nik ON changes(nik);
     CREATE INDEX changes_pending ON changes(device_seq) WHERE state = 'pending';
     CREATE INDEX changes_rejected ON changes(device_seq) WHERE state = 'rejected';",
    ),
    // The clock resumes from the newest change (every timestamp kept is a
    // change's): the copy in config cost every write a second page.
    M::up("DELETE FROM config WHERE key = 'hlc_last';"),
    // Protocol 2. A change answered `superseded` keeps which of its fields
    // the server holds differently and who wrote them, for `sigap show`.
    // Changes refused without being held stay pending with the code; an
    // index of them alone lets every sync ask for them without reading
    // every pending change.
    // The replica keeps how a person was voided (a voided person is no
    // longer covered) and who wrote the person last. Rows pulled before
    // lack those, so the pull cursor starts again: the next `sigap sync`
    // pulls the areas afresh and overwrites every row once.
    M::up(
        "ALTER TABLE changes ADD COLUMN held_differently TEXT;
     CREATE INDEX changes_refused ON changes(device_seq)
        WHERE state = 'pending' AND reject_code IS NOT NULL;
     ALTER TABLE replica ADD COLUMN voided_at INTEGER;
     ALTER TABLE replica ADD COLUMN void_reason TEXT;
     ALTER TABLE replica ADD COLUMN last_changed_by TEXT;
     DELETE FROM config WHERE key = 'pull_cursor';",
    ),
    // Client migration 10 (issue 13; renumbered after 9 at merge): visits
    // sync to the server. Each gets a UUIDv7 (`uid`, given to older rows
    // by the next `sigap sync` before it sends them) and is marked
    // `synced` only once the server answered for it; one the server
    // refused keeps its reason in `refused` and is not sent again.
    M::up(
        "ALTER TABLE visits ADD COLUMN uid TEXT;
     ALTER TABLE visits ADD COLUMN synced INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE visits ADD COLUMN refused TEXT;
     CREATE INDEX visits_unsynced ON visits(id) WHERE synced = 0 AND refused IS NULL;",
    ),
];

/// Keys of the `config` table.
pub mod key {
    pub const DEVICE_ID: &str = "device_id";
    pub const DEVICE_NAME: &str = "device_name";
    pub const SERVER_URL: &str = "server_url";
    pub const TOKEN: &str = "token";
    pub const PULL_CURSOR: &str = "pull_cursor";
    pub const LAST_SYNC_AT: &str = "last_sync_at";
    pub const LAST_PULL_AT: &str = "last_pull_at";
    /// How far this laptop's clock was ahead of the server's (negative:
    /// behind), in milliseconds, as measured at the last sync.
    pub const CLOCK_SKEW_MS: &str = "clock_skew_ms";
    /// When that was measured (RFC 3339, this laptop's clock).
    pub const CLOCK_CHECKED_AT: &str = "clock_checked_at";
    /// The server's highest number from this device when this device
    /// last found it was restored from an older backup with nothing to
    /// renumber, so that it says so once.
    pub const RESTORE_NOTED_SEQ: &str = "restore_noted_seq";
    /// The role of the token as the server said at `sigap init` (agent,
    /// supervisor, admin); absent when it could not be asked.
    pub const TOKEN_ROLE: &str = "token_role";
}

pub struct Store {
    pub conn: Connection,
    pub path: PathBuf,
}

/// WAL bytes kept between commands (about 60 pages: a handful of
/// registrations) before it is copied into the database and started
/// again from its beginning. The file keeps this size (SQLite's
/// `journal_size_limit`).
pub const WAL_KEEP: u64 = 256 * 1024;

impl Drop for Store {
    fn drop(&mut self) {
        // Housekeeping only: everything committed is already durable, and
        // a WAL left long is trimmed by the next command.
        let _ = self.trim_wal();
    }
}

/// The WAL file beside the database at `db`.
fn wal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// Syncs the database's folder when this process created its WAL file.
///
/// Why: SQLite is built without its own folder sync (see
/// `.cargo/config.toml`), which it did at the first commit of every
/// process although the WAL file, once made, is kept. A new WAL file's name
/// must reach the disk before anything committed into it counts as saved;
/// while this connection is open no other process removes the file.
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

/// This device, as set up by `sigap init`.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: Uuid,
    pub name: String,
    pub server_url: Option<String>,
    pub token: Option<String>,
}

/// The default database path: `sigap.db` in the user's data folder.
pub fn default_path() -> Result<PathBuf> {
    directories::ProjectDirs::from("id", "bpjs", "sigap")
        .map(|d| d.data_dir().join("sigap.db"))
        .ok_or_else(|| CliError::Local(t!("store-no-data-folder")))
}

/// How long a command waits for another that holds the database.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How a connection shares the database with other sigap processes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Locking {
    /// Other processes read and write beside it; the WAL index lives in a
    /// shared-memory file (`-shm`).
    Shared,
    /// It holds the database alone until it closes; the WAL index lives
    /// in its own memory.
    Exclusive,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, shared with
    /// other sigap processes, and brings its schema up to date. For
    /// commands that may run long (on the network, a person, a large file
    /// or a long output), which others must be able to run beside.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_as(path, Locking::Shared, BUSY_WAIT)?
            .ok_or_else(|| CliError::Local(t!("store-in-use")))
    }

    /// [`Store::open`] for a command that ends in milliseconds: it takes
    /// the database alone when no other sigap process has it open, and
    /// shares it otherwise. Another process that opens the database
    /// meanwhile waits for this command to end (the busy timeout).
    ///
    /// Why: a shared connection keeps the WAL index in a shared-memory
    /// file that every new process resets, extends page by page, maps and
    /// locks around each statement: a quarter of the system calls of a
    /// `sigap register`, 5 % of its time.
    pub fn open_short(path: &Path) -> Result<Store> {
        match Store::open_as(path, Locking::Exclusive, BUSY_WAIT)? {
            Some(store) => Ok(store),
            None => Store::open(path),
        }
    }

    /// Opens the database, waiting up to `wait` for another process that
    /// holds it alone; `None` when it is to be held alone and another
    /// process has it open.
    fn open_as(path: &Path, locking: Locking, wait: std::time::Duration) -> Result<Option<Store>> {
        let fail = |what: &str, err: &dyn std::fmt::Display| {
            CliError::Local(t!(
                "store-cannot-open",
                path = path.display(),
                what = what,
                detail = err
            ))
        };
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                fail(
                    &t!("store-cannot-create-folder", folder = parent.display()),
                    &e,
                )
            })?;
        }
        let wal = wal_path(path);
        let wal_existed = wal.exists();
        let mut conn = Connection::open(path).map_err(|e| fail("open", &e))?;
        if locking == Locking::Exclusive {
            // Set before the first read, which takes the lock. No waiting
            // for it: when another process is in, sharing serves as well.
            conn.execute_batch("PRAGMA locking_mode=EXCLUSIVE")
                .map_err(|e| fail("settings", &e))?;
            conn.busy_timeout(std::time::Duration::ZERO)
                .map_err(|e| fail("open", &e))?;
        } else {
            conn.busy_timeout(wait).map_err(|e| fail("open", &e))?;
        }
        let mode: String = match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)) {
            Ok(mode) => mode,
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                if locking == Locking::Exclusive {
                    return Ok(None);
                }
                return Err(fail(
                    &t!("store-held", seconds = wait.as_secs()),
                    &t!("store-try-again"),
                ));
            }
            Err(e) => return Err(fail(&t!("store-not-a-database"), &e)),
        };
        if locking == Locking::Exclusive {
            // It holds the lock from here; should a later statement still
            // have to wait, it waits as long as a shared one would.
            conn.busy_timeout(wait).map_err(|e| fail("open", &e))?;
        }
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(fail("journal mode", &format!("WAL refused ({mode})")));
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous=FULL; PRAGMA journal_size_limit={WAL_KEEP};"
        ))
        .map_err(|e| fail("settings", &e))?;
        // Every command is a short process: a checkpoint at each close
        // would cost more than the command. Committed data is durable in
        // the WAL; SQLite checkpoints it as the WAL grows.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(|e| fail("settings", &e))?;

        // Foreign keys are enforced from here on, but not while the schema
        // changes: a migration that rebuilds a table copies rows whose
        // references point forwards (SQLite's own procedure for altering
        // a table); the check after it says whether all of them hold.
        let before: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| fail("schema", &e))?;
        // Up to date (every command but the first after an upgrade): no
        // migration to look at.
        let latest = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if before != latest {
            Migrations::from_slice(MIGRATIONS)
                .to_latest(&mut conn)
                .map_err(|e| fail("schema", &e))?;
            // Checked only after migrations: the check reads every row.
            let broken: Option<String> = conn
                .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
                .optional()
                .map_err(|e| fail("schema", &e))?;
            if let Some(table) = broken {
                return Err(fail(
                    "schema",
                    &t!("store-broken-references", table = table),
                ));
            }
        }
        conn.execute_batch("PRAGMA foreign_keys=ON;")
            .map_err(|e| fail("settings", &e))?;
        // By now the WAL file exists (reading the schema version opens it).
        sync_folder_if_new(path, &wal, wal_existed)
            .map_err(|e| fail(&t!("store-cannot-sync-folder"), &e))?;
        Ok(Some(Store {
            conn,
            path: path.to_path_buf(),
        }))
    }

    pub fn get(&self, key: &str) -> Result<Option<String>> {
        get(&self.conn, key)
    }

    /// Settings for `sigap sync`, which writes only what the server can
    /// give again: answers to pushed changes (a lost answer means the
    /// change is sent again and the server answers "duplicate" or repeats
    /// its rejection) and replica pages (committed with their cursor, so a
    /// lost page is pulled again). Those commits may skip the fsync that
    /// registrations get; a power cut can undo the last of them but never
    /// damages the database nor loses a registration.
    pub fn relax_for_sync(&self) -> Result<()> {
        // Checkpoints wait for the end ([`Store::trim_wal`]) instead of
        // running after every page of answers or replica.
        self.conn.execute_batch(
            "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=0;",
        )?;
        Ok(())
    }

    /// Copies the committed WAL into the database. `sigap sync` calls it
    /// after each page it commits, while the next pages are on the
    /// network, so that little is left to copy when it ends.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Copies the WAL into the database and starts it again from its
    /// beginning once it has grown past [`WAL_KEEP`] bytes.
    ///
    /// Why: the first connection of each process rebuilds the WAL index
    /// by reading every frame of the WAL, and it cannot know which frames
    /// were already copied, so without a restart the WAL of a tool run as
    /// short processes only grows, and every command reads it all.
    ///
    /// Why a restart rather than a truncation: later commits then
    /// overwrite blocks the file already has, and syncing a file whose
    /// size has not changed (`fdatasync`, see `.cargo/config.toml`) writes
    /// only the data; every commit into a truncated file grew it. The
    /// file only grows past [`WAL_KEEP`] when the WAL holds more than that
    /// since its last restart, which is when it is trimmed again.
    pub fn trim_wal(&self) -> Result<()> {
        let wal = wal_path(&self.path);
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if size <= WAL_KEEP {
            return Ok(());
        }
        // Never wait for another sigap process (a sync running beside
        // this command): the next command trims instead.
        self.conn.busy_timeout(std::time::Duration::ZERO)?;
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get(0))?;
        if busy == 0 {
            // Everything is in the database now, but only a write of this
            // connection starts the WAL again: the next process would
            // rebuild its index from the old frames and append to them.
            // Rewriting the schema version (unchanged) is the smallest
            // write; it also cuts the file back to `journal_size_limit`.
            let version: i64 = self
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))?;
            self.conn
                .execute_batch(&format!("PRAGMA user_version={version}"))?;
        }
        Ok(())
    }

    /// The device, or an error telling the agent to run `sigap init`.
    pub fn device(&self) -> Result<Device> {
        self.device_opt()?
            .ok_or_else(|| CliError::Input(t!("store-not-set-up")))
    }

    pub fn device_opt(&self) -> Result<Option<Device>> {
        let Some(id) = self.get(key::DEVICE_ID)? else {
            return Ok(None);
        };
        let id = Uuid::parse_str(&id)
            .map_err(|e| CliError::Local(t!("damaged-device-id", id = id, detail = e)))?;
        Ok(Some(Device {
            id,
            name: self.get(key::DEVICE_NAME)?.unwrap_or_default(),
            server_url: self.get(key::SERVER_URL)?,
            token: self.get(key::TOKEN)?,
        }))
    }
}

pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    // Cached: a command reads four or more keys (the device's).
    Ok(conn
        .prepare_cached("SELECT value FROM config WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO config(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Now, as stored in the database (RFC 3339, UTC).
pub fn now_text() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use sigap_shared::{Hlc, HlcClock};

    /// A database as the first `n` migrations left it, for upgrade tests.
    fn db_at(n: usize) -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = Connection::open(&path).unwrap();
        Migrations::from_slice(&MIGRATIONS[..n])
            .to_latest(&mut conn)
            .unwrap();
        (dir, path, conn)
    }

    /// Frames in the WAL of `path` since it last started, as a new
    /// process sees them (it rebuilds the WAL index from the file).
    fn wal_frames(path: &Path) -> i64 {
        let conn = Connection::open(path).unwrap();
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .unwrap();
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap()
    }

    #[test]
    fn a_long_wal_is_copied_and_started_again_when_a_command_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let wal = dir.path().join("wal.db-wal");
        let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        {
            let store = Store::open_short(&path).unwrap();
            store
                .conn
                .execute_batch("PRAGMA wal_autocheckpoint=0")
                .unwrap();
            for i in 0..200 {
                set(&store.conn, &format!("k{i}"), &"x".repeat(2000)).unwrap();
            }
            assert!(wal_size() > WAL_KEEP);
        }
        // Started again with one small write, and cut back to its kept size.
        assert_eq!(wal_size(), WAL_KEEP);
        assert_eq!(wal_frames(&path), 1);
        // Nothing committed was lost on the way.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.get("k199").unwrap().map(|v| v.len()), Some(2000));
        drop(store);
        for i in 0..5 {
            // Short commands write over the old frames: the file keeps its
            // size, and the next process reads only the new frames.
            let store = Store::open_short(&path).unwrap();
            set(&store.conn, &format!("k{i}"), "y").unwrap();
        }
        assert_eq!(wal_size(), WAL_KEEP);
        assert_eq!(wal_frames(&path), 6);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.get("k4").unwrap().as_deref(), Some("y"));
        assert_eq!(store.get("k5").unwrap().map(|v| v.len()), Some(2000));
    }

    #[test]
    fn changes_survive_the_rebuild_with_their_forward_references() {
        let (_dir, path, conn) = db_at(4);
        // Change 1 was rejected and corrected by change 2.
        conn.execute_batch(
            "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, state, created_at)
             VALUES (1, 'a', '3372011203850001', 'h1', 'register', '{}', 'rejected', 't'),
                    (2, 'b', '3372011203850001', 'h2', 'edit', '{}', 'pending', 't');
             UPDATE changes SET superseded_by = 2 WHERE device_seq = 1;",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let rows: Vec<(i64, String, Option<i64>)> = store
            .conn
            .prepare("SELECT device_seq, state, superseded_by FROM changes ORDER BY device_seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, "rejected".to_string(), Some(2)),
                (2, "pending".to_string(), None)
            ]
        );
        // The reference follows the rename and is enforced again.
        let bad = store.conn.execute(
            "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, superseded_by, created_at)
             VALUES (3, 'c', '3372011203850001', 'h3', 'edit', '{}', 99, 't')",
            [],
        );
        assert!(bad.is_err());
        let bad_state = store.conn.execute(
            "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, state, created_at)
             VALUES (4, 'd', '3372011203850001', 'h4', 'edit', '{}', 'lost', 't')",
            [],
        );
        assert!(bad_state.is_err());
    }

    #[test]
    fn replica_rows_survive_the_move_to_the_compact_table() {
        let nik = sigap_shared::Nik::parse("3372011203850001").unwrap();
        let person = sigap_shared::wire::PersonState {
            participant: true,
            registered_by: Some("budi".into()),
            registered_at: Some(1_764_000_000_000),
            seq: 9,
            ..sigap_shared::wire::PersonState::masked(
                &nik,
                &sigap_shared::Fields {
                    name: Some("Budi Santoso".into()),
                    kelurahan: Some(sigap_shared::AreaCode::parse("33.72.01.1001").unwrap()),
                    rw: Some(3),
                    rt: Some(5),
                    category: Some(sigap_shared::Category::Bpu),
                    status: Some(sigap_shared::Status::Registered),
                    ..Default::default()
                },
            )
        };
        // The replica as migration 2 left it: a JSON copy beside columns.
        let (_dir, path, conn) = db_at(2);
        conn.execute(
            "INSERT INTO replica(nik_hash, state, participant, registered_by, registered_at,
                name_masked, kelurahan, rw, rt, category, status, seq)
             VALUES (?1, ?2, 1, 'budi', 1764000000000, ?3, '33.72.01.1001', 3, 5, 'bpu',
                'registered', 9)",
            rusqlite::params![
                person.nik_hash,
                serde_json::to_string(&person).unwrap(),
                person.name_masked
            ],
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        assert_eq!(replica::get(&store.conn, &nik).unwrap(), Some(person));
    }

    fn budi() -> (sigap_shared::Nik, sigap_shared::Fields) {
        let nik = sigap_shared::Nik::parse("3372011203850001").unwrap();
        let fields = sigap_shared::Fields {
            name: Some("Budi Santoso".into()),
            kelurahan: Some(sigap_shared::AreaCode::parse("33.72.01.1001").unwrap()),
            rw: Some(3),
            rt: Some(5),
            category: Some(sigap_shared::Category::Bpu),
            status: Some(sigap_shared::Status::Registered),
            ..Default::default()
        };
        (nik, fields)
    }

    #[test]
    fn a_registration_is_stored_once_and_an_edit_gets_its_own_copy() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let device = Uuid::now_v7();
        let (nik, fields) = budi();
        let mut w = writer::Writer::begin(&mut store.conn, device).unwrap();
        let hlc = w.tick();
        let registered = sigap_shared::PersonRecord::from_write(nik.clone(), &fields, hlc);
        let seq = w.register(&nik, &fields, &[], hlc).unwrap().unwrap();
        w.commit().unwrap();
        // No second copy of the fields: the record points at its change.
        let (copy, points_at): (Option<String>, Option<i64>) = store
            .conn
            .query_row("SELECT fields, fields_seq FROM records", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((copy, points_at), (None, Some(seq)));
        let read = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(read.record, registered);
        assert_eq!(read.pending, 1);

        // An edit of the phone alone: the record now holds two timestamps
        // and its own fields; the registration change is unchanged.
        let mut w = writer::Writer::begin(&mut store.conn, device).unwrap();
        let later = w.tick();
        let edit = sigap_shared::Fields {
            phone: Some("081234567890".into()),
            ..Default::default()
        };
        let mut edited = registered.clone();
        edited.apply(&edit, later);
        w.save(&edited, &[], sigap_shared::ChangeKind::Edit, &edit, later)
            .unwrap();
        w.commit().unwrap();
        let read = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(read.record, edited);
        assert_eq!(read.pending, 2);
        let changes = outbox::history(&store.conn, &nik).unwrap();
        assert_eq!(changes.len(), 2);
        // Change ids are distinct UUIDv7s carrying the change's clock time.
        let ids: Vec<Uuid> = changes.iter().map(|c| c.id.parse().unwrap()).collect();
        assert_ne!(ids[0], ids[1]);
        for (id, h) in ids.iter().zip([hlc, later]) {
            assert_eq!(id.get_version_num(), 7);
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            assert_eq!(secs * 1000 + u64::from(nanos) / 1_000_000, h.millis);
        }
    }

    fn locking_mode(store: &Store) -> String {
        store
            .conn
            .query_row("PRAGMA locking_mode", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_short_command_holds_the_database_alone_only_when_nobody_else_is_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let alone = Store::open_short(&path).unwrap();
            assert_eq!(locking_mode(&alone), "exclusive");
            set(&alone.conn, "k", "from the short command").unwrap();
        }
        // A long command (a sync) is in: a short one shares the database,
        // and each sees what the other committed.
        let long = Store::open(&path).unwrap();
        assert_eq!(
            long.get("k").unwrap().as_deref(),
            Some("from the short command")
        );
        let short = Store::open_short(&path).unwrap();
        assert_eq!(locking_mode(&short), "normal");
        set(&short.conn, "k", "beside the sync").unwrap();
        assert_eq!(long.get("k").unwrap().as_deref(), Some("beside the sync"));
        set(&long.conn, "k", "from the sync").unwrap();
        assert_eq!(short.get("k").unwrap().as_deref(), Some("from the sync"));
    }

    #[test]
    fn a_command_started_beside_a_short_one_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let alone = Store::open_short(&path).unwrap();
        assert_eq!(locking_mode(&alone), "exclusive");
        let (opened_tx, opened) = std::sync::mpsc::channel();
        let other = {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = Store::open(&path).unwrap();
                opened_tx.send(()).unwrap();
                store.get("k").unwrap()
            })
        };
        // Still held: the other command waits rather than failing.
        assert!(
            opened
                .recv_timeout(std::time::Duration::from_millis(300))
                .is_err()
        );
        set(&alone.conn, "k", "saved first").unwrap();
        drop(alone);
        assert_eq!(other.join().unwrap().as_deref(), Some("saved first"));
    }

    #[test]
    fn a_command_kept_waiting_too_long_says_why_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let _alone = Store::open_short(&path).unwrap();
        let wait = std::time::Duration::from_millis(100);
        let err = match Store::open_as(&path, Locking::Shared, wait) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("opened a database another command holds"),
        };
        assert!(err.contains("another sigap command has held it"), "{err}");
        assert!(err.contains("try again when it has ended"), "{err}");
    }

    #[test]
    fn the_clock_and_numbers_resume_after_the_newest_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let device = Uuid::now_v7();
        // An older database kept the clock in config too; the copy goes.
        let (_old, old_path, conn) = db_at(6);
        conn.execute("INSERT INTO config VALUES ('hlc_last', 'x')", [])
            .unwrap();
        drop(conn);
        let old = Store::open(&old_path).unwrap();
        assert_eq!(old.get("hlc_last").unwrap(), None);

        // The newest change was stamped an hour ahead of the system clock
        // (the clock was set back since).
        let ahead = Hlc {
            millis: sigap_shared::hlc::wall_millis() + 3_600_000,
            counter: 7,
            device,
        };
        let (nik, fields) = budi();
        let mut store = Store::open(&path).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, created_at)
                 VALUES (41, 'a', ?1, ?2, 'register', '{}', 't')",
                [nik.as_str(), &ahead.to_sortable()],
            )
            .unwrap();
        let mut w = writer::Writer::begin(&mut store.conn, device).unwrap();
        let next = w.tick();
        assert!(next > ahead, "{next:?} after {ahead:?}");
        let other = sigap_shared::Nik::parse("3372011203850002").unwrap();
        assert_eq!(w.register(&other, &fields, &[], next).unwrap(), Some(42));
        w.commit().unwrap();

        // Another device's stamps (a database copied from it) are not
        // resumed: this device's clock starts afresh.
        let mut w = writer::Writer::begin(&mut store.conn, Uuid::now_v7()).unwrap();
        assert!(w.tick().millis <= sigap_shared::hlc::wall_millis());
    }

    #[test]
    fn a_record_pointing_at_a_missing_change_is_an_error_that_says_what_is_safe() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let (nik, _) = budi();
        store
            .conn
            .execute(
                "INSERT INTO records(nik, fields_seq, created_at, updated_at)
                 VALUES (?1, 99, 't', 't')",
                [nik.as_str()],
            )
            .unwrap();
        let err = records::get(&store.conn, &nik).unwrap_err().to_string();
        assert!(err.contains("is damaged (no fields)"), "{err}");
        assert!(err.contains("`sigap sync` still sends them"), "{err}");
    }

    #[test]
    fn records_and_changes_survive_the_move_to_shared_fields() {
        let (nik, fields) = budi();
        let mut clock = HlcClock::new(Uuid::now_v7());
        let mut record = sigap_shared::PersonRecord::from_write(nik.clone(), &fields, clock.now());
        let edit = sigap_shared::Fields {
            phone: Some("081234567890".into()),
            ..Default::default()
        };
        record.apply(&edit, clock.now());
        let (_dir, path, conn) = db_at(5);
        conn.execute(
            "INSERT INTO records(nik, fields, stamps, warnings, name, kelurahan, rw, rt, category,
                status, created_at, updated_at)
             VALUES (?1, ?2, ?3, '[]', 'Budi Santoso', '33.72.01.1001', 3, 5, 'bpu',
                'registered', 't1', 't2')",
            rusqlite::params![
                nik.as_str(),
                serde_json::to_string(&record.fields).unwrap(),
                serde_json::to_string(&record.stamps).unwrap()
            ],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, state, created_at)
             VALUES (1, 'a', '3372011203850001', 'h1', 'register', '{}', 'acked', 't1'),
                    (2, 'b', '3372011203850001', 'h2', 'edit', '{}', 'pending', 't2');",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let read = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(read.record, record);
        assert_eq!((read.pending, read.created_at.as_str()), (1, "t1"));
        assert_eq!(outbox::history(&store.conn, &nik).unwrap().len(), 2);
        // A record holds either its own fields or a change's, never neither.
        let bad = store.conn.execute(
            "INSERT INTO records(nik, created_at, updated_at) VALUES ('3372011203850002', 't', 't')",
            [],
        );
        assert!(bad.is_err());
    }

    #[test]
    fn the_replica_keeps_void_details_and_pulls_again_after_the_upgrade() {
        let (nik, mut fields) = budi();
        // A replica row and cursor as migration 7 left them.
        let (_dir, path, conn) = db_at(7);
        let before = sigap_shared::wire::PersonState {
            registered_by: Some("rina".into()),
            registered_at: Some(1_764_000_000_000),
            seq: 9,
            ..sigap_shared::wire::PersonState::masked(&nik, &fields)
        };
        conn.execute(
            "INSERT INTO replica(nik_hash, nik_masked, name_masked, participant, registered_by,
                registered_at, kelurahan, rw, rt, category, status, seq)
             VALUES (?1, ?2, ?3, 0, 'rina', 1764000000000, '33.72.01.1001', 3, 5, 'bpu',
                'registered', 9)",
            rusqlite::params![before.nik_hash, before.nik_masked, before.name_masked],
        )
        .unwrap();
        conn.execute("INSERT INTO config VALUES ('pull_cursor', '9')", [])
            .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        // Kept (lookups still answer), but pulled again to learn the rest.
        assert_eq!(replica::get(&store.conn, &nik).unwrap(), Some(before));
        assert_eq!(store.get(key::PULL_CURSOR).unwrap(), None);

        fields.status = Some(sigap_shared::Status::Void);
        fields.void_reason = Some("moved to Jakarta".into());
        let voided = sigap_shared::wire::PersonState {
            registered_by: Some("rina".into()),
            registered_at: Some(1_764_000_000_000),
            voided_at: Some(1_764_100_000_000),
            last_changed_by: Some("supervisor sari".into()),
            seq: 12,
            ..sigap_shared::wire::PersonState::masked(&nik, &fields)
        };
        replica::upsert(&store.conn, &voided).unwrap();
        let got = replica::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(got, voided);
        assert!(!replica::blocks_registration(&got));
        assert_eq!(
            replica::describe(&got),
            "was registered by rina on 24 November 2025, then voided on 25 November 2025 (moved to Jakarta)"
        );
        // A participant stays one, whatever became of a field registration.
        let participant = sigap_shared::wire::PersonState {
            participant: true,
            ..voided
        };
        assert!(replica::blocks_registration(&participant));
        assert!(replica::describe(&participant).starts_with("is already a participant"));
    }

    #[test]
    fn the_replica_migration_empties_it_and_resets_the_pull_cursor() {
        // A database made before the masked feed: replica keyed by NIK.
        let (_dir, path, conn) = db_at(1);
        conn.execute_batch(
            "INSERT INTO replica(nik, state, participant, name, seq)
             VALUES ('3372011203850001', '{}', 0, 'Budi Santoso', 7);
             INSERT INTO config(key, value) VALUES ('pull_cursor', '7'),
                ('last_pull_at', '2026-11-25T16:31:07Z'), ('device_name', 'x');",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        assert_eq!(replica::count(&store.conn).unwrap(), 0);
        assert_eq!(store.get(key::PULL_CURSOR).unwrap(), None);
        assert_eq!(store.get(key::LAST_PULL_AT).unwrap(), None);
        assert_eq!(store.get(key::DEVICE_NAME).unwrap().as_deref(), Some("x"));
        let old: i64 = store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('replica') WHERE name IN ('nik', 'name')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0);
    }
}
