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
use crate::claims::{self, Claims};
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
    /// What a supervisor must review ([`engine::review_json`]); the
    /// caller sets it for the record it saves.
    pub review: Option<String>,
    /// Who made the latest write (set by [`Writer::save`]).
    pub last_changed_by: Option<String>,
    /// Identity claims per source ([`Claims`]) as JSON, once a second
    /// source has written the person's identity.
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
                    sole_device, review, last_changed_by, claims, roll_as_of
                 FROM persons WHERE nik = ?1",
            )?,
            insert_stmt: conn.prepare_cached(
                "INSERT INTO persons (nik, record, kelurahan, participant, registered_by,
                                      registered_hlc, registered_at, seq, sole_device, review,
                                      last_changed_by, claims, roll_as_of)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?,
            update_stmt: conn.prepare_cached(
                "UPDATE persons SET nik = ?1, record = ?2, kelurahan = ?3, participant = ?4,
                    registered_by = ?5, registered_hlc = ?6, registered_at = ?7, seq = ?8,
                    sole_device = ?9, review = ?10, last_changed_by = ?11, claims = ?12,
                    roll_as_of = ?13
                 WHERE seq = ?14",
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
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get::<_, Option<String>>(10)?,
                ))
            })
            .optional()?;
        row.map(
            |(rec, participant, by, hlc, at, seq, sole, review, last_changed_by, claims, as_of)| {
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
                    review,
                    last_changed_by,
                    claims,
                    counted: None,
                };
                p.counted = p.coverage_key();
                Ok(p)
            },
        )
        .transpose()
    }

    /// Saves a person written by `device` (on behalf of `by`, as people
    /// name it, when this write is the person's latest by clock) under a
    /// new feed seq (moving it to the end of the feed), keeping the
    /// counters in step with the move from where the person was counted
    /// (`p.counted`) to where the saved state counts.
    /// `known`: what the caller already has of the record's JSON.
    pub fn save(
        &mut self,
        p: &mut Stored,
        known: Known<'_>,
        device: Uuid,
        by: Option<&str>,
    ) -> Result<i64, StoreError> {
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
            &p.review,
            &p.last_changed_by,
            &p.claims,
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
/// registration), with that person's stored JSON./// What can be worked out for a change before the writer is taken, so
/// while another push holds it: its stored text, the verdict of the checks
/// on the change alone, and what it does to a person the server has never
/// seen (the common case: a first registration), with that person's
/// stored JSON and review.
struct Prepared {
    text: ChangeText,
    refused: Option<Decision>,
    if_new: Decision,
    if_new_json: Option<String>,
    if_new_review: Option<String>,
    /// The change id's part of the device's receipt hash.
    digest: [u8; 32],
}

impl Prepared {
    fn of(change: &Change, sender: &engine::Sender<'_>) -> Result<Prepared, StoreError> {
        let text = ChangeText::of(change)?;
        let refused = engine::check(change, sender);
        let if_new = engine::decide(None, false, change, sender.areas);
        let (if_new_json, if_new_review) = match &if_new {
            Decision::Accepted { record, .. } => (
                Some(if record.fields == change.fields {
                    record_json(record, Some(&text.fields))?
                } else {
                    record_json(record, None)?
                }),
                // A registration that passed `check` is, as a new person,
                // a record with nothing to review: checked once, not twice.
                if refused.is_none() && change.kind == ChangeKind::Register {
                    None
                } else {
                    engine::review_json(record)
                },
            ),
            Decision::Rejected { .. } => (None, None),
        };
        Ok(Prepared {
            text,
            refused,
            if_new,
            if_new_json,
            if_new_review,
            digest: ReceiptHash::digest(&change.id),
        })
    }
}

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

/// How the feed names the membership roll as a writer.
const ROLL_NAME: &str = "membership roll";

/// What the server holds from one device, kept up to date per push./// What the server holds from one device, kept up to date per push.
struct DeviceRow {
    id: Uuid,
    count: u64,
    /// Every number up to it is held: the next change to apply is
    /// `highest_seq + 1`.
    highest_seq: u64,
    hash: ReceiptHash,
    /// The highest number in the device's log. A change numbered above it
    /// cannot reuse a number, so it skips that lookup (the fast path).
    max_logged: u64,
}

impl DeviceRow {
    /// Counts a change just logged under its number.
    fn hold(&mut self, conn: &Connection, seq: u64, digest: &[u8; 32]) -> Result<(), StoreError> {
        self.count += 1;
        self.hash.add_digest(digest);
        self.max_logged = self.max_logged.max(seq);
        if seq == self.highest_seq + 1 {
            self.highest_seq = seq;
            // Numbers above a gap, logged before changes waited for their
            // turn (by servers before protocol 2), join once it closes.
            if self.max_logged > self.highest_seq {
                let mut stmt = conn.prepare_cached(
                    "SELECT 1 FROM changes WHERE device_id = ?1 AND device_seq = ?2 AND in_log = 1",
                )?;
                while self.highest_seq < self.max_logged
                    && stmt.exists(params![
                        self.id.as_bytes().as_slice(),
                        to_i64(self.highest_seq + 1)?
                    ])?
                {
                    self.highest_seq += 1;
                }
            }
        }
        Ok(())
    }
}

/// A device number as stored (SQLite integers are signed).
fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| corrupt(format!("number {n} out of range")))
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

