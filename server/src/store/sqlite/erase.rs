//! Erasure of a person's personal data at an admin's request (the PDP
//! law, UU 27/2022): the name, phone, occupation, employer and void
//! reason are overwritten in the merged record, in every logged change,
//! in conflicts and in identity claims. What the coverage count needs
//! stays: the NIK (so that a later registration of the same person is
//! the same person, not a second count), the address down to RT, the
//! category, the status and when the person was first covered.

use rusqlite::{Connection, TransactionBehavior, params};
use serde_json::Value;
use sigap_shared::Fields;
use sigap_shared::nik::Nik;

use super::write::SqliteTx;
use super::{SqliteStore, now_millis};
use crate::engine;
use crate::protocol::{self, Tx, ready};
use crate::store::{Erasure, StoreError};

// The personal fields and what each becomes ("[dihapus]", an empty
// phone) are shared with the field tool, which overwrites its own copy
// of an erased person with the same values.
use sigap_shared::erasure::PERSONAL;

impl SqliteStore {
    pub(in crate::store) fn erase_person_impl(
        &self,
        nik: &Nik,
        by: &str,
        reason: &str,
    ) -> Result<Erasure, StoreError> {
        let mut conn = self.writer()?;
        // Overwritten bytes are zeroed in the file, not merely freed.
        conn.pragma_update(None, "secure_delete", "ON")?;
        let result = erase_in(&mut conn, nik, by, reason);
        conn.pragma_update(None, "secure_delete", "FAST")?;
        result
    }
}

fn erase_in(
    conn: &mut Connection,
    nik: &Nik,
    by: &str,
    reason: &str,
) -> Result<Erasure, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut t = SqliteTx::new(&tx)?;
        ready(erase_fields(&mut t, nik, by, reason))??;
    }
    let changes = scrub_rows(
        &tx,
        "SELECT id, fields FROM changes WHERE nik = ?1",
        "UPDATE changes SET fields = ?1 WHERE id = ?2",
        nik,
    )?;
    let conflicts = scrub_conflicts(&tx, nik)?;
    scrub_rows(
        &tx,
        "SELECT nik, claims FROM persons WHERE nik = ?1 AND claims IS NOT NULL",
        "UPDATE persons SET claims = ?1 WHERE nik = ?2",
        nik,
    )?;
    tx.commit()?;
    Ok(Erasure {
        changes_scrubbed: changes,
        conflicts_scrubbed: conflicts,
    })
}

/// Overwrites the person's personal fields in the merged record, as a
/// change with an author (the admin).
pub(in crate::store) async fn erase_fields<T: Tx>(
    t: &mut T,
    nik: &Nik,
    by: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let person = t
        .load_person(nik)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no person with NIK {}", nik.masked())))?;
    let fields = erasure_of(&person.record.fields);
    let now = now_millis();
    let at = u64::try_from(now).unwrap_or(0);
    protocol::write_as(
        t,
        nik,
        &fields,
        Some(&format!("erased: {reason}")),
        by,
        &format!("admin {by}"),
        now,
        |record| engine::server_hlc(record, at),
    )
    .await?;
    Ok(())
}

/// The write that overwrites what `current` holds of each personal field
/// (fields it does not hold, it leaves unwritten).
fn erasure_of(current: &Fields) -> Fields {
    sigap_shared::erasure::erasure_of(current)
}

/// When the person whose merged record holds `fields` (and the per-field
/// clocks `stamps`, their stored JSON) was erased, for the feed's
/// `erased_at`: the latest clock of a personal field that reads
/// `"[dihapus]"` ([`sigap_shared::erasure::ERASED`]) and was written by
/// the server itself ([`engine::SERVER_DEVICE`], as [`erase_fields`]
/// writes). `None` for a person never erased, and for one whose erased
/// fields have all been written again since by others: the record then
/// carries no mark of the erasure, so a device that did not pull the
/// person in between is not told (docs/sync-api.md says so). An erasure
/// of a record that held only a phone leaves no mark either (an empty
/// phone is not one: anyone may clear a phone).
///
/// The stamps are read only when a field reads `"[dihapus]"`, so the feed
/// of persons never erased costs nothing more. Both backends' pulls call
/// this one rule.
pub(in crate::store) fn erased_at(
    fields: &Fields,
    stamps: &str,
) -> Result<Option<u64>, StoreError> {
    let mut marks = sigap_shared::erasure::erased_marks(fields).peekable();
    if marks.peek().is_none() {
        return Ok(None);
    }
    let stamps: sigap_shared::merge::Stamps = serde_json::from_str(stamps)
        .map_err(|e| StoreError::Corrupt(format!("person record stamps: {e}")))?;
    Ok(marks
        .filter_map(|f| stamps.0.get(&f))
        .filter(|h| h.device == engine::SERVER_DEVICE)
        .map(|h| h.millis)
        .max())
}

