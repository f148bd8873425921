//! `sigap`: the field agent's tool. Registers working residents offline in a
//! local SQLite store and syncs them with `sigap-server`.

mod cli;
mod commands;
mod error;
mod fields;
mod output;
mod progress;
mod prompt;
mod store;
mod sync;
mod unlock;

use std::io::ErrorKind;
use std::process::ExitCode;

use clap::Parser;

use crate::error::{CliError, exit};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::from(exit::OK);
            }
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(exit_code_of(&err))
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = cli::Cli::parse();
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
