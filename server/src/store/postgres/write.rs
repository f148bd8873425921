//! The write paths on PostgreSQL: the rows [`crate::protocol`] reads and
//! writes, inside one transaction per call, with several servers writing
//! at once.
//!
//! How concurrent servers stay right:
//! - A push locks its device's row (`FOR UPDATE`) before anything else,
//!   so one device's pushes apply one at a time, whichever server takes
//!   them.
//! - The persons a push names are loaded and locked in one query, in NIK
//!   order (so two pushes lock shared persons in the same order); a
//!   person first written by two servers at once makes one of them fail
//!   on the primary key and start again, now seeing the other's row.
//! - Counts are added to in the transaction's own stripe of `counters`
//!   (see [`super::stripes`]), before the feed's lock, in a fixed order
//!   (two servers hand out the same stripe numbers).
//! - Feed positions are given out at the very end, under the row lock of
//!   `meta('feed_seq')`, held until commit: a transaction with a higher
//!   position cannot commit before one with a lower position has, so a
//!   pull that has seen position N has seen everything below it.
//! - Serialisation failures, deadlocks and key races surface as
//!   [`StoreError::Retry`], and the whole call runs again from the start.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use sigap_shared::Nik;
use sigap_shared::merge::{Fields, PersonRecord};
use sigap_shared::wire::{PushRequest, PushResponse, Receipt, ReceiptHash};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Statement};
use uuid::Uuid;

use super::PgStore;
use super::pipeline::{self, CopyRows, Running, Sent, first_cause, send};
use crate::protocol::{
    self, Closing, ConflictRow, CounterDeltas, DeviceSave, LogRow, LoggedChange, Stored, Tx,
};
use crate::store::sqlite::counters;
use crate::store::{self, Conflict, StoreError};

/// How often a call that lost a race with another server runs again.
const MAX_ATTEMPTS: u32 = 12;

/// The persons' columns, in the order [`stored_from_row`] reads them.
const PERSON_COLUMNS: &str = "seq, record, participant, registered_by, registered_hlc, \
     registered_at, sole_device, review, last_changed_by, claims, roll_as_of, nik";

fn stored_from_row(r: &Row) -> Result<Stored, StoreError> {
    let record: String = r.try_get(1)?;
    let as_of: Option<String> = r.try_get(10)?;
    Ok(Stored {
        seq: Some(r.try_get(0)?),
        record: serde_json::from_str(&record)
            .map_err(|e| protocol::corrupt(format!("person record: {e}")))?,
        participant: r.try_get(2)?,
        roll_as_of: as_of
            .as_deref()
            .map(counters::parse_date_text)
            .transpose()?,
        registered_by: r.try_get(3)?,
        registered_hlc: r.try_get(4)?,
        registered_at: r.try_get(5)?,
        sole_device: r.try_get(6)?,
        review: r.try_get(7)?,
        last_changed_by: r.try_get(8)?,
        claims: r.try_get(9)?,
        counted: None,
    })
}

/// A change log row kept until the transaction ends.
#[derive(Debug, Clone)]
struct PendingLog {
    id: Uuid,
    device_id: Uuid,
    device_seq: i64,
    in_log: bool,
    nik: String,
    hlc: String,
    kind: &'static str,
    fields: String,
    agent: String,
    received_at: i64,
    outcome: String,
    reject_code: Option<String>,
    reject_reason: Option<String>,
}

/// A person written in this transaction, kept until it ends.
struct PendingPerson {
    stored: Stored,
    json: String,
    /// Whether the row existed when the transaction read it (an update),
    /// or is new (an insert, which fails if another server made it since).
    existed: bool,
    /// The order of the last save: feed positions follow it.
    order: u64,
}

/// One PostgreSQL write transaction as [`Tx`] sees it. Person writes are
/// kept and written in batches when it ends ([`finish`]); change log rows
/// are copied in batches of [`LOG_BATCH`] as they come, for the database
/// to write while the server merges the changes after them (see
/// [`pipeline`]).
pub(super) struct PgTx<'c> {
    /// Borrowed, not owned, so that statements sent ahead can hold it
    /// while the transaction goes on; the caller commits it.
    tx: &'c deadpool_postgres::Transaction<'c>,
    /// Persons read up front (`None`: not stored), locked.
    prefetched: HashMap<String, Option<Stored>>,
    /// The next part's persons, being read (see [`Tx::read_ahead`]).
    ahead: Option<Ahead<'c>>,
    /// Change ids found in the log up front.
    known_ids: HashSet<Uuid>,
    /// Whether `known_ids` covers every id the transaction asks about.
    ids_prefetched: HashSet<Uuid>,
    /// Log rows not sent yet.
    logs: Vec<PendingLog>,
    /// Log rows sent to the database, kept for the transaction's own
    /// lookups until it ends.
    sent_logs: Vec<Arc<Vec<PendingLog>>>,
    /// Writes sent that the database may still be running, in the order
    /// they were sent (see [`PgTx::send_logs`]).
    running: Vec<Running<'c>>,
    log_ids: HashSet<Uuid>,
    /// The id logged under each device number this transaction logged
    /// (`in_log` rows): looking a number up in the rows themselves was a
    /// scan of every row of the push for every change, a third of the
    /// server's CPU on a page of 10,000 (BENCHMARKS.md, session 20).
    logged_seqs: HashMap<(Uuid, i64), Uuid>,
    persons: HashMap<String, PendingPerson>,
    saves: u64,
    /// Covered-count changes, written at the end: a counter row is shared
    /// by every push in its area, and its lock is held to commit.
    counters: CounterDeltas,
    /// The counters' stripe this transaction adds to (see [`super::stripes`]).
    stripe: i16,
}

