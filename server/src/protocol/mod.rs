//! The sync protocol above the storage: how a push is answered (change
//! ids, device numbers, receipts, who wrote a person, coverage counters,
//! identity claims and conflicts) and how the server's own writes (roll
//! imports, resolutions, moves, erasures) go in. Written once over
//! [`Tx`], the narrow interface a backend implements inside one of its
//! write transactions; the backends hold only SQL.
//!
//! The interface is async so that a networked backend (PostgreSQL) can
//! wait for its database; SQLite's methods finish at once and its caller
//! runs them with [`ready`].

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use sigap_shared::wire::Receipt;
use sigap_shared::{AreaCode, Category, Nik};
use uuid::Uuid;

use crate::store::{Conflict, StoreError};

mod admin;
mod push;
mod writer;

pub use admin::{import_participants, resolve_conflict, write_as};
pub use push::{Prepared, claim, prepare, push, push_deferred};
pub use writer::{
    Known, RtDeltas, Stored, Writer, counter_rows, flush_deltas, merge_deltas, record_json,
};

/// A change as the audit trail keeps it.
#[derive(Debug, Clone)]
pub struct LogRow<'a> {
    pub id: Uuid,
    pub device_id: Uuid,
    pub device_seq: i64,
    /// False for server writes and `seq_conflict` rejections, which hold
    /// no place among the device's numbers.
    pub in_log: bool,
    pub nik: &'a str,
    pub hlc: &'a str,
    pub kind: &'static str,
    pub fields: &'a str,
    pub agent: &'a str,
    pub received_at: i64,
    pub outcome: &'a str,
    pub reject_code: Option<&'a str>,
    pub reject_reason: Option<&'a str>,
}

/// What the audit trail holds of an earlier change with some id.
#[derive(Debug, Clone)]
pub struct LoggedChange {
    pub outcome: String,
    pub reject_code: Option<String>,
    pub reject_reason: Option<String>,
    pub device_id: Uuid,
    pub device_seq: i64,
    pub nik: String,
    pub hlc: String,
    pub kind: String,
    pub fields: String,
}

/// A device's row as a push leaves it.
#[derive(Debug, Clone)]
pub struct DeviceSave<'a> {
    pub receipt: &'a Receipt,
    pub token_id: i64,
    pub last_push_at: i64,
    /// What the device said it still holds back; `None` keeps the last.
    pub pending: Option<i64>,
}

/// A person's open conflict as stored.
#[derive(Debug, Clone)]
pub struct ConflictRow<'a> {
    pub nik: &'a str,
    pub kelurahan: Option<String>,
    /// JSON: the fields in dispute.
    pub fields: &'a str,
    /// JSON: the first and the last source's sides.
    pub existing: &'a str,
    pub incoming: &'a str,
    pub change_id: Uuid,
    pub opened_at: i64,
}

/// A supervisor's closing of a person's open conflicts.
#[derive(Debug, Clone)]
pub struct Closing<'a> {
    pub at: i64,
    pub by: &'a str,
    /// JSON of the values written.
    pub resolution: &'a str,
    pub note: Option<&'a str>,
}

/// Covered-count changes: (area, category, start year) → difference,
/// already added up to every level above the RT.
pub type CounterDeltas = Vec<(AreaCode, Category, i32, i64)>;

