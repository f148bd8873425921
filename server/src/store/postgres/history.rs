//! Coverage history, visits and agent activity on PostgreSQL: the same
//! answers as `sqlite/history.rs` and `sqlite/activity.rs`, by the rules
//! of [`crate::store::snapshots`], with several servers on one database.
//!
//! How concurrent servers stay right:
//! - Snapshot takes and the backfill run under one transaction-scoped
//!   advisory lock per schema, so they never interleave; a take writes
//!   its rows with `INSERT … ON CONFLICT (area, day) DO UPDATE`, so two
//!   servers taking the same day one after the other leave one row per
//!   area and day.
//! - The backfill re-reads meta `history_backfilled` under that lock: of
//!   two servers starting at once, one fills the past, the other finds it
//!   done.
//! - A server closes the day it last took (re-takes it when the data
//!   changed since) only if no server has taken a later day since, which
//!   meta `history_day` (the latest day taken, days since 1970-01-01)
//!   tells: another server's take of a later day already closed it, and
//!   the data has moved on since. With one server this is SQLite's rule.
//! - Visits are stored once by id (`ON CONFLICT (id) DO NOTHING`): a visit
//!   sent to two servers at once is new to one of them only.

use deadpool_postgres::GenericClient;
use sigap_shared::coverage::{Percent, Target};
use sigap_shared::{AreaCode, Category};
use time::Date;
use uuid::Uuid;

use super::PgStore;
use super::rows::{corrupt, inside_pattern, parse_area, parse_record, snapshot, to_u64};
use crate::engine::{ROLL_DEVICE, SERVER_DEVICE};
use crate::store::snapshots::{
    self, ActivityDays, Counts, Due, Plans, Starts, Taken, day_of_millis, kept,
};
use crate::store::sqlite::counters::{date_text, parse_date_text, roll_since};
use crate::store::{self, DeviceSeen, HistoryRow, StoreError, TokenInfo};

/// The first key of the history's advisory lock ("hist" in ASCII); the
/// second is the schema's hash, so that schemas on one database do not
/// wait for each other.
const HISTORY_LOCK: i32 = 0x68_69_73_74;

/// How many persons a backfill reads at a time.
const BACKFILL_PAGE: i32 = 10_000;

/// A stored small number (RW, RT, basis points) that must fit its type.
fn narrow<T: TryFrom<i32>>(n: i32, what: &str) -> Result<T, StoreError> {
    T::try_from(n).map_err(|_| corrupt(format!("{what} {n} out of range")))
}