impl<'c> PgTx<'c> {
    pub fn new(tx: &'c deadpool_postgres::Transaction<'c>, stripe: i16) -> PgTx<'c> {
        PgTx {
            tx,
            prefetched: HashMap::new(),
            ahead: None,
            known_ids: HashSet::new(),
            ids_prefetched: HashSet::new(),
            logs: Vec::new(),
            sent_logs: Vec::new(),
            running: Vec::new(),
            log_ids: HashSet::new(),
            logged_seqs: HashMap::new(),
            persons: HashMap::new(),
            saves: 0,
            counters: Vec::new(),
            stripe,
        }
    }

    /// Reads and locks the persons `req` names, and finds which of its
    /// change ids are logged, in two queries.
    async fn prefetch(&mut self, req: &PushRequest) -> Result<(), StoreError> {
        let mut niks: Vec<&str> = req.changes.iter().map(|c| c.nik.as_str()).collect();
        niks.sort_unstable();
        niks.dedup();
        self.lock_persons(&niks).await?;
        let ids: Vec<Uuid> = req.changes.iter().map(|c| c.id).collect();
        let stmt = self
            .tx
            .prepare_cached("SELECT id FROM changes WHERE id = ANY($1)")
            .await?;
        for r in self.tx.query(&stmt, &[&ids]).await? {
            self.known_ids.insert(r.try_get(0)?);
        }
        self.ids_prefetched.extend(ids);
        Ok(())
    }

    /// Reads and locks the persons of `niks` (sorted: two transactions
    /// lock shared persons in the same order).
    async fn lock_persons(&mut self, niks: &[&str]) -> Result<(), StoreError> {
        let stmt = self.tx.prepare_cached(&lock_persons_sql()).await?;
        let rows = self.tx.query(&stmt, &[&niks]).await?;
        self.keep_prefetched(niks.iter().copied(), &rows)
    }

    /// Keeps what was read of the persons of `niks` (`rows`).
    fn keep_prefetched<'n>(
        &mut self,
        niks: impl Iterator<Item = &'n str>,
        rows: &[Row],
    ) -> Result<(), StoreError> {
        for nik in niks {
            self.prefetched.insert(nik.to_string(), None);
        }
        for r in rows {
            let nik: String = r.try_get(11)?;
            self.prefetched.insert(nik, Some(stored_from_row(r)?));
        }
        Ok(())
    }

    /// Writes what was kept and gives the saved persons their feed
    /// positions; the caller commits. The counters go in before the
    /// feed's lock is taken: their rows are this transaction's stripe, so
    /// adding to them waits for no one, and what runs under the feed's
    /// lock (which every write queues for) stays short.
    async fn finish(&mut self) -> Result<(), StoreError> {
        let persons = PersonWrites::of(std::mem::take(&mut self.persons))?;
        self.write_logs().await?;
        let counted = !self.counters.is_empty();
        if counted {
            write_counters(self.tx, &self.counters, self.stripe).await?;
        }
        let sent = write_persons(self.tx, persons, counted).await?;
        self.running.extend(sent);
        self.write_logs().await
    }

    /// Builds the kept persons' rows, waits for the writes still running,
    /// then sends the kept change log rows and persons (the persons under
    /// the feed lock, held from then until commit) without waiting for
    /// the database to write them: it does so while the caller works out
    /// the next part. The persons read
    /// ahead for that part become the ones prefetched; where they were
    /// read before these writes were sent, they are taken from what is
    /// written here.
    async fn write_pending(&mut self) -> Result<(), StoreError> {
        let carried: Vec<(String, Stored)> = match &self.ahead {
            Some(ahead) => ahead
                .niks
                .iter()
                .filter_map(|nik| Some((nik.clone(), self.persons.get(nik)?.stored.clone())))
                .collect(),
            None => Vec::new(),
        };
        // Worked out while the database writes the part before.
        let persons = PersonWrites::of(std::mem::take(&mut self.persons))?;
        self.write_logs().await?;
        let ahead = self.take_ahead().await?;
        let sent = write_persons(self.tx, persons, false).await?;
        self.running.extend(sent);
        // What was read of this part is stale now: a later load reads the
        // rows as written.
        self.prefetched.clear();
        if let Some((niks, rows)) = ahead {
            self.keep_prefetched(niks.iter().map(String::as_str), &rows)?;
            for (nik, stored) in carried {
                self.prefetched.insert(nik, Some(stored));
            }
        }
        Ok(())
    }

    /// The persons read ahead, and what was read of them. Taken before any
    /// other statement's answer is waited for: the connection hands a
    /// statement's answers over in order, a few messages at a time, so an
    /// answer of many rows left unread holds back every answer after it.
    async fn take_ahead(&mut self) -> Result<Option<(Vec<String>, Vec<Row>)>, StoreError> {
        self.read_ahead_now().await?;
        Ok(self.ahead.take().map(|a| (a.niks, a.rows)))
    }

    /// Reads the rows read ahead now, and keeps them for
    /// [`PgTx::take_ahead`].
    async fn read_ahead_now(&mut self) -> Result<(), StoreError> {
        if let Some(ahead) = &mut self.ahead
            && let Some(sent) = ahead.sent.take()
        {
            ahead.rows = pipeline::rows(sent).await?;
        }
        Ok(())
    }

    /// The latest log row of this transaction that `f` picks.
    fn pending_log(&self, f: impl Fn(&PendingLog) -> bool) -> Option<&PendingLog> {
        self.logs
            .iter()
            .rev()
            .chain(self.sent_logs.iter().rev().flat_map(|b| b.iter().rev()))
            .find(|l| f(l))
    }

    /// Copies the log rows not sent yet, without waiting for the database
    /// to write them: it does so while the caller merges the next
    /// changes, instead of after the last. They are kept in `sent_logs`,
    /// where the transaction's own lookups find them.
    async fn send_logs(&mut self) -> Result<(), StoreError> {
        if self.logs.is_empty() {
            return Ok(());
        }
        let stmt = self.tx.prepare_cached(LOG_COPY).await?;
        // Waits for what was sent before (the last batch, say) to end.
        let sink = self.tx.copy_in(&stmt).await?;
        let batch = Arc::new(std::mem::take(&mut self.logs));
        self.running.push(pipeline::copy(
            sink,
            &LOG_COPY_TYPES,
            LogBatch(Arc::clone(&batch)),
            LOG_RACE,
        ));
        self.sent_logs.push(batch);
        Ok(())
    }

    /// Sends what is left of the log and waits until every write sent is
    /// done; the log rows are then dropped from memory.
    async fn write_logs(&mut self) -> Result<(), StoreError> {
        self.send_logs().await?;
        for running in std::mem::take(&mut self.running) {
            running.done().await?;
        }
        self.sent_logs.clear();
        Ok(())
    }

    /// Why the transaction failed, given the error a statement returned:
    /// once one statement fails PostgreSQL answers every later one
    /// "current transaction is aborted" (25P02), so when that is the
    /// error and writes sent earlier were still running, the cause is
    /// theirs (a race with another server, say, worth running the
    /// transaction again for).
    async fn cause(&mut self, error: StoreError) -> StoreError {
        let mut results = vec![Err(error)];
        for running in std::mem::take(&mut self.running) {
            results.push(running.done().await);
        }
        match first_cause(results) {
            Err(cause) => cause,
            // Not reached: the first result is an error.
            Ok(()) => StoreError::Task("a failed write lost its error".into()),
        }
    }
}

