//! The write paths on SQLite: the rows [`crate::protocol`] reads and
//! writes, on the single writer connection, one transaction per call.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::{CachedStatement, Connection, OptionalExtension, TransactionBehavior, params};
use sigap_shared::merge::{Fields, PersonRecord};
use sigap_shared::wire::{PushRequest, PushResponse, Receipt, ReceiptHash};
use sigap_shared::{Hlc, Nik};
use time::Date;
use uuid::Uuid;

use super::{SqliteStore, corrupt, counters, now_millis, parse_record};
use crate::engine;
use crate::protocol::{
    self, Closing, ConflictRow, CounterDeltas, DeviceSave, LogRow, LoggedChange, Prepared,
    RtDeltas, Stored, Tx, ready,
};
use crate::store::{Conflict, ImportSummary, Pusher, RollRow, StoreError};

/// One SQLite write transaction as [`Tx`] sees it: the next feed seq and
/// the statements run for every change, prepared once per transaction
/// (looking each up in the statement cache per change cost more than
/// some of the statements themselves).
pub(super) struct SqliteTx<'c> {
    conn: &'c Connection,
    /// The single writer gives feed positions out as it writes.
    next_seq: i64,
    load_stmt: CachedStatement<'c>,
    insert_stmt: CachedStatement<'c>,
    update_stmt: CachedStatement<'c>,
    log_stmt: CachedStatement<'c>,
}

impl<'c> SqliteTx<'c> {
    pub fn new(conn: &'c Connection) -> Result<SqliteTx<'c>, StoreError> {
        let max: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM persons", [], |r| {
            r.get(0)
        })?;
        Ok(SqliteTx {
            conn,
            next_seq: max + 1,
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
            // The NIK is matched, not set: SQLite rewrites the entry of
            // every index on a column an UPDATE sets, even to the same
            // value, and the NIK's index is in random order (an edit's
            // update took a quarter longer with it set; BENCHMARKS.md).
            update_stmt: conn.prepare_cached(
                "UPDATE persons SET record = ?2, kelurahan = ?3, participant = ?4,
                    registered_by = ?5, registered_hlc = ?6, registered_at = ?7, seq = ?8,
                    sole_device = ?9, review = ?10, last_changed_by = ?11, claims = ?12,
                    roll_as_of = ?13
                 WHERE seq = ?14 AND nik = ?1",
            )?,
            log_stmt: conn.prepare_cached(
                "INSERT INTO changes (id, device_id, device_seq, in_log, nik, hlc, kind, fields,
                                      agent, received_at, outcome, reject_code, reject_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT DO NOTHING",
            )?,
        })
    }
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

/// The token a device belongs to: `None` when the server has no row for
/// it, `Some(None)` for a device no token holds yet.
pub(super) fn device_owner(
    conn: &Connection,
    device: &Uuid,
) -> Result<Option<Option<i64>>, StoreError> {
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

/// Refuses when another token holds `device`.
pub(super) fn claim(conn: &Connection, device: &Uuid, token_id: i64) -> Result<(), StoreError> {
    ready(protocol::claim(&mut SqliteTx::new(conn)?, device, token_id))?
}

/// Adds to the covered counters and marks the coverage data changed.
fn add_counters(conn: &Connection, deltas: &CounterDeltas) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO counters (area, category, since_year, covered) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(area, category, since_year)
         DO UPDATE SET covered = covered + excluded.covered",
    )?;
    for (area, cat, year, d) in deltas {
        stmt.execute(params![area.text().as_str(), cat.as_str(), year, d])?;
    }
    super::bump_generation(conn)
}

fn uuid_of(bytes: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(bytes).map_err(corrupt)
}

