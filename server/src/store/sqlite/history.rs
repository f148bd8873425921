//! Daily coverage snapshots per area, kelurahan and above (schema v8).
//!
//! A snapshot of day D holds the figures of D's latest take. Takes happen
//! when this process first writes or reads on a new day (the day before
//! is re-taken first when the data changed since its last take, so it
//! ends with its closing figures), at start (`serve`), and on a read of
//! the history when the data changed since today's last take. Past days
//! are backfilled once, when the table is first created, from when each
//! covered person's coverage started.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, params};
use sigap_shared::coverage::{Percent, Target};
use sigap_shared::{AreaCode, Category, Level};
use time::{Date, Duration, OffsetDateTime};

use super::counters::{date_text, parse_date_text, roll_since};
use super::{SqliteStore, parse_area, parse_record};
use crate::engine::{self, RollSince};
use crate::store::{ByCategory, HistoryRow, StoreError, category_index};

/// How far back a backfill reaches, and the longest range a read returns.
pub const MAX_HISTORY_DAYS: i64 = 3 * 366;

/// What this process last took: the day and the data generation then.
#[derive(Debug, Default)]
pub(in crate::store) struct Taken {
    day: Option<Date>,
    generation: u64,
}

/// The UTC date of a Unix time in milliseconds.
pub fn day_of_millis(millis: i64) -> Date {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// Whether snapshots keep `area`: RW and RT would multiply the rows by a
/// hundred for figures the coverage tree answers live.
pub fn kept(area: &AreaCode) -> bool {
    !matches!(area.level(), Level::Rw | Level::Rt)
}

fn generation(conn: &Connection) -> Result<u64, StoreError> {
    let g: Option<i64> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'generation'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(g.map_or(0, |g| u64::try_from(g).unwrap_or(0)))
}

type Plans = (
    HashMap<(AreaCode, i32), u64>,
    HashMap<(AreaCode, i32), Target>,
);

/// Baselines and targets of every kept area and year.
fn plans(conn: &Connection) -> Result<Plans, StoreError> {
    let mut baselines = HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT area, year, working_population FROM baselines")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let area = parse_area(&r.get::<_, String>(0)?)?;
        if kept(&area) {
            let n: i64 = r.get(2)?;
            baselines.insert((area, r.get(1)?), u64::try_from(n).unwrap_or(0));
        }
    }
    let mut targets = HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT area, year, percent_bp, count FROM targets")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let area = parse_area(&r.get::<_, String>(0)?)?;
        if kept(&area) {
            let count: Option<i64> = r.get(3)?;
            let target = Target {
                percent: Percent(r.get(2)?),
                count: count.map(|c| u64::try_from(c).unwrap_or(0)),
            };
            targets.insert((area, r.get(1)?), target);
        }
    }
    Ok((baselines, targets))
}

/// Writes `day`'s rows: every area with covered persons or a baseline or
/// target for the day's year. Replaces what the day held.
fn write_day(
    conn: &Connection,
    day: Date,
    counts: &HashMap<AreaCode, ByCategory>,
    plans: &Plans,
    taken_at: i64,
) -> Result<(), StoreError> {
    let (baselines, targets) = plans;
    let year = day.year();
    let day_text = date_text(day)?;
    let mut areas: Vec<AreaCode> = counts
        .iter()
        .filter(|(_, c)| c.iter().any(|n| *n > 0))
        .map(|(a, _)| *a)
        .chain(baselines.keys().filter(|k| k.1 == year).map(|k| k.0))
        .chain(targets.keys().filter(|k| k.1 == year).map(|k| k.0))
        .collect();
    areas.sort();
    areas.dedup();
    conn.prepare_cached("DELETE FROM coverage_history WHERE day = ?1")?
        .execute([&day_text])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO coverage_history (area, day, pu, bpu, jakon, pmi, working_population,
                                       target_bp, target_count, taken_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for area in areas {
        let c = counts.get(&area).copied().unwrap_or_default();
        let n = |i: usize| i64::try_from(c[i]).unwrap_or(i64::MAX);
        let working = baselines
            .get(&(area, year))
            .map(|w| i64::try_from(*w).unwrap_or(i64::MAX));
        let target = targets.get(&(area, year));
        insert.execute(params![
            area.to_string(),
            day_text,
            n(0),
            n(1),
            n(2),
            n(3),
            working,
            target.map(|t| t.percent.0),
            target
                .and_then(|t| t.count)
                .map(|c| i64::try_from(c).unwrap_or(i64::MAX)),
            taken_at,
        ])?;
    }
    Ok(())
}

/// Takes `day`'s snapshot from the counters as they stand.
pub(super) fn take(conn: &Connection, day: Date, taken_at: i64) -> Result<(), StoreError> {
    let mut counts: HashMap<AreaCode, ByCategory> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT area, category, SUM(covered) FROM counters GROUP BY area, category",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let area = parse_area(&r.get::<_, String>(0)?)?;
        if !kept(&area) {
            continue;
        }
        let cat: Category = r.get::<_, String>(1)?.parse().map_err(super::corrupt)?;
        let n: i64 = r.get(2)?;
        counts.entry(area).or_default()[category_index(cat)] = u64::try_from(n).unwrap_or(0);
    }
    write_day(conn, day, &counts, &plans(conn)?, taken_at)
}

