//! One module per subcommand.

mod conflicts;
mod docs;
mod edit;
mod export;
mod import;
mod init;
mod list;
mod lookup;
mod register;
mod report;
mod resolve;
mod show;
mod status;
mod sync;
mod visit;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::fields::parse_nik;
use crate::store::{self, Store};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // These describe the CLI itself: they must work on a fresh laptop and
    // neither create nor open the database.
    match &cli.command {
        Command::Completions(a) => return docs::completions(a.shell),
        Command::Man => return docs::man(),
        _ => {}
    }
    let path = match &cli.db {
        Some(p) => p.clone(),
        None => store::default_path()?,
    };
    let mut store = if is_short(&cli.command) {
        Store::open_short(&path)?
    } else {
        Store::open(&path)?
    };
    let json = cli.json;
    match cli.command {
        Command::Init(a) => init::run(&mut store, a, json),
        Command::Register(a) => {
            require_agent_token(&store)?;
            register::run(&mut store, a, json)
        }
        Command::List(a) => list::run(&store, a, json),
        Command::Show(a) => show::run(&store, a, json),
        Command::Edit(a) => edit::run(&mut store, a, json),
        Command::Void(a) => edit::void(&mut store, a, json),
        Command::Import(a) => {
            require_agent_token(&store)?;
            import::run(&mut store, a, json)
        }
        Command::Export(a) => export::run(&store, a, json),
        Command::Visit(a) => visit::run(&store, a, json),
        Command::Progress(a) => visit::progress(&store, a, json),
        Command::Status => status::run(&store, json),
        Command::Sync(a) => {
            require_agent_token(&store)?;
            sync::run(&mut store, a, json)
        }
        Command::Lookup(a) => lookup::run(&store, a, json),
        Command::Report(a) => report::run(&store, a, json),
        Command::Conflicts(a) => conflicts::run(&store, a, json),
        Command::Resolve(a) => resolve::run(&store, a, json),
        // Answered above, before the database; said again here rather
        // than as a panic, should that order ever change.
        Command::Completions(a) => docs::completions(a.shell),
        Command::Man => docs::man(),
    }
}

/// Whether the command is over in milliseconds whatever the data: it may
/// take the database alone (see `Store::open_short`). Not a sync (the
/// network), an init given a token (it enrols the device over the
/// network, waiting seconds for a server that does not answer), an asking
/// registration (a person), an import or export (a large file), nor a list
/// or progress report, whose output can be long enough to stall in a pipe
/// (`sigap list | less`) with the database held.
fn is_short(command: &Command) -> bool {
    match command {
        Command::Init(a) => a.token.is_none(),
        Command::Edit(_)
        | Command::Void(_)
        | Command::Visit(_)
        | Command::Show(_)
        | Command::Status
        | Command::Lookup(_)
        | Command::Completions(_)
        | Command::Man => true,
        Command::Register(a) => !register::asks(a),
        Command::List(_)
        | Command::Progress(_)
        | Command::Import(_)
        | Command::Export(_)
        | Command::Sync(_)
        | Command::Report(_)
        | Command::Conflicts(_)
        | Command::Resolve(_) => false,
    }
}

/// Parses a NIK given as an argument; a bad one is an input error.
fn nik_arg(text: &str) -> Result<sigap_shared::Nik, CliError> {
    parse_nik(text).map_err(|p| CliError::Input(format!("nik: {p}")))
}

/// The server client for a supervisor's command, from what `sigap init`
/// kept.
fn server_client(store: &Store) -> Result<crate::sync::client::Client, CliError> {
    let device = store.device_opt()?.ok_or_else(|| {
        CliError::Input(
            "this device is not set up: run `sigap init --server URL --device-name NAME --token TOKEN` with your supervisor token".into(),
        )
    })?;
    crate::sync::client::Client::new(&device)
}

/// Refuses a field agent's command (register, sync) on a device set up
/// with a supervisor's or admin's token: exit 5 with what to do.
fn require_agent_token(store: &Store) -> Result<(), CliError> {
    match store::get(&store.conn, store::key::TOKEN_ROLE)?.as_deref() {
        Some(role @ ("supervisor" | "admin")) => Err(CliError::Refused(format!(
            "this device is set up with a {role} token: a {role} reads reports (sigap report, sigap conflicts, sigap resolve) and does not register or sync; to register, run `sigap init --token TOKEN` with an agent's token"
        ))),
        _ => Ok(()),
    }
}

fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