/// The persons of the next part of a long write, being read and locked.
struct Ahead<'c> {
    niks: Vec<String>,
    /// The read, until its rows are read into `rows`.
    sent: Option<Sent<'c>>,
    rows: Vec<Row>,
}

/// Reads and locks the persons of the NIKs given as `$1`, in NIK order.
fn lock_persons_sql() -> String {
    format!("SELECT {PERSON_COLUMNS} FROM persons WHERE nik = ANY($1) ORDER BY nik FOR UPDATE")
}

/// How many change log rows are sent in one copy while a push merges.
/// Small enough that the database works on one batch while the server
/// merges the next; large enough that each copy is worth its round trip.
const LOG_BATCH: usize = 2_000;

/// Adds to the covered counters of `stripe`, in a fixed order (so that
/// writers sharing a stripe, from two servers, lock its rows in the same
/// order).
async fn write_counters(
    tx: &deadpool_postgres::Transaction<'_>,
    deltas: &CounterDeltas,
    stripe: i16,
) -> Result<(), StoreError> {
    let mut sums: HashMap<(String, &'static str, i32), i64> = HashMap::new();
    for (area, cat, year, d) in deltas {
        *sums
            .entry((area.to_string(), cat.as_str(), *year))
            .or_default() += d;
    }
    let mut rows: Vec<_> = sums.into_iter().filter(|(_, d)| *d != 0).collect();
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO counters (area, category, since_year, covered, stripe)
             SELECT *, $5 FROM UNNEST($1::text[], $2::text[], $3::integer[], $4::bigint[])
             ON CONFLICT (area, category, since_year, stripe)
             DO UPDATE SET covered = counters.covered + excluded.covered",
        )
        .await?;
    let areas: Vec<&str> = rows.iter().map(|r| r.0.0.as_str()).collect();
    let cats: Vec<&str> = rows.iter().map(|r| r.0.1).collect();
    let years: Vec<i32> = rows.iter().map(|r| r.0.2).collect();
    let ds: Vec<i64> = rows.iter().map(|r| r.1).collect();
    tx.execute(&stmt, &[&areas, &cats, &years, &ds, &stripe])
        .await?;
    Ok(())
}

/// Another server logged one of a log copy's ids or numbers meanwhile:
/// the answers worked out here may be wrong, so the call starts again.
const LOG_RACE: &str = "a change was logged by another server at the same time";
const PERSON_RACE: &str = "a person changed under another server at the same time";

/// The columns of one batch of person rows, as arrays for `UNNEST` or
/// rows for `COPY`; the feed positions come last, once the feed's lock is
/// held.
#[derive(Default)]
struct PersonColumns {
    /// Each row's place in the transaction's order of saves.
    places: Vec<i64>,
    niks: Vec<String>,
    records: Vec<String>,
    kelurahan: Vec<Option<String>>,
    participant: Vec<bool>,
    reg_by: Vec<Option<String>>,
    reg_hlc: Vec<Option<String>>,
    reg_at: Vec<Option<i64>>,
    sole: Vec<Option<Uuid>>,
    review: Vec<Option<String>>,
    last_by: Vec<Option<String>>,
    claims: Vec<Option<String>>,
    as_of: Vec<Option<String>>,
}

impl PersonColumns {
    /// The rows of `persons`, taken in `order` (of their last save), that
    /// existed, or that are new. What the rows need of the persons is
    /// taken out of them, not copied: they are dropped once written.
    fn of(
        persons: &mut [PendingPerson],
        order: &[usize],
        existed: bool,
    ) -> Result<PersonColumns, StoreError> {
        let mut c = PersonColumns::default();
        for (place, &i) in order.iter().enumerate() {
            let Some(p) = persons.get_mut(i).filter(|p| p.existed == existed) else {
                continue;
            };
            let s = &mut p.stored;
            c.places
                .push(i64::try_from(place).map_err(protocol::corrupt)?);
            c.niks.push(s.record.nik.as_str().to_string());
            c.records.push(std::mem::take(&mut p.json));
            c.kelurahan
                .push(s.record.fields.kelurahan.map(|k| k.to_string()));
            c.participant.push(s.participant);
            c.reg_by.push(s.registered_by.take());
            c.reg_hlc.push(s.registered_hlc.take());
            c.reg_at.push(s.registered_at);
            c.sole.push(s.sole_device);
            c.review.push(s.review.take());
            c.last_by.push(s.last_changed_by.take());
            c.claims.push(s.claims.take());
            c.as_of.push(s.roll_as_of_text()?);
        }
        Ok(c)
    }