/// Waits, to the end of `tx`, until no other server takes a snapshot or
/// backfills the history of this schema.
async fn lock_history(
    tx: &deadpool_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), StoreError> {
    let stmt = tx
        .prepare_cached("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .await?;
    tx.execute(&stmt, &[&HISTORY_LOCK, &schema]).await?;
    Ok(())
}

/// A meta value, `None` when the key is missing.
async fn meta(client: &impl GenericClient, key: &str) -> Result<Option<i64>, StoreError> {
    let stmt = client
        .prepare_cached("SELECT value FROM meta WHERE key = $1")
        .await?;
    Ok(match client.query_opt(&stmt, &[&key]).await? {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

/// The data generation (see [`crate::store::Store::data_generation`]).
async fn generation(client: &impl GenericClient) -> Result<u64, StoreError> {
    Ok(meta(client, "generation").await?.map_or(0, to_u64))
}

/// Days since 1970-01-01 of `day`.
fn day_number(day: Date) -> i64 {
    snapshots::millis_of(day).div_euclid(86_400_000)
}

/// Baselines and targets of every kept area and year.
async fn plans(client: &impl GenericClient) -> Result<Plans, StoreError> {
    let mut plans = Plans::default();
    let stmt = client
        .prepare_cached("SELECT area, year, working_population FROM baselines")
        .await?;
    for r in client.query(&stmt, &[]).await? {
        let area = parse_area(r.try_get(0)?)?;
        if kept(&area) {
            plans.baseline(area, r.try_get(1)?, to_u64(r.try_get(2)?));
        }
    }
    let stmt = client
        .prepare_cached("SELECT area, year, percent_bp, count FROM targets")
        .await?;
    for r in client.query(&stmt, &[]).await? {
        let area = parse_area(r.try_get(0)?)?;
        if kept(&area) {
            let count: Option<i64> = r.try_get(3)?;
            let target = Target {
                percent: Percent(narrow(r.try_get(2)?, "target basis points")?),
                count: count.map(to_u64),
            };
            plans.target(area, r.try_get(1)?, target);
        }
    }
    Ok(plans)
}

/// Writes `day`'s rows (see [`snapshots::day_rows`]), replacing what the
/// day held: rows of areas the day no longer has are deleted, the others
/// inserted or overwritten.
async fn write_day(
    tx: &deadpool_postgres::Transaction<'_>,
    day: Date,
    counts: &Counts,
    plans: &Plans,
    taken_at: i64,
) -> Result<(), StoreError> {
    let day_text = date_text(day)?;
    let rows = snapshots::day_rows(day, counts, plans);
    let areas: Vec<String> = rows.iter().map(|r| r.area.to_string()).collect();
    let covered = |i: usize| -> Vec<i64> { rows.iter().map(|r| r.covered[i]).collect() };
    let working: Vec<Option<i64>> = rows.iter().map(|r| r.working_population).collect();
    let target_bp: Vec<Option<i32>> = rows
        .iter()
        .map(|r| r.target_bp.map(|bp| i32::try_from(bp).unwrap_or(i32::MAX)))
        .collect();
    let target_count: Vec<Option<i64>> = rows.iter().map(|r| r.target_count).collect();
    let stmt = tx
        .prepare_cached("DELETE FROM coverage_history WHERE day = $1 AND area <> ALL($2::text[])")
        .await?;
    tx.execute(&stmt, &[&day_text, &areas]).await?;
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO coverage_history (area, day, pu, bpu, jakon, pmi, working_population,
                                           target_bp, target_count, taken_at)
             SELECT r.area, $1, r.pu, r.bpu, r.jakon, r.pmi, r.working, r.bp, r.count, $2
             FROM UNNEST($3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[],
                         $8::int8[], $9::int4[], $10::int8[])
                  AS r(area, pu, bpu, jakon, pmi, working, bp, count)
             ON CONFLICT (area, day) DO UPDATE SET pu = excluded.pu, bpu = excluded.bpu,
                 jakon = excluded.jakon, pmi = excluded.pmi,
                 working_population = excluded.working_population,
                 target_bp = excluded.target_bp, target_count = excluded.target_count,
                 taken_at = excluded.taken_at",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &day_text,
            &taken_at,
            &areas,
            &covered(0),
            &covered(1),
            &covered(2),
            &covered(3),
            &working,
            &target_bp,
            &target_count,
        ],
    )
    .await?;
    Ok(())
}

/// Takes `day`'s snapshot from the counters as they stand.
async fn take(
    tx: &deadpool_postgres::Transaction<'_>,
    day: Date,
    taken_at: i64,
) -> Result<(), StoreError> {
    let mut counts = Counts::new();
    let stmt = tx
        .prepare_cached(
            "SELECT area, category, SUM(covered)::BIGINT FROM counters GROUP BY area, category",
        )
        .await?;
    for r in tx.query(&stmt, &[]).await? {
        let area = parse_area(r.try_get(0)?)?;
        if !kept(&area) {
            continue;
        }
        let cat: Category = r.try_get::<_, &str>(1)?.parse().map_err(corrupt)?;
        snapshots::count(&mut counts, area, cat, r.try_get(2)?);
    }
    write_day(tx, day, &counts, &plans(tx).await?, taken_at).await?;
    // The latest day any server took (see the module's notes).
    let stmt = tx
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES ('history_day', $1)
             ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)",
        )
        .await?;
    tx.execute(&stmt, &[&day_number(day)]).await?;
    Ok(())
}

