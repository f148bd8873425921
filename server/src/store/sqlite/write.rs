//! The write paths: push, membership-roll import, conflict resolution.
//! Each runs in one transaction on the single writer connection.

use std::collections::HashMap;

use rusqlite::{CachedStatement, Connection, OptionalExtension, TransactionBehavior, params};
use sigap_shared::merge::{Fields, PersonRecord};
use sigap_shared::wire::{
    Change, ChangeKind, ChangeResult, Outcome, PROTOCOL_VERSION, PushRequest, PushResponse,
    Receipt, ReceiptHash,
};
use sigap_shared::{AreaCode, Category, Hlc, Nik};
use time::Date;
use uuid::Uuid;

use super::{SqliteStore, corrupt, counters, now_millis, parse_record};
use crate::engine::{self, CoverageKey, Decision, ROLL_DEVICE, SERVER_DEVICE};
use crate::store::{Conflict, ConflictSide, ImportSummary, Pusher, RollRow, StoreError};

/// A person as loaded for a write.
pub(super) struct Stored {
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
    /// Where the counters hold the person as stored (set by
    /// [`Writer::load`], `None` for a new person); [`Writer::save`] moves
    /// the count from here to where the saved state counts.
    pub counted: CoverageKey,
}

impl Stored {
    /// Where and since when this state counts towards coverage.
    fn coverage_key(&self) -> CoverageKey {
        engine::coverage_key(
            &self.record,
            counters::roll_since(self.participant, self.roll_as_of),
            self.registered_at,
        )
    }
}

/// State of one write transaction: the next feed seq and the counter
/// changes, flushed once at the end.
pub(super) struct Writer<'c> {
    conn: &'c Connection,
    next_seq: i64,
    /// Covered-count changes per RT, category and start year.
    deltas: HashMap<(AreaCode, Category, i32), i64>,
    /// The statements run for every change, prepared once per transaction
    /// (looking each up in the statement cache per change cost more than
    /// some of the statements themselves).
    load_stmt: CachedStatement<'c>,
    insert_stmt: CachedStatement<'c>,
    update_stmt: CachedStatement<'c>,
    log_stmt: CachedStatement<'c>,
}