    /// Sends the update of the rows (which existed) to feed positions
    /// from `first` on.
    async fn send_update<'c>(
        self,
        tx: &'c deadpool_postgres::Transaction<'c>,
        stmt: Statement,
        first: i64,
    ) -> Option<Running<'c>> {
        if self.places.is_empty() {
            return None;
        }
        let seqs: Vec<i64> = self.places.iter().map(|i| first + i).collect();
        let expected = self.places.len();
        let statement: Sent<'c> = Box::pin(async move {
            let c = self;
            let params: [&(dyn ToSql + Sync); 13] = [
                &seqs,
                &c.niks,
                &c.records,
                &c.kelurahan,
                &c.participant,
                &c.reg_by,
                &c.reg_hlc,
                &c.reg_at,
                &c.sole,
                &c.review,
                &c.last_by,
                &c.claims,
                &c.as_of,
            ];
            tx.query_raw(&stmt, params.iter().map(|p| *p as &dyn ToSql))
                .await
        });
        Some(Running::statement(
            send(statement).await,
            Some(expected),
            PERSON_RACE,
        ))
    }
}

/// A transaction's persons as rows to write, worked out before anything
/// is sent to the database (which then waits for none of it).
struct PersonWrites {
    n: i64,
    new: PersonColumns,
    existing: PersonColumns,
    /// What is left of the persons, dropped once the rows are sent.
    rest: Vec<PendingPerson>,
}

impl PersonWrites {
    /// `None` when there are none.
    fn of(persons: HashMap<String, PendingPerson>) -> Result<Option<PersonWrites>, StoreError> {
        if persons.is_empty() {
            return Ok(None);
        }
        let mut persons: Vec<PendingPerson> = persons.into_values().collect();
        // Indices sorted, not the persons: they are large to move.
        let mut order: Vec<usize> = (0..persons.len()).collect();
        order.sort_unstable_by_key(|&i| persons[i].order);
        Ok(Some(PersonWrites {
            n: i64::try_from(persons.len()).map_err(protocol::corrupt)?,
            new: PersonColumns::of(&mut persons, &order, false)?,
            existing: PersonColumns::of(&mut persons, &order, true)?,
            rest: persons,
        }))
    }
}

/// New persons' rows at feed positions from `first` on, to copy.
struct PersonCopy {
    columns: PersonColumns,
    seqs: Vec<i64>,
}

impl PersonCopy {
    fn new(columns: PersonColumns, first: i64) -> PersonCopy {
        let seqs = columns.places.iter().map(|i| first + i).collect();
        PersonCopy { columns, seqs }
    }
}

impl CopyRows<13> for PersonCopy {
    const WHAT: &'static str = "new persons";

    fn len(&self) -> usize {
        self.seqs.len()
    }

    fn row(&self, i: usize) -> [&(dyn ToSql + Sync); 13] {
        let c = &self.columns;
        [
            &self.seqs[i],
            &c.niks[i],
            &c.records[i],
            &c.kelurahan[i],
            &c.participant[i],
            &c.reg_by[i],
            &c.reg_hlc[i],
            &c.reg_at[i],
            &c.sole[i],
            &c.review[i],
            &c.last_by[i],
            &c.claims[i],
            &c.as_of[i],
        ]
    }
}

/// Change log rows sent together, to copy.
struct LogBatch(Arc<Vec<PendingLog>>);

impl CopyRows<13> for LogBatch {
    const WHAT: &'static str = "change log rows";

    fn len(&self) -> usize {
        self.0.len()
    }

    fn row(&self, i: usize) -> [&(dyn ToSql + Sync); 13] {
        let l = &self.0[i];
        [
            &l.id,
            &l.device_id,
            &l.device_seq,
            &l.in_log,
            &l.nik,
            &l.hlc,
            &l.kind,
            &l.fields,
            &l.agent,
            &l.received_at,
            &l.outcome,
            &l.reject_code,
            &l.reject_reason,
        ]
    }
}

/// The change log's rows, copied in binary, and their types. A row
/// another server logged meanwhile (its id, or its device's number) fails
/// the copy on that key.
const LOG_COPY: &str = "COPY changes (id, device_id, device_seq, in_log, nik, hlc, kind, \
     fields, agent, received_at, outcome, reject_code, reject_reason) FROM STDIN (FORMAT binary)";
const LOG_COPY_TYPES: [Type; 13] = [
    Type::UUID,
    Type::UUID,
    Type::INT8,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];

/// Persons' rows that existed, written from arrays.
const PERSON_UPDATE: &str = "UPDATE persons p SET seq = v.seq, record = v.record, \
         kelurahan = v.kelurahan, participant = v.participant, registered_by = v.registered_by, \
         registered_hlc = v.registered_hlc, registered_at = v.registered_at, \
         sole_device = v.sole_device, review = v.review, last_changed_by = v.last_changed_by, \
         claims = v.claims, roll_as_of = v.roll_as_of
     FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[], \
                 $7::text[], $8::bigint[], $9::uuid[], $10::text[], $11::text[], $12::text[], \
                 $13::text[])
          AS v(seq, nik, record, kelurahan, participant, registered_by, registered_hlc, \
               registered_at, sole_device, review, last_changed_by, claims, roll_as_of)
     WHERE p.nik = v.nik";

/// New persons' rows, copied in binary: the columns (as in `persons`)
/// and their types.
const PERSON_COPY: &str = "COPY persons (seq, nik, record, kelurahan, participant, \
     registered_by, registered_hlc, registered_at, sole_device, review, last_changed_by, \
     claims, roll_as_of) FROM STDIN (FORMAT binary)";
const PERSON_COPY_TYPES: [Type; 13] = [
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::UUID,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];

/// Sends the adding of one to the coverage generation (the coverage
/// answers cached before it are stale), prepared as `stmt`.
async fn bump_generation<'c>(
    tx: &'c deadpool_postgres::Transaction<'c>,
    stmt: Statement,
) -> Running<'c> {
    let statement: Sent<'c> =
        Box::pin(async move { tx.query_raw(&stmt, std::iter::empty::<&dyn ToSql>()).await });
    Running::statement(send(statement).await, None, PERSON_RACE)
}

