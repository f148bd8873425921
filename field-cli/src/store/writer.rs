//! Writing changes: every register, edit and void updates the record and
//! appends a change to the outbox in one transaction, with the next device
//! sequence number and a fresh HLC (both persisted in that transaction).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use sigap_shared::{ChangeKind, Fields, Hlc, HlcClock, Issue, Nik, PersonRecord};
use uuid::Uuid;

use super::{now_text, outbox, records};
use crate::error::Result;

pub struct Writer<'c> {
    tx: Transaction<'c>,
    clock: HlcClock,
    next_seq: i64,
    now: String,
    /// The random part of change ids, seeded once from the OS:
    /// `Uuid::now_v7` asked the OS for every id (a system call per row of
    /// an import), and `uuid`'s own fast generator probes the CPU in every
    /// process (`cpuid`, slow on a virtual machine).
    ids: SmallRng,
}

impl<'c> Writer<'c> {
    /// Starts a write transaction (taking the write lock at once).
    pub fn begin(conn: &'c mut Connection, device: Uuid) -> Result<Writer<'c>> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last = outbox::last(&tx)?;
        let clock = resume_clock(last.as_ref().map(|(_, hlc)| hlc.as_str()), device);
        let next_seq = last.map_or(0, |(seq, _)| seq) + 1;
        Ok(Writer {
            tx,
            clock,
            next_seq,
            now: now_text(),
            ids: SmallRng::from_os_rng(),
        })
    }

    pub fn tx(&self) -> &Transaction<'c> {
        &self.tx
    }

    pub fn record(&self, nik: &Nik) -> Result<Option<records::LocalRecord>> {
        records::get(&self.tx, nik)
    }

    /// A new timestamp for a write made now.
    pub fn tick(&mut self) -> Hlc {
        self.clock.now()
    }

    /// Stores the record of a NIK not on this device yet, made by one
    /// write of `fields` at `hlc`, and appends its registration. Returns
    /// the change's device sequence number, or `None` (nothing written)
    /// when the NIK is registered on this device already.
    pub fn register(
        &mut self,
        nik: &Nik,
        fields: &Fields,
        warnings: &[Issue],
        hlc: Hlc,
    ) -> Result<Option<i64>> {
        let fields_json = serde_json::to_string(fields)?;
        self.register_json(nik, fields, &fields_json, warnings, hlc)
    }

    /// [`Writer::register`] with the fields' JSON made by the caller.
    pub fn register_json(
        &mut self,
        nik: &Nik,
        fields: &Fields,
        fields_json: &str,
        warnings: &[Issue],
        hlc: Hlc,
    ) -> Result<Option<i64>> {
        // The record first, pointing at the change about to be appended:
        // inserting it is the check that the NIK is new.
        let seq = self.next_seq;
        let source = records::Source::Write { seq };
        if !records::store(&self.tx, nik, fields, source, true, warnings, &self.now)? {
            return Ok(None);
        }
        let appended = self.append(nik, ChangeKind::Register, fields_json, hlc)?;
        debug_assert_eq!(appended, seq);
        Ok(Some(seq))
    }

    /// Replaces the stored `record` (already holding the write of `fields`
    /// at `hlc`) and appends the change. Returns the change's device
    /// sequence number.
    pub fn save(
        &mut self,
        record: &PersonRecord,
        warnings: &[Issue],
        kind: ChangeKind,
        fields: &Fields,
        hlc: Hlc,
    ) -> Result<i64> {
        let fields_json = serde_json::to_string(fields)?;
        let seq = self.append(&record.nik, kind, &fields_json, hlc)?;
        // A record made by this write alone (a corrected registration
        // sends every field again) points at it rather than copying it.
        let source = if records::is_one_write(record, fields, hlc) {
            records::Source::Write { seq }
        } else {
            records::Source::Merged {
                stamps: &record.stamps,
                fields_json: (record.fields == *fields).then_some(fields_json.as_str()),
            }
        };
        let (nik, f) = (&record.nik, &record.fields);
        records::store(&self.tx, nik, f, source, false, warnings, &self.now)?;
        Ok(seq)
    }

    /// Appends a change to the outbox with the next device number.
    fn append(&mut self, nik: &Nik, kind: ChangeKind, fields_json: &str, hlc: Hlc) -> Result<i64> {
        let seq = self.next_seq;
        // A UUIDv7: the change's clock time, then random bits.
        let mut random = [0u8; 10];
        self.ids.fill(&mut random);
        let id = uuid::Builder::from_unix_timestamp_millis(hlc.millis, &random).into_uuid();
        outbox::append(
            &self.tx,
            &outbox::NewChange {
                seq,
                id,
                nik,
                hlc,
                kind,
                fields: fields_json,
                now: &self.now,
            },
        )?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Marks the rejected, not yet corrected changes of `nik` as corrected
    /// by change `by`.
    pub fn supersede_rejected(&self, nik: &Nik, by: i64) -> Result<usize> {
        outbox::supersede_rejected(&self.tx, nik, by)
    }

    /// Commits everything. The clock needs no saving: the next writer
    /// resumes it from the newest change.
    pub fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }
}

/// The device's clock, resumed after the timestamp of its newest change
/// (every timestamp it issued and kept is a change's), so that timestamps
/// keep rising across commands even when the system clock goes back.
fn resume_clock(newest: Option<&str>, device: Uuid) -> HlcClock {
    match newest.and_then(Hlc::from_sortable) {
        Some(last) if last.device == device => HlcClock::resume(last),
        _ => HlcClock::new(device),
    }
}
