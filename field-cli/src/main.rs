//! `sigap`: the field agent's tool. Registers working residents offline in a
//! local SQLite store and syncs them with `sigap-server`.

mod cli;
mod commands;
mod error;
mod fields;
mod i18n;
mod output;
mod progress;
mod prompt;
mod sheet;
mod store;
mod sync;
mod unlock;

use std::io::ErrorKind;
use std::process::ExitCode;

use crate::error::{CliError, exit};
use crate::i18n::t;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::from(exit::OK);
            }
            eprintln!("{}", t!("error-line", message = err));
            for cause in err.chain().skip(1) {
                eprintln!("  {}", t!("error-cause", message = cause));
            }
            ExitCode::from(exit_code_of(&err))
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let lang = i18n::choose::choose(&args, |k| std::env::var(k).ok())
        .map_err(|e| CliError::Input(e.message()))?;
    i18n::set_lang(lang);
    let cli = i18n::help::parse(lang, args)?;
    commands::run(cli)
}

fn exit_code_of(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return e.exit_code();
        }
        if cause.downcast_ref::<clap::Error>().is_some() {
            return exit::INPUT;
        }
    }
    exit::LOCAL
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
            || c.downcast_ref::<csv::Error>().is_some_and(|e| {
                matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == ErrorKind::BrokenPipe)
            })
    })
}