impl Tx for SqliteTx<'_> {
    async fn device_owner(&mut self, device: &Uuid) -> Result<Option<Option<i64>>, StoreError> {
        device_owner(self.conn, device)
    }

    async fn token_name(&mut self, token_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT name FROM tokens WHERE id = ?1")?
            .query_row([token_id], |r| r.get(0))
            .optional()?)
    }

    async fn bind_device(&mut self, device: &Uuid, token_id: i64) -> Result<(), StoreError> {
        bind_device(self.conn, device, token_id)
    }

    async fn load_device(&mut self, device: &Uuid) -> Result<Receipt, StoreError> {
        load_device(self.conn, device)
    }

    async fn save_device(&mut self, save: &DeviceSave<'_>) -> Result<(), StoreError> {
        let r = save.receipt;
        self.conn
            .prepare_cached(
                "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash, token_id,
                                      last_push_at, pending)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(device_id) DO UPDATE SET count = excluded.count,
                    highest_seq = excluded.highest_seq, max_seq = excluded.max_seq,
                    hash = excluded.hash, last_push_at = excluded.last_push_at,
                    pending = COALESCE(excluded.pending, devices.pending)",
            )?
            .execute(params![
                r.device_id.as_bytes().as_slice(),
                protocol::to_i64(r.count)?,
                protocol::to_i64(r.highest_seq)?,
                protocol::to_i64(r.max_seq)?,
                r.hash,
                save.token_id,
                save.last_push_at,
                save.pending,
            ])?;
        Ok(())
    }

    async fn device_agent(&mut self, device: &Uuid) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT t.name FROM devices d JOIN tokens t ON t.id = d.token_id
                 WHERE d.device_id = ?1",
            )?
            .query_row([device.as_bytes().as_slice()], |r| r.get(0))
            .optional()?)
    }

    async fn earlier_change(&mut self, id: &Uuid) -> Result<Option<LoggedChange>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT outcome, reject_code, reject_reason, device_id, device_seq, nik, hlc,
                        kind, fields
                 FROM changes WHERE id = ?1",
            )?
            .query_row([id.as_bytes().as_slice()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .optional()?;
        row.map(
            |(outcome, reject_code, reject_reason, device, device_seq, nik, hlc, kind, fields)| {
                Ok(LoggedChange {
                    outcome,
                    reject_code,
                    reject_reason,
                    device_id: uuid_of(&device)?,
                    device_seq,
                    nik,
                    hlc,
                    kind,
                    fields,
                })
            },
        )
        .transpose()
    }

    async fn logged_at(&mut self, device: &Uuid, seq: i64) -> Result<Option<Uuid>, StoreError> {
        let id: Option<Vec<u8>> = self
            .conn
            .prepare_cached(
                "SELECT id FROM changes WHERE device_id = ?1 AND device_seq = ?2 AND in_log = 1",
            )?
            .query_row(params![device.as_bytes().as_slice(), seq], |r| r.get(0))
            .optional()?;
        id.map(|b| uuid_of(&b)).transpose()
    }

    async fn log_change(&mut self, row: &LogRow<'_>) -> Result<bool, StoreError> {
        let n = self.log_stmt.execute(params![
            row.id.as_bytes().as_slice(),
            row.device_id.as_bytes().as_slice(),
            row.device_seq,
            row.in_log,
            row.nik,
            row.hlc,
            row.kind,
            row.fields,
            row.agent,
            row.received_at,
            row.outcome,
            row.reject_code,
            row.reject_reason,
        ])?;
        Ok(n > 0)
    }

    async fn change_at(
        &mut self,
        nik: &Nik,
        hlc: &str,
    ) -> Result<Option<(String, Uuid)>, StoreError> {
        let row: Option<(String, Vec<u8>)> = self
            .conn
            .prepare_cached(
                "SELECT agent, id FROM changes
                 WHERE nik = ?1 AND hlc = ?2 AND outcome <> 'rejected' LIMIT 1",
            )?
            .query_row(params![nik.as_str(), hlc], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(agent, id)| Ok((agent, uuid_of(&id)?)))
            .transpose()
    }

    async fn change_logged(&mut self, id: &Uuid) -> Result<bool, StoreError> {
        super::activity::logged(self.conn, id)
    }

    async fn count_unlogged_rejection(&mut self, agent: &str, now: i64) -> Result<(), StoreError> {
        super::activity::count_unlogged_rejection(self.conn, agent, now)
    }

    async fn load_person(&mut self, nik: &Nik) -> Result<Option<Stored>, StoreError> {
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
                Ok(Stored {
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
                })
            },
        )
        .transpose()
    }

    async fn save_person(&mut self, p: &Stored, json: &str) -> Result<i64, StoreError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let stmt = if p.seq.is_some() {
            &mut self.update_stmt
        } else {
            &mut self.insert_stmt
        };
        let kelurahan = p.record.fields.kelurahan.map(|k| k.text());
        let kelurahan = kelurahan.as_ref().map(|k| k.as_str());
        let nik = p.record.nik.as_str();
        let sole = p.sole_device.as_ref().map(|d| d.as_bytes().as_slice());
        let as_of = p.roll_as_of_text()?;
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
        if stmt.execute(args.as_slice())? != 1 {
            return Err(corrupt(format!(
                "no person {} at feed position {} to update",
                p.record.nik.masked(),
                p.seq.unwrap_or_default()
            )));
        }
        Ok(seq)
    }

    async fn add_counters(&mut self, deltas: &CounterDeltas) -> Result<(), StoreError> {
        add_counters(self.conn, deltas)
    }

    async fn open_conflict(&mut self, nik: &Nik) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM conflicts WHERE nik = ?1 AND status = 'open'")?
            .query_row([nik.as_str()], |r| r.get(0))
            .optional()?)
    }

    async fn delete_conflict(&mut self, id: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM conflicts WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    async fn write_conflict(
        &mut self,
        id: Option<i64>,
        row: &ConflictRow<'_>,
    ) -> Result<(), StoreError> {
        match id {
            Some(id) => {
                self.conn
                    .prepare_cached(
                        "UPDATE conflicts SET kelurahan = ?1, fields = ?2, existing = ?3,
                             incoming = ?4, change_id = ?5 WHERE id = ?6",
                    )?
                    .execute(params![
                        row.kelurahan,
                        row.fields,
                        row.existing,
                        row.incoming,
                        row.change_id.as_bytes().as_slice(),
                        id
                    ])?;
            }
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO conflicts (nik, kelurahan, fields, existing, incoming,
                                                change_id, status, opened_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7)",
                    )?
                    .execute(params![
                        row.nik,
                        row.kelurahan,
                        row.fields,
                        row.existing,
                        row.incoming,
                        row.change_id.as_bytes().as_slice(),
                        row.opened_at
                    ])?;
            }
        }
        Ok(())
    }

    async fn close_conflicts(
        &mut self,
        nik: &Nik,
        closing: &Closing<'_>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE conflicts SET status = 'resolved', resolved_at = ?1, resolved_by = ?2,
                 resolution = ?3, note = ?4 WHERE nik = ?5 AND status = 'open'",
            params![
                closing.at,
                closing.by,
                closing.resolution,
                closing.note,
                nik.as_str()
            ],
        )?;
        Ok(())
    }

    async fn load_conflict(&mut self, id: i64) -> Result<Option<Conflict>, StoreError> {
        super::read::load_conflict(self.conn, id)
    }

    async fn next_roll_import(&mut self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "INSERT INTO meta (key, value) VALUES ('roll_imports', 1)
             ON CONFLICT(key) DO UPDATE SET value = value + 1 RETURNING value",
            [],
            |r| r.get(0),
        )?)
    }
}

