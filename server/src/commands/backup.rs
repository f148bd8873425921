//! `sigap-server backup FILE`: a consistent copy while the server serves.

use std::path::Path;
use std::process::ExitCode;

use super::CommandError;
use crate::store::SqliteStore;

pub fn run(store: &SqliteStore, file: &Path) -> Result<ExitCode, CommandError> {
    let summary = store.backup_to(file)?;
    println!(
        "backup written to {}: {} persons, {} changes, {} bytes; integrity check ok",
        file.display(),
        summary.persons,
        summary.changes,
        summary.bytes
    );
    Ok(ExitCode::SUCCESS)
}
