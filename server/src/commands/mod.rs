//! The admin commands and `serve`, one file per group.

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::store::{PgStore, SqliteStore, Store, StoreError, postgres::is_postgres_url};

mod backup;
mod baseline;
pub mod copy;
mod coverage;
mod device;
mod migrate;
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

/// The database a command works on.
pub enum Opened {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Opened {
    pub fn store(&self) -> &dyn Store {
        match self {
            Opened::Sqlite(s) => s,
            Opened::Postgres(s) => s,
        }
    }

    /// Where the database says it is, for messages (no password).
    pub fn describe(&self) -> String {
        match self {
            Opened::Sqlite(s) => format!("SQLite {}", s.path().display()),
            Opened::Postgres(s) => format!("PostgreSQL (schema {})", s.schema()),
        }
    }
}

/// Opens the database named by `url` (`postgres://…`, `postgresql://…`
/// or `sqlite:PATH`), or the SQLite file `db` when there is none.
pub fn open_database(url: Option<&str>, db: &std::path::Path) -> Result<Opened, CommandError> {
    let cannot = |what: String, e: StoreError| {
        CommandError::Store(StoreError::Corrupt(format!(
            "cannot open {what}: {e} (check --database-url / SIGAP_DATABASE_URL, or --db / SIGAP_SERVER_DB)"
        )))
    };
    match url {
        Some(u) if is_postgres_url(u) => {
            PgStore::open(u).map(Opened::Postgres).map_err(|e| match e {
                StoreError::Invalid { message, .. } => usage(message),
                e => cannot("the PostgreSQL database".into(), e),
            })
        }
        Some(u) => match u.strip_prefix("sqlite:") {
            Some(path) => {
                let path = std::path::Path::new(path.strip_prefix("//").unwrap_or(path));
                SqliteStore::open(path)
                    .map(Opened::Sqlite)
                    .map_err(|e| cannot(format!("database {}", path.display()), e))
            }
            None => Err(usage(format!(
                "database URL {:?} is neither postgres://… nor sqlite:PATH",
                u.split('@').next_back().unwrap_or(u)
            ))),
        },
        None => SqliteStore::open(db)
            .map(Opened::Sqlite)
            .map_err(|e| cannot(format!("database {}", db.display()), e)),
    }
}

/// Runs a parsed command line; the exit code says how it went. Every
/// command but `copy` (which names both of its databases) works on the
/// database of the global options.
pub fn run(cli: Cli) -> Result<ExitCode, CommandError> {
    let Cli {
        db,
        database_url,
        command,
    } = cli;
    let open = || open_database(database_url.as_deref(), &db);
    match command {
        Command::Copy(args) => copy::run(&args, database_url.as_deref()),
        Command::Serve(args) => serve::run(open()?, args),
        Command::Backup { file } => backup::run(&open()?, &file),
        Command::Migrate => migrate::run(&open()?),
        Command::Token(c) => token::run(open()?.store(), c),
        Command::Baseline(c) => baseline::run(open()?.store(), c),
        Command::Target(c) => baseline::run_target(open()?.store(), c),
        Command::Participants(c) => participants::run(open()?.store(), c),
        Command::Coverage(c) => coverage::run(open()?.store(), c),
        Command::Device(c) => device::run(open()?.store(), c),
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
