//! The read paths: pull, device log, persons, conflicts, verification.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use sigap_shared::merge::Field;
use sigap_shared::wire::{MAX_PULL_LIMIT, PROTOCOL_VERSION, PersonState, PullPage, Receipt};
use sigap_shared::{AreaCode, Level, Nik};
use uuid::Uuid;

use super::{SqliteStore, corrupt, parse_area, parse_record};
use crate::engine;
use crate::store::{
    Conflict, ConflictSide, CounterDiff, DeviceChange, HistoryEntry, PersonView, ReviewItem,
    StoreError, VerifyReport,
};

/// A stored record as the pull feed reads it: the fields only. Skipping
/// the rest (the NIK is a column, the per-field timestamps are not shown)
/// was most of the saving on a pull page; the fields keep the one shared
/// type, so a renamed field cannot quietly vanish from the feed.
#[derive(serde::Deserialize)]
struct PullRecord<'a> {
    fields: sigap_shared::Fields,
    /// Read only for a void (its date is sent) and an erased person (the
    /// erasure's date is sent).
    #[serde(borrow)]
    stamps: &'a serde_json::value::RawValue,
}

/// When a void record was voided: its `status` stamp's clock.
fn voided_at(rec: &PullRecord<'_>) -> Result<Option<u64>, StoreError> {
    if rec.fields.status != Some(sigap_shared::Status::Void) {
        return Ok(None);
    }
    let stamps: sigap_shared::merge::Stamps =
        serde_json::from_str(rec.stamps.get()).map_err(corrupt)?;
    Ok(stamps.0.get(&Field::Status).map(|h| h.millis))
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn uuid_of(bytes: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(bytes).map_err(corrupt)
}

/// How many persons a pull page that skips the device's own may examine,
/// per person it may return.
const SKIP_FACTOR: usize = 20;

const CONFLICT_COLUMNS: &str = "id, nik, kelurahan, fields, existing, incoming, change_id, status,
     opened_at, resolved_at, resolved_by, resolution, note";

fn conflict_from_row(r: &rusqlite::Row<'_>) -> Result<Conflict, StoreError> {
    let json = |i: usize| -> Result<String, StoreError> { Ok(r.get::<_, String>(i)?) };
    let nik: String = r.get(1)?;
    let kel: Option<String> = r.get(2)?;
    let fields: Vec<Field> = serde_json::from_str(&json(3)?).map_err(corrupt)?;
    let existing: ConflictSide = serde_json::from_str(&json(4)?).map_err(corrupt)?;
    let incoming: ConflictSide = serde_json::from_str(&json(5)?).map_err(corrupt)?;
    let change: Vec<u8> = r.get(6)?;
    let resolution: Option<String> = r.get(11)?;
    Ok(Conflict {
        id: r.get(0)?,
        nik: Nik::parse(&nik).map_err(corrupt)?,
        kelurahan: kel.as_deref().map(parse_area).transpose()?,
        fields,
        existing,
        incoming,
        change_id: uuid_of(&change)?,
        status: r.get(7)?,
        opened_at: r.get(8)?,
        resolved_at: r.get(9)?,
        resolved_by: r.get(10)?,
        resolution: resolution
            .map(|t| serde_json::from_str(&t).map_err(corrupt))
            .transpose()?,
        note: r.get(12)?,
    })
}

pub(super) fn load_conflict(conn: &Connection, id: i64) -> Result<Option<Conflict>, StoreError> {
    let sql = format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(r) => Ok(Some(conflict_from_row(r)?)),
        None => Ok(None),
    }
}