/// Gives `persons` their feed positions and sends their writes (the
/// caller waits for them), with the coverage generation bumped too when
/// `counted`. Every write queues for the feed's lock, held from here to
/// commit, so only what needs the positions runs under it: the rows'
/// columns are built before, the copy of the new persons starts in the
/// round trip that takes the positions, and the updates and the
/// generation follow it without waiting. Bumping the generation in the statement that takes the
/// positions, tried first, took the two rows' locks in whatever order the
/// scan met them: 200 agents took 13.6 s instead of 4, a third of the
/// backends' samples waiting on `Lock:tuple`, and pushes timed out.
async fn write_persons<'c>(
    tx: &'c deadpool_postgres::Transaction<'c>,
    persons: Option<PersonWrites>,
    counted: bool,
) -> Result<Vec<Running<'c>>, StoreError> {
    // Every statement is prepared before the first is sent: a statement
    // prepared after would wait behind the ones sent, and fail with
    // their echo ("current transaction is aborted") before their cause
    // could be read.
    let generation = tx
        .prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
        .await?;
    let mut sent = Vec::new();
    let Some(PersonWrites {
        n,
        new,
        existing,
        rest,
    }) = persons
    else {
        if counted {
            sent.push(bump_generation(tx, generation).await);
        }
        return Ok(sent);
    };
    let feed = tx
        .prepare_cached("UPDATE meta SET value = value + $1 WHERE key = 'feed_seq' RETURNING value")
        .await?;
    let copy = tx.prepare_cached(PERSON_COPY).await?;
    let update = tx.prepare_cached(PERSON_UPDATE).await?;
    // Held until commit: positions become visible in order. The copy is
    // started in the same round trip.
    let params: [&(dyn ToSql + Sync); 1] = [&n];
    let (last, sink) = if new.places.is_empty() {
        (tx.query_one(&feed, &params).await, None)
    } else {
        let (last, sink) = tokio::join!(tx.query_one(&feed, &params), tx.copy_in(&copy));
        (last, Some(sink))
    };
    let last: i64 = last?.try_get(0)?;
    let first = last - n + 1;
    if let Some(sink) = sink {
        sent.push(pipeline::copy(
            sink?,
            &PERSON_COPY_TYPES,
            PersonCopy::new(new, first),
            PERSON_RACE,
        ));
    }
    sent.extend(existing.send_update(tx, update, first).await);
    if counted {
        sent.push(bump_generation(tx, generation).await);
    }
    drop(rest);
    Ok(sent)
}

