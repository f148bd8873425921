//! Agents' activity (changes, rejections, visits, devices) and the visits
//! the field kit syncs (schema v8).

use rusqlite::{Connection, OptionalExtension, params};
use sigap_shared::AreaCode;
use time::Date;
use uuid::Uuid;

use super::counters::date_text;
use super::history::day_of_millis;
use super::{SqliteStore, parse_area};
use crate::engine::{ROLL_DEVICE, SERVER_DEVICE};
use crate::store::snapshots::{self, ActivityDays};
use crate::store::{Activity, DeviceSeen, NewVisit, StoreError, TokenInfo};

/// `code` and the glob of everything inside it, for `area = ?1 OR area
/// GLOB ?2` on kelurahan codes.
fn area_match(area: &AreaCode) -> (String, String) {
    let code = area.to_string();
    let glob = format!("{code}.*");
    (code, glob)
}

/// Counts an unlogged refusal for `agent` on the day of `now`.
pub(super) fn count_unlogged_rejection(
    conn: &Connection,
    agent: &str,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO unlogged_rejections (agent, day, count) VALUES (?1, ?2, 1)
         ON CONFLICT(agent, day) DO UPDATE SET count = count + 1",
    )?
    .execute(params![agent, date_text(day_of_millis(now))?])?;
    Ok(())
}

/// Whether the change log holds a change with this id.
pub(super) fn logged(conn: &Connection, id: &Uuid) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM changes WHERE id = ?1")?
        .query_row([id.as_bytes().as_slice()], |_| Ok(()))
        .optional()?
        .is_some())
}

impl SqliteStore {
    /// Stores visits once each by id; answers, per visit, whether it was
    /// new. The device must be the token's (claimed like a push's).
    pub(in crate::store) fn add_visits_impl(
        &self,
        token_id: i64,
        agent: &str,
        device: Uuid,
        visits: &[NewVisit],
    ) -> Result<Vec<bool>, StoreError> {
        let now = self.now();
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        super::write::claim(&tx, &device, token_id)?;
        super::write::bind_device(&tx, &device, token_id)?;
        let mut out = Vec::with_capacity(visits.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO visits (id, device_id, agent, kelurahan, rw, rt, households, note,
                                     visited_at, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING",
            )?;
            for v in visits {
                let n = insert.execute(params![
                    v.id.as_bytes().as_slice(),
                    device.as_bytes().as_slice(),
                    agent,
                    v.kelurahan.to_string(),
                    v.rw,
                    v.rt,
                    v.households,
                    v.note,
                    v.visited_at,
                    now,
                ])?;
                out.push(n > 0);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// What agents did in `area` from `from` to `to` (UTC days).
    pub(in crate::store) fn activity_impl(
        &self,
        area: &AreaCode,
        from: Date,
        to: Date,
    ) -> Result<Activity, StoreError> {
        let (start, end) = snapshots::millis_range(from, to);
        let (code, glob) = area_match(area);
        self.read(|c| {
            let mut days = ActivityDays::default();
            // A change counts where its person lives, or for a refused
            // registration of a person the server never stored, where
            // the change said.
            let mut stmt = c.prepare_cached(
                "SELECT ch.agent, ch.received_at / 86400000, ch.kind, ch.outcome, COUNT(*)
                 FROM changes ch LEFT JOIN persons p ON p.nik = ch.nik
                 WHERE ch.received_at >= ?1 AND ch.received_at < ?2
                   AND ch.device_id NOT IN (?5, ?6)
                   AND (COALESCE(p.kelurahan, json_extract(ch.fields, '$.kelurahan')) = ?3
                        OR COALESCE(p.kelurahan, json_extract(ch.fields, '$.kelurahan')) GLOB ?4)
                 GROUP BY 1, 2, 3, 4",
            )?;
            let mut rows = stmt.query(params![
                start,
                end,
                code,
                glob,
                ROLL_DEVICE.as_bytes().as_slice(),
                SERVER_DEVICE.as_bytes().as_slice()
            ])?;
            while let Some(r) = rows.next()? {
                let agent: String = r.get(0)?;
                let day = snapshots::day_of_number(r.get(1)?);
                let kind: String = r.get(2)?;
                let outcome: String = r.get(3)?;
                let n = u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0);
                days.changes(&agent, day, &kind, &outcome, n)?;
            }
            let agents = area_agents(c, area)?;
            let mut stmt = c.prepare_cached(
                "SELECT agent, day, count FROM unlogged_rejections WHERE day >= ?1 AND day <= ?2",
            )?;
            let mut rows = stmt.query(params![date_text(from)?, date_text(to)?])?;
            while let Some(r) = rows.next()? {
                let agent: String = r.get(0)?;
                if !snapshots::among(&agents, &agent) {
                    continue;
                }
                let day = super::counters::parse_date_text(&r.get::<_, String>(1)?)?;
                days.unlogged_rejections(
                    &agent,
                    day,
                    u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                )?;
            }
            let mut stmt = c.prepare_cached(
                "SELECT agent, visited_at, kelurahan, rw, rt FROM visits
                 WHERE visited_at >= ?1 AND visited_at < ?2 AND (kelurahan = ?3 OR kelurahan GLOB ?4)",
            )?;
            let mut rows = stmt.query(params![start, end, code, glob])?;
            while let Some(r) = rows.next()? {
                let agent: String = r.get(0)?;
                let day = day_of_millis(r.get(1)?);
                let kel: String = r.get(2)?;
                days.visit(agent, day, &kel, r.get(3)?, r.get(4)?)?;
            }
            Ok(days.finish(devices(c, &agents)?, known_rts(c, &code, &glob)?))
        })
    }
}

/// Agent tokens (revoked too: their past work still counts) whose areas
/// overlap `area`.
fn area_agents(c: &Connection, area: &AreaCode) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = c.prepare_cached("SELECT id, name, areas FROM tokens WHERE role = 'agent'")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let areas: String = r.get(2)?;
        if let Some(t) = snapshots::area_agent(r.get(0)?, r.get(1)?, &areas, area)? {
            out.push(t);
        }
    }
    Ok(out)
}

