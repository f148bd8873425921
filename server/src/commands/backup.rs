//! `sigap-server backup FILE`: a consistent copy while the server serves.

use std::path::Path;
use std::process::ExitCode;

use super::CommandError;
use super::Opened;

pub fn run(opened: &Opened, file: &Path) -> Result<ExitCode, CommandError> {
    let Opened::Sqlite(store) = opened else {
        return Err(super::usage(
            "backup copies a SQLite database; back up PostgreSQL with its own tools (pg_dump, or a base backup with WAL archiving)",
        ));
    };
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
