//! One module per subcommand.

mod backup;
mod conflicts;
mod docs;
mod doctor;
mod edit;
mod export;
mod import;
mod init;
mod list;
mod lookup;
mod passphrase;
mod register;
mod report;
mod resolve;
mod show;
mod status;
mod sync;
mod visit;

use std::process::ExitCode;

use std::path::Path;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::fields::parse_nik;
use crate::i18n::problems::Worded;
use crate::i18n::t;
use crate::store::encryption::{self, FileState};
use crate::store::kdf::{DbKey, KdfHeader};
use crate::store::{self, Store};
use crate::unlock;

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
    let json = cli.json;
    // Forgetting the kept key needs no passphrase and no database.
    if let Command::Lock = cli.command {
        return passphrase::lock(&path, json);
    }
    let (mut store, key) = open_store(&path, &cli.command)?;
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
        Command::Unlock(a) => passphrase::unlock(&store, &key, a, json),
        Command::Passphrase => passphrase::change(&mut store, json),
        Command::Lock => passphrase::lock(&path, json),
        Command::Backup(a) => backup::run(&store, &key, a, json),
        Command::Doctor => doctor::run(&store, json),
        // Answered above, before the database; said again here rather
        // than as a panic, should that order ever change.
        Command::Completions(a) => docs::completions(a.shell),
        Command::Man => docs::man(),
    }
}

/// Opens the encrypted database with its key: the one `sigap unlock`
/// keeps, else the passphrase. `sigap init` makes a new database (a
/// passphrase is chosen); a database of a version before encryption is
/// encrypted first, under a passphrase chosen now.
fn open_store(path: &Path, command: &Command) -> Result<(Store, DbKey), CliError> {
    let short = is_short(command);
    let open = |key: &DbKey| {
        if short {
            Store::open_short(path, Some(key))
        } else {
            Store::open(path, Some(key))
        }
    };
    match encryption::file_state(path)? {
        FileState::Missing => {
            let Command::Init(args) = command else {
                return Err(CliError::Input(t!(
                    "setup-no-database",
                    db = path.display()
                )));
            };
            // Bad flags are refused before a passphrase is chosen and
            // before the database is made.
            init::check(args, true)?;
            let chosen =
                unlock::new_passphrase(unlock::PASSPHRASE_ENV, &t!("setup-choose-passphrase"))?;
            let header = KdfHeader::new_random();
            let key = header.derive(&chosen)?;
            if let Some(parent) = path.parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    CliError::Local(t!(
                        "setup-cannot-create-folder",
                        db = path.display(),
                        folder = parent.display(),
                        detail = e
                    ))
                })?;
            }
            header.write(path)?;
            Ok((open(&key)?, key))
        }
        FileState::Plain => {
            let chosen = unlock::new_passphrase(
                unlock::PASSPHRASE_ENV,
                &t!("setup-not-encrypted", db = path.display()),
            )?;
            let header = KdfHeader::new_random();
            let key = header.derive(&chosen)?;
            encryption::encrypt_plain(path, &header, &key)?;
            eprintln!("{}", t!("setup-encrypted-now", db = path.display()));
            Ok((open(&key)?, key))
        }
        FileState::Encrypted => {
            // These two prove the passphrase itself.
            let asks = matches!(command, Command::Unlock(_) | Command::Passphrase);
            if !asks && let Some(key) = unlock::kept_key(path) {
                match open(&key) {
                    Ok(store) => return Ok((store, key)),
                    // Kept before a passphrase change elsewhere: dropped.
                    Err(CliError::Passphrase(_)) => {
                        unlock::forget(path);
                    }
                    Err(e) => return Err(e),
                }
            }
            let key = unlock::key_from_passphrase(path)?;
            Ok((open(&key)?, key))
        }
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
        // Re-encrypting needs the database alone; unlocking and locking
        // are over at once.
        Command::Passphrase | Command::Unlock(_) | Command::Lock => true,
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
        | Command::Resolve(_)
        | Command::Backup(_)
        | Command::Doctor => false,
    }
}

/// Parses a NIK given as an argument; a bad one is an input error.
fn nik_arg(text: &str) -> Result<sigap_shared::Nik, CliError> {
    parse_nik(text).map_err(|p| CliError::Input(format!("nik: {}", p.local())))
}

/// The server client for a supervisor's command, from what `sigap init`
/// kept.
fn server_client(store: &Store) -> Result<crate::sync::client::Client, CliError> {
    let device = store
        .device_opt()?
        .ok_or_else(|| CliError::Input(t!("setup-not-set-up-supervisor")))?;
    crate::sync::client::Client::new(&device)
}

/// Refuses a field agent's command (register, sync) on a device set up
/// with a supervisor's or admin's token: exit 5 with what to do.
fn require_agent_token(store: &Store) -> Result<(), CliError> {
    match store::get(&store.conn, store::key::TOKEN_ROLE)?.as_deref() {
        Some(role @ ("supervisor" | "admin")) => {
            Err(CliError::Refused(t!("setup-reader-token", role = role)))
        }
        _ => Ok(()),
    }
}

fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
