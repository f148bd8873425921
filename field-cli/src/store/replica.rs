//! The replica: the merged persons of the agent's areas as last pulled,
//! so that `lookup` and `register` can answer offline.

use rusqlite::{Connection, OptionalExtension, params};
use sigap_shared::Nik;
use sigap_shared::wire::PersonState;

use crate::error::Result;

pub fn upsert(conn: &Connection, p: &PersonState) -> Result<()> {
    let f = &p.fields;
    conn.prepare_cached(
        "INSERT INTO replica(nik, state, participant, registered_by, registered_at, name,
            kelurahan, rw, rt, status, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(nik) DO UPDATE SET state = excluded.state,
            participant = excluded.participant, registered_by = excluded.registered_by,
            registered_at = excluded.registered_at, name = excluded.name,
            kelurahan = excluded.kelurahan, rw = excluded.rw, rt = excluded.rt,
            status = excluded.status, seq = excluded.seq",
    )?
    .execute(params![
        p.nik.as_str(),
        serde_json::to_string(p)?,
        p.participant,
        p.registered_by,
        p.registered_at
            .map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
        f.name,
        f.kelurahan.map(|k| k.to_string()),
        f.rw,
        f.rt,
        f.status.map(|s| s.as_str()),
        i64::try_from(p.seq).unwrap_or(i64::MAX),
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, nik: &Nik) -> Result<Option<PersonState>> {
    let raw: Option<String> = conn
        .prepare_cached("SELECT state FROM replica WHERE nik = ?1")?
        .query_row([nik.as_str()], |r| r.get(0))
        .optional()?;
    Ok(raw.map(|s| serde_json::from_str(&s)).transpose()?)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM replica", [], |r| r.get(0))?)
}

/// A sentence saying who already holds this person, for messages.
pub fn describe(p: &PersonState) -> String {
    let area = p
        .fields
        .kelurahan
        .map(|k| sigap_shared::wilayah::area_label(&k))
        .unwrap_or_else(|| "unknown kelurahan".into());
    let name = p.fields.name.clone().unwrap_or_default();
    if p.participant {
        format!("already a participant (membership roll): {name}, {area}")
    } else {
        let by = p.registered_by.as_deref().unwrap_or("another agent");
        let when = p
            .registered_at
            .map(crate::output::date_of_millis)
            .unwrap_or_else(|| "an unknown date".into());
        format!("already covered: registered by {by} on {when} ({name}, {area})")
    }
}
