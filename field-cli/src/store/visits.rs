//! The visit log of RT rounds, and progress per RT.

use rusqlite::{Connection, params};
use serde::Serialize;
use sigap_shared::AreaCode;

use sigap_shared::visit_wire::Visit;

use crate::error::{CliError, Result};

pub fn add(
    conn: &Connection,
    kelurahan: &AreaCode,
    rw: u16,
    rt: u16,
    households: u32,
    note: Option<&str>,
    now: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO visits(kelurahan, rw, rt, households, note, visited_at, uid)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            kelurahan.to_string(),
            rw,
            rt,
            households,
            note,
            now,
            uuid::Uuid::now_v7().to_string()
        ],
    )?;
    Ok(())
}

/// Progress of one RT.
#[derive(Debug, Serialize)]
pub struct RtProgress {
    pub kelurahan: String,
    pub rw: u16,
    pub rt: u16,
    pub visits: i64,
    pub households: i64,
    pub registered: i64,
    pub last_visit: Option<String>,
}

/// Every RT that was visited or has registrations, optionally inside one
/// kelurahan.
pub fn progress(conn: &Connection, kelurahan: Option<&AreaCode>) -> Result<Vec<RtProgress>> {
    let mut stmt = conn.prepare(
        "WITH v AS (SELECT kelurahan, rw, rt, COUNT(*) AS visits, SUM(households) AS households,
                        MAX(visited_at) AS last_visit FROM visits GROUP BY kelurahan, rw, rt),
              r AS (SELECT kelurahan, rw, rt, COUNT(*) AS registered FROM records
                    WHERE kelurahan IS NOT NULL AND status <> 'void' GROUP BY kelurahan, rw, rt),
              k AS (SELECT kelurahan, rw, rt FROM v UNION SELECT kelurahan, rw, rt FROM r)
         SELECT k.kelurahan, k.rw, k.rt, COALESCE(v.visits, 0), COALESCE(v.households, 0),
                COALESCE(r.registered, 0), v.last_visit
         FROM k LEFT JOIN v USING (kelurahan, rw, rt) LEFT JOIN r USING (kelurahan, rw, rt)
         WHERE ?1 IS NULL OR k.kelurahan = ?1
         ORDER BY k.kelurahan, k.rw, k.rt",
    )?;
    let rows = stmt.query_map([kelurahan.map(|k| k.to_string())], |r| {
        Ok(RtProgress {
            kelurahan: r.get(0)?,
            rw: r.get(1)?,
            rt: r.get(2)?,
            visits: r.get(3)?,
            households: r.get(4)?,
            registered: r.get(5)?,
            last_visit: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Gives a UUIDv7 to every visit recorded before visits had one, so that
/// each is sent with the same id however often it is sent.
pub fn give_ids(conn: &Connection) -> Result<usize> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM visits WHERE uid IS NULL ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let tx = conn.unchecked_transaction()?;
    for id in &ids {
        tx.execute(
            "UPDATE visits SET uid = ?1 WHERE id = ?2",
            params![uuid::Uuid::now_v7().to_string(), id],
        )?;
    }
    tx.commit()?;
    Ok(ids.len())
}

/// A visit not yet answered by the server.
#[derive(Debug, Clone)]
pub struct Unsynced {
    pub row: i64,
    pub visit: Visit,
}

/// Up to `limit` visits to send, oldest first. A row this device cannot
/// read back (a hand-edited database) is an error, not skipped.
pub fn unsynced(conn: &Connection, limit: usize) -> Result<Vec<Unsynced>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, uid, kelurahan, rw, rt, households, note, visited_at FROM visits
         WHERE synced = 0 AND refused IS NULL AND uid IS NOT NULL ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, u16>(3)?,
            r.get::<_, u16>(4)?,
            r.get::<_, u32>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, String>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (row, uid, kel, rw, rt, households, note, at) = row?;
        let bad =
            |what: &str| CliError::Local(crate::i18n::t!("damaged-visit", row = row, what = what));
        out.push(Unsynced {
            row,
            visit: Visit {
                id: uuid::Uuid::parse_str(&uid).map_err(|_| bad(&crate::i18n::t!("part-id")))?,
                kelurahan: AreaCode::parse(&kel).map_err(|_| bad("kelurahan"))?,
                rw,
                rt,
                households,
                note,
                visited_at: time::OffsetDateTime::parse(
                    &at,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| bad(&crate::i18n::t!("part-date")))?,
            },
        });
    }
    Ok(out)
}

/// Records the server's answer for one visit: stored or already held
/// marks it synced; a refusal keeps the reason and stops resending it.
pub fn mark(conn: &Connection, row: i64, refused: Option<&str>) -> Result<()> {
    match refused {
        None => conn.execute("UPDATE visits SET synced = 1 WHERE id = ?1", [row])?,
        Some(reason) => conn.execute(
            "UPDATE visits SET refused = ?1 WHERE id = ?2",
            params![reason, row],
        )?,
    };
    Ok(())
}

/// Visits still to send.
pub fn count_unsynced(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM visits WHERE synced = 0 AND refused IS NULL",
        [],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}