/// The answer already given to change `id`, if it was seen before./// What is stored of an earlier change with the same id: its answer, and
/// whether it carried exactly what `change` carries.
fn earlier(
    conn: &Connection,
    change: &Change,
    text: &ChangeText,
) -> Result<Option<(Outcome, bool)>, StoreError> {
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Vec<u8>,
        i64,
        String,
        String,
        String,
        String,
    );
    let seen: Option<Row> = conn
        .prepare_cached(
            "SELECT outcome, reject_code, reject_reason, device_id, device_seq, nik, hlc, kind,
                    fields
             FROM changes WHERE id = ?1",
        )?
        .query_row([change.id.as_bytes().as_slice()], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })
        .optional()?;
    Ok(seen.map(
        |(outcome, code, reason, device, seq, nik, hlc, kind, fields)| {
            let same = device == change.device_id.as_bytes()
                && u64::try_from(seq).ok() == Some(change.device_seq)
                && nik == change.nik.as_str()
                && hlc == text.hlc
                && kind == kind_str(change.kind)
                && fields == text.fields;
            let answer = if outcome == "rejected" {
                rejected(&code.unwrap_or_default(), reason.unwrap_or_default())
            } else {
                Outcome::Duplicate
            };
            (answer, same)
        },
    ))
}

/// The answer to a change whose id is stored: the earlier answer when it
/// is the same change sent again, `id_reused` when it carries other
/// content (never silently dropped as a duplicate).
fn answer_again(
    conn: &Connection,
    change: &Change,
    text: &ChangeText,
) -> Result<Option<Outcome>, StoreError> {
    Ok(earlier(conn, change, text)?.map(|(answer, same)| {
        if same {
            answer
        } else {
            rejected(
                "id_reused",
                format!(
                    "change id {} was sent before with other content; every change needs an id of its own: `sigap sync` gives this change a new one and sends it again (do not delete the outbox)",
                    change.id
                ),
            )
        }
    }))
}

fn rejected(code: &str, reason: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        code: code.to_string(),
        reason: reason.into(),
    }
}

/// The token a device belongs to: `None` when the server has no row for
/// it, `Some(None)` for a device no token holds yet.
fn device_owner(conn: &Connection, device: &Uuid) -> Result<Option<Option<i64>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT token_id FROM devices WHERE device_id = ?1")?
        .query_row([device.as_bytes().as_slice()], |r| r.get(0))
        .optional()?)
}

