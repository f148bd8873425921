//! `sigap unlock`, `sigap lock`, `sigap passphrase`: the database's key.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::UnlockArgs;
use crate::error::exit;
use crate::i18n::t;
use crate::output;
use crate::store::Store;
use crate::store::encryption;
use crate::store::kdf::{DbKey, KdfHeader};
use crate::unlock;

/// Keeps the key (the passphrase was just checked by opening the
/// database with it) in the OS keyring for the time asked.
pub fn unlock(
    store: &Store,
    key: &DbKey,
    args: UnlockArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    unlock::keep(&store.path, key, args.how_long)?;
    let minutes = args.how_long.as_secs() / 60;
    if json {
        output::json(&json!({"unlocked": true, "minutes": minutes}))?;
    } else {
        output::line(&t!(
            "unlock-done",
            duration = crate::sync::human_duration(
                crate::i18n::lang(),
                args.how_long.as_millis().try_into().unwrap_or(u64::MAX)
            )
        ))?;
    }
    Ok(super::code(exit::OK))
}

/// Forgets the kept key; needs no passphrase.
pub fn lock(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let was = unlock::forget(path);
    if json {
        output::json(&json!({"locked": true, "was_unlocked": was}))?;
    } else if was {
        output::line(&t!("lock-done"))?;
    } else {
        output::line(&t!("lock-was-not-unlocked"))?;
    }
    Ok(super::code(exit::OK))
}

/// Re-encrypts the database under a new passphrase; the salt stays.
pub fn change(store: &mut Store, json: bool) -> anyhow::Result<ExitCode> {
    let header = KdfHeader::read(&store.path)?
        .ok_or_else(|| crate::error::CliError::Local(t!("passphrase-no-settings")))?;
    let new = unlock::new_passphrase(unlock::NEW_PASSPHRASE_ENV, &t!("passphrase-choose-new"))?;
    let key = header.derive(&new)?;
    encryption::rekey(&store.conn, &key)?;
    // A key kept by `sigap unlock` is the old one now.
    unlock::forget(&store.path);
    if json {
        output::json(&json!({"changed": true}))?;
    } else {
        output::line(&t!("passphrase-changed"))?;
    }
    Ok(super::code(exit::OK))
}
