//! Sync: push the outbox in bounded pages, pull the agent's areas into the
//! replica, and `--verify` what the server holds. Every page is committed
//! locally before the next one is asked for, so a cut sync resumes.

pub mod client;
pub mod pull;
pub mod push;
pub mod verify;

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Progress on a terminal (a bar), plain lines otherwise; both on stderr.
pub struct Reporter {
    bar: Option<ProgressBar>,
}

impl Reporter {
    pub fn new() -> Reporter {
        Reporter { bar: None }
    }

    pub fn start(&mut self, total: u64, what: &str) {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{msg:12} [{bar:30}] {pos}/{len}") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(what.to_string());
            self.bar = Some(bar);
        }
    }

    pub fn step(&mut self, n: u64, line: &str) {
        match &self.bar {
            Some(b) => b.inc(n),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

/// One rejected change, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedChange {
    pub device_seq: u64,
    pub nik: String,
    pub code: String,
    pub reason: String,
}

/// A change the server holds but whose fields, or some of them, later
/// writes of others keep (`superseded`).
#[derive(Debug, Clone, Serialize)]
pub struct SupersededChange {
    pub device_seq: u64,
    pub nik: String,
    pub fields: Vec<String>,
    pub by: Vec<String>,
}

/// What one `sigap sync` did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub server: String,
    /// Changes the server now holds (answered in any way but `pending` or
    /// a refusal it does not hold).
    pub sent: u64,
    pub applied: u64,
    pub merged: u64,
    pub duplicates: u64,
    pub superseded: Vec<SupersededChange>,
    /// Held and set aside: the agent corrects them.
    pub rejected: Vec<RejectedChange>,
    /// Refused without being held (e.g. `clock_ahead`): kept on this
    /// device, repaired and sent again by a later `sigap sync`.
    pub refused: Vec<RejectedChange>,
    /// Changes still waiting for earlier ones of this device.
    pub waiting: i64,
    /// Rounds of pages sent (a round re-sends what waited).
    pub rounds: u32,
    pub received: u64,
    pub pending_left: i64,
    pub rejected_outstanding: i64,
    pub pull_cursor: u64,
    pub receipt: Option<sigap_shared::wire::Receipt>,
}