/// Makes `token_id` the holder of `device` (a row with nothing held when
/// the server has none for it).
pub(super) fn bind_device(
    conn: &Connection,
    device: &Uuid,
    token_id: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash, token_id)
         VALUES (?1, 0, 0, 0, ?2, ?3)
         ON CONFLICT(device_id) DO UPDATE SET token_id = excluded.token_id",
        params![
            device.as_bytes().as_slice(),
            ReceiptHash::default().to_hex(),
            token_id
        ],
    )?;
    Ok(())
}

/// Refuses when another token holds `device` (the caller binds it to
/// `token_id` when it writes the device's row).
pub(super) fn claim(conn: &Connection, device: &Uuid, token_id: i64) -> Result<(), StoreError> {
    match device_owner(conn, device)? {
        Some(Some(owner)) if owner != token_id => {
            let name: Option<String> = conn
                .prepare_cached("SELECT name FROM tokens WHERE id = ?1")?
                .query_row([owner], |r| r.get(0))
                .optional()?;
            Err(StoreError::Denied {
                code: "device_not_yours".into(),
                message: format!(
                    "device {device} belongs to another token ({}); each laptop syncs with the token it was set up with: run `sigap init --token` with that token, or ask an admin",
                    name.unwrap_or_else(|| format!("#{owner}"))
                ),
            })
        }
        _ => Ok(()),
    }
}

/// How people name the source of a stamp: an agent's token name,
/// `supervisor` or `membership roll`.
fn writer_name(conn: &Connection, device: &Uuid) -> Result<String, StoreError> {
    if *device == ROLL_DEVICE {
        return Ok(ROLL_NAME.into());
    }
    if *device == SERVER_DEVICE {
        return Ok("supervisor".into());
    }
    let name: Option<String> = conn
        .prepare_cached(
            "SELECT t.name FROM devices d JOIN tokens t ON t.id = d.token_id
             WHERE d.device_id = ?1",
        )?
        .query_row([device.as_bytes().as_slice()], |r| r.get(0))
        .optional()?;
    Ok(name.unwrap_or_else(|| format!("device {device}")))
}

impl SqliteStore {
    pub(in crate::store) fn push_impl(
        &self,
        by: &Pusher<'_>,
        req: &PushRequest,
    ) -> Result<PushResponse, StoreError> {
        // The day's first write closes the day before in the history.
        self.roll_history(false)?;
        let now = self.now();
        let sender = engine::Sender {
            areas: by.areas,
            now_millis: u64::try_from(now).unwrap_or(0),
            max_skew_millis: by.max_skew_millis,
        };
        let prepared = req
            .changes
            .iter()
            .map(|c| Prepared::of(c, &sender))
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.wait_for_turn(req, by.gap_wait)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        claim(&tx, &req.device_id, by.token_id)?;
        let receipt = load_device(&tx, &req.device_id)?;
        let mut dev = DeviceRow {
            id: req.device_id,
            count: receipt.count,
            highest_seq: receipt.highest_seq,
            hash: ReceiptHash::from_hex(&receipt.hash)
                .ok_or_else(|| corrupt("device receipt hash"))?,
            max_logged: receipt.max_seq,
        };
        let mut w = Writer::new(&tx)?;
        let mut results = Vec::with_capacity(req.changes.len());
        for (change, prepared) in req.changes.iter().zip(prepared) {
            let outcome = push_one(&tx, &mut w, &mut dev, by, change, prepared, now)?;
            results.push(ChangeResult {
                id: change.id,
                device_seq: change.device_seq,
                outcome,
            });
        }
        w.flush()?;
        for r in &results {
            if matches!(r.outcome, Outcome::Rejected { .. })
                && !super::activity::logged(&tx, &r.id)?
            {
                super::activity::count_unlogged_rejection(&tx, by.token_name, now)?;
            }
        }
        let hash = dev.hash.to_hex();
        tx.prepare_cached(
            "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash, token_id,
                                  last_push_at, pending)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(device_id) DO UPDATE SET count = excluded.count,
                highest_seq = excluded.highest_seq, max_seq = excluded.max_seq,
                hash = excluded.hash, last_push_at = excluded.last_push_at,
                pending = COALESCE(excluded.pending, devices.pending)",
        )?
        .execute(params![
            req.device_id.as_bytes().as_slice(),
            to_i64(dev.count)?,
            to_i64(dev.highest_seq)?,
            to_i64(dev.max_logged)?,
            hash,
            by.token_id,
            now,
            req.pending.map(to_i64).transpose()?
        ])?;
        tx.commit()?;
        drop(conn);
        self.pushed.notify_all();
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