/// Most changes a group of pushes gathers before it commits. A full page
/// of `sigap sync` (10,000 changes) commits alone, so the device's next
/// page is answered without waiting for others; small pushes that arrive
/// together share one transaction and one fsync.
pub(super) const GROUP_CHANGES: usize = sigap_shared::wire::MAX_PUSH_CHANGES;

/// Group commit of pushes. A push that finds others waiting for the
/// writer when it is done leaves the transaction open for them instead of
/// committing it; the last one (or any other write that wants the
/// writer) commits it. Each push runs in a savepoint of its own, so one
/// that fails is undone alone; each is answered only once the group's
/// commit is durable.
/// How often a push waiting for its group looks for a writer that
/// panicked (a settled group wakes it at once).
const PANIC_CHECK: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Default)]
pub(super) struct Groups {
    state: Mutex<GroupState>,
    /// Notified when a group is settled (committed or failed).
    settled: Condvar,
    /// Pushes preparing their changes now (see [`Groups::preparing`]).
    preparing: Mutex<usize>,
    /// Notified when a push is done preparing.
    prepared: Condvar,
}

/// How many pushes prepare their changes at once: one core fewer than
/// the machine has, so that the writer keeps one. When 200 pushes
/// arrived together, all 200 prepared at once and the writer, which
/// every one of them then waits for, got a two-hundredth of the CPU
/// until they were done.
fn prepare_slots() -> usize {
    static SLOTS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SLOTS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1))
            .max(1)
    })
}

/// A push's turn to prepare; the next waiting one gets it when dropped.
pub(super) struct PrepareTurn<'a>(&'a Groups);

