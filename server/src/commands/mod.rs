//! The admin commands and `serve`, one file per group.

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::store::{SqliteStore, StoreError};

mod baseline;
mod coverage;
mod device;
mod participants;
mod serve;
mod token;

/// Why a command failed; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad arguments or input: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The database failed: exit 3.
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CommandError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CommandError::Usage(_) => ExitCode::from(2),
            CommandError::Store(StoreError::Invalid { .. }) => ExitCode::from(2),
            CommandError::Store(_) => ExitCode::from(3),
            CommandError::Io(_) => ExitCode::from(3),
        }
    }
}

pub(crate) fn usage(msg: impl Into<String>) -> CommandError {
    CommandError::Usage(msg.into())
}

fn open(cli: &Cli) -> Result<SqliteStore, CommandError> {
    SqliteStore::open(&cli.db).map_err(|e| {
        CommandError::Store(StoreError::Corrupt(format!(
            "cannot open database {}: {e} (check --db / SIGAP_SERVER_DB)",
            cli.db.display()
        )))
    })
}

/// Runs a parsed command line; the exit code says how it went.
pub fn run(cli: Cli) -> Result<ExitCode, CommandError> {
    let store = open(&cli)?;
    match cli.command {
        Command::Serve {
            listen,
            max_clock_skew,
            behind_tls,
        } => serve::run(store, listen, max_clock_skew, behind_tls),
        Command::Token(c) => token::run(&store, c),
        Command::Baseline(c) => baseline::run(&store, c),
        Command::Target(c) => baseline::run_target(&store, c),
        Command::Participants(c) => participants::run(&store, c),
        Command::Coverage(c) => coverage::run(&store, c),
        Command::Device(c) => device::run(&store, c),
    }
}

/// Prints rejected CSV rows and says whether to fail.
/// Prints each rejected row; with `--strict` and any rejection, says that
/// nothing is imported and returns the exit code to stop with.
pub(crate) fn report_rejects(rejects: &[String], strict: bool) -> Option<ExitCode> {
    for r in rejects {
        eprintln!("{r}");
    }
    if strict && !rejects.is_empty() {
        eprintln!(
            "--strict: {} bad rows, nothing imported; correct them and import again",
            rejects.len()
        );
        return Some(ExitCode::from(1));
    }
    None
}