impl<'c> Tx for PgTx<'c> {
    async fn device_owner(&mut self, device: &Uuid) -> Result<Option<Option<i64>>, StoreError> {
        let stmt = self
            .tx
            .prepare_cached("SELECT token_id FROM devices WHERE device_id = $1")
            .await?;
        Ok(match self.tx.query_opt(&stmt, &[device]).await? {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    async fn token_name(&mut self, token_id: i64) -> Result<Option<String>, StoreError> {
        let stmt = self
            .tx
            .prepare_cached("SELECT name FROM tokens WHERE id = $1")
            .await?;
        Ok(match self.tx.query_opt(&stmt, &[&token_id]).await? {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    async fn bind_device(&mut self, device: &Uuid, token_id: i64) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash, token_id)
                 VALUES ($1, 0, 0, 0, $2, $3)
                 ON CONFLICT (device_id) DO UPDATE SET token_id = excluded.token_id",
                &[device, &ReceiptHash::default().to_hex(), &token_id],
            )
            .await?;
        Ok(())
    }

    async fn load_device(&mut self, device: &Uuid) -> Result<Receipt, StoreError> {
        // A row to lock, even for a device not seen yet (rolled back with
        // the transaction if the push is refused).
        let stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash)
                 VALUES ($1, 0, 0, 0, $2) ON CONFLICT (device_id) DO NOTHING",
            )
            .await?;
        self.tx
            .execute(&stmt, &[device, &ReceiptHash::default().to_hex()])
            .await?;
        let stmt = self
            .tx
            .prepare_cached(
                "SELECT count, highest_seq, max_seq, hash FROM devices
                 WHERE device_id = $1 FOR UPDATE",
            )
            .await?;
        let r = self.tx.query_one(&stmt, &[device]).await?;
        let n = |i: usize| -> Result<u64, StoreError> {
            Ok(u64::try_from(r.try_get::<_, i64>(i)?).unwrap_or(0))
        };
        Ok(Receipt {
            device_id: *device,
            count: n(0)?,
            highest_seq: n(1)?,
            max_seq: n(2)?,
            hash: r.try_get(3)?,
        })
    }

    async fn save_device(&mut self, save: &DeviceSave<'_>) -> Result<(), StoreError> {
        let r = save.receipt;
        let stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash, token_id,
                                      last_push_at, pending)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (device_id) DO UPDATE SET count = excluded.count,
                    highest_seq = excluded.highest_seq, max_seq = excluded.max_seq,
                    hash = excluded.hash, last_push_at = excluded.last_push_at,
                    token_id = COALESCE(devices.token_id, excluded.token_id),
                    pending = COALESCE(excluded.pending, devices.pending)",
            )
            .await?;
        self.tx
            .execute(
                &stmt,
                &[
                    &r.device_id,
                    &protocol::to_i64(r.count)?,
                    &protocol::to_i64(r.highest_seq)?,
                    &protocol::to_i64(r.max_seq)?,
                    &r.hash,
                    &save.token_id,
                    &save.last_push_at,
                    &save.pending,
                ],
            )
            .await?;
        Ok(())
    }

    async fn device_agent(&mut self, device: &Uuid) -> Result<Option<String>, StoreError> {
        let stmt = self
            .tx
            .prepare_cached(
                "SELECT t.name FROM devices d JOIN tokens t ON t.id = d.token_id
                 WHERE d.device_id = $1",
            )
            .await?;
        Ok(match self.tx.query_opt(&stmt, &[device]).await? {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    async fn earlier_change(&mut self, id: &Uuid) -> Result<Option<LoggedChange>, StoreError> {
        // Only an id this transaction logged can be among its rows.
        if let Some(l) = self
            .log_ids
            .contains(id)
            .then(|| self.pending_log(|l| l.id == *id))
            .flatten()
        {
            return Ok(Some(LoggedChange {
                outcome: l.outcome.clone(),
                reject_code: l.reject_code.clone(),
                reject_reason: l.reject_reason.clone(),
                device_id: l.device_id,
                device_seq: l.device_seq,
                nik: l.nik.clone(),
                hlc: l.hlc.clone(),
                kind: l.kind.to_string(),
                fields: l.fields.clone(),
            }));
        }
        if self.ids_prefetched.contains(id) && !self.known_ids.contains(id) {
            return Ok(None);
        }
        let stmt = self
            .tx
            .prepare_cached(
                "SELECT outcome, reject_code, reject_reason, device_id, device_seq, nik, hlc,
                        kind, fields
                 FROM changes WHERE id = $1",
            )
            .await?;
        let Some(r) = self.tx.query_opt(&stmt, &[id]).await? else {
            return Ok(None);
        };
        Ok(Some(LoggedChange {
            outcome: r.try_get(0)?,
            reject_code: r.try_get(1)?,
            reject_reason: r.try_get(2)?,
            device_id: r.try_get(3)?,
            device_seq: r.try_get(4)?,
            nik: r.try_get(5)?,
            hlc: r.try_get(6)?,
            kind: r.try_get(7)?,
            fields: r.try_get(8)?,
        }))
    }

    async fn logged_at(&mut self, device: &Uuid, seq: i64) -> Result<Option<Uuid>, StoreError> {
        if let Some(id) = self.logged_seqs.get(&(*device, seq)) {
            return Ok(Some(*id));
        }
        let stmt = self
            .tx
            .prepare_cached(
                "SELECT id FROM changes WHERE device_id = $1 AND device_seq = $2 AND in_log",
            )
            .await?;
        Ok(match self.tx.query_opt(&stmt, &[device, &seq]).await? {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    async fn log_change(&mut self, row: &LogRow<'_>) -> Result<bool, StoreError> {
        if self.log_ids.contains(&row.id) || self.known_ids.contains(&row.id) {
            return Ok(false);
        }
        if row.in_log
            && self
                .logged_seqs
                .contains_key(&(row.device_id, row.device_seq))
        {
            return Ok(false);
        }
        if !self.ids_prefetched.contains(&row.id) && self.earlier_change(&row.id).await?.is_some() {
            return Ok(false);
        }
        // Numbers at or below the device's highest logged one were
        // checked against the log by the caller; above it none is taken
        // (the device's row is locked).
        self.log_ids.insert(row.id);
        if row.in_log {
            self.logged_seqs
                .insert((row.device_id, row.device_seq), row.id);
        }
        self.logs.push(PendingLog {
            id: row.id,
            device_id: row.device_id,
            device_seq: row.device_seq,
            in_log: row.in_log,
            nik: row.nik.to_string(),
            hlc: row.hlc.to_string(),
            kind: row.kind,
            fields: row.fields.to_string(),
            agent: row.agent.to_string(),
            received_at: row.received_at,
            outcome: row.outcome.to_string(),
            reject_code: row.reject_code.map(str::to_string),
            reject_reason: row.reject_reason.map(str::to_string),
        });
        if self.logs.len() >= LOG_BATCH {
            self.send_logs().await?;
        }
        Ok(true)
    }

    async fn change_at(
        &mut self,
        nik: &Nik,
        hlc: &str,
    ) -> Result<Option<(String, Uuid)>, StoreError> {
        let stmt = self
            .tx
            .prepare_cached(
                "SELECT agent, id FROM changes
                 WHERE nik = $1 AND hlc = $2 AND outcome <> 'rejected' LIMIT 1",
            )
            .await?;
        if let Some(r) = self.tx.query_opt(&stmt, &[&nik.as_str(), &hlc]).await? {
            return Ok(Some((r.try_get(0)?, r.try_get(1)?)));
        }
        Ok(self
            .logs
            .iter()
            .find(|l| l.nik == nik.as_str() && l.hlc == hlc && l.outcome != "rejected")
            .map(|l| (l.agent.clone(), l.id)))
    }

    async fn change_logged(&mut self, id: &Uuid) -> Result<bool, StoreError> {
        if self.log_ids.contains(id) || self.known_ids.contains(id) {
            return Ok(true);
        }
        if self.ids_prefetched.contains(id) {
            return Ok(false);
        }
        super::history::logged(self.tx, id).await
    }

    async fn count_unlogged_rejection(&mut self, agent: &str, now: i64) -> Result<(), StoreError> {
        super::history::count_unlogged_rejection(self.tx, agent, now).await
    }

    async fn load_person(&mut self, nik: &Nik) -> Result<Option<Stored>, StoreError> {
        if let Some(p) = self.persons.get(nik.as_str()) {
            return Ok(Some(p.stored.clone()));
        }
        if let Some(p) = self.prefetched.get(nik.as_str()) {
            return Ok(p.clone());
        }
        // Not expected while a part is read ahead (every person of a part
        // is read before it is worked out); if it happens, the rows read
        // ahead are kept aside, and this answer is not held back by them.
        if self.ahead.is_some() {
            self.read_ahead_now().await?;
        }
        let stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM persons WHERE nik = $1 FOR UPDATE"
            ))
            .await?;
        let p = match self.tx.query_opt(&stmt, &[&nik.as_str()]).await? {
            Some(r) => Some(stored_from_row(&r)?),
            None => None,
        };
        self.prefetched.insert(nik.as_str().to_string(), p.clone());
        Ok(p)
    }

    async fn save_person(&mut self, p: &Stored, json: &str) -> Result<i64, StoreError> {
        self.saves += 1;
        let order = self.saves;
        let nik = p.record.nik.as_str().to_string();
        let existed = match self.persons.get(&nik) {
            Some(earlier) => earlier.existed,
            None => p.seq.is_some(),
        };
        self.persons.insert(
            nik,
            PendingPerson {
                stored: Stored {
                    seq: Some(0),
                    ..p.clone()
                },
                json: json.to_string(),
                existed,
                order,
            },
        );
        // The position is given when the transaction ends.
        Ok(0)
    }

    async fn add_counters(&mut self, deltas: &CounterDeltas) -> Result<(), StoreError> {
        self.counters.extend(deltas.iter().cloned());
        Ok(())
    }

    async fn open_conflict(&mut self, nik: &Nik) -> Result<Option<i64>, StoreError> {
        let stmt = self
            .tx
            .prepare_cached("SELECT id FROM conflicts WHERE nik = $1 AND status = 'open'")
            .await?;
        Ok(match self.tx.query_opt(&stmt, &[&nik.as_str()]).await? {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    async fn delete_conflict(&mut self, id: i64) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM conflicts WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    async fn write_conflict(
        &mut self,
        id: Option<i64>,
        row: &ConflictRow<'_>,
    ) -> Result<(), StoreError> {
        match id {
            Some(id) => {
                self.tx
                    .execute(
                        "UPDATE conflicts SET kelurahan = $1, fields = $2, existing = $3,
                             incoming = $4, change_id = $5 WHERE id = $6",
                        &[
                            &row.kelurahan,
                            &row.fields,
                            &row.existing,
                            &row.incoming,
                            &row.change_id,
                            &id,
                        ],
                    )
                    .await?;
            }
            None => {
                self.tx
                    .execute(
                        "INSERT INTO conflicts (nik, kelurahan, fields, existing, incoming,
                                                change_id, status, opened_at)
                         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7)",
                        &[
                            &row.nik,
                            &row.kelurahan,
                            &row.fields,
                            &row.existing,
                            &row.incoming,
                            &row.change_id,
                            &row.opened_at,
                        ],
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn close_conflicts(
        &mut self,
        nik: &Nik,
        closing: &Closing<'_>,
    ) -> Result<(), StoreError> {
        self.tx
            .execute(
                "UPDATE conflicts SET status = 'resolved', resolved_at = $1, resolved_by = $2,
                     resolution = $3, note = $4 WHERE nik = $5 AND status = 'open'",
                &[
                    &closing.at,
                    &closing.by,
                    &closing.resolution,
                    &closing.note,
                    &nik.as_str(),
                ],
            )
            .await?;
        Ok(())
    }

    async fn load_conflict(&mut self, id: i64) -> Result<Option<Conflict>, StoreError> {
        super::read::load_conflict(self.tx, id).await
    }

    async fn prefetch_persons(&mut self, niks: &[&Nik]) -> Result<(), StoreError> {
        // What an earlier part read is written or kept in `persons` by now.
        self.prefetched.clear();
        let mut niks: Vec<&str> = niks.iter().map(|n| n.as_str()).collect();
        niks.sort_unstable();
        niks.dedup();
        self.lock_persons(&niks).await
    }

    /// Sends the read; the rows are read by [`PgTx::take_ahead`] when the
    /// part is written. Until then only statements whose answers are not
    /// waited for (writes sent ahead) may follow it on the connection; a
    /// load that has to ask the database reads them first.
    async fn read_ahead(&mut self, niks: &[&Nik]) -> Result<(), StoreError> {
        let mut niks: Vec<String> = niks.iter().map(|n| n.as_str().to_string()).collect();
        niks.sort_unstable();
        niks.dedup();
        let stmt = self.tx.prepare_cached(&lock_persons_sql()).await?;
        let tx = self.tx;
        let asked = niks.clone();
        let statement: Sent<'c> = Box::pin(async move {
            let params: [&(dyn ToSql + Sync); 1] = [&asked];
            tx.query_raw(&stmt, params.iter().map(|p| *p as &dyn ToSql))
                .await
        });
        self.ahead = Some(Ahead {
            niks,
            sent: Some(send(statement).await),
            rows: Vec::new(),
        });
        Ok(())
    }

    async fn write_so_far(&mut self) -> Result<(), StoreError> {
        self.write_pending().await
    }

    async fn next_roll_import(&mut self) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .query_one(
                "INSERT INTO meta (key, value) VALUES ('roll_imports', 1)
                 ON CONFLICT (key) DO UPDATE SET value = meta.value + 1 RETURNING value",
                &[],
            )
            .await?
            .try_get(0)?)
    }
}

/// Runs `$body` (which may use `$tx`, the [`PgTx`], and `?`) in a write
/// transaction, committed when it succeeds, and again from the start
/// when it lost a race with another server. A macro rather than a
/// function taking a closure: the body borrows the caller's arguments
/// across awaits.
macro_rules! in_write_tx {
    ($store:expr, $tx:ident => $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result: Result<_, StoreError> = async {
                let mut client = $store.client().await?;
                let stripe = $store.stripes.take();
                let tx = client.transaction().await?;
                let out = {
                    let mut pg_tx = PgTx::new(&tx, stripe.id());
                    let out: Result<_, StoreError> = async {
                        let $tx = &mut pg_tx;
                        Ok($body)
                    }
                    .await;
                    let out = match out {
                        Ok(out) => pg_tx.finish().await.map(|()| out),
                        Err(e) => Err(e),
                    };
                    match out {
                        Ok(out) => Ok(out),
                        Err(e) => Err(pg_tx.cause(e).await),
                    }
                }?;
                tx.commit().await?;
                Ok(out)
            }
            .await;
            match result {
                Err(StoreError::Retry(why)) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(
                        attempt,
                        why = %crate::logging::mask_niks(&why),
                        "write transaction lost a race; running it again"
                    );
                    let jitter = u64::from(rand::random::<u8>() % 20);
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5 + jitter))
                        .await;
                }
                other => break other,
            }
        }
    }};
}