/// Fills the days before `today` from when each covered person's coverage
/// started, once per database (meta `history_backfilled`); see
/// [`Starts`]. Returns how many days it wrote.
async fn backfill(
    tx: &deadpool_postgres::Transaction<'_>,
    schema: &str,
    today: Date,
) -> Result<u64, StoreError> {
    lock_history(tx, schema).await?;
    if meta(tx, "history_backfilled").await?.is_some() {
        return Ok(0);
    }
    let mut starts = Starts::default();
    let stmt = tx
        .prepare("SELECT record, participant, roll_as_of, registered_at FROM persons")
        .await?;
    let portal = tx.bind(&stmt, &[]).await?;
    loop {
        let rows = tx.query_portal(&portal, BACKFILL_PAGE).await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let record = parse_record(r.try_get(0)?)?;
            let as_of: Option<&str> = r.try_get(2)?;
            let as_of = as_of.map(parse_date_text).transpose()?;
            starts.add(&record, roll_since(r.try_get(1)?, as_of), r.try_get(3)?);
        }
    }
    let mut written = 0;
    if let Some(mut days) = starts.days(today) {
        let plans = plans(tx).await?;
        while let Some((day, counts)) = days.next_day() {
            write_day(tx, day, counts, &plans, 0).await?;
            written += 1;
        }
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('history_backfilled', 1)
         ON CONFLICT (key) DO UPDATE SET value = 1",
        &[],
    )
    .await?;
    Ok(written)
}

/// Counts an unlogged refusal for `agent` on the day of `now` (the push
/// path's, as `sqlite/activity.rs` has it).
pub(in crate::store) async fn count_unlogged_rejection(
    tx: &tokio_postgres::Transaction<'_>,
    agent: &str,
    now: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO unlogged_rejections (agent, day, count) VALUES ($1, $2, 1)
         ON CONFLICT (agent, day) DO UPDATE SET count = unlogged_rejections.count + 1",
        &[&agent, &date_text(day_of_millis(now))?],
    )
    .await?;
    Ok(())
}

/// Whether the change log holds a change with this id.
pub(in crate::store) async fn logged(
    tx: &tokio_postgres::Transaction<'_>,
    id: &Uuid,
) -> Result<bool, StoreError> {
    Ok(tx
        .query_opt("SELECT 1 FROM changes WHERE id = $1", &[id])
        .await?
        .is_some())
}

