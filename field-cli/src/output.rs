//! Output: tables for people, JSON for scripts.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;
use sigap_shared::{AreaCode, Issue, wilayah};

use crate::i18n::{self, t};

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Writes lines of text on stdout.
pub fn line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")
}

/// A table with a header (already in the agent's language), fitted to the
/// terminal.
pub fn table(header: &[String]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().cloned());
    t
}

pub fn print_table(t: &Table) -> io::Result<()> {
    line(&t.to_string())
}

/// Warnings go to stderr, one per line.
pub fn warnings(issues: &[Issue]) {
    for w in issues {
        eprintln!("{}", warning(&i18n::issues::line(i18n::lang(), w)));
    }
}

/// "warning: …" in the agent's language.
pub fn warning(message: &str) -> String {
    t!("warning-line", message = message)
}

/// A registration's status (`registered`, `void`) in the agent's language.
pub fn status_text(status: &str) -> String {
    match status {
        "registered" => t!("status-registered"),
        "void" => t!("status-void"),
        other => other.to_string(),
    }
}

/// A record's sync state (`pending`, `rejected`, `synced`, as the JSON
/// output and the store say it) in the agent's language.
pub fn state_text(state: &str) -> String {
    match state {
        "pending" => t!("state-pending"),
        "rejected" => t!("state-rejected"),
        "synced" => t!("state-synced"),
        other => other.to_string(),
    }
}

/// The kelurahan's name (or code when unknown).
pub fn kelurahan_name(code: Option<&AreaCode>) -> String {
    match code {
        Some(k) => wilayah::area_name(k)
            .map(str::to_string)
            .unwrap_or_else(|| k.to_string()),
        None => String::new(),
    }
}

/// A stored timestamp (RFC 3339, UTC) as people read it in the agent's
/// language: `29 Nov 2026 12:52 UTC`; any other text as it is.
pub fn timestamp(text: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{} {:02}:{:02} UTC",
                i18n::lang().short_date(t.date()),
                t.hour(),
                t.minute()
            )
        }
        Err(_) => text.to_string(),
    }
}

/// A date (UTC) from Unix milliseconds, as `lang` writes it
/// (`24 November 2025`).
pub fn date_of_millis_in(lang: sigap_shared::Lang, millis: u64) -> String {
    let secs = i64::try_from(millis / 1000).unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| lang.date(t.date()))
        .unwrap_or_else(|_| i18n::text(lang, "date-unknown", &[]))
}
