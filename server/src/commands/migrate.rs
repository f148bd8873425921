//! `sigap-server migrate`: the schema brought up to date (opening the
//! database did it) and its version said.

use std::process::ExitCode;

use super::{CommandError, Opened};

pub fn run(opened: &Opened) -> Result<ExitCode, CommandError> {
    let version = match opened {
        Opened::Sqlite(s) => s.schema_version()?,
        Opened::Postgres(s) => s.schema_version()?,
    };
    println!(
        "{}: schema at version {version}, up to date",
        opened.describe()
    );
    Ok(ExitCode::SUCCESS)
}