impl SqliteStore {
    pub(in crate::store) fn registrations_per_day_impl(
        &self,
        areas: Option<&[AreaCode]>,
        from_millis: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.read(|c| {
            // Grouped by kelurahan first: the area test needs the code, and
            // a kota has only a few dozen kelurahan.
            let mut stmt = c.prepare_cached(
                "SELECT kelurahan, registered_at / 86400000 AS day, COUNT(*)
                 FROM persons WHERE registered_at >= ?1
                 GROUP BY kelurahan, day",
            )?;
            let mut rows = stmt.query([from_millis])?;
            let mut days: std::collections::BTreeMap<i64, u64> = Default::default();
            while let Some(r) = rows.next()? {
                let kel: Option<String> = r.get(0)?;
                let kelurahan = kel.as_deref().map(parse_area).transpose()?;
                let visible = match (areas, &kelurahan) {
                    (None, _) => true,
                    (Some(list), Some(k)) => list.iter().any(|a| a.contains(k)),
                    (Some(_), None) => false,
                };
                if visible {
                    let n: i64 = r.get(2)?;
                    *days.entry(r.get(1)?).or_default() += u64::try_from(n).unwrap_or(0);
                }
            }
            Ok(days.into_iter().collect())
        })
    }

    pub(in crate::store) fn review_impl(
        &self,
        areas: Option<&[AreaCode]>,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT nik, kelurahan, record, review, participant, roll_as_of, registered_at
                 FROM persons WHERE review IS NOT NULL ORDER BY nik",
            )?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let kel: Option<String> = r.get(1)?;
                let kelurahan = kel.as_deref().map(parse_area).transpose()?;
                let visible = match (areas, &kelurahan) {
                    (None, _) => true,
                    (Some(list), Some(k)) => list.iter().any(|a| a.contains(k)),
                    // A record without an address is in nobody's area:
                    // admins see it.
                    (Some(_), None) => false,
                };
                if !visible {
                    continue;
                }
                let nik: String = r.get(0)?;
                let rec = parse_record(&r.get::<_, String>(2)?)?;
                let issues: Vec<sigap_shared::Issue> =
                    serde_json::from_str(&r.get::<_, String>(3)?).map_err(corrupt)?;
                let as_of: Option<String> = r.get(5)?;
                let as_of = as_of
                    .as_deref()
                    .map(super::counters::parse_date_text)
                    .transpose()?;
                let roll = super::counters::roll_since(r.get(4)?, as_of);
                out.push(ReviewItem {
                    nik: Nik::parse(&nik).map_err(corrupt)?,
                    kelurahan,
                    covered: engine::coverage_key(&rec, roll, r.get(6)?).is_some(),
                    issues,
                });
            }
            Ok(out)
        })
    }

    pub(in crate::store) fn pull_impl(
        &self,
        areas: Option<&[AreaCode]>,
        cursor: u64,
        limit: usize,
        skip: Option<Uuid>,
    ) -> Result<PullPage, StoreError> {
        let mut sql = String::from(
            "SELECT nik, record, participant, registered_by, registered_at, seq, sole_device,
                    last_changed_by
             FROM persons WHERE seq > ?1",
        );
        // Skipped persons still cost a row read each: a page examines at
        // most this many, so one request stays bounded whatever the feed.
        let examine = if skip.is_some() {
            limit.saturating_mul(SKIP_FACTOR)
        } else {
            limit
        };
        let mut values: Vec<Value> = vec![Value::Integer(to_i64(cursor))];
        if let Some(areas) = areas {
            // One kelurahan: the (kelurahan, seq) index gives the page in
            // order. Wider or several areas: walk the seq index and filter
            // (`+` keeps SQLite from choosing the kelurahan index, which
            // would read every match and sort it for each page).
            let col = match areas {
                [one] if one.level() == Level::Kelurahan => "kelurahan",
                _ => "+kelurahan",
            };
            let mut ors = Vec::new();
            for a in areas {
                values.push(Value::Text(match a.level() {
                    Level::Kelurahan => a.to_string(),
                    _ => format!("{a}.*"),
                }));
                let n = values.len();
                ors.push(match a.level() {
                    Level::Kelurahan => format!("{col} = ?{n}"),
                    _ => format!("{col} GLOB ?{n}"),
                });
            }
            if ors.is_empty() {
                ors.push("0".into());
            }
            sql.push_str(&format!(" AND ({})", ors.join(" OR ")));
        }
        values.push(Value::Integer(i64::try_from(examine).unwrap_or(0) + 1));
        sql.push_str(&format!(" ORDER BY seq LIMIT ?{}", values.len()));
        let skip = skip.map(|d| *d.as_bytes());
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(values.iter()))?;
            // A full page is the usual one: taken at once, not grown.
            let mut persons = Vec::with_capacity(limit.min(MAX_PULL_LIMIT));
            let mut has_more = false;
            let mut examined = 0usize;
            let mut last_seq = cursor;
            while let Some(r) = rows.next()? {
                if persons.len() == limit || examined == examine {
                    has_more = true;
                    break;
                }
                examined += 1;
                last_seq = to_u64(r.get(5)?);
                if let Some(skip) = &skip
                    && r.get_ref(6)?.as_blob_or_null().map_err(corrupt)? == Some(skip.as_slice())
                {
                    continue;
                }
                let nik = r.get_ref(0)?.as_str().map_err(corrupt)?;
                let nik = Nik::parse(nik).map_err(|e| corrupt(format!("stored NIK: {e}")))?;
                let rec: PullRecord =
                    serde_json::from_slice(r.get_ref(1)?.as_bytes().map_err(corrupt)?)
                        .map_err(|e| corrupt(format!("person record: {e}")))?;
                let at: Option<i64> = r.get(4)?;
                // Agents get the masked state only: no NIK, no full name,
                // no birth date or contact details (see `PersonState`).
                persons.push(PersonState {
                    participant: r.get(2)?,
                    registered_by: r.get(3)?,
                    registered_at: at.map(to_u64),
                    voided_at: voided_at(&rec)?,
                    erased_at: crate::store::sqlite::erase::erased_at(
                        &rec.fields,
                        rec.stamps.get(),
                    )?,
                    last_changed_by: r.get(7)?,
                    seq: to_u64(r.get(5)?),
                    ..PersonState::masked(&self.replica_key, &nik, &rec.fields)
                });
            }
            // Past the skipped persons too: they are not examined again.
            let next_cursor = last_seq;
            Ok(PullPage {
                protocol: PROTOCOL_VERSION,
                persons,
                next_cursor,
                has_more,
            })
        })
    }

    pub(in crate::store) fn device_receipt_impl(
        &self,
        device: Uuid,
    ) -> Result<Receipt, StoreError> {
        self.read(|c| super::write::load_device(c, &device))
    }

    pub(in crate::store) fn device_changes_impl(
        &self,
        device: Uuid,
        after_seq: u64,
        limit: usize,
    ) -> Result<(Vec<DeviceChange>, bool), StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT device_seq, id, outcome, reject_code, reject_reason FROM changes
                 WHERE device_id = ?1 AND in_log = 1 AND device_seq > ?2
                 ORDER BY device_seq LIMIT ?3",
            )?;
            let mut rows = stmt.query(params![
                device.as_bytes().as_slice(),
                to_i64(after_seq),
                i64::try_from(limit).unwrap_or(0) + 1
            ])?;
            let mut out = Vec::new();
            let mut more = false;
            while let Some(r) = rows.next()? {
                if out.len() == limit {
                    more = true;
                    break;
                }
                let id: Vec<u8> = r.get(1)?;
                out.push(DeviceChange {
                    device_seq: to_u64(r.get(0)?),
                    id: uuid_of(&id)?,
                    outcome: r.get(2)?,
                    code: r.get(3)?,
                    reason: r.get(4)?,
                });
            }
            Ok((out, more))
        })
    }

    /// Recounts coverage from the persons and compares every bucket (area,
    /// category and start year), so a wrong count for any year shows.
    pub(in crate::store) fn verify_counters_impl(&self) -> Result<VerifyReport, StoreError> {
        self.read(|c| {
            let mut report = VerifyReport::default();
            let (persons, buckets) = super::counters::recount(c)?;
            report.persons = persons;
            type Key = (String, String, i32);
            let expected: HashMap<Key, i64> = buckets
                .into_iter()
                .map(|((area, cat, year), n)| {
                    ((area.to_string(), cat.as_str().to_string(), year), n)
                })
                .collect();
            let mut stmt = c.prepare("SELECT area, category, since_year, covered FROM counters")?;
            let mut rows = stmt.query([])?;
            let mut stored: HashMap<Key, i64> = HashMap::new();
            while let Some(r) = rows.next()? {
                stored.insert((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?);
            }
            let mut keys: Vec<&Key> = expected.keys().chain(stored.keys()).collect();
            keys.sort();
            keys.dedup();
            report.counters = keys.len() as u64;
            for k in keys {
                let s = stored.get(k).copied().unwrap_or(0);
                let e = expected.get(k).copied().unwrap_or(0);
                if s != e {
                    report.differences.push(CounterDiff {
                        area: k.0.clone(),
                        category: k.1.clone(),
                        since_year: k.2,
                        stored: s,
                        expected: e,
                    });
                }
            }
            Ok(report)
        })
    }

    pub(in crate::store) fn conflicts_impl(
        &self,
        status: Option<&str>,
    ) -> Result<Vec<Conflict>, StoreError> {
        self.read(|c| {
            let sql = format!(
                "SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query([status])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(conflict_from_row(r)?);
            }
            Ok(out)
        })
    }

    pub(in crate::store) fn conflict_impl(&self, id: i64) -> Result<Option<Conflict>, StoreError> {
        self.read(|c| load_conflict(c, id))
    }

    pub(in crate::store) fn person_impl(
        &self,
        nik: &Nik,
        history: bool,
    ) -> Result<Option<PersonView>, StoreError> {
        self.read(|c| {
            type Row = (
                String,
                bool,
                Option<String>,
                Option<i64>,
                i64,
                Option<String>,
            );
            let row: Option<Row> = c
                .prepare_cached(
                    "SELECT record, participant, registered_by, registered_at, seq, roll_as_of
                     FROM persons WHERE nik = ?1",
                )?
                .query_row([nik.as_str()], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .optional()?;
            let Some((rec, participant, by, at, seq, as_of)) = row else {
                return Ok(None);
            };
            let rec = parse_record(&rec)?;
            let as_of = as_of
                .as_deref()
                .map(super::counters::parse_date_text)
                .transpose()?;
            let roll = super::counters::roll_since(participant, as_of);
            let history = if history {
                let mut stmt = c.prepare_cached(
                    "SELECT id, device_id, device_seq, agent, kind, hlc, received_at, outcome,
                            reject_code, fields
                     FROM changes WHERE nik = ?1 ORDER BY received_at, hlc",
                )?;
                let mut rows = stmt.query([nik.as_str()])?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let id: Vec<u8> = r.get(0)?;
                    let dev: Vec<u8> = r.get(1)?;
                    let fields: String = r.get(9)?;
                    out.push(HistoryEntry {
                        change_id: uuid_of(&id)?,
                        device_id: uuid_of(&dev)?,
                        device_seq: to_u64(r.get(2)?),
                        agent: r.get(3)?,
                        kind: r.get(4)?,
                        hlc: r.get(5)?,
                        received_at: r.get(6)?,
                        outcome: r.get(7)?,
                        code: r.get(8)?,
                        fields: serde_json::from_str(&fields).map_err(corrupt)?,
                    });
                }
                Some(out)
            } else {
                None
            };
            Ok(Some(PersonView {
                covered: engine::coverage_key(&rec, roll, at).is_some(),
                stamps: serde_json::to_value(&rec.stamps).map_err(corrupt)?,
                nik: rec.nik,
                fields: rec.fields,
                participant,
                registered_by: by,
                registered_at: at.map(to_u64),
                seq: to_u64(seq),
                history,
            }))
        })
    }
}
