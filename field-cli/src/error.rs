//! The crate's one error type. Each variant maps to an exit status that is
//! documented in `sigap --help`.

use sigap_shared::Issue;

use crate::i18n::{self, t};

/// Exit statuses, as documented in `sigap --help`.
pub mod exit {
    /// Everything done.
    pub const OK: u8 = 0;
    /// Partly done: some CSV rows rejected, changes still pending or
    /// rejected after a sync, or `sync --verify` found differences.
    pub const PARTIAL: u8 = 1;
    /// Bad input or usage: nothing was saved.
    pub const INPUT: u8 = 2;
    /// The local database or a file could not be read or written.
    pub const LOCAL: u8 = 3;
    /// The server could not be reached (after retries).
    pub const NETWORK: u8 = 4;
    /// The server refused: token (401/403), protocol version, or request.
    pub const REFUSED: u8 = 5;
    /// The database stays locked: wrong passphrase, or none given where
    /// nobody can be asked.
    pub const PASSPHRASE: u8 = 6;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input or usage; the message says what to do.
    #[error("{0}")]
    Input(String),
    /// A registration or change refused by the validation rules.
    /// `what` is already in the agent's language ("the registration").
    #[error("{}", invalid_text(what, issues))]
    Invalid { what: String, issues: Vec<Issue> },
    /// The local database or a file.
    #[error("{0}")]
    Local(String),
    /// The server could not be reached.
    #[error("{0}")]
    Network(String),
    /// The server refused the request.
    #[error("{0}")]
    Refused(String),
    /// The database's passphrase was wrong or could not be asked for.
    #[error("{0}")]
    Passphrase(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) | CliError::Invalid { .. } => exit::INPUT,
            CliError::Local(_) => exit::LOCAL,
            CliError::Network(_) => exit::NETWORK,
            CliError::Refused(_) => exit::REFUSED,
            CliError::Passphrase(_) => exit::PASSPHRASE,
        }
    }
}

impl From<rusqlite::Error> for CliError {
    fn from(err: rusqlite::Error) -> CliError {
        CliError::Local(t!("error-local-database", detail = err))
    }
}

impl From<serde_json::Error> for CliError {
    fn from(err: serde_json::Error) -> CliError {
        CliError::Local(t!("error-unreadable-data", detail = err))
    }
}

/// "the registration was not saved:" and one line per issue, in the
/// agent's language.
fn invalid_text(what: &str, issues: &[Issue]) -> String {
    let mut text = t!("error-not-saved", what = what);
    for i in issues {
        text.push_str("\n  ");
        text.push_str(&i18n::issues::line(i18n::lang(), i));
    }
    text
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