impl PgStore {
    /// Fills the coverage history's past days once per database (see
    /// [`backfill`]); run by [`PgStore::open`].
    pub(super) fn backfill_history_impl(&self) -> Result<(), StoreError> {
        let today = day_of_millis(self.now());
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            backfill(&tx, &self.schema, today).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Takes today's snapshot when the day turned since this process last
    /// took one, closing the previous day first; with `retake`, also when
    /// the data changed since today's take (see `sqlite/history.rs`).
    pub(in crate::store) fn roll_history(&self, retake: bool) -> Result<(), StoreError> {
        let now = self.now();
        let today = day_of_millis(now);
        let mut taken = self
            .taken
            .lock()
            .map_err(|_| StoreError::Task("the history lock is poisoned".into()))?;
        let due = taken.due(today, retake);
        if due == Due::No {
            return Ok(());
        }
        let last: &Taken = &taken;
        let generation = self.block_on(async {
            let mut client = self.client().await?;
            // Most reads have nothing to do: answered without the lock.
            if due == Due::IfChanged && !last.changed(generation(&client).await?) {
                return Ok::<_, StoreError>(None);
            }
            let tx = client.transaction().await?;
            lock_history(&tx, &self.schema).await?;
            let generation = generation(&tx).await?;
            if let Some(day) = last.day_to_close(today, generation) {
                let latest = meta(&tx, "history_day").await?;
                if latest.is_none_or(|n| n <= day_number(day)) {
                    take(&tx, day, now).await?;
                }
            }
            take(&tx, today, now).await?;
            tx.commit().await?;
            Ok(Some(generation))
        })?;
        if let Some(generation) = generation {
            taken.set(today, generation);
        }
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
        let code = area.to_string();
        let (start, end) = snapshots::millis_range(from, to);
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = snapshot(&mut client).await?;
            // The last snapshot before `from` too: it gives the figures of
            // the first days when they have none of their own.
            let stmt = tx
                .prepare_cached(
                    "SELECT day, pu, bpu, jakon, pmi, working_population, target_bp, target_count
                     FROM coverage_history WHERE area = $1 AND day <= $3
                       AND day >= COALESCE((SELECT MAX(day) FROM coverage_history
                                            WHERE area = $1 AND day < $2), $2)
                     ORDER BY day",
                )
                .await?;
            let mut rows = Vec::new();
            for r in tx.query(&stmt, &[&code, &from_text, &to_text]).await? {
                let working: Option<i64> = r.try_get(5)?;
                let bp: Option<i32> = r.try_get(6)?;
                let count: Option<i64> = r.try_get(7)?;
                rows.push(HistoryRow {
                    day: parse_date_text(r.try_get(0)?)?,
                    snapshot: true,
                    by_category: [
                        to_u64(r.try_get(1)?),
                        to_u64(r.try_get(2)?),
                        to_u64(r.try_get(3)?),
                        to_u64(r.try_get(4)?),
                    ],
                    working_population: working.map(to_u64),
                    target: bp
                        .map(|bp| -> Result<Target, StoreError> {
                            Ok(Target {
                                percent: Percent(narrow(bp, "target basis points")?),
                                count: count.map(to_u64),
                            })
                        })
                        .transpose()?,
                    registrations: 0,
                });
            }
            // Field registrations received per day whose person lives in
            // `area` now.
            let stmt = tx
                .prepare_cached(
                    "SELECT ch.received_at / 86400000, COUNT(*) FROM changes ch
                     JOIN persons p ON p.nik = ch.nik
                     WHERE ch.received_at >= $1 AND ch.received_at < $2 AND ch.kind = 'register'
                       AND ch.outcome IN ('applied', 'merged', 'superseded')
                       AND (p.kelurahan = $3 OR p.kelurahan LIKE $4)
                     GROUP BY 1 ORDER BY 1",
                )
                .await?;
            let pattern = inside_pattern(area);
            let mut registrations = Vec::new();
            for r in tx.query(&stmt, &[&start, &end, &code, &pattern]).await? {
                registrations.push((
                    snapshots::day_of_number(r.try_get(0)?),
                    to_u64(r.try_get(1)?),
                ));
            }
            tx.commit().await?;
            Ok(snapshots::history_rows(rows, registrations))
        })
    }

    /// Stores visits once each by id; answers, per visit, whether it was
    /// new. The device must be the token's (claimed like a push's).
    pub(in crate::store) fn add_visits_impl(
        &self,
        token_id: i64,
        agent: &str,
        device: Uuid,
        visits: &[store::NewVisit],
    ) -> Result<Vec<bool>, StoreError> {
        let now = self.now();
        // A visit twice in one batch is new the first time only; the
        // first is the one kept.
        let mut seen = std::collections::HashSet::new();
        let firsts: Vec<&store::NewVisit> = visits.iter().filter(|v| seen.insert(v.id)).collect();
        let ids: Vec<Uuid> = firsts.iter().map(|v| v.id).collect();
        let kelurahan: Vec<String> = firsts.iter().map(|v| v.kelurahan.to_string()).collect();
        let rw: Vec<i32> = firsts.iter().map(|v| i32::from(v.rw)).collect();
        let rt: Vec<i32> = firsts.iter().map(|v| i32::from(v.rt)).collect();
        // The column is a 32-bit integer; no street has more households.
        let households: Vec<i32> = firsts
            .iter()
            .map(|v| i32::try_from(v.households).unwrap_or(i32::MAX))
            .collect();
        let notes: Vec<Option<&str>> = firsts.iter().map(|v| v.note.as_deref()).collect();
        let visited_at: Vec<i64> = firsts.iter().map(|v| v.visited_at).collect();
        let stored: std::collections::HashSet<Uuid> = self.block_on(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            super::read::claim_and_bind(&tx, &device, token_id).await?;
            let mut stored = std::collections::HashSet::new();
            if !ids.is_empty() {
                let stmt = tx
                    .prepare_cached(
                        "INSERT INTO visits (id, device_id, agent, kelurahan, rw, rt, households,
                                             note, visited_at, received_at)
                         SELECT v.id, $1, $2, v.kelurahan, v.rw, v.rt, v.households, v.note,
                                v.visited_at, $3
                         FROM UNNEST($4::uuid[], $5::text[], $6::int4[], $7::int4[], $8::int4[],
                                     $9::text[], $10::int8[])
                              AS v(id, kelurahan, rw, rt, households, note, visited_at)
                         ON CONFLICT (id) DO NOTHING RETURNING id",
                    )
                    .await?;
                let rows = tx
                    .query(
                        &stmt,
                        &[
                            &device,
                            &agent,
                            &now,
                            &ids,
                            &kelurahan,
                            &rw,
                            &rt,
                            &households,
                            &notes,
                            &visited_at,
                        ],
                    )
                    .await?;
                for r in rows {
                    stored.insert(r.try_get::<_, Uuid>(0)?);
                }
            }
            tx.commit().await?;
            Ok::<_, StoreError>(stored)
        })?;
        let mut answered = std::collections::HashSet::new();
        Ok(visits
            .iter()
            .map(|v| stored.contains(&v.id) && answered.insert(v.id))
            .collect())
    }

    /// What agents did in `area` from `from` to `to` (UTC days).
    pub(in crate::store) fn activity_impl(
        &self,
        area: &AreaCode,
        from: Date,
        to: Date,
    ) -> Result<store::Activity, StoreError> {
        let (start, end) = snapshots::millis_range(from, to);
        let (from_text, to_text) = (date_text(from)?, date_text(to)?);
        let code = area.to_string();
        let pattern = inside_pattern(area);
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = snapshot(&mut client).await?;
            let mut days = ActivityDays::default();
            // A change counts where its person lives, or for a refused
            // registration of a person the server never stored, where
            // the change said.
            let stmt = tx
                .prepare_cached(
                    "SELECT ch.agent, ch.received_at / 86400000, ch.kind, ch.outcome, COUNT(*)
                     FROM changes ch LEFT JOIN persons p ON p.nik = ch.nik
                     WHERE ch.received_at >= $1 AND ch.received_at < $2
                       AND ch.device_id NOT IN ($5, $6)
                       AND (COALESCE(p.kelurahan, ch.fields::jsonb ->> 'kelurahan') = $3
                            OR COALESCE(p.kelurahan, ch.fields::jsonb ->> 'kelurahan') LIKE $4)
                     GROUP BY 1, 2, 3, 4",
                )
                .await?;
            let rows = tx
                .query(
                    &stmt,
                    &[&start, &end, &code, &pattern, &ROLL_DEVICE, &SERVER_DEVICE],
                )
                .await?;
            for r in rows {
                let agent: &str = r.try_get(0)?;
                let day = snapshots::day_of_number(r.try_get(1)?);
                let n = to_u64(r.try_get(4)?);
                days.changes(agent, day, r.try_get(2)?, r.try_get(3)?, n)?;
            }
            let agents = area_agents(&tx, area).await?;
            let stmt = tx
                .prepare_cached(
                    "SELECT agent, day, count FROM unlogged_rejections
                     WHERE day >= $1 AND day <= $2",
                )
                .await?;
            for r in tx.query(&stmt, &[&from_text, &to_text]).await? {
                let agent: &str = r.try_get(0)?;
                if !snapshots::among(&agents, agent) {
                    continue;
                }
                let day = parse_date_text(r.try_get(1)?)?;
                days.unlogged_rejections(agent, day, to_u64(r.try_get(2)?))?;
            }
            let stmt = tx
                .prepare_cached(
                    "SELECT agent, visited_at, kelurahan, rw, rt FROM visits
                     WHERE visited_at >= $1 AND visited_at < $2
                       AND (kelurahan = $3 OR kelurahan LIKE $4)",
                )
                .await?;
            for r in tx.query(&stmt, &[&start, &end, &code, &pattern]).await? {
                let day = day_of_millis(r.try_get(1)?);
                let kel: &str = r.try_get(2)?;
                let rw = narrow(r.try_get(3)?, "RW")?;
                let rt = narrow(r.try_get(4)?, "RT")?;
                days.visit(r.try_get(0)?, day, kel, rw, rt)?;
            }
            let devices = devices(&tx, &agents).await?;
            let known = known_rts(&tx, &code, &pattern).await?;
            tx.commit().await?;
            Ok(days.finish(devices, known))
        })
    }
}