impl Drop for PrepareTurn<'_> {
    fn drop(&mut self) {
        if let Ok(mut n) = self.0.preparing.lock() {
            *n = n.saturating_sub(1);
        }
        self.0.prepared.notify_one();
    }
}

#[derive(Default)]
struct GroupState {
    /// Pushes prepared and waiting for the writer.
    waiting: usize,
    /// The group whose transaction is open on the writer.
    open: Option<OpenGroup>,
    next_id: u64,
    /// How settled groups ended, kept until each member has read it.
    outcomes: HashMap<u64, GroupOutcome>,
    /// Groups committed (for tests).
    commits: u64,
}

struct OpenGroup {
    id: u64,
    changes: usize,
    members: usize,
    /// The members' counter changes, written once before the commit.
    deltas: RtDeltas,
}

struct GroupOutcome {
    /// Why the group's transaction did not commit.
    error: Option<String>,
    /// Members that have not read this yet.
    left: usize,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Task("the push group lock is poisoned".into())
}

impl Groups {
    fn lock(&self) -> Result<MutexGuard<'_, GroupState>, StoreError> {
        self.state.lock().map_err(poisoned)
    }

    /// Waits until fewer than [`prepare_slots`] pushes are preparing.
    pub(super) fn preparing(&self) -> Result<PrepareTurn<'_>, StoreError> {
        let mut n = self.preparing.lock().map_err(poisoned)?;
        while *n >= prepare_slots() {
            n = self.prepared.wait(n).map_err(poisoned)?;
        }
        *n += 1;
        Ok(PrepareTurn(self))
    }

    /// Pushes waiting for the writer now (for tests).
    pub(super) fn waiting(&self) -> usize {
        self.state.lock().map_or(0, |s| s.waiting)
    }

    /// Groups committed so far (for tests).
    pub(super) fn commits(&self) -> u64 {
        self.state.lock().map_or(0, |s| s.commits)
    }
}