impl<'c> Writer<'c> {
    pub fn new(conn: &'c Connection) -> Result<Writer<'c>, StoreError> {
        let max: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM persons", [], |r| {
            r.get(0)
        })?;
        Ok(Writer {
            conn,
            next_seq: max + 1,
            deltas: HashMap::new(),
            load_stmt: conn.prepare_cached(
                "SELECT record, participant, registered_by, registered_hlc, registered_at, seq,
                    sole_device, roll_as_of
                 FROM persons WHERE nik = ?1",
            )?,
            insert_stmt: conn.prepare_cached(
                "INSERT INTO persons (nik, record, kelurahan, participant, registered_by,
                                      registered_hlc, registered_at, seq, sole_device,
                                      roll_as_of)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?,
            update_stmt: conn.prepare_cached(
                "UPDATE persons SET nik = ?1, record = ?2, kelurahan = ?3, participant = ?4,
                    registered_by = ?5, registered_hlc = ?6, registered_at = ?7, seq = ?8,
                    sole_device = ?9, roll_as_of = ?10
                 WHERE seq = ?11",
            )?,
            log_stmt: conn.prepare_cached(
                "INSERT INTO changes (id, device_id, device_seq, in_log, nik, hlc, kind, fields,
                                      agent, received_at, outcome, reject_code, reject_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT DO NOTHING",
            )?,
        })
    }

    /// Adds `change` to the audit trail; false (and nothing written) when
    /// a change with its id is already there.
    #[allow(clippy::too_many_arguments)]
    fn log(
        &mut self,
        change: &Change,
        text: &ChangeText,
        in_log: bool,
        agent: &str,
        now: i64,
        outcome: &str,
        reject: Option<(&str, &str)>,
    ) -> Result<bool, StoreError> {
        let n = self.log_stmt.execute(params![
            change.id.as_bytes().as_slice(),
            change.device_id.as_bytes().as_slice(),
            i64::try_from(change.device_seq).unwrap_or(i64::MAX),
            in_log,
            change.nik.as_str(),
            text.hlc,
            kind_str(change.kind),
            text.fields,
            agent,
            now,
            outcome,
            reject.map(|r| r.0),
            reject.map(|r| r.1),
        ])?;
        Ok(n > 0)
    }

    pub fn load(&mut self, nik: &Nik) -> Result<Option<Stored>, StoreError> {
        let row = self
            .load_stmt
            .query_row([nik.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<[u8; 16]>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .optional()?;
        row.map(|(rec, participant, by, hlc, at, seq, sole, as_of)| {
            let mut p = Stored {
                seq: Some(seq),
                record: parse_record(&rec)?,
                participant,
                roll_as_of: as_of
                    .as_deref()
                    .map(counters::parse_date_text)
                    .transpose()?,
                registered_by: by,
                registered_hlc: hlc,
                registered_at: at,
                sole_device: sole.map(Uuid::from_bytes),
                counted: None,
            };
            p.counted = p.coverage_key();
            Ok(p)
        })
        .transpose()
    }

    /// Saves a person written by `device` under a new feed seq (moving it
    /// to the end of the feed), keeping the counters in step with the move
    /// from where the person was counted (`p.counted`) to where the saved
    /// state counts. `known`: what the caller already has of the record's
    /// JSON.
    pub fn save(
        &mut self,
        p: &mut Stored,
        known: Known<'_>,
        device: Uuid,
    ) -> Result<i64, StoreError> {
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
        let seq = self.next_seq;
        self.next_seq += 1;
        let json = match known {
            Known::Record(json) => json,
            Known::Fields(fields) => record_json(&p.record, Some(fields))?,
            Known::Nothing => record_json(&p.record, None)?,
        };
        let stmt = if p.seq.is_some() {
            &mut self.update_stmt
        } else {
            &mut self.insert_stmt
        };
        let kelurahan = p.record.fields.kelurahan.map(|k| k.to_string());
        let nik = p.record.nik.as_str();
        let sole = p.sole_device.as_ref().map(|d| d.as_bytes().as_slice());
        let as_of = p.roll_as_of.map(counters::date_text).transpose()?;
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![
            &nik,
            &json,
            &kelurahan,
            &p.participant,
            &p.registered_by,
            &p.registered_hlc,
            &p.registered_at,
            &seq,
            &sole,
            &as_of,
        ];
        if let Some(old) = &p.seq {
            args.push(old);
        }
        stmt.execute(args.as_slice())?;
        p.seq = Some(seq);
        Ok(seq)
    }

    /// Writes the counter changes of the transaction.
    pub fn flush(self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO counters (area, category, since_year, covered) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(area, category, since_year)
             DO UPDATE SET covered = covered + excluded.covered",
        )?;
        let mut all: HashMap<(AreaCode, Category, i32), i64> = HashMap::new();
        for ((rt, cat, year), d) in self.deltas {
            if d != 0 {
                for area in rt.self_and_ancestors() {
                    *all.entry((area, cat, year)).or_default() += d;
                }
            }
        }
        let mut changed = false;
        for ((area, cat, year), d) in all {
            if d != 0 {
                stmt.execute(params![area.to_string(), cat.as_str(), year, d])?;
                changed = true;
            }
        }
        if changed {
            super::bump_generation(self.conn)?;
        }
        Ok(())
    }
}

/// What a caller of [`Writer::save`] already has of the record's JSON.
pub(super) enum Known<'a> {
    Nothing,
    /// The JSON of the record's fields.
    Fields(&'a str),
    /// The JSON of the whole record.
    Record(String),
}

/// What can be worked out for a change before the writer is taken, so
/// while another push holds it: its stored text, and what it does to a
/// person the server has never seen (the common case: a first
/// registration), with that person's stored JSON.
struct Prepared {
    text: ChangeText,
    if_new: Decision,
    if_new_json: Option<String>,
    /// The change id's part of the device's receipt hash.
    digest: [u8; 32],
}

impl Prepared {
    fn of(change: &Change, by: &Pusher<'_>) -> Result<Prepared, StoreError> {
        let text = ChangeText::of(change)?;
        let if_new = engine::decide(None, false, change, by.areas);
        let if_new_json = match &if_new {
            Decision::Accepted { record, .. } if record.fields == change.fields => {
                Some(record_json(record, Some(&text.fields))?)
            }
            Decision::Accepted { record, .. } => Some(record_json(record, None)?),
            Decision::Rejected { .. } => None,
        };
        Ok(Prepared {
            text,
            if_new,
            if_new_json,
            digest: ReceiptHash::digest(&change.id),
        })
    }
}