/// What a backend does inside one write transaction. Every method reads
/// or writes rows of that transaction; nothing here commits.
#[allow(async_fn_in_trait)]
pub trait Tx {
    /// The token a device belongs to: `None` when there is no row for it,
    /// `Some(None)` for a device no token holds yet.
    async fn device_owner(&mut self, device: &Uuid) -> Result<Option<Option<i64>>, StoreError>;
    async fn token_name(&mut self, token_id: i64) -> Result<Option<String>, StoreError>;
    /// Makes `token_id` the holder of `device` (a row holding nothing
    /// when there is none).
    async fn bind_device(&mut self, device: &Uuid, token_id: i64) -> Result<(), StoreError>;
    /// The device's receipt (all zero for a device not seen). Backends
    /// with several writers lock the row until the transaction ends.
    async fn load_device(&mut self, device: &Uuid) -> Result<Receipt, StoreError>;
    async fn save_device(&mut self, save: &DeviceSave<'_>) -> Result<(), StoreError>;
    /// The token name of the agent a device belongs to.
    async fn device_agent(&mut self, device: &Uuid) -> Result<Option<String>, StoreError>;

    async fn earlier_change(&mut self, id: &Uuid) -> Result<Option<LoggedChange>, StoreError>;
    /// The id of the change the device's log holds under `seq`.
    async fn logged_at(&mut self, device: &Uuid, seq: i64) -> Result<Option<Uuid>, StoreError>;
    /// Adds a change to the audit trail; false (and nothing written) when
    /// its id, or its place in the device's log, is taken.
    async fn log_change(&mut self, row: &LogRow<'_>) -> Result<bool, StoreError>;
    /// The agent and id of the accepted change of `nik` stamped `hlc`.
    async fn change_at(
        &mut self,
        nik: &Nik,
        hlc: &str,
    ) -> Result<Option<(String, Uuid)>, StoreError>;
    /// Whether a change with this id is in the audit trail.
    async fn change_logged(&mut self, id: &Uuid) -> Result<bool, StoreError>;
    /// Counts a rejection that left no row (per agent and day).
    async fn count_unlogged_rejection(&mut self, agent: &str, now: i64) -> Result<(), StoreError>;

    /// The person as stored (this transaction's writes included), with
    /// `counted` left for the caller to fill.
    async fn load_person(&mut self, nik: &Nik) -> Result<Option<Stored>, StoreError>;
    /// Writes the person (a new row when `p.seq` is `None`) with `json`
    /// as its record, at the end of the feed; the new feed position, or
    /// 0 when the backend gives positions out at commit.
    async fn save_person(&mut self, p: &Stored, json: &str) -> Result<i64, StoreError>;
    /// Adds to the covered counters and marks the coverage data changed.
    async fn add_counters(&mut self, deltas: &CounterDeltas) -> Result<(), StoreError>;

    async fn open_conflict(&mut self, nik: &Nik) -> Result<Option<i64>, StoreError>;
    async fn delete_conflict(&mut self, id: i64) -> Result<(), StoreError>;
    /// Updates conflict `id`, or opens one when `id` is `None`.
    async fn write_conflict(
        &mut self,
        id: Option<i64>,
        row: &ConflictRow<'_>,
    ) -> Result<(), StoreError>;
    async fn close_conflicts(&mut self, nik: &Nik, closing: &Closing<'_>)
    -> Result<(), StoreError>;
    async fn load_conflict(&mut self, id: i64) -> Result<Option<Conflict>, StoreError>;
    /// The number of this roll import (1, 2, …).
    async fn next_roll_import(&mut self) -> Result<i64, StoreError>;

    /// A long write (a roll import) is about to load these persons: a
    /// backend across a network reads them in one round trip. SQLite
    /// reads each as asked.
    async fn prefetch_persons(&mut self, niks: &[&Nik]) -> Result<(), StoreError> {
        let _ = niks;
        Ok(())
    }
    /// The persons the next part of a long write will load, once
    /// [`Tx::write_so_far`] has ended the current part: a backend across
    /// a network may start reading them now, while the current part is
    /// worked out. What the current part saves must still be what a load
    /// of its persons in the next part finds.
    async fn read_ahead(&mut self, niks: &[&Nik]) -> Result<(), StoreError> {
        let _ = niks;
        Ok(())
    }
    /// A long write has done a part: a backend that keeps its writes
    /// until the end may write them now (still uncommitted), so that what
    /// it keeps stays bounded, and may go on before the database is done
    /// with them.
    async fn write_so_far(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// How many roll rows a backend reads ahead and keeps at a time.
pub const IMPORT_CHUNK: usize = 10_000;

/// Runs a future that never waits (SQLite's transactions answer at once)
/// to its end on this thread.
pub fn ready<F: Future>(f: F) -> Result<F::Output, StoreError> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Ok(out),
        Poll::Pending => Err(StoreError::Task(
            "a synchronous store operation tried to wait".into(),
        )),
    }
}

/// A device number as stored (the databases' integers are signed).
pub fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| corrupt(format!("number {n} out of range")))
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
