//! Daily coverage snapshots per area, kelurahan and above (schema v8).
//!
//! A snapshot of day D holds the figures of D's latest take. Takes happen
//! when this process first writes or reads on a new day (the day before
//! is re-taken first when the data changed since its last take, so it
//! ends with its closing figures), at start (`serve`), and on a read of
//! the history when the data changed since today's last take. Past days
//! are backfilled once, when the table is first created, from when each
//! covered person's coverage started.

use rusqlite::{Connection, OptionalExtension, params};
use sigap_shared::coverage::{Percent, Target};
use sigap_shared::{AreaCode, Category};
use time::Date;

use super::counters::{date_text, parse_date_text, roll_since};
use super::{SqliteStore, parse_area, parse_record};
use crate::store::snapshots::{self, Due, Plans, Starts};
use crate::store::{HistoryRow, StoreError};

pub(in crate::store) use crate::store::snapshots::Taken;
pub use crate::store::snapshots::{MAX_HISTORY_DAYS, day_of_millis, kept, millis_of};

fn generation(conn: &Connection) -> Result<u64, StoreError> {
    let g: Option<i64> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'generation'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(g.map_or(0, |g| u64::try_from(g).unwrap_or(0)))
}

/// Baselines and targets of every kept area and year.
fn plans(conn: &Connection) -> Result<Plans, StoreError> {
    let mut plans = Plans::default();
    let mut stmt = conn.prepare_cached("SELECT area, year, working_population FROM baselines")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let area = parse_area(&r.get::<_, String>(0)?)?;
        if kept(&area) {
            let n: i64 = r.get(2)?;
            plans.baseline(area, r.get(1)?, u64::try_from(n).unwrap_or(0));
        }
    }
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
            plans.target(area, r.get(1)?, target);
        }
    }
    Ok(plans)
}

/// Writes `day`'s rows (see [`snapshots::day_rows`]), replacing what the
/// day held.
fn write_day(
    conn: &Connection,
    day: Date,
    counts: &snapshots::Counts,
    plans: &Plans,
    taken_at: i64,
) -> Result<(), StoreError> {
    let day_text = date_text(day)?;
    conn.prepare_cached("DELETE FROM coverage_history WHERE day = ?1")?
        .execute([&day_text])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO coverage_history (area, day, pu, bpu, jakon, pmi, working_population,
                                       target_bp, target_count, taken_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for row in snapshots::day_rows(day, counts, plans) {
        let [pu, bpu, jakon, pmi] = row.covered;
        insert.execute(params![
            row.area.to_string(),
            day_text,
            pu,
            bpu,
            jakon,
            pmi,
            row.working_population,
            row.target_bp,
            row.target_count,
            taken_at,
        ])?;
    }
    Ok(())
}

/// Takes `day`'s snapshot from the counters as they stand.
pub(super) fn take(conn: &Connection, day: Date, taken_at: i64) -> Result<(), StoreError> {
    let mut counts = snapshots::Counts::new();
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
        snapshots::count(&mut counts, area, cat, r.get(2)?);
    }
    write_day(conn, day, &counts, &plans(conn)?, taken_at)
}

/// Fills the days before `today` from when each covered person's coverage
/// started, once (meta `history_backfilled`); see [`Starts`].
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
    let mut starts = Starts::default();
    let mut stmt =
        conn.prepare("SELECT record, participant, roll_as_of, registered_at FROM persons")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let record = parse_record(&r.get::<_, String>(0)?)?;
        let as_of: Option<String> = r.get(2)?;
        let as_of = as_of.as_deref().map(parse_date_text).transpose()?;
        starts.add(&record, roll_since(r.get(1)?, as_of), r.get(3)?);
    }
    drop(rows);
    drop(stmt);
    let mut written = 0;
    if let Some(mut days) = starts.days(today) {
        let plans = plans(conn)?;
        while let Some((day, counts)) = days.next_day() {
            write_day(conn, day, counts, &plans, 0)?;
            written += 1;
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
        // Most calls have nothing to do: answered without the writer.
        match taken.due(today, retake) {
            Due::No => return Ok(()),
            Due::IfChanged if !taken.changed(self.read(generation)?) => return Ok(()),
            Due::IfChanged | Due::Yes => {}
        }
        let conn = self.writer()?;
        let generation = generation(&conn)?;
        let tx = conn.unchecked_transaction()?;
        if let Some(last) = taken.day_to_close(today, generation) {
            take(&tx, last, now)?;
        }
        take(&tx, today, now)?;
        tx.commit()?;
        taken.set(today, generation);
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
            let mut snapshots = Vec::new();
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
                snapshots.push(HistoryRow {
                    day,
                    snapshot: true,
                    by_category: [n(1)?, n(2)?, n(3)?, n(4)?],
                    working_population: working.map(|w| u64::try_from(w).unwrap_or(0)),
                    target: bp.map(|bp| Target {
                        percent: Percent(bp),
                        count: count.map(|c| u64::try_from(c).unwrap_or(0)),
                    }),
                    registrations: 0,
                });
            }
            Ok(snapshots::history_rows(
                snapshots,
                registrations(c, area, from, to)?,
            ))
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
    let (start, end) = snapshots::millis_range(from, to);
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
        out.push((snapshots::day_of_number(day), u64::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}