fn devices(c: &Connection, agents: &[TokenInfo]) -> Result<Vec<DeviceSeen>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT device_id, token_id, last_push_at, pending FROM devices
         WHERE token_id IS NOT NULL ORDER BY last_push_at DESC",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let token: i64 = r.get(1)?;
        let Some(name) = snapshots::holder(agents, token) else {
            continue;
        };
        let id: Vec<u8> = r.get(0)?;
        let pending: Option<i64> = r.get(3)?;
        out.push(DeviceSeen {
            agent: name.to_string(),
            device_id: Uuid::from_slice(&id).map_err(super::corrupt)?,
            last_sync_at: r.get(2)?,
            pending: pending.map(|p| u64::try_from(p).unwrap_or(0)),
        });
    }
    Ok(out)
}

/// RTs known per kelurahan of the area: where persons live or agents
/// visited. The area table lists kelurahan, not their RTs.
fn known_rts(c: &Connection, code: &str, glob: &str) -> Result<Vec<(AreaCode, u64)>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT kelurahan, COUNT(*) FROM (
             SELECT kelurahan, json_extract(record, '$.fields.rw') AS rw,
                    json_extract(record, '$.fields.rt') AS rt
             FROM persons WHERE (kelurahan = ?1 OR kelurahan GLOB ?2)
             UNION
             SELECT kelurahan, rw, rt FROM visits WHERE (kelurahan = ?1 OR kelurahan GLOB ?2))
         WHERE rw IS NOT NULL AND rt IS NOT NULL GROUP BY kelurahan ORDER BY kelurahan",
    )?;
    let mut rows = stmt.query(params![code, glob])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let kel = parse_area(&r.get::<_, String>(0)?)?;
        out.push((kel, u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0)));
    }
    Ok(out)
}