    /// The writer, once the device's changes before this push's first one
    /// are held, or after `wait`. `sigap sync` keeps two pages in
    /// flight and the later (often smaller) one may reach the writer
    /// first: waiting a moment for the earlier page lets the device's
    /// changes apply in its order without answering the later page
    /// `pending` and having it sent again.
    fn wait_for_turn(
        &self,
        req: &PushRequest,
        wait: std::time::Duration,
    ) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        let mut conn = self.writer()?;
        let Some(first) = req.changes.iter().map(|c| c.device_seq).min() else {
            return Ok(conn);
        };
        let deadline = std::time::Instant::now() + wait;
        loop {
            let held = load_device(&conn, &req.device_id)?.highest_seq;
            let now = std::time::Instant::now();
            if first <= held + 1 || now >= deadline {
                return Ok(conn);
            }
            conn = self
                .pushed
                .wait_timeout(conn, deadline - now)
                .map_err(|_| StoreError::Task("the writer lock is poisoned".into()))?
                .0;
        }
    }

    pub(in crate::store) fn assign_device_impl(
        &self,
        device: Uuid,
        token_id: i64,
    ) -> Result<(), StoreError> {
        let conn = self.writer()?;
        bind_device(&conn, &device, token_id)
    }

    pub(in crate::store) fn claim_device_impl(
        &self,
        device: Uuid,
        token_id: i64,
    ) -> Result<(), StoreError> {
        // Most reads are by the owner: answered without the writer.
        let owner = self.read(|c| device_owner(c, &device))?;
        if owner == Some(Some(token_id)) {
            return Ok(());
        }
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        claim(&tx, &device, token_id)?;
        bind_device(&tx, &device, token_id)?;
        tx.commit()?;
        Ok(())
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
                    p.review = engine::review_json(&p.record);
                    w.save(&mut p, Known::Nothing, ROLL_DEVICE, None)?;
                    summary.joined += 1;
                }
                None => {
                    let mut p = Stored {
                        participant: true,
                        roll_as_of: Some(as_of),
                        ..Stored::new(PersonRecord::from_write(row.nik.clone(), &fields, hlc))
                    };
                    w.save(&mut p, Known::Nothing, ROLL_DEVICE, Some(ROLL_NAME))?;
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
        let now = u64::try_from(now_millis()).unwrap_or(0);
        resolve_in(&tx, &conflict.nik, fields, note, by, |record| {
            engine::server_hlc(record, now)
        })?;
        let out =
            super::read::load_conflict(&tx, id)?.ok_or_else(|| corrupt("conflict vanished"))?;
        tx.commit()?;
        Ok(out)
    }

    /// A supervisor moves a person to another address (between kecamatan
    /// too, which agents may not do): a change with an author.
    pub(in crate::store) fn move_person_impl(
        &self,
        nik: &Nik,
        to: &Fields,
        by: &str,
    ) -> Result<PersonRecord, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = u64::try_from(now_millis()).unwrap_or(0);
        resolve_in(&tx, nik, to, None, by, |record| {
            engine::server_hlc(record, now)
        })?;
        let record = Writer::new(&tx)?
            .load(nik)?
            .ok_or_else(|| corrupt("moved person vanished"))?
            .record;
        tx.commit()?;
        Ok(record)
    }

    /// A supervisor's resolution stamped `hlc`, as another server that
    /// receives it applies it (order tests replay resolutions with it).
    #[doc(hidden)]
    pub fn resolve_at(
        &self,
        nik: &Nik,
        fields: &Fields,
        hlc: Hlc,
        by: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        resolve_in(&tx, nik, fields, None, by, |_| hlc)?;
        tx.commit()?;
        Ok(())
    }
}