/// Agent tokens (revoked too: their past work still counts) whose areas
/// overlap `area`.
async fn area_agents(
    client: &impl GenericClient,
    area: &AreaCode,
) -> Result<Vec<TokenInfo>, StoreError> {
    let stmt = client
        .prepare_cached("SELECT id, name, areas FROM tokens WHERE role = 'agent'")
        .await?;
    let mut out = Vec::new();
    for r in client.query(&stmt, &[]).await? {
        if let Some(t) = snapshots::area_agent(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, area)? {
            out.push(t);
        }
    }
    Ok(out)
}

/// The devices of `agents`, last synced first (never synced last, as
/// SQLite orders NULL).
async fn devices(
    client: &impl GenericClient,
    agents: &[TokenInfo],
) -> Result<Vec<DeviceSeen>, StoreError> {
    let stmt = client
        .prepare_cached(
            "SELECT device_id, token_id, last_push_at, pending FROM devices
             WHERE token_id IS NOT NULL ORDER BY last_push_at DESC NULLS LAST, device_id",
        )
        .await?;
    let mut out = Vec::new();
    for r in client.query(&stmt, &[]).await? {
        let Some(name) = snapshots::holder(agents, r.try_get(1)?) else {
            continue;
        };
        let pending: Option<i64> = r.try_get(3)?;
        out.push(DeviceSeen {
            agent: name.to_string(),
            device_id: r.try_get(0)?,
            last_sync_at: r.try_get(2)?,
            pending: pending.map(to_u64),
        });
    }
    Ok(out)
}

