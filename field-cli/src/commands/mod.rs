//! One module per subcommand.

mod edit;
mod export;
mod import;
mod init;
mod list;
mod lookup;
mod register;
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
    let path = match &cli.db {
        Some(p) => p.clone(),
        None => store::default_path()?,
    };
    // A command that waits on the network or on a person, or may run for
    // seconds over a large file, shares the database; the others, over in
    // milliseconds, take it alone when no other sigap process has it open
    // (see `Store::open_short`).
    let waits = match &cli.command {
        Command::Sync(_) | Command::Import(_) | Command::Export(_) => true,
        Command::Register(a) => register::asks(a),
        _ => false,
    };
    let mut store = if waits {
        Store::open(&path)?
    } else {
        Store::open_short(&path)?
    };
    let json = cli.json;
    match cli.command {
        Command::Init(a) => init::run(&mut store, a, json),
        Command::Register(a) => register::run(&mut store, a, json),
        Command::List(a) => list::run(&store, a, json),
        Command::Show(a) => show::run(&store, a, json),
        Command::Edit(a) => edit::run(&mut store, a, json),
        Command::Void(a) => edit::void(&mut store, a, json),
        Command::Import(a) => import::run(&mut store, a, json),
        Command::Export(a) => export::run(&store, a, json),
        Command::Visit(a) => visit::run(&store, a, json),
        Command::Progress(a) => visit::progress(&store, a, json),
        Command::Status => status::run(&store, json),
        Command::Sync(a) => sync::run(&mut store, a, json),
        Command::Lookup(a) => lookup::run(&store, a, json),
    }
}

/// Parses a NIK given as an argument; a bad one is an input error.
fn nik_arg(text: &str) -> Result<sigap_shared::Nik, CliError> {
    parse_nik(text).map_err(|m| CliError::Input(format!("nik: {m}")))
}

fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
