//! SQLCipher: the database file is encrypted with the key of
//! [`super::kdf`]. A database of a version before encryption is copied
//! into an encrypted file on first use and put in its place whole.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::kdf::{DbKey, KdfHeader, PageHmac};
use crate::error::{CliError, Result};
use crate::i18n::t;

/// What is at a database path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Nothing yet (or an empty file).
    Missing,
    /// A database of a version before encryption: SQLite's header in clear.
    Plain,
    /// Anything else: an encrypted database (or not a database at all,
    /// which the key check tells apart only as "wrong key").
    Encrypted,
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

pub fn file_state(path: &Path) -> Result<FileState> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(e) => {
            return Err(CliError::Local(t!(
                "db-cannot-read",
                db = path.display(),
                detail = e
            )));
        }
    };
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => {
                return Err(CliError::Local(t!(
                    "db-cannot-read",
                    db = path.display(),
                    detail = e
                )));
            }
        }
    }
    Ok(match got {
        0 => FileState::Missing,
        _ if &head == SQLITE_HEADER => FileState::Plain,
        _ => FileState::Encrypted,
    })
}

/// Gives a new connection its key and its database's page HMAC: the
/// first statements on it.
pub fn apply_key(conn: &Connection, key: &DbKey, hmac: PageHmac) -> rusqlite::Result<()> {
    // SQLCipher logs a wrong key's failed page checks to stderr itself;
    // the agent gets one clear message from this tool instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    let sql = zeroize::Zeroizing::new(format!("PRAGMA key = {};", key.pragma_value().as_str()));
    conn.execute_batch(&sql)?;
    conn.execute_batch(&hmac.pragma("main"))
}

/// Whether `err` is SQLCipher's answer to a wrong key.
pub fn is_wrong_key(err: &rusqlite::Error) -> bool {
    err.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase)
}

pub fn wrong_passphrase(path: &Path) -> CliError {
    CliError::Passphrase(t!("db-wrong-passphrase", db = path.display()))
}

fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Encrypts the unencrypted database at `path` with the key derived under
/// `header`: its contents are copied into a new encrypted file
/// (`sqlcipher_export`), which is synced and renamed over the old one. Cut
/// off before the rename, the old file is intact and the next command
/// starts again; the settings are written first, so the file renamed in
/// place always has them beside it.
pub fn encrypt_plain(path: &Path, header: &KdfHeader, key: &DbKey) -> Result<()> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        CliError::Local(t!(
            "db-cannot-encrypt",
            db = path.display(),
            what = what,
            detail = e
        ))
    };
    let tmp = beside(path, ".encrypting");
    // A copy left by an interrupted run: the old file is whole, start again.
    let _ = std::fs::remove_file(&tmp);
    super::files::create_private(&tmp).map_err(|e| fail(&t!("step-create"), &e))?;
    {
        super::cipher_provider::prepare();
        let conn = Connection::open(path).map_err(|e| fail(&t!("step-open"), &e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| fail(&t!("step-open"), &e))?;
        // Everything from the WAL into the file, and no WAL left behind
        // that SQLite would apply to the new file.
        let mode: String = conn
            .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
            .map_err(|e| fail(&t!("db-in-use-maybe"), &e))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(fail(&t!("step-journal-mode"), &t!("db-in-use-other")));
        }
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| fail(&t!("step-read"), &e))?;
        let raw = zeroize::Zeroizing::new(format!("x'{}'", key.to_hex().as_str()));
        conn.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            rusqlite::params![tmp.to_string_lossy(), raw.as_str()],
        )
        .and_then(|_| conn.execute_batch(&header.page_hmac.pragma("encrypted")))
        .map_err(|e| fail(&t!("step-attach"), &e))?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))
            .map_err(|e| fail(&t!("step-copy"), &e))?;
        conn.execute_batch(&format!(
            "PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"
        ))
        .map_err(|e| fail(&t!("step-copy"), &e))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| fail(&t!("step-sync"), &e))?;
    header.write(path)?;
    for stale in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(beside(path, stale));
    }
    std::fs::rename(&tmp, path).map_err(|e| fail(&t!("step-rename"), &e))?;
    super::files::sync_folder_of(path).map_err(|e| fail(&t!("step-sync-folder"), &e))?;
    Ok(())
}

/// Writes a consistent copy of the open database to `dest` (a new file,
/// mode 0600), encrypted with the same `key` and page HMAC: `sqlcipher_export`
/// reads one snapshot, so commands of other sigap processes wait at most a
/// moment.
pub fn backup_to(conn: &Connection, key: &DbKey, hmac: PageHmac, dest: &Path) -> Result<()> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        CliError::Local(t!(
            "db-cannot-backup",
            file = dest.display(),
            what = what,
            detail = e
        ))
    };
    super::files::create_private(dest).map_err(|e| fail(&t!("step-create"), &e))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| fail(&t!("step-read"), &e))?;
    let raw = zeroize::Zeroizing::new(format!("x'{}'", key.to_hex().as_str()));
    conn.execute(
        "ATTACH DATABASE ?1 AS backup KEY ?2",
        rusqlite::params![dest.to_string_lossy(), raw.as_str()],
    )
    .and_then(|_| conn.execute_batch(&hmac.pragma("backup")))
    .map_err(|e| fail(&t!("step-attach"), &e))?;
    let copied = conn
        .query_row("SELECT sqlcipher_export('backup')", [], |_| Ok(()))
        .and_then(|()| conn.execute_batch(&format!("PRAGMA backup.user_version = {version};")));
    let detached = conn.execute_batch("DETACH DATABASE backup");
    copied.map_err(|e| fail(&t!("step-copy"), &e))?;
    detached.map_err(|e| fail(&t!("step-detach"), &e))?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(dest)
        .and_then(|f| f.sync_all())
        .map_err(|e| fail(&t!("step-sync"), &e))?;
    Ok(())
}

/// Re-encrypts the database of `conn` (held alone) with `new`: SQLCipher
/// rewrites every page in one transaction, so a cut leaves the old key.
pub fn rekey(conn: &Connection, new: &DbKey) -> Result<()> {
    let in_use = || CliError::Local(t!("db-in-use"));
    // Rekeyed through a rollback journal, which SQLCipher writes with
    // the key it is leaving; WAL again after.
    let mode: String = conn
        .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
        .map_err(|_| in_use())?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(in_use());
    }
    let sql = zeroize::Zeroizing::new(format!("PRAGMA rekey = {};", new.pragma_value().as_str()));
    conn.execute_batch(&sql)?;
    let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    Ok(())
}
