//! The coverage counters: recounting them from the persons (for `coverage
//! verify` and for the migration that introduced per-year buckets) and
//! reading a year's figures from them. The writes keep them current in
//! `write.rs` (`Writer::save`, `Writer::flush`).

use std::collections::HashMap;

use rusqlite::{Connection, params};
use sigap_shared::{AreaCode, Category};
use time::Date;
use time::macros::format_description;

use super::{corrupt, parse_record};
use crate::engine::{self, RollSince};
use crate::store::StoreError;

/// Covered-person counts per area (every level), category and start year.
pub(super) type Buckets = HashMap<(AreaCode, Category, i32), i64>;

const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// A date as stored in `persons.roll_as_of`: `YYYY-MM-DD`, which sorts
/// like the date.
pub(crate) fn date_text(d: Date) -> Result<String, StoreError> {
    d.format(DATE_FORMAT).map_err(corrupt)
}

pub(crate) fn parse_date_text(text: &str) -> Result<Date, StoreError> {
    Date::parse(text, DATE_FORMAT).map_err(|e| corrupt(format!("roll date {text:?}: {e}")))
}

/// Since when the roll lists a person, from the stored columns.
pub(crate) fn roll_since(participant: bool, as_of: Option<Date>) -> Option<RollSince> {
    participant.then(|| as_of.map_or(RollSince::Always, RollSince::Date))
}

/// Recounts coverage from every stored person by the same rule the writes
/// follow ([`engine::coverage_key`]); returns how many persons were read.
pub(super) fn recount(conn: &Connection) -> Result<(u64, Buckets), StoreError> {
    let mut stmt =
        conn.prepare("SELECT record, participant, roll_as_of, registered_at FROM persons")?;
    let mut rows = stmt.query([])?;
    let mut buckets = Buckets::new();
    let mut persons = 0u64;
    while let Some(r) = rows.next()? {
        persons += 1;
        let record = parse_record(&r.get::<_, String>(0)?)?;
        let as_of: Option<String> = r.get(2)?;
        let as_of = as_of.as_deref().map(parse_date_text).transpose()?;
        let key = engine::coverage_key(&record, roll_since(r.get(1)?, as_of), r.get(3)?);
        engine::add_deltas(&mut buckets, &None, &key);
    }
    buckets.retain(|_, n| *n != 0);
    Ok((persons, buckets))
}

/// Replaces every counter with a recount from the persons. Run by the
/// migration to schema v6 inside its transaction, so a database is never
/// left with the new table and no counts.
pub(super) fn rebuild(conn: &Connection) -> Result<(), StoreError> {
    let (_, buckets) = recount(conn)?;
    conn.execute("DELETE FROM counters", [])?;
    let mut stmt = conn.prepare(
        "INSERT INTO counters (area, category, since_year, covered) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for ((area, cat, year), n) in buckets {
        stmt.execute(params![area.text().as_str(), cat.as_str(), year, n])?;
    }
    super::bump_generation(conn)?;
    Ok(())
}

/// The migration hook of schema v6 (see `schema_v6.sql`).
pub(super) fn rebuild_hook(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    rebuild(tx).map_err(|e| {
        rusqlite_migration::HookError::Hook(format!("recounting coverage from the persons: {e}"))
    })
}