/// RTs known per kelurahan of the area: where persons live or agents
/// visited. The area table lists kelurahan, not their RTs.
async fn known_rts(
    client: &impl GenericClient,
    code: &str,
    pattern: &str,
) -> Result<Vec<(AreaCode, u64)>, StoreError> {
    let stmt = client
        .prepare_cached(
            "SELECT kelurahan, COUNT(*) FROM (
                 SELECT kelurahan, (record::jsonb #>> '{fields,rw}')::BIGINT AS rw,
                        (record::jsonb #>> '{fields,rt}')::BIGINT AS rt
                 FROM persons WHERE (kelurahan = $1 OR kelurahan LIKE $2)
                 UNION
                 SELECT kelurahan, rw, rt FROM visits WHERE (kelurahan = $1 OR kelurahan LIKE $2)
             ) known
             WHERE rw IS NOT NULL AND rt IS NOT NULL
             GROUP BY kelurahan ORDER BY kelurahan COLLATE \"C\"",
        )
        .await?;
    let mut out = Vec::new();
    for r in client.query(&stmt, &[&code, &pattern]).await? {
        out.push((parse_area(r.try_get(0)?)?, to_u64(r.try_get(1)?)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The push path's helpers, in a schema of their own on the database
    /// of `SIGAP_TEST_DATABASE_URL` (skipped when it is not set).
    #[test]
    fn unlogged_refusals_add_up_per_agent_and_day_and_logged_changes_are_found() {
        let Some(base) = std::env::var("SIGAP_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            eprintln!("skipped: SIGAP_TEST_DATABASE_URL is not set");
            return;
        };
        let schema = format!("t_{}", Uuid::new_v4().simple());
        let store = PgStore::open(&format!("{base}?schema={schema}")).unwrap();
        let id = Uuid::now_v7();
        // 2026-12-01 10:00 UTC.
        let now = 1_796_119_200_000_i64;
        let (known, unknown, rows) = store
            .block_on(async {
                let mut client = store.client().await?;
                let tx = client.transaction().await?;
                tx.execute(
                    "INSERT INTO changes (id, device_id, device_seq, in_log, nik, hlc, kind,
                                          fields, agent, received_at, outcome)
                     VALUES ($1, $1, 1, TRUE, 'nik', 'hlc', 'register', '{}', 'ani', $2,
                             'rejected')",
                    &[&id, &now],
                )
                .await?;
                for (agent, at) in [("ani", now), ("ani", now + 1000), ("ani", now + 86_400_000)] {
                    count_unlogged_rejection(&tx, agent, at).await?;
                }
                count_unlogged_rejection(&tx, "budi", now).await?;
                let known = logged(&tx, &id).await?;
                let unknown = logged(&tx, &Uuid::now_v7()).await?;
                let rows: Vec<(String, String, i64)> = tx
                    .query(
                        "SELECT agent, day, count FROM unlogged_rejections ORDER BY agent, day",
                        &[],
                    )
                    .await?
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2)))
                    .collect();
                tx.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                    .await?;
                tx.commit().await?;
                Ok::<_, StoreError>((known, unknown, rows))
            })
            .unwrap();
        assert!(known);
        assert!(!unknown);
        let text = |a: &str, d: &str, n: i64| (a.to_string(), d.to_string(), n);
        assert_eq!(
            rows,
            [
                text("ani", "2026-12-01", 2),
                text("ani", "2026-12-02", 1),
                text("budi", "2026-12-01", 1)
            ]
        );
    }
}