impl PgStore {
    pub(in crate::store) fn push_impl(
        &self,
        by: &store::Pusher<'_>,
        req: &PushRequest,
    ) -> Result<PushResponse, StoreError> {
        // The day's first write closes the day before in the history.
        self.roll_history(false)?;
        let now = self.now();
        // Worked out before waiting for the device's earlier page, as on
        // SQLite; again only if the transaction has to start over.
        let mut prepared = Some(protocol::prepare(req, by, now)?);
        self.block_on(async {
            self.wait_for_turn(req, by.gap_wait).await?;
            let response = in_write_tx!(self, tx => {
                let prepared = match prepared.take() {
                    Some(p) => p,
                    None => protocol::prepare(req, by, now)?,
                };
                tx.prefetch(req).await?;
                protocol::push(tx, by, req, prepared, now).await?
            });
            // Pages of devices waiting for this one go on at once.
            self.pushed.notify_waiters();
            response
        })
    }

    /// Returns once the device's changes before this push's first one are
    /// held, or after `wait` (see the SQLite store's `wait_for_turn`);
    /// the push itself then runs with the device's row locked.
    async fn wait_for_turn(&self, req: &PushRequest, wait: Duration) -> Result<(), StoreError> {
        let Some(first) = req.changes.iter().map(|c| c.device_seq).min() else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + wait;
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT highest_seq FROM devices WHERE device_id = $1")
            .await?;
        loop {
            let held = match client.query_opt(&stmt, &[&req.device_id]).await? {
                Some(r) => u64::try_from(r.try_get::<_, i64>(0)?).unwrap_or(0),
                None => 0,
            };
            let now = tokio::time::Instant::now();
            if first <= held + 1 || now >= deadline {
                return Ok(());
            }
            // Woken by a push of this process; a push through another
            // server is seen at the next look.
            let _ = tokio::time::timeout(
                (deadline - now).min(Duration::from_millis(20)),
                self.pushed.notified(),
            )
            .await;
        }
    }

