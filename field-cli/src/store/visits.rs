//! The visit log of RT rounds, and progress per RT.

use rusqlite::{Connection, params};
use serde::Serialize;
use sigap_shared::AreaCode;

use crate::error::Result;

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
        "INSERT INTO visits(kelurahan, rw, rt, households, note, visited_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![kelurahan.to_string(), rw, rt, households, note, now],
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