/// The stored form of a person: `PersonRecord` as JSON, built around the
/// fields' JSON when it is already made.
fn record_json(record: &PersonRecord, fields_json: Option<&str>) -> Result<String, StoreError> {
    let Some(fields) = fields_json else {
        return serde_json::to_string(record).map_err(corrupt);
    };
    let nik = serde_json::to_string(&record.nik).map_err(corrupt)?;
    let stamps = serde_json::to_string(&record.stamps).map_err(corrupt)?;
    Ok(format!(
        "{{\"nik\":{nik},\"fields\":{fields},\"stamps\":{stamps}}}"
    ))
}

/// What the server holds from one device, kept up to date per push.
struct DeviceRow {
    count: u64,
    highest_seq: u64,
    hash: ReceiptHash,
    /// The highest number in the device's log. A change numbered above it
    /// cannot reuse a number, so it skips that lookup (the fast path).
    max_logged: u64,
    /// Numbers logged by this push, so that the receipt's contiguous
    /// prefix is mostly found without queries.
    logged: std::collections::HashSet<u64>,
}

pub(super) fn load_device(conn: &Connection, device: &Uuid) -> Result<Receipt, StoreError> {
    let row: Option<(i64, i64, i64, String)> = conn
        .prepare_cached(
            "SELECT count, highest_seq, max_seq, hash FROM devices WHERE device_id = ?1",
        )?
        .query_row([device.as_bytes().as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    Ok(match row {
        Some((count, highest, max, hash)) => Receipt {
            device_id: *device,
            count: u64::try_from(count).unwrap_or(0),
            highest_seq: u64::try_from(highest).unwrap_or(0),
            max_seq: u64::try_from(max).unwrap_or(0),
            hash,
        },
        None => Receipt {
            device_id: *device,
            count: 0,
            highest_seq: 0,
            max_seq: 0,
            hash: ReceiptHash::default().to_hex(),
        },
    })
}

fn kind_str(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Register => "register",
        ChangeKind::Edit => "edit",
        ChangeKind::Void => "void",
    }
}

/// The text forms of a change that are stored, made once per change: the
/// audit row and the person's record both use them.
struct ChangeText {
    fields: String,
    hlc: String,
}

impl ChangeText {
    fn of(change: &Change) -> Result<ChangeText, StoreError> {
        Ok(ChangeText {
            fields: serde_json::to_string(&change.fields).map_err(corrupt)?,
            hlc: change.hlc.to_sortable(),
        })
    }
}

/// The answer already given to change `id`, if it was seen before.
fn earlier_answer(conn: &Connection, id: &Uuid) -> Result<Option<Outcome>, StoreError> {
    let seen: Option<(String, Option<String>, Option<String>)> = conn
        .prepare_cached("SELECT outcome, reject_code, reject_reason FROM changes WHERE id = ?1")?
        .query_row([id.as_bytes().as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    Ok(seen.map(|(outcome, code, reason)| {
        if outcome == "rejected" {
            rejected(&code.unwrap_or_default(), reason.unwrap_or_default())
        } else {
            Outcome::Duplicate
        }
    }))
}

fn rejected(code: &str, reason: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        code: code.to_string(),
        reason: reason.into(),
    }
}

impl SqliteStore {
    pub(in crate::store) fn push_impl(
        &self,
        by: &Pusher<'_>,
        req: &PushRequest,
    ) -> Result<PushResponse, StoreError> {
        let prepared = req
            .changes
            .iter()
            .map(|c| Prepared::of(c, by))
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_millis();
        let receipt = load_device(&tx, &req.device_id)?;
        let max_logged: i64 = tx
            .prepare_cached(
                "SELECT COALESCE(MAX(device_seq), 0) FROM changes WHERE device_id = ?1 AND in_log = 1",
            )?
            .query_row([req.device_id.as_bytes().as_slice()], |r| r.get(0))?;
        let mut dev = DeviceRow {
            count: receipt.count,
            highest_seq: receipt.highest_seq,
            hash: ReceiptHash::from_hex(&receipt.hash)
                .ok_or_else(|| corrupt("device receipt hash"))?,
            max_logged: u64::try_from(max_logged).unwrap_or(0),
            logged: std::collections::HashSet::with_capacity(req.changes.len()),
        };
        let mut w = Writer::new(&tx)?;
        let mut results = Vec::with_capacity(req.changes.len());
        for (change, prepared) in req.changes.iter().zip(prepared) {
            let outcome = push_one(
                &tx,
                &mut w,
                &mut dev,
                by,
                req.device_id,
                change,
                prepared,
                now,
            )?;
            results.push(ChangeResult {
                id: change.id,
                device_seq: change.device_seq,
                outcome,
            });
        }
        w.flush()?;
        {
            let mut stmt = tx.prepare_cached(
                "SELECT 1 FROM changes WHERE device_id = ?1 AND device_seq = ?2 AND in_log = 1",
            )?;
            while dev.logged.contains(&(dev.highest_seq + 1))
                || stmt.exists(params![
                    req.device_id.as_bytes().as_slice(),
                    i64::try_from(dev.highest_seq + 1).unwrap_or(i64::MAX)
                ])?
            {
                dev.highest_seq += 1;
            }
        }
        let hash = dev.hash.to_hex();
        tx.prepare_cached(
            "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(device_id) DO UPDATE SET count = excluded.count,
                highest_seq = excluded.highest_seq, max_seq = excluded.max_seq,
                hash = excluded.hash",
        )?
        .execute(params![
            req.device_id.as_bytes().as_slice(),
            i64::try_from(dev.count).unwrap_or(i64::MAX),
            i64::try_from(dev.highest_seq).unwrap_or(i64::MAX),
            i64::try_from(dev.max_logged).unwrap_or(i64::MAX),
            hash
        ])?;
        tx.commit()?;
        Ok(PushResponse {
            protocol: PROTOCOL_VERSION,
            results,
            receipt: Receipt {
                device_id: req.device_id,
                count: dev.count,
                highest_seq: dev.highest_seq,
                max_seq: dev.max_logged,
                hash,
            },
        })
    }

    pub(in crate::store) fn import_participants_impl(
        &self,
        rows: &[RollRow],
        as_of: Date,
    ) -> Result<ImportSummary, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The roll writes at millis 0, so any field write (which carries a
        // real clock) wins over it; later imports win over earlier ones.
        let import_no: i64 = tx.query_row(
            "INSERT INTO meta (key, value) VALUES ('roll_imports', 1)
             ON CONFLICT(key) DO UPDATE SET value = value + 1 RETURNING value",
            [],
            |r| r.get(0),
        )?;
        let hlc = Hlc {
            millis: 0,
            counter: u32::try_from(import_no).unwrap_or(u32::MAX),
            device: ROLL_DEVICE,
        };
        let mut summary = ImportSummary::default();
        let mut w = Writer::new(&tx)?;
        for row in rows {
            let fields = Fields {
                kelurahan: Some(row.kelurahan),
                rw: Some(row.rw),
                rt: Some(row.rt),
                category: Some(row.category),
                ..Default::default()
            };
            match w.load(&row.nik)? {
                Some(mut p) => {
                    let before = p.record.fields.clone();
                    p.record.apply(&fields, hlc);
                    // The earliest date the roll listed the person: a
                    // participant since always (`None`) stays so.
                    let roll_as_of = if p.participant {
                        p.roll_as_of.map(|d| d.min(as_of))
                    } else {
                        Some(as_of)
                    };
                    if p.participant && before == p.record.fields && roll_as_of == p.roll_as_of {
                        summary.unchanged += 1;
                        continue;
                    }
                    p.participant = true;
                    p.roll_as_of = roll_as_of;
                    w.save(&mut p, Known::Nothing, ROLL_DEVICE)?;
                    summary.joined += 1;
                }
                None => {
                    let mut p = Stored {
                        seq: None,
                        record: PersonRecord::from_write(row.nik.clone(), &fields, hlc),
                        participant: true,
                        roll_as_of: Some(as_of),
                        registered_by: None,
                        registered_hlc: None,
                        registered_at: None,
                        sole_device: None,
                        counted: None,
                    };
                    w.save(&mut p, Known::Nothing, ROLL_DEVICE)?;
                    summary.created += 1;
                }
            }
        }
        w.flush()?;
        tx.commit()?;
        Ok(summary)
    }

    pub(in crate::store) fn resolve_conflict_impl(
        &self,
        id: i64,
        fields: &Fields,
        note: Option<&str>,
        by: &str,
    ) -> Result<Conflict, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let conflict = super::read::load_conflict(&tx, id)?
            .ok_or_else(|| StoreError::NotFound(format!("no conflict with id {id}")))?;
        if conflict.status != "open" {
            return Err(StoreError::Invalid {
                code: "conflict_resolved".into(),
                message: format!("conflict {id} is already resolved"),
            });
        }
        let mut w = Writer::new(&tx)?;
        let mut p = w
            .load(&conflict.nik)?
            .ok_or_else(|| corrupt("conflict for a person that is not stored"))?;
        let now = u64::try_from(now_millis()).unwrap_or(0);
        let hlc = engine::server_hlc(&p.record, now);
        p.record.apply(fields, hlc);
        if let Ok(reg) = p.record.fields.to_registration(&conflict.nik) {
            let v = reg.validate(engine::hlc_date(&hlc));
            if let Some(first) = v.errors.first() {
                return Err(StoreError::Invalid {
                    code: first.code.clone(),
                    message: first.message.clone(),
                });
            }
        }
        w.save(&mut p, Known::Nothing, SERVER_DEVICE)?;
        let audit = Change {
            id: Uuid::now_v7(),
            device_id: SERVER_DEVICE,
            device_seq: 0,
            nik: conflict.nik.clone(),
            hlc,
            kind: ChangeKind::Edit,
            fields: fields.clone(),
        };
        let now_i = now_millis();
        let text = ChangeText::of(&audit)?;
        w.log(&audit, &text, false, by, now_i, "applied", None)?;
        w.flush()?;
        let resolution = serde_json::to_string(fields).map_err(corrupt)?;
        tx.execute(
            "UPDATE conflicts SET status = 'resolved', resolved_at = ?1, resolved_by = ?2,
                 resolution = ?3, note = ?4 WHERE id = ?5",
            params![now_i, by, resolution, note, id],
        )?;
        let out =
            super::read::load_conflict(&tx, id)?.ok_or_else(|| corrupt("conflict vanished"))?;
        tx.commit()?;
        Ok(out)
    }
}

#[allow(clippy::too_many_arguments)]
fn push_one(
    conn: &Connection,
    w: &mut Writer<'_>,
    dev: &mut DeviceRow,
    by: &Pusher<'_>,
    device: Uuid,
    change: &Change,
    prepared: Prepared,
    now: i64,
) -> Result<Outcome, StoreError> {
    if change.device_id != device {
        return Ok(earlier_answer(conn, &change.id)?.unwrap_or_else(|| {
            rejected(
                "device_mismatch",
                format!(
                    "change {} belongs to device {}, but the batch is from device {device}; push each device's changes separately",
                    change.id, change.device_id
                ),
            )
        }));
    }
    // A change numbered above everything the device has logged is new
    // unless its id was used before (caught when it is logged below);
    // anything else is checked against the log first.
    let Prepared {
        text,
        if_new,
        if_new_json,
        digest,
    } = prepared;
    let fresh = change.device_seq > dev.max_logged;
    if !fresh {
        if let Some(answer) = earlier_answer(conn, &change.id)? {
            return Ok(answer);
        }
        if let Some(reason) = seq_taken(conn, device, change)? {
            w.log(
                change,
                &text,
                false,
                by.token_name,
                now,
                "rejected",
                Some(("seq_conflict", &reason)),
            )?;
            return Ok(rejected("seq_conflict", reason));
        }
    }
    let stored = w.load(&change.nik)?;
    let (decision, mut known) = match &stored {
        None => (if_new, if_new_json.map_or(Known::Nothing, Known::Record)),
        Some(s) => (
            engine::decide(Some(&s.record), s.participant, change, by.areas),
            Known::Nothing,
        ),
    };
    let (outcome, reject) = match &decision {
        Decision::Rejected { code, reason } => ("rejected", Some((code.as_str(), reason.as_str()))),
        Decision::Accepted { merged: true, .. } => ("merged", None),
        Decision::Accepted { merged: false, .. } => ("applied", None),
    };
    if !w.log(change, &text, true, by.token_name, now, outcome, reject)? {
        // The id was logged before under another number.
        return Ok(earlier_answer(conn, &change.id)?.unwrap_or(Outcome::Duplicate));
    }
    dev.count += 1;
    dev.hash.add_digest(&digest);
    dev.max_logged = dev.max_logged.max(change.device_seq);
    dev.logged.insert(change.device_seq);
    match decision {
        Decision::Rejected { code, reason } => Ok(Outcome::Rejected { code, reason }),
        Decision::Accepted {
            record,
            merged,
            changed,
            conflict,
        } => {
            let mut p = match stored {
                Some(mut s) => {
                    s.record = record;
                    s
                }
                None => Stored {
                    seq: None,
                    record,
                    participant: false,
                    roll_as_of: None,
                    registered_by: None,
                    registered_hlc: None,
                    registered_at: None,
                    sole_device: None,
                    counted: None,
                },
            };
            let mut dirty = !changed.is_empty();
            if change.kind == ChangeKind::Register
                && p.registered_hlc.as_ref().is_none_or(|h| text.hlc < *h)
            {
                p.registered_by = Some(by.token_name.to_string());
                p.registered_at = Some(i64::try_from(change.hlc.millis).unwrap_or(i64::MAX));
                p.registered_hlc = Some(text.hlc.clone());
                dirty = true;
            }
            if dirty {
                // A change that leaves the record's fields equal to its
                // own has their JSON made already.
                if matches!(known, Known::Nothing) && p.record.fields == change.fields {
                    known = Known::Fields(&text.fields);
                }
                w.save(&mut p, known, device)?;
            }
            if let Some(c) = conflict {
                open_conflict(conn, by, change, &p, c, now)?;
            }
            Ok(if merged {
                Outcome::Merged
            } else {
                Outcome::Applied
            })
        }
    }
}

/// The reason to reject `change` when its device already logged another
/// change under the same number.
fn seq_taken(
    conn: &Connection,
    device: Uuid,
    change: &Change,
) -> Result<Option<String>, StoreError> {
    let other: Option<Vec<u8>> = conn
        .prepare_cached(
            "SELECT id FROM changes WHERE device_id = ?1 AND device_seq = ?2 AND in_log = 1",
        )?
        .query_row(
            params![
                device.as_bytes().as_slice(),
                i64::try_from(change.device_seq).unwrap_or(i64::MAX)
            ],
            |r| r.get(0),
        )
        .optional()?;
    let Some(other) = other else {
        return Ok(None);
    };
    let other = Uuid::from_slice(&other).map_err(corrupt)?;
    Ok(Some(format!(
        "device {device} already sent change {other} as number {}; this change {} reuses the number, so the device's outbox log is inconsistent: contact support, do not delete the outbox",
        change.device_seq, change.id
    )))
}

fn open_conflict(
    conn: &Connection,
    by: &Pusher<'_>,
    change: &Change,
    p: &Stored,
    c: engine::IdentityConflict,
    now: i64,
) -> Result<(), StoreError> {
    let names = serde_json::to_string(&c.fields).map_err(corrupt)?;
    let existing = ConflictSide {
        source: engine::source_name(&c.existing_device),
        agent: None,
        fields: c.existing,
    };
    let incoming = ConflictSide {
        source: engine::source_name(&change.device_id),
        agent: Some(by.token_name.to_string()),
        fields: c.incoming,
    };
    conn.prepare_cached(
        "INSERT INTO conflicts (nik, kelurahan, fields, existing, incoming, change_id,
                                status, opened_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7)",
    )?
    .execute(params![
        change.nik.as_str(),
        p.record.fields.kelurahan.map(|k| k.to_string()),
        names,
        serde_json::to_string(&existing).map_err(corrupt)?,
        serde_json::to_string(&incoming).map_err(corrupt)?,
        change.id.as_bytes().as_slice(),
        now
    ])?;
    tracing::info!(nik = %change.nik.masked(), "identity conflict opened");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sigap_shared::{AreaCode, Category};

    #[test]
    fn a_record_built_around_its_fields_json_is_the_record_serde_writes() {
        let fields = Fields {
            name: Some("Siti \"Ani\" Aminah".into()),
            kelurahan: Some(AreaCode::parse("33.72.01.1001").unwrap()),
            rw: Some(3),
            category: Some(Category::Bpu),
            ..Fields::default()
        };
        let hlc = Hlc {
            millis: 1_764_000_000_000,
            counter: 2,
            device: Uuid::now_v7(),
        };
        let record =
            PersonRecord::from_write(Nik::parse("3372015204900002").unwrap(), &fields, hlc);
        let fields_json = serde_json::to_string(&record.fields).unwrap();
        let built = record_json(&record, Some(&fields_json)).unwrap();
        assert_eq!(built, serde_json::to_string(&record).unwrap());
        assert_eq!(parse_record(&built).unwrap(), record);
    }
}
