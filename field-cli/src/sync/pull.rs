//! Pull: the merged persons of the agent's areas after the stored cursor,
//! page by page. A fetching thread asks for the next page while this one
//! writes the last into the replica; pages are committed together with the
//! cursor they lead to, in batches, so a cut pull resumes where the last
//! commit left it. A pulled person the server erased is erased in this
//! device's own records and sent changes in the same commit.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sigap_shared::wire::{MAX_PULL_LIMIT, PullPage};
use uuid::Uuid;

use super::client::Client;
use super::{Reporter, Summary};
use crate::error::{CliError, Result};
use crate::i18n::t;
use crate::store::{self, Store, erasure, key, now_text, replica};

/// Persons written per local transaction at most. Each commit writes the
/// pages of the replica's hash index that changed, which for a large pull
/// is most of them, so commits are few: in practice [`HOLD_AT_MOST`]
/// decides (a commit every 200,000 persons instead made the pull of a
/// million ~7 % slower: BENCHMARKS.md, session 10).
const COMMIT_EVERY: usize = 1_000_000;
/// Longest a transaction of the pull stays open (a `sigap register` in
/// another terminal waits for it), however few persons it holds.
const HOLD_AT_MOST: Duration = Duration::from_secs(2);
/// The page cache while pulling (KiB): room for the replica's index of
/// hashes of a kota of a million, and bounded whatever the feed holds.
const PULL_CACHE_KIB: i64 = 32_768;
/// Pages fetched ahead of the writer.
const AHEAD: usize = 2;

