//! Opening the database file: how it is shared with other sigap
//! processes, its journal (WAL) and how the WAL is kept short.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::config::DbConfig;

use super::kdf::DbKey;
use super::{Store, encryption, files, migrations};
use crate::error::{CliError, Result};
use crate::i18n::t;

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
    pub fn open(path: &Path, key: Option<&DbKey>) -> Result<Store> {
        Store::open_as(path, key, Locking::Shared, BUSY_WAIT)?
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
    pub fn open_short(path: &Path, key: Option<&DbKey>) -> Result<Store> {
        match Store::open_as(path, key, Locking::Exclusive, BUSY_WAIT)? {
            Some(store) => Ok(store),
            None => Store::open(path, key),
        }
    }

    /// Opens the database, waiting up to `wait` for another process that
    /// holds it alone; `None` when it is to be held alone and another
    /// process has it open.
    /// `key` is the SQLCipher key (none: an unencrypted database, which
    /// only tests open).
    fn open_as(
        path: &Path,
        key: Option<&DbKey>,
        locking: Locking,
        wait: std::time::Duration,
    ) -> Result<Option<Store>> {
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
        if !path.exists() {
            // Made private before SQLite opens it: its WAL and
            // shared-memory files take the database file's mode.
            files::create_private(path).map_err(|e| fail(&t!("step-create"), &e))?;
        }
        super::cipher_provider::prepare();
        let mut conn = Connection::open(path).map_err(|e| fail(&t!("step-open"), &e))?;
        if let Some(key) = key {
            let hmac = super::kdf::PageHmac::of(path)?;
            encryption::apply_key(&conn, key, hmac).map_err(|e| fail(&t!("step-key"), &e))?;
        }
        if locking == Locking::Exclusive {
            // Set before the first read, which takes the lock. No waiting
            // for it: when another process is in, sharing serves as well.
            conn.execute_batch("PRAGMA locking_mode=EXCLUSIVE")
                .map_err(|e| fail(&t!("step-settings"), &e))?;
            conn.busy_timeout(std::time::Duration::ZERO)
                .map_err(|e| fail(&t!("step-open"), &e))?;
        } else {
            conn.busy_timeout(wait)
                .map_err(|e| fail(&t!("step-open"), &e))?;
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
            Err(e) if key.is_some() && encryption::is_wrong_key(&e) => {
                return Err(encryption::wrong_passphrase(path));
            }
            Err(e) => return Err(fail(&t!("store-not-a-database"), &e)),
        };
        if locking == Locking::Exclusive {
            // It holds the lock from here; should a later statement still
            // have to wait, it waits as long as a shared one would.
            conn.busy_timeout(wait)
                .map_err(|e| fail(&t!("step-open"), &e))?;
        }
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(fail(
                &t!("step-journal-mode"),
                &t!("step-wal-refused", mode = mode),
            ));
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous=FULL; PRAGMA journal_size_limit={WAL_KEEP};"
        ))
        .map_err(|e| fail(&t!("step-settings"), &e))?;
        // Every command is a short process: a checkpoint at each close
        // would cost more than the command. Committed data is durable in
        // the WAL; SQLite checkpoints it as the WAL grows.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(|e| fail(&t!("step-settings"), &e))?;

        migrations::bring_up_to_date(&mut conn).map_err(|e| fail(&t!("step-schema"), &e))?;
        conn.execute_batch("PRAGMA foreign_keys=ON;")
            .map_err(|e| fail(&t!("step-settings"), &e))?;
        // By now the WAL file exists (reading the schema version opens it).
        sync_folder_if_new(path, &wal, wal_existed)
            .map_err(|e| fail(&t!("store-cannot-sync-folder"), &e))?;
        Ok(Some(Store {
            conn,
            path: path.to_path_buf(),
        }))
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::store::set;

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
            let store = Store::open_short(&path, None).unwrap();
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
        let store = Store::open(&path, None).unwrap();
        assert_eq!(store.get("k199").unwrap().map(|v| v.len()), Some(2000));
        drop(store);
        for i in 0..5 {
            // Short commands write over the old frames: the file keeps its
            // size, and the next process reads only the new frames.
            let store = Store::open_short(&path, None).unwrap();
            set(&store.conn, &format!("k{i}"), "y").unwrap();
        }
        assert_eq!(wal_size(), WAL_KEEP);
        assert_eq!(wal_frames(&path), 6);
        let store = Store::open(&path, None).unwrap();
        assert_eq!(store.get("k4").unwrap().as_deref(), Some("y"));
        assert_eq!(store.get("k5").unwrap().map(|v| v.len()), Some(2000));
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
            let alone = Store::open_short(&path, None).unwrap();
            assert_eq!(locking_mode(&alone), "exclusive");
            set(&alone.conn, "k", "from the short command").unwrap();
        }
        // A long command (a sync) is in: a short one shares the database,
        // and each sees what the other committed.
        let long = Store::open(&path, None).unwrap();
        assert_eq!(
            long.get("k").unwrap().as_deref(),
            Some("from the short command")
        );
        let short = Store::open_short(&path, None).unwrap();
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
        let alone = Store::open_short(&path, None).unwrap();
        assert_eq!(locking_mode(&alone), "exclusive");
        let (opened_tx, opened) = std::sync::mpsc::channel();
        let other = {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = Store::open(&path, None).unwrap();
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
        let _alone = Store::open_short(&path, None).unwrap();
        let wait = std::time::Duration::from_millis(100);
        let err = match Store::open_as(&path, None, Locking::Shared, wait) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("opened a database another command holds"),
        };
        assert!(err.contains("another sigap command has held it"), "{err}");
        assert!(err.contains("try again when it has ended"), "{err}");
    }

    #[test]
    fn the_database_engine_is_sqlcipher_built_with_the_projects_flags() {
        let conn = Connection::open_in_memory().unwrap();
        let options: Vec<String> = conn
            .prepare("PRAGMA compile_options")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let has = |o: &str| options.iter().any(|x| x == o);
        // SQLCipher, and `.cargo/config.toml`'s LIBSQLITE3_FLAGS applied.
        assert!(has("HAS_CODEC"), "{options:?}");
        assert!(has("DISABLE_DIRSYNC"), "{options:?}");
        assert!(has("DEFAULT_MEMSTATUS=0"), "{options:?}");
        assert!(!has("ENABLE_FTS5"), "{options:?}");
        let version: String = conn
            .query_row("PRAGMA cipher_version", [], |r| r.get(0))
            .unwrap();
        assert!(version.starts_with('4'), "{version}");
    }
}
