//! A person as loaded for a write, and the state of one write
//! transaction: saving persons and keeping the coverage counters in step.

use std::collections::HashMap;

use sigap_shared::merge::PersonRecord;
use sigap_shared::{AreaCode, Category, Nik};
use time::Date;
use uuid::Uuid;

use super::{CounterDeltas, Tx, corrupt};
use crate::engine::{self, CoverageKey};
use crate::store::StoreError;
use crate::store::sqlite::counters;

/// A person as loaded for a write.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Where the person is in the feed; `None` until first saved.
    pub seq: Option<i64>,
    pub record: PersonRecord,
    pub participant: bool,
    /// The earliest roll date listing the person; `None` for a
    /// participant means listed since always (imported before dates were
    /// kept).
    pub roll_as_of: Option<Date>,
    pub registered_by: Option<String>,
    pub registered_hlc: Option<String>,
    pub registered_at: Option<i64>,
    /// The one device that has written this person, while there is one.
    pub sole_device: Option<Uuid>,
    /// What a supervisor must review ([`engine::review_json`]); the
    /// caller sets it for the record it saves.
    pub review: Option<String>,
    /// Who made the latest write (set by [`Writer::save`]).
    pub last_changed_by: Option<String>,
    /// Identity claims per source ([`crate::claims::Claims`]) as JSON,
    /// once a second source has written the person's identity.
    pub claims: Option<String>,
    /// Where the counters hold the person as stored (set by
    /// [`Writer::load`], `None` for a new person); [`Writer::save`] moves
    /// the count from here to where the saved state counts.
    pub counted: CoverageKey,
}

impl Stored {
    /// A person the server has not stored yet.
    pub fn new(record: PersonRecord) -> Stored {
        Stored {
            seq: None,
            record,
            participant: false,
            roll_as_of: None,
            registered_by: None,
            registered_hlc: None,
            registered_at: None,
            sole_device: None,
            review: None,
            last_changed_by: None,
            claims: None,
            counted: None,
        }
    }

    /// Where and since when this state counts towards coverage.
    pub fn coverage_key(&self) -> CoverageKey {
        engine::coverage_key(
            &self.record,
            counters::roll_since(self.participant, self.roll_as_of),
            self.registered_at,
        )
    }

    /// The roll date as stored (`YYYY-MM-DD`).
    pub fn roll_as_of_text(&self) -> Result<Option<String>, StoreError> {
        self.roll_as_of.map(counters::date_text).transpose()
    }
}

/// What a caller of [`Writer::save`] already has of the record's JSON.
pub enum Known<'a> {
    Nothing,
    /// The JSON of the record's fields.
    Fields(&'a str),
    /// The JSON of the whole record.
    Record(String),
}

/// The record's JSON, around the fields' JSON when the caller has it.
pub fn record_json(record: &PersonRecord, fields_json: Option<&str>) -> Result<String, StoreError> {
    // Written into one buffer of about a record's size: serde_json's own
    // starts at 128 bytes and grew three times for every record saved.
    let mut out = Vec::with_capacity(RECORD_JSON_CAPACITY + fields_json.map_or(0, str::len));
    match fields_json {
        None => serde_json::to_writer(&mut out, record).map_err(corrupt)?,
        Some(fields) => {
            out.extend_from_slice(b"{\"nik\":");
            serde_json::to_writer(&mut out, &record.nik).map_err(corrupt)?;
            out.extend_from_slice(b",\"fields\":");
            out.extend_from_slice(fields.as_bytes());
            out.extend_from_slice(b",\"stamps\":");
            serde_json::to_writer(&mut out, &record.stamps.stored()).map_err(corrupt)?;
            out.push(b'}');
        }
    }
    String::from_utf8(out).map_err(corrupt)
}

/// Bytes kept for a record's JSON besides its fields' (a registration's
/// record is ~470 bytes, its fields ~230).
const RECORD_JSON_CAPACITY: usize = 512;

/// State of one write transaction: the counter changes, written once at
/// the end.
pub struct Writer<'t, T: Tx> {
    pub tx: &'t mut T,
    /// Covered-count changes per RT, category and start year.
    deltas: RtDeltas,
}

/// Covered-count changes per RT, category and start year, not yet added
/// up the tree nor written.
pub type RtDeltas = HashMap<(AreaCode, Category, i32), i64>;

/// Adds `from` into `into`.
pub fn merge_deltas(into: &mut RtDeltas, from: RtDeltas) {
    if into.is_empty() {
        *into = from;
        return;
    }
    for (k, d) in from {
        *into.entry(k).or_default() += d;
    }
}