/// Leaves the count of waiting pushes when dropped.
struct Waiting<'a>(&'a Groups);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.waiting = s.waiting.saturating_sub(1);
        }
    }
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
        let prepared = {
            let _turn = self.groups.preparing()?;
            protocol::prepare(req, by, now)?
        };
        let waiting = {
            self.groups.lock()?.waiting += 1;
            Waiting(&self.groups)
        };
        let conn = self.writer_unsettled();
        drop(waiting);
        let conn = conn?;
        let (conn, applied) = self.apply_in_group(conn, by, req, prepared, now);
        // Commit now, unless another push is about to join the group.
        let settle = {
            let s = self.groups.lock()?;
            s.open
                .as_ref()
                .is_some_and(|g| s.waiting == 0 || g.changes >= GROUP_CHANGES)
        };
        if settle {
            // A failed commit reaches every member through its outcome.
            let _ = self.settle(&conn);
        }
        drop(conn);
        let (response, group) = applied?;
        self.await_group(group)?;
        Ok(response)
    }

    /// Applies one push in the open group's transaction (opening one when
    /// there is none), in a savepoint of its own: the response and the
    /// group it waits for, or its error with nothing of it written.
    fn apply_in_group<'s>(
        &'s self,
        conn: MutexGuard<'s, Connection>,
        by: &Pusher<'_>,
        req: &PushRequest,
        prepared: Vec<Prepared>,
        now: i64,
    ) -> (
        MutexGuard<'s, Connection>,
        Result<(PushResponse, u64), StoreError>,
    ) {
        let conn = self.wait_for_turn(conn, req, by.gap_wait);
        let result = self.apply_in_savepoint(&conn, by, req, prepared, now);
        (conn, result)
    }

    fn apply_in_savepoint(
        &self,
        conn: &Connection,
        by: &Pusher<'_>,
        req: &PushRequest,
        prepared: Vec<Prepared>,
        now: i64,
    ) -> Result<(PushResponse, u64), StoreError> {
        let id = {
            let open = self.groups.lock()?.open.as_ref().map(|g| g.id);
            match open {
                Some(id) => id,
                None => {
                    conn.execute_batch("BEGIN IMMEDIATE")?;
                    let mut s = self.groups.lock()?;
                    s.next_id += 1;
                    let id = s.next_id;
                    s.open = Some(OpenGroup {
                        id,
                        changes: 0,
                        members: 0,
                        deltas: RtDeltas::new(),
                    });
                    id
                }
            }
        };
        if let Err(e) = conn.execute_batch("SAVEPOINT push") {
            self.abort_group(conn, &e.to_string());
            return Err(e.into());
        }
        let out = SqliteTx::new(conn)
            .and_then(|mut t| ready(protocol::push_deferred(&mut t, by, req, prepared, now))?);
        match out {
            Ok((response, deltas)) => {
                if let Err(e) = conn.execute_batch("RELEASE push") {
                    self.abort_group(conn, &e.to_string());
                    return Err(e.into());
                }
                let mut s = self.groups.lock()?;
                let Some(g) = s.open.as_mut() else {
                    return Err(StoreError::Task(
                        "a push group closed under its member".into(),
                    ));
                };
                g.changes += req.changes.len();
                g.members += 1;
                protocol::merge_deltas(&mut g.deltas, deltas);
                Ok((response, id))
            }
            Err(e) => {
                // Undo this push alone; when SQLite has rolled the whole
                // transaction back (some I/O errors do), the group fails.
                if conn.is_autocommit()
                    || conn
                        .execute_batch("ROLLBACK TO push; RELEASE push")
                        .is_err()
                {
                    self.abort_group(conn, &e.to_string());
                }
                Err(e)
            }
        }
    }

    /// Commits the open group, if any: its counters, then its transaction
    /// (one fsync); then tells its members. Called with the writer held.
    pub(super) fn settle(&self, conn: &Connection) -> Result<(), StoreError> {
        let Some(g) = self.groups.lock()?.open.take() else {
            return Ok(());
        };
        let rows = protocol::counter_rows(g.deltas);
        let result = (|| {
            if !rows.is_empty() {
                add_counters(conn, &rows)?;
            }
            conn.execute_batch("COMMIT")?;
            Ok::<_, StoreError>(())
        })();
        if result.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.close_group(
            g.id,
            g.members,
            result.as_ref().err().map(|e| e.to_string()),
        );
        result
    }

    /// Rolls the open group back after a failure its savepoints cannot
    /// undo; its members are told `error`.
    fn abort_group(&self, conn: &Connection, error: &str) {
        let open = self
            .groups
            .state
            .lock()
            .ok()
            .and_then(|mut s| s.open.take());
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if let Some(g) = open {
            self.close_group(g.id, g.members, Some(error.to_string()));
        }
    }

    fn close_group(&self, id: u64, members: usize, error: Option<String>) {
        if let Ok(mut s) = self.groups.state.lock() {
            if error.is_none() {
                s.commits += 1;
            }
            if members > 0 {
                s.outcomes.insert(
                    id,
                    GroupOutcome {
                        error,
                        left: members,
                    },
                );
            }
        }
        self.groups.settled.notify_all();
        self.pushed.notify_all();
    }

    /// Waits until group `id` is settled: `Ok` once it is committed, an
    /// error once it failed or can no longer commit.
    fn await_group(&self, id: u64) -> Result<(), StoreError> {
        let mut s = self.groups.lock()?;
        loop {
            if let Some(o) = s.outcomes.get_mut(&id) {
                o.left = o.left.saturating_sub(1);
                let error = o.error.clone();
                if o.left == 0 {
                    s.outcomes.remove(&id);
                }
                return match error {
                    None => Ok(()),
                    Some(e) => Err(StoreError::Database(format!(
                        "the push was not saved (its transaction failed): {e}"
                    ))),
                };
            }
            // A holder of the writer that panicked with the group's
            // transaction open leaves it poisoned: that transaction can
            // never commit, and nobody else will settle the group.
            if self.writer.is_poisoned() {
                return Err(StoreError::Task(
                    "the push was not saved: the server's writer failed while its transaction was open"
                        .into(),
                ));
            }
            s = self
                .groups
                .settled
                .wait_timeout(s, PANIC_CHECK)
                .map_err(poisoned)?
                .0;
        }
    }

    /// The writer, once the device's changes before this push's first one
    /// are held (in the open group too), or after `wait`. `sigap sync`
    /// keeps two pages in flight and the later (often smaller) one may
    /// reach the writer first: waiting a moment for the earlier page lets
    /// the device's changes apply in its order without answering the
    /// later page `pending` and having it sent again. A push that waits
    /// commits the open group first, so that its members are answered.
    fn wait_for_turn<'s>(
        &'s self,
        mut conn: MutexGuard<'s, Connection>,
        req: &PushRequest,
        wait: std::time::Duration,
    ) -> MutexGuard<'s, Connection> {
        let Some(first) = req.changes.iter().map(|c| c.device_seq).min() else {
            return conn;
        };
        let deadline = std::time::Instant::now() + wait;
        loop {
            // A read that fails here fails again in the push, which
            // answers it.
            let Ok(held) = load_device(&conn, &req.device_id).map(|r| r.highest_seq) else {
                return conn;
            };
            let now = std::time::Instant::now();
            if first <= held + 1 || now >= deadline {
                return conn;
            }
            let _ = self.settle(&conn);
            conn = match self.pushed.wait_timeout(conn, deadline - now) {
                Ok((c, _)) => c,
                Err(e) => e.into_inner().0,
            };
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

    /// Runs `f` on a [`SqliteTx`] in one immediate transaction, committed
    /// when `f` succeeds.
    pub(super) fn in_write_tx<T>(
        &self,
        f: impl AsyncFnOnce(&mut SqliteTx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = {
            let mut t = SqliteTx::new(&tx)?;
            ready(f(&mut t))??
        };
        tx.commit()?;
        Ok(out)
    }

    pub(in crate::store) fn import_participants_impl(
        &self,
        rows: &[RollRow],
        as_of: Date,
    ) -> Result<ImportSummary, StoreError> {
        self.in_write_tx(async |t| protocol::import_participants(t, rows, as_of).await)
    }

    pub(in crate::store) fn resolve_conflict_impl(
        &self,
        id: i64,
        fields: &Fields,
        note: Option<&str>,
        by: &str,
    ) -> Result<Conflict, StoreError> {
        self.in_write_tx(async |t| {
            protocol::resolve_conflict(t, id, fields, note, by, now_millis()).await
        })
    }

    /// A supervisor moves a person to another address (between kecamatan
    /// too, which agents may not do): a change with an author.
    pub(in crate::store) fn move_person_impl(
        &self,
        nik: &Nik,
        to: &Fields,
        by: &str,
    ) -> Result<PersonRecord, StoreError> {
        self.in_write_tx(async |t| supervisor_write(t, nik, to, by, None).await)
    }

    /// A supervisor's resolution stamped `hlc`, as another server that
    /// receives it applies it (order tests replay resolutions with it).
    pub(in crate::store) fn resolve_at_impl(
        &self,
        nik: &Nik,
        fields: &Fields,
        hlc: Hlc,
        by: &str,
    ) -> Result<(), StoreError> {
        self.in_write_tx(async |t| supervisor_write(t, nik, fields, by, Some(hlc)).await)?;
        Ok(())
    }
}

/// A supervisor's write to `nik`, stamped `hlc` or by the server's clock.
pub(crate) async fn supervisor_write<T: Tx>(
    t: &mut T,
    nik: &Nik,
    fields: &Fields,
    by: &str,
    hlc: Option<Hlc>,
) -> Result<PersonRecord, StoreError> {
    let now = now_millis();
    let at = u64::try_from(now).unwrap_or(0);
    protocol::write_as(
        t,
        nik,
        fields,
        None,
        by,
        &format!("supervisor {by}"),
        now,
        |record| hlc.unwrap_or_else(|| engine::server_hlc(record, at)),
    )
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::protocol::record_json;
    use sigap_shared::merge::{Fields, PersonRecord};
    use sigap_shared::{AreaCode, Category, Hlc, Nik};
    use uuid::Uuid;

    #[test]
    fn pushes_prepare_a_few_at_a_time_and_a_turn_ends_even_when_its_push_panics() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let groups = super::Groups::default();
        let slots = super::prepare_slots();
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for i in 0..16 {
                let (groups, now, most) = (&groups, &now, &most);
                scope.spawn(move || {
                    let preparing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let _turn = groups.preparing().unwrap();
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        now.fetch_sub(1, Ordering::SeqCst);
                        assert!(i % 5 != 0, "a push that fails while preparing");
                    }));
                    assert_eq!(preparing.is_err(), i % 5 == 0);
                });
            }
        });
        assert!(
            most.load(Ordering::SeqCst) <= slots,
            "at most {slots} at once"
        );
        // Every turn, the failed ones' too, was given back.
        assert_eq!(*groups.preparing.lock().unwrap(), 0);
    }

    #[test]
    fn a_writer_that_panics_with_a_group_open_fails_the_group_s_members_instead_of_leaving_them_waiting()
     {
        use crate::store::{NewToken, Pusher, Role, SqliteStore, Store};
        use sigap_shared::wire::{Change, ChangeKind, PushRequest};

        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(&dir.path().join("panic.db")).unwrap());
        let t = store
            .create_token(&NewToken {
                name: "agent".into(),
                role: Role::Agent,
                areas: vec![AreaCode::parse("33.72").unwrap()],
                hash: crate::token::hash(&crate::token::generate()),
                expires_at: None,
            })
            .unwrap();
        let by = Pusher {
            token_id: t.id,
            token_name: &t.name,
            areas: Some(&t.areas),
            max_skew_millis: u64::MAX / 4,
            gap_wait: std::time::Duration::ZERO,
        };
        let device = Uuid::now_v7();
        let nik = Nik::parse("3372015204900002").unwrap();
        let fields = Fields {
            name: Some("Warga".into()),
            kelurahan: Some(AreaCode::parse("33.72.01.1001").unwrap()),
            rw: Some(1),
            rt: Some(1),
            category: Some(Category::Bpu),
            ..Fields::default()
        };
        let req = PushRequest {
            protocol: sigap_shared::PROTOCOL_VERSION,
            device_id: device,
            changes: vec![Change {
                id: Uuid::now_v7(),
                device_id: device,
                device_seq: 1,
                nik,
                hlc: Hlc {
                    millis: 1_764_000_000_000,
                    counter: 0,
                    device,
                },
                kind: ChangeKind::Register,
                fields,
            }],
            pending: None,
        };
        // A push applied in a group that is left open for the next one.
        let now = store.now();
        let prepared = crate::protocol::prepare(&req, &by, now).unwrap();
        let group = {
            let conn = store.writer_unsettled().unwrap();
            let (_, group) = store
                .apply_in_savepoint(&conn, &by, &req, prepared, now)
                .unwrap();
            group
        };
        // The next holder of the writer panics (a bug) before settling.
        std::thread::scope(|s| {
            let holder = s.spawn(|| {
                let _conn = store.writer_unsettled().unwrap();
                panic!("a bug while the group's transaction is open");
            });
            assert!(holder.join().is_err());
        });
        // On its own thread, left behind should it wait forever.
        let (tx, rx) = std::sync::mpsc::channel();
        let member = std::sync::Arc::clone(&store);
        std::thread::spawn(move || {
            let _ = tx.send(member.await_group(group).is_err());
        });
        let failed = rx.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(failed, Ok(true), "the member must be told its push failed");
        let persons: i64 = store
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM persons", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(persons, 0, "nothing of the failed group is stored");
    }

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
        assert_eq!(super::parse_record(&built).unwrap(), record);
    }

    #[test]
    fn an_update_that_finds_no_such_person_at_its_place_is_refused() {
        use crate::protocol::{Stored, Tx};
        use crate::store::SqliteStore;

        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("update.db")).unwrap();
        let record = |nik: &str| {
            PersonRecord::from_write(
                Nik::parse(nik).unwrap(),
                &Fields {
                    name: Some("Warga".into()),
                    ..Fields::default()
                },
                Hlc {
                    millis: 1_764_000_000_000,
                    counter: 0,
                    device: Uuid::now_v7(),
                },
            )
        };
        let (a, b) = (record("3372015204900002"), record("3372011203850001"));
        let result = store.in_write_tx(async |t| {
            let seq_a = t.save_person(&Stored::new(a.clone()), "{}").await?;
            t.save_person(&Stored::new(b.clone()), "{}").await?;
            // B as if it were stored where A is: the update must not
            // overwrite A, nor pass as done.
            let mut wrong = Stored::new(b.clone());
            wrong.seq = Some(seq_a);
            t.save_person(&wrong, "{}").await
        });
        let err = result.unwrap_err().to_string();
        assert!(
            err.contains("no person") && err.contains("feed position 1"),
            "{err}"
        );
        assert!(
            !err.contains("3372011203850001"),
            "the NIK is masked: {err}"
        );
        let persons: i64 = store
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM persons", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(persons, 0, "the failed transaction is rolled back");
    }
}