    pub(in crate::store) fn move_person_impl(
        &self,
        nik: &Nik,
        to: &Fields,
        by: &str,
    ) -> Result<PersonRecord, StoreError> {
        self.block_on(async {
            in_write_tx!(self, tx => {
                store::sqlite::write::supervisor_write(tx, nik, to, by, None).await?
            })
        })
    }

    pub(in crate::store) fn resolve_at_impl(
        &self,
        nik: &Nik,
        fields: &Fields,
        hlc: sigap_shared::Hlc,
        by: &str,
    ) -> Result<(), StoreError> {
        self.block_on(async {
            in_write_tx!(self, tx => {
                store::sqlite::write::supervisor_write(tx, nik, fields, by, Some(hlc)).await?;
            })
        })
    }

    pub(in crate::store) fn import_participants_impl(
        &self,
        rows: &[store::RollRow],
        as_of: time::Date,
    ) -> Result<store::ImportSummary, StoreError> {
        self.block_on(async {
            in_write_tx!(self, tx => protocol::import_participants(tx, rows, as_of).await?)
        })
    }

    pub(in crate::store) fn resolve_conflict_impl(
        &self,
        id: i64,
        fields: &Fields,
        note: Option<&str>,
        by: &str,
    ) -> Result<Conflict, StoreError> {
        let now = super::super::sqlite::now_millis();
        self.block_on(async {
            in_write_tx!(self, tx => {
                protocol::resolve_conflict(tx, id, fields, note, by, now).await?
            })
        })
    }

    pub(in crate::store) fn erase_person_impl(
        &self,
        nik: &Nik,
        by: &str,
        reason: &str,
    ) -> Result<store::Erasure, StoreError> {
        use store::sqlite::erase::{erase_fields, scrub_text};
        self.block_on(async {
            in_write_tx!(self, tx => {
                erase_fields(tx, nik, by, reason).await?;
                // The person's claims as this transaction will write them.
                if let Some(p) = tx.persons.get_mut(nik.as_str())
                    && let Some(clean) = p.stored.claims.as_deref().and_then(scrub_text)
                {
                    p.stored.claims = Some(clean);
                }
                let mut changes = 0;
                for r in tx
                    .tx
                    .query("SELECT id, fields FROM changes WHERE nik = $1", &[&nik.as_str()])
                    .await?
                {
                    let id: Uuid = r.try_get(0)?;
                    let text: String = r.try_get(1)?;
                    if let Some(clean) = scrub_text(&text) {
                        tx.tx
                            .execute("UPDATE changes SET fields = $1 WHERE id = $2", &[&clean, &id])
                            .await?;
                        changes += 1;
                    }
                }
                let mut conflicts = 0;
                for r in tx
                    .tx
                    .query(
                        "SELECT id, existing, incoming, resolution FROM conflicts WHERE nik = $1",
                        &[&nik.as_str()],
                    )
                    .await?
                {
                    let id: i64 = r.try_get(0)?;
                    let existing: String = r.try_get(1)?;
                    let incoming: String = r.try_get(2)?;
                    let resolution: Option<String> = r.try_get(3)?;
                    let e = scrub_text(&existing);
                    let i = scrub_text(&incoming);
                    let res = resolution.as_deref().and_then(scrub_text);
                    if e.is_some() || i.is_some() || res.is_some() {
                        tx.tx
                            .execute(
                                "UPDATE conflicts SET existing = $1, incoming = $2, resolution = $3
                                 WHERE id = $4",
                                &[
                                    &e.unwrap_or(existing),
                                    &i.unwrap_or(incoming),
                                    &res.or(resolution),
                                    &id,
                                ],
                            )
                            .await?;
                        conflicts += 1;
                    }
                }
                store::Erasure {
                    changes_scrubbed: changes,
                    conflicts_scrubbed: conflicts,
                }
            })
        })
    }
}