pub fn cursor(store: &Store) -> Result<u64> {
    Ok(store
        .get(key::PULL_CURSOR)?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Fetches pages from `from` on, sending each (with the cursor it leads
/// to) until the server has no more or the receiver hangs up.
fn fetch(
    client: &Client,
    device: Option<Uuid>,
    mut from: u64,
    pages: &mpsc::SyncSender<Result<(PullPage, u64)>>,
) {
    loop {
        let page = match client.pull(from, MAX_PULL_LIMIT, device) {
            Ok(p) => p,
            Err(e) => {
                let _ = pages.send(Err(e));
                return;
            }
        };
        let next = page.next_cursor.max(from);
        let stuck = next == from && page.persons.is_empty() && page.has_more;
        let more = page.has_more;
        if pages.send(Ok((page, next))).is_err() {
            return;
        }
        if stuck {
            let _ = pages.send(Err(CliError::Refused(t!("pull-stuck"))));
            return;
        }
        if !more {
            return;
        }
        from = next;
    }
}

/// Pulls the feed into the replica. Persons only `device` (this one) has
/// written are not sent: its own records answer for them. Without a
/// device, everything is.
pub fn pull_all(
    store: &mut Store,
    client: &Client,
    device: Option<Uuid>,
    summary: &mut Summary,
) -> Result<()> {
    let mut rep = Reporter::new();
    rep.start_counting(&t!("pull-bar"));
    let from = cursor(store)?;
    summary.pull_cursor = from;
    // The replica's index of hashes stays in the cache (see
    // `replica::upsert`); the cache only grows as far as pages are used.
    let cache: i64 = store
        .conn
        .query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    store
        .conn
        .execute_batch(&format!("PRAGMA cache_size=-{PULL_CACHE_KIB}"))?;
    let pulled = std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::sync_channel(AHEAD);
        scope.spawn(move || fetch(client, device, from, &tx));
        let mut batch = Batch::default();
        loop {
            // Waiting for the network with the batch open would keep the
            // write lock from `sigap register` in another terminal for
            // as long as the connection stalls: past `HOLD_AT_MOST`, the
            // batch is committed and the wait goes on without it.
            let got = match batch.time_left() {
                Some(left) => match rx.recv_timeout(left) {
                    Ok(got) => got,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        summary.erased += batch.commit(store)?;
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(got) => got,
                    Err(mpsc::RecvError) => break,
                },
            };
            let (page, next) = match got {
                Ok(v) => v,
                Err(e) => {
                    // What was pulled so far is kept.
                    summary.erased += batch.commit(store)?;
                    return Err(e);
                }
            };
            let n = page.persons.len();
            batch.write(store, client, &page, next)?;
            summary.received += n as u64;
            summary.pull_cursor = next;
            rep.step(n as u64);
            if batch.full() {
                summary.erased += batch.commit(store)?;
            }
        }
        summary.erased += batch.commit(store)?;
        Ok(())
    });
    store
        .conn
        .execute_batch(&format!("PRAGMA cache_size={cache}"))?;
    pulled
}

/// Pages written into the replica in one open transaction, to be
/// committed with the cursor they lead to.
#[derive(Default)]
struct Batch {
    /// When the transaction began; none is open without it.
    began: Option<Instant>,
    persons: usize,
    cursor: Option<u64>,
    /// Persons the server says were erased (`erased_at`), the latest
    /// date should the batch hold one twice.
    erased: HashMap<String, u64>,
}

impl Batch {
    fn full(&self) -> bool {
        self.persons >= COMMIT_EVERY || self.began.is_some_and(|t| t.elapsed() >= HOLD_AT_MOST)
    }

    /// How much longer the open transaction may stay open; `None` when
    /// there is none.
    fn time_left(&self) -> Option<Duration> {
        self.began.map(|t| HOLD_AT_MOST.saturating_sub(t.elapsed()))
    }

    fn write(&mut self, store: &Store, client: &Client, page: &PullPage, next: u64) -> Result<()> {
        if self.began.is_none() {
            store.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.began = Some(Instant::now());
        }
        let written = Self::write_persons(&store.conn, client, page, &mut self.erased);
        if written.is_err() {
            // Nothing of the batch is kept: its cursor was never stored.
            self.began = None;
            store.conn.execute_batch("ROLLBACK")?;
            return written;
        }
        self.persons += page.persons.len();
        self.cursor = Some(next);
        Ok(())
    }

    fn write_persons(
        conn: &rusqlite::Connection,
        client: &Client,
        page: &PullPage,
        erased: &mut HashMap<String, u64>,
    ) -> Result<()> {
        let mut writer = replica::Writer::new(conn)?;
        for p in &page.persons {
            let hash = replica::StoredHash::parse(&p.nik_hash).ok_or_else(|| {
                CliError::Refused(t!(
                    "client-unreadable-answer",
                    server = client.base(),
                    what = t!("request-pull"),
                    detail = "nik_hash is not 64 hexadecimal digits"
                ))
            })?;
            writer.upsert(&hash, p)?;
            if let Some(at) = p.erased_at {
                let e = erased.entry(p.nik_hash.clone()).or_insert(at);
                *e = (*e).max(at);
            }
        }
        Ok(())
    }

    /// Commits the open transaction with the cursor its pages lead to,
    /// then copies the WAL into the database while the next pages are on
    /// their way. A person the server erased who is also one of this
    /// device's own has their personal data overwritten here too, in the
    /// same transaction (see [`erasure`]); returns how many of this
    /// device's persons were.
    fn commit(&mut self, store: &mut Store) -> Result<u64> {
        let (Some(_), Some(next)) = (self.began.take(), self.cursor.take()) else {
            return Ok(0);
        };
        self.persons = 0;
        let erased = std::mem::take(&mut self.erased);
        let finished = Self::finish(&store.conn, &erased, next);
        match finished {
            Ok(overwritten) => {
                store.conn.execute_batch("COMMIT")?;
                store.checkpoint()?;
                Ok(overwritten)
            }
            Err(e) => {
                store.conn.execute_batch("ROLLBACK")?;
                Err(e)
            }
        }
    }

    fn finish(
        conn: &rusqlite::Connection,
        erased: &HashMap<String, u64>,
        next: u64,
    ) -> Result<u64> {
        let mut overwritten = 0;
        if !erased.is_empty()
            && let Some(replica_key) = replica::key(conn)?
        {
            // Pending changes are left alone: the agent's unsent work.
            overwritten = erasure::apply(conn, &replica_key, erased)?;
        }
        store::set(conn, key::PULL_CURSOR, &next.to_string())?;
        store::set(conn, key::LAST_PULL_AT, &now_text())?;
        Ok(overwritten)
    }
}