/// Rewrites the JSON column read by `select` (key, json) for every row of
/// `nik`, with its personal fields overwritten; the rows changed.
fn scrub_rows(
    conn: &Connection,
    select: &str,
    update: &str,
    nik: &Nik,
) -> Result<usize, StoreError> {
    let rows: Vec<(rusqlite::types::Value, String)> = conn
        .prepare(select)?
        .query_map([nik.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut changed = 0;
    for (key, text) in rows {
        let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if scrub(&mut value) {
            conn.execute(update, params![value.to_string(), key])?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Scrubs both sides and the resolution of each conflict about `nik`; the
/// conflicts changed.
fn scrub_conflicts(conn: &Connection, nik: &Nik) -> Result<usize, StoreError> {
    type Row = (i64, String, String, Option<String>);
    let rows: Vec<Row> = conn
        .prepare("SELECT id, existing, incoming, resolution FROM conflicts WHERE nik = ?1")?
        .query_map([nik.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut changed = 0;
    for (id, existing, incoming, resolution) in rows {
        let mut any = false;
        let mut clean = |text: &str| -> String {
            match serde_json::from_str::<Value>(text) {
                Ok(mut v) => {
                    any |= scrub(&mut v);
                    v.to_string()
                }
                Err(_) => text.to_string(),
            }
        };
        let existing = clean(&existing);
        let incoming = clean(&incoming);
        let resolution = resolution.as_deref().map(&mut clean);
        if any {
            conn.execute(
                "UPDATE conflicts SET existing = ?1, incoming = ?2, resolution = ?3 WHERE id = ?4",
                params![existing, incoming, resolution, id],
            )?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// `text` (JSON) with every personal field overwritten, when it held any.
pub(crate) fn scrub_text(text: &str) -> Option<String> {
    let mut value = serde_json::from_str::<Value>(text).ok()?;
    scrub(&mut value).then(|| value.to_string())
}

/// Overwrites every personal field anywhere in `value`; whether any was.
fn scrub(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (key, v) in map.iter_mut() {
                if let Some((_, erased)) = PERSONAL.iter().find(|(f, _)| f.as_str() == key) {
                    // A plain value, or a stamped one (`{"value", "hlc"}`,
                    // as identity claims keep them).
                    let text = match v {
                        Value::Object(stamped) => stamped.get_mut("value"),
                        plain => Some(plain),
                    };
                    if let Some(Value::String(text)) = text
                        && !text.is_empty()
                        && text != erased
                    {
                        *text = (*erased).to_string();
                        changed = true;
                    }
                } else {
                    changed |= scrub(v);
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, v| scrub(v) | c),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sigap_shared::erasure::ERASED;

    #[test]
    fn personal_fields_are_overwritten_wherever_they_are() {
        let mut v = json!({
            "name": "Siti Rahayu",
            "rt": 3,
            "sides": [{"fields": {"name": "Siti R", "phone": "0812345678", "kelurahan": "33.72.01.1001"}}],
            "occupation": "pedagang",
            "employer": "",
            "claims": {"0193": {"name": {"value": "Siti", "hlc": "1"}}},
        });
        assert!(scrub(&mut v));
        assert_eq!(
            v,
            json!({
                "name": ERASED,
                "rt": 3,
                "sides": [{"fields": {"name": ERASED, "phone": "", "kelurahan": "33.72.01.1001"}}],
                "occupation": ERASED,
                "employer": "",
                "claims": {"0193": {"name": {"value": ERASED, "hlc": "1"}}},
            })
        );
        assert!(!scrub(&mut v), "a second pass finds nothing left");
    }

    fn at(millis: u64, device: uuid::Uuid) -> sigap_shared::Hlc {
        sigap_shared::Hlc {
            millis,
            counter: 0,
            device,
        }
    }

    #[test]
    fn the_feed_says_when_the_server_erased_a_person() {
        let nik = Nik::parse("3372015505900002").unwrap();
        let agent = uuid::Uuid::from_u128(7);
        let fields = Fields {
            name: Some("Siti Rahayu".into()),
            phone: Some("0812345678".into()),
            occupation: Some("pedagang".into()),
            rw: Some(1),
            ..Fields::default()
        };
        let mut record = sigap_shared::PersonRecord::from_write(nik, &fields, at(1_000, agent));
        let stamps = |r: &sigap_shared::PersonRecord| serde_json::to_string(&r.stamps).unwrap();
        // Never erased: the stamps are not even read.
        assert_eq!(erased_at(&record.fields, "not json").unwrap(), None);
        // An agent who types the marker as a name erases nothing.
        let mut typed = record.clone();
        typed.apply(
            &Fields {
                name: Some(ERASED.into()),
                ..Fields::default()
            },
            at(2_000, agent),
        );
        assert_eq!(erased_at(&typed.fields, &stamps(&typed)).unwrap(), None);
        // The server's erasure: its clock.
        let erasure = erasure_of(&record.fields);
        record.apply(&erasure, at(5_000, engine::SERVER_DEVICE));
        assert_eq!(
            erased_at(&record.fields, &stamps(&record)).unwrap(),
            Some(5_000)
        );
        // The name written again later by an agent: the occupation still
        // carries the erasure.
        record.apply(
            &Fields {
                name: Some("Siti R".into()),
                ..Fields::default()
            },
            at(6_000, agent),
        );
        assert_eq!(
            erased_at(&record.fields, &stamps(&record)).unwrap(),
            Some(5_000)
        );
        // Every erased field written again: nothing left to announce.
        record.apply(
            &Fields {
                occupation: Some("penjahit".into()),
                ..Fields::default()
            },
            at(7_000, agent),
        );
        assert_eq!(erased_at(&record.fields, &stamps(&record)).unwrap(), None);
    }
}