/// The day a person's coverage started, `None` for "always" (an undated
/// roll row), or no entry when the person is not covered.
fn covered_since(
    record: &sigap_shared::PersonRecord,
    roll: Option<RollSince>,
    registered_at: Option<i64>,
) -> Option<(AreaCode, Category, Option<Date>)> {
    let key = engine::coverage_key(record, roll, registered_at)?;
    let field = (record.fields.status != Some(sigap_shared::Status::Void)
        && record.fields.is_complete())
    .then(|| engine::field_start_millis(record, registered_at))
    .flatten()
    .map(day_of_millis);
    let start = match roll {
        Some(RollSince::Always) => None,
        Some(RollSince::Date(d)) => Some(field.map_or(d, |f| f.min(d))),
        None => Some(field?),
    };
    Some((key.rt, key.category, start))
}

/// Fills the days before `today` from when each covered person's coverage
/// started, once (meta `history_backfilled`). Persons are placed where
/// they live now and counted from their start; someone voided or moved
/// since is therefore counted as they stand today for every past day.
pub(super) fn backfill(conn: &Connection, today: Date) -> Result<u64, StoreError> {
    let done: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'history_backfilled'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if done.is_some() {
        return Ok(0);
    }
    // Start day → area → counts that begin that day (Date::MIN: always).
    let mut starts: BTreeMap<Date, HashMap<AreaCode, ByCategory>> = BTreeMap::new();
    let mut stmt =
        conn.prepare("SELECT record, participant, roll_as_of, registered_at FROM persons")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let record = parse_record(&r.get::<_, String>(0)?)?;
        let as_of: Option<String> = r.get(2)?;
        let as_of = as_of.as_deref().map(parse_date_text).transpose()?;
        let Some((rt, cat, start)) =
            covered_since(&record, roll_since(r.get(1)?, as_of), r.get(3)?)
        else {
            continue;
        };
        let by_area = starts.entry(start.unwrap_or(Date::MIN)).or_default();
        for a in rt.self_and_ancestors().into_iter().filter(kept) {
            by_area.entry(a).or_default()[category_index(cat)] += 1;
        }
    }
    drop(rows);
    drop(stmt);
    let earliest = today - Duration::days(MAX_HISTORY_DAYS);
    let first = starts
        .keys()
        .copied()
        .find(|d| *d != Date::MIN)
        .map(|d| d.max(earliest));
    let mut written = 0;
    if let Some(first) = first {
        let plans = plans(conn)?;
        let mut running: HashMap<AreaCode, ByCategory> = HashMap::new();
        let mut pending = starts.into_iter().peekable();
        let mut day = first;
        while day < today {
            while let Some((_, by_area)) = pending.next_if(|(d, _)| *d <= day) {
                for (a, c) in by_area {
                    let r = running.entry(a).or_default();
                    for i in 0..4 {
                        r[i] += c[i];
                    }
                }
            }
            write_day(conn, day, &running, &plans, 0)?;
            written += 1;
            day = day.next_day().unwrap_or(today);
        }
    }
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('history_backfilled', 1)
         ON CONFLICT(key) DO UPDATE SET value = 1",
        [],
    )?;
    Ok(written)
}

