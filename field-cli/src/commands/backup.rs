//! `sigap backup FILE`: a consistent copy of this laptop's database, still
//! encrypted with the same key, and the key settings beside it. To
//! restore: put both back as the database file and its `.salt` (or point
//! `--db` at the copy); the same passphrase opens them.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::BackupArgs;
use crate::error::{CliError, exit};
use crate::i18n::{n, t};
use crate::output;
use crate::store::kdf::{DbKey, PageHmac, header_path};
use crate::store::{Store, encryption};

pub fn run(store: &Store, key: &DbKey, args: BackupArgs, json: bool) -> anyhow::Result<ExitCode> {
    let dest = args.file;
    let salt = header_path(&dest);
    for f in [&dest, &salt] {
        if f.exists() {
            return Err(CliError::Input(t!("backup-exists", file = f.display())).into());
        }
    }
    let hmac = PageHmac::of(&store.path)?;
    encryption::backup_to(&store.conn, key, hmac, &dest)?;
    std::fs::copy(header_path(&store.path), &salt).map_err(|e| {
        // Without its settings the copy cannot be opened: no half backup.
        let _ = std::fs::remove_file(&dest);
        CliError::Local(t!("backup-no-salt", file = salt.display(), detail = e))
    })?;
    let records: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))?;
    let changes: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))?;
    if json {
        output::json(&json!({
            "file": dest,
            "settings": salt,
            "records": records,
            "changes": changes,
        }))?;
    } else {
        output::line(&t!(
            "backup-written",
            file = dest.display(),
            salt = salt.display(),
            records = n(records),
            changes = n(changes)
        ))?;
    }
    Ok(super::code(exit::OK))
}