/// Applies a supervisor's write to `nik` (a resolution's identity values,
/// or a move) as a change with an author, stamped by `stamp` (given the
/// record); a write of identity values closes the person's open conflict.
fn resolve_in(
    tx: &Connection,
    nik: &Nik,
    fields: &Fields,
    note: Option<&str>,
    by: &str,
    stamp: impl FnOnce(&PersonRecord) -> Hlc,
) -> Result<(), StoreError> {
    write_as(
        tx,
        nik,
        fields,
        note,
        by,
        &format!("supervisor {by}"),
        stamp,
    )
}

/// [`resolve_in`] with the author named as given (`admin NAME` for an
/// erasure).
pub(super) fn write_as(
    tx: &Connection,
    nik: &Nik,
    fields: &Fields,
    note: Option<&str>,
    by: &str,
    author: &str,
    stamp: impl FnOnce(&PersonRecord) -> Hlc,
) -> Result<(), StoreError> {
    let mut w = Writer::new(tx)?;
    let mut p = w
        .load(nik)?
        .ok_or_else(|| StoreError::NotFound(format!("no person with NIK {}", nik.masked())))?;
    let hlc = stamp(&p.record);
    // Judged like a device's edit: on what it carries; the merged
    // record's rules go to the review list.
    if let Some(first) = fields
        .carried_errors(nik, engine::hlc_date(&hlc))
        .into_iter()
        .next()
    {
        return Err(StoreError::Invalid {
            code: first.code,
            message: first.message,
        });
    }
    let old = p.record.clone();
    p.record.apply(fields, hlc);
    p.review = engine::review_json(&p.record);
    let audit = Change {
        id: Uuid::now_v7(),
        device_id: SERVER_DEVICE,
        device_seq: 0,
        nik: nik.clone(),
        hlc,
        kind: ChangeKind::Edit,
        fields: fields.clone(),
    };
    let now = now_millis();
    let resolution = serde_json::to_string(fields).map_err(corrupt)?;
    if claims::writes_identity(fields) {
        // Closed first: the claims below then settle it, and open a new
        // conflict only if sources still disagree after the resolution.
        tx.execute(
            "UPDATE conflicts SET status = 'resolved', resolved_at = ?1, resolved_by = ?2,
                 resolution = ?3, note = ?4 WHERE nik = ?5 AND status = 'open'",
            params![now, by, resolution, note, nik.as_str()],
        )?;
        add_claim(
            tx,
            &mut p,
            &old,
            ClaimBy {
                source: SERVER_DEVICE,
                change: audit.id,
                hlc: &hlc,
                agent: author,
            },
            fields,
            now,
        )?;
    }
    let latest = old.last_write().is_none_or(|l| hlc >= l);
    w.save(
        &mut p,
        Known::Nothing,
        SERVER_DEVICE,
        latest.then_some(author),
    )?;
    let text = ChangeText::of(&audit)?;
    w.log(&audit, &text, false, by, now, "applied", None)?;
    w.flush()
}