impl SqliteStore {
    /// Takes today's snapshot when the day turned since this process last
    /// took one, closing the previous day first; with `retake`, also when
    /// the data changed since today's take. Runs before every push (not
    /// retaking: a push must not pay for a snapshot) and every read of
    /// the history or coverage (retaking).
    pub(in crate::store) fn roll_history(&self, retake: bool) -> Result<(), StoreError> {
        let now = self.now();
        let today = day_of_millis(now);
        let mut taken = self
            .taken
            .lock()
            .map_err(|_| StoreError::Task("the history lock is poisoned".into()))?;
        let same_day = taken.day == Some(today);
        // Most calls have nothing to do: answered without the writer.
        if same_day && (!retake || taken.generation == self.read(generation)?) {
            return Ok(());
        }
        let conn = self.writer()?;
        let generation = generation(&conn)?;
        let tx = conn.unchecked_transaction()?;
        if let Some(last) = taken.day.filter(|d| *d < today)
            && taken.generation != generation
        {
            // Every write since the last take came before today's first:
            // the figures now are the previous day's closing ones.
            take(&tx, last, now)?;
        }
        take(&tx, today, now)?;
        tx.commit()?;
        *taken = Taken {
            day: Some(today),
            generation,
        };
        Ok(())
    }

    /// The stored days of `area` from `from` to `to`, with the
    /// registrations received each day.
    pub(in crate::store) fn history_impl(
        &self,
        area: &AreaCode,
        from: Date,
        to: Date,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        self.roll_history(true)?;
        let (from_text, to_text) = (date_text(from)?, date_text(to)?);
        self.read(|c| {
            let mut out: BTreeMap<Date, HistoryRow> = BTreeMap::new();
            // The last snapshot before `from` too: it gives the figures of
            // the first days when they have none of their own.
            let mut stmt = c.prepare_cached(
                "SELECT day, pu, bpu, jakon, pmi, working_population, target_bp, target_count
                 FROM coverage_history WHERE area = ?1 AND day <= ?3
                   AND day >= COALESCE((SELECT MAX(day) FROM coverage_history
                                        WHERE area = ?1 AND day < ?2), ?2)
                 ORDER BY day",
            )?;
            let mut rows = stmt.query(params![area.to_string(), from_text, to_text])?;
            while let Some(r) = rows.next()? {
                let day = parse_date_text(&r.get::<_, String>(0)?)?;
                let n = |i: usize| -> rusqlite::Result<u64> {
                    Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
                };
                let working: Option<i64> = r.get(5)?;
                let bp: Option<u32> = r.get(6)?;
                let count: Option<i64> = r.get(7)?;
                out.insert(
                    day,
                    HistoryRow {
                        day,
                        snapshot: true,
                        by_category: [n(1)?, n(2)?, n(3)?, n(4)?],
                        working_population: working.map(|w| u64::try_from(w).unwrap_or(0)),
                        target: bp.map(|bp| Target {
                            percent: Percent(bp),
                            count: count.map(|c| u64::try_from(c).unwrap_or(0)),
                        }),
                        registrations: 0,
                    },
                );
            }
            for (day, n) in registrations(c, area, from, to)? {
                out.entry(day)
                    .or_insert_with(|| HistoryRow::empty(day))
                    .registrations = n;
            }
            Ok(out.into_values().collect())
        })
    }
}

/// Field registrations the server received per day whose person lives in
/// `area` now.
fn registrations(
    c: &Connection,
    area: &AreaCode,
    from: Date,
    to: Date,
) -> Result<Vec<(Date, u64)>, StoreError> {
    let start = millis_of(from);
    let end = millis_of(to.next_day().unwrap_or(to));
    let code = area.to_string();
    let mut stmt = c.prepare_cached(
        "SELECT ch.received_at / 86400000, COUNT(*) FROM changes ch
         JOIN persons p ON p.nik = ch.nik
         WHERE ch.received_at >= ?1 AND ch.received_at < ?2 AND ch.kind = 'register'
           AND ch.outcome IN ('applied', 'merged', 'superseded')
           AND (p.kelurahan = ?3 OR p.kelurahan GLOB ?4)
         GROUP BY 1 ORDER BY 1",
    )?;
    let mut rows = stmt.query(params![start, end, code, format!("{code}.*")])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let day: i64 = r.get(0)?;
        let n: i64 = r.get(1)?;
        out.push((
            day_of_millis(day * 86_400_000),
            u64::try_from(n).unwrap_or(0),
        ));
    }
    Ok(out)
}

/// Unix milliseconds at the start (UTC) of `day`.
pub fn millis_of(day: Date) -> i64 {
    i64::try_from(day.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}