/// The counter rows `deltas` change: every level above each RT added up,
/// zeros left out, in a fixed order (so that concurrent writers lock
/// counter rows in the same order).
pub fn counter_rows(deltas: RtDeltas) -> CounterDeltas {
    let mut all: HashMap<(AreaCode, Category, i32), i64> = HashMap::new();
    for ((rt, cat, year), d) in deltas {
        if d != 0 {
            for area in rt.self_and_ancestors() {
                *all.entry((area, cat, year)).or_default() += d;
            }
        }
    }
    let mut rows: CounterDeltas = all
        .into_iter()
        .filter(|(_, d)| *d != 0)
        .map(|((a, c, y), d)| (a, c, y, d))
        .collect();
    // By the codes' own order, not their text: formatting two codes per
    // comparison was a seventh of a push's instructions (callgrind). Any
    // fixed order serves; PostgreSQL sorts its rows again by text.
    rows.sort_unstable_by_key(|&(area, cat, year, _)| (area, cat, year));
    rows
}

/// Writes `deltas` to the counters (see [`counter_rows`]).
pub async fn flush_deltas<T: Tx>(tx: &mut T, deltas: RtDeltas) -> Result<(), StoreError> {
    let rows = counter_rows(deltas);
    if rows.is_empty() {
        return Ok(());
    }
    tx.add_counters(&rows).await
}

impl<'t, T: Tx> Writer<'t, T> {
    pub fn new(tx: &'t mut T) -> Writer<'t, T> {
        Writer {
            tx,
            deltas: HashMap::new(),
        }
    }

    /// The person as stored, with where the counters hold it.
    pub async fn load(&mut self, nik: &Nik) -> Result<Option<Stored>, StoreError> {
        let mut p = self.tx.load_person(nik).await?;
        if let Some(p) = &mut p {
            p.counted = p.coverage_key();
        }
        Ok(p)
    }

    /// Saves a person written by `device` (on behalf of `by`, as people
    /// name it, when this write is the person's latest by clock) at the
    /// end of the feed, keeping the counters in step with the move from
    /// where the person was counted (`p.counted`) to where the saved
    /// state counts. `known`: what the caller already has of the
    /// record's JSON.
    pub async fn save(
        &mut self,
        p: &mut Stored,
        known: Known<'_>,
        device: Uuid,
        by: Option<&str>,
    ) -> Result<(), StoreError> {
        if let Some(by) = by
            && p.last_changed_by.as_deref() != Some(by)
        {
            p.last_changed_by = Some(by.to_string());
        }
        p.sole_device = match (p.seq, p.sole_device) {
            (None, _) => Some(device),
            (Some(_), Some(sole)) if sole == device => Some(device),
            _ => None,
        };
        let key = p.coverage_key();
        // Kept per RT while the transaction runs; the levels above are
        // added up once, in `flush`.
        if p.counted != key {
            for (k, d) in [(p.counted, -1), (key, 1)] {
                if let Some(k) = k {
                    *self
                        .deltas
                        .entry((k.rt, k.category, k.since_year))
                        .or_default() += d;
                }
            }
            p.counted = key;
        }
        let json = match known {
            Known::Record(json) => json,
            Known::Fields(fields) => record_json(&p.record, Some(fields))?,
            Known::Nothing => record_json(&p.record, None)?,
        };
        let seq = self.tx.save_person(p, &json).await?;
        p.seq = Some(seq);
        Ok(())
    }

    /// Writes the counter changes of the transaction, every level above
    /// each RT included (see [`counter_rows`]).
    pub async fn flush(self) -> Result<(), StoreError> {
        flush_deltas(self.tx, self.deltas).await
    }

    /// The counter changes so far, for the caller to write (a group of
    /// pushes writes theirs once).
    pub fn into_deltas(self) -> RtDeltas {
        self.deltas
    }
}

#[cfg(test)]
mod tests {
    use sigap_shared::merge::{Fields, PersonRecord};
    use sigap_shared::{Hlc, Nik};
    use uuid::Uuid;

    use super::record_json;

    #[test]
    fn a_record_is_written_as_serde_writes_it_with_or_without_its_fields_json() {
        let nik = Nik::parse("3372010101800001").unwrap();
        let mut record = PersonRecord::new(nik);
        let device = Uuid::from_u128(7);
        let first = Fields {
            name: Some("Siti \"Sri\" Rahayu".into()),
            rt: Some(3),
            ..Default::default()
        };
        record.apply(
            &first,
            Hlc {
                millis: 5,
                counter: 0,
                device,
            },
        );
        let later = Fields {
            occupation: Some("pedagang".into()),
            ..Default::default()
        };
        record.apply(
            &later,
            Hlc {
                millis: 9,
                counter: 2,
                device,
            },
        );
        let whole = serde_json::to_string(&record).unwrap();
        assert_eq!(record_json(&record, None).unwrap(), whole);
        let fields = serde_json::to_string(&record.fields).unwrap();
        assert_eq!(record_json(&record, Some(&fields)).unwrap(), whole);
    }
}
