//! Output: tables for people, JSON for scripts.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;
use sigap_shared::{AreaCode, Issue, wilayah};

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

/// A table with a header, fitted to the terminal.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    t
}

pub fn print_table(t: &Table) -> io::Result<()> {
    line(&t.to_string())
}

/// Warnings go to stderr, one per line.
pub fn warnings(issues: &[Issue]) {
    for w in issues {
        eprintln!("warning: {w}");
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

/// A date (UTC) from Unix milliseconds, `YYYY-MM-DD`.
pub fn date_of_millis(millis: u64) -> String {
    let secs = i64::try_from(millis / 1000).unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "an unknown date".into())
}