fn push_one(
    conn: &Connection,
    w: &mut Writer<'_>,
    dev: &mut DeviceRow,
    by: &Pusher<'_>,
    change: &Change,
    prepared: Prepared,
    now: i64,
) -> Result<Outcome, StoreError> {
    let device = dev.id;
    let Prepared {
        text,
        refused,
        if_new,
        if_new_json,
        if_new_review,
        digest,
    } = prepared;
    if change.device_id != device {
        return Ok(rejected(
            "device_mismatch",
            format!(
                "change {} belongs to device {}, but the batch is from device {device}; push each device's changes separately",
                change.id, change.device_id
            ),
        ));
    }
    if change.device_seq == 0 || i64::try_from(change.device_seq).is_err() {
        return Ok(rejected(
            "invalid_device_seq",
            format!(
                "change {} has number {}; a device numbers its changes 1, 2, 3… (at most {}): the device's outbox is damaged, contact support",
                change.id,
                change.device_seq,
                i64::MAX
            ),
        ));
    }
    // A change numbered above everything the device has logged is new
    // unless its id was used before (caught when it is logged below);
    // anything else is checked against the log first.
    if change.device_seq <= dev.max_logged {
        if let Some(answer) = answer_again(conn, change, &text)? {
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
    // A device's changes take effect in its own order, however its pages
    // arrive: one whose earlier numbers are not all held waits.
    if change.device_seq > dev.highest_seq + 1 {
        return Ok(Outcome::Pending);
    }
    if let Some(Decision::Rejected { code, reason, held }) = refused {
        if held {
            if !w.log(
                change,
                &text,
                true,
                by.token_name,
                now,
                "rejected",
                Some((&code, &reason)),
            )? {
                return reused(conn, change, &text);
            }
            dev.hold(conn, change.device_seq, &digest)?;
        }
        return Ok(Outcome::Rejected { code, reason });
    }
    let stored = w.load(&change.nik)?;
    let (decision, mut known, review) = match &stored {
        None => (
            if_new,
            if_new_json.map_or(Known::Nothing, Known::Record),
            if_new_review,
        ),
        Some(s) => {
            let d = engine::decide(Some(&s.record), s.participant, change, by.areas);
            let review = match &d {
                Decision::Accepted { record, .. } => engine::review_json(record),
                Decision::Rejected { .. } => None,
            };
            (d, Known::Nothing, review)
        }
    };
    let (outcome, reject) = match &decision {
        Decision::Rejected { code, reason, .. } => {
            ("rejected", Some((code.as_str(), reason.as_str())))
        }
        Decision::Accepted { merged: true, .. } => ("merged", None),
        Decision::Accepted { merged: false, .. } => ("applied", None),
    };
    if !w.log(change, &text, true, by.token_name, now, outcome, reject)? {
        return reused(conn, change, &text);
    }
    dev.hold(conn, change.device_seq, &digest)?;
    match decision {
        Decision::Rejected { code, reason, .. } => Ok(Outcome::Rejected { code, reason }),
        Decision::Accepted {
            record,
            merged,
            changed,
            superseded,
        } => {
            let (old_record, mut p) = match stored {
                Some(mut s) => {
                    let old = std::mem::replace(&mut s.record, record);
                    (Some(old), s)
                }
                None => (None, Stored::new(record)),
            };
            let mut dirty = !changed.is_empty() || p.review != review;
            if let Some(old) = &old_record
                && claims::writes_identity(&change.fields)
            {
                dirty |= add_claim(
                    conn,
                    &mut p,
                    old,
                    ClaimBy {
                        source: device,
                        change: change.id,
                        hlc: &change.hlc,
                        agent: by.token_name,
                    },
                    &change.fields,
                    now,
                )?;
            }
            p.review = review;
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
                let latest = old_record
                    .as_ref()
                    .and_then(PersonRecord::last_write)
                    .is_none_or(|l| change.hlc >= l);
                w.save(&mut p, known, device, latest.then_some(by.token_name))?;
            }
            if !superseded.is_empty() {
                let mut names = Vec::new();
                for f in &superseded {
                    if let Some(stamp) = p.record.stamps.0.get(f) {
                        let name = writer_name(conn, &stamp.device)?;
                        if !names.contains(&name) {
                            names.push(name);
                        }
                    }
                }
                return Ok(Outcome::Superseded {
                    fields: superseded,
                    by: names,
                });
            }
            Ok(if merged {
                Outcome::Merged
            } else {
                Outcome::Applied
            })
        }
    }
}

/// The answer to a change whose id could not be logged: an id stored
/// before under another number.
fn reused(conn: &Connection, change: &Change, text: &ChangeText) -> Result<Outcome, StoreError> {
    Ok(answer_again(conn, change, text)?.unwrap_or_else(|| {
        // Logging fails only on a stored id or number; the number was
        // checked, so this is not reached, and is never a "duplicate".
        rejected(
            "seq_conflict",
            format!(
                "change {} could not be logged under number {}; contact support",
                change.id, change.device_seq
            ),
        )
    }))
}

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

/// Who makes an identity claim.
struct ClaimBy<'a> {
    source: Uuid,
    change: Uuid,
    hlc: &'a Hlc,
    agent: &'a str,
}

/// Takes a write of identity fields into the person's claims, made from
/// `old` (the record before the write) when a second source first writes,
/// and brings the person's open conflict in line with them. Returns
/// whether the stored claims changed.
fn add_claim(
    conn: &Connection,
    p: &mut Stored,
    old: &PersonRecord,
    by: ClaimBy<'_>,
    fields: &Fields,
    now: i64,
) -> Result<bool, StoreError> {
    let mut claims = match &p.claims {
        Some(text) => serde_json::from_str::<Claims>(text).map_err(corrupt)?,
        None => {
            let sources = claims::identity_sources(old);
            if sources.iter().all(|s| *s == by.source) {
                // One source so far: its record is its claim.
                return Ok(false);
            }
            Claims::from_record(old, |hlc| change_at(conn, &old.nik, hlc))?
        }
    };
    claims.add(by.source, fields, by.hlc, Some(by.change), Some(by.agent));
    p.claims = Some(serde_json::to_string(&claims).map_err(corrupt)?);
    sync_conflict(conn, &old.nik, p.record.fields.kelurahan, &claims, now)?;
    Ok(true)
}

/// The agent and id of the change of `nik` stamped `hlc` (a device never
/// issues a stamp twice).
fn change_at(
    conn: &Connection,
    nik: &Nik,
    hlc: &Hlc,
) -> Result<Option<(String, Uuid)>, StoreError> {
    let row: Option<(String, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT agent, id FROM changes
             WHERE nik = ?1 AND hlc = ?2 AND outcome <> 'rejected' LIMIT 1",
        )?
        .query_row(params![nik.as_str(), hlc.to_sortable()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    row.map(|(agent, id)| Ok((agent, Uuid::from_slice(&id).map_err(corrupt)?)))
        .transpose()
}

/// Makes the person's open conflict what the claims say: opened, updated,
/// or gone when the sources agree again.
fn sync_conflict(
    conn: &Connection,
    nik: &Nik,
    kelurahan: Option<AreaCode>,
    claims: &Claims,
    now: i64,
) -> Result<(), StoreError> {
    let open_row: Option<i64> = conn
        .prepare_cached("SELECT id FROM conflicts WHERE nik = ?1 AND status = 'open'")?
        .query_row([nik.as_str()], |r| r.get(0))
        .optional()?;
    let Some(open) = claims.open() else {
        if let Some(id) = open_row {
            conn.prepare_cached("DELETE FROM conflicts WHERE id = ?1")?
                .execute([id])?;
        }
        return Ok(());
    };
    let side = |(source, claim): &(Uuid, claims::Claim)| ConflictSide {
        source: engine::source_name(source),
        agent: claim.agent.clone(),
        fields: claim.values(&open.fields),
    };
    let names = serde_json::to_string(&open.fields).map_err(corrupt)?;
    let existing = serde_json::to_string(&side(&open.first)).map_err(corrupt)?;
    let incoming = serde_json::to_string(&side(&open.last)).map_err(corrupt)?;
    let change = open.last.1.change.unwrap_or_default();
    let kel = kelurahan.map(|k| k.to_string());
    match open_row {
        Some(id) => {
            conn.prepare_cached(
                "UPDATE conflicts SET kelurahan = ?1, fields = ?2, existing = ?3, incoming = ?4,
                     change_id = ?5 WHERE id = ?6",
            )?
            .execute(params![
                kel,
                names,
                existing,
                incoming,
                change.as_bytes().as_slice(),
                id
            ])?;
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO conflicts (nik, kelurahan, fields, existing, incoming, change_id,
                                        status, opened_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7)",
            )?
            .execute(params![
                nik.as_str(),
                kel,
                names,
                existing,
                incoming,
                change.as_bytes().as_slice(),
                now
            ])?;
            tracing::info!(nik = %nik.masked(), "identity conflict opened");
        }
    }
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
