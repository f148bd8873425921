//! Pull: the merged persons of the agent's areas after the stored cursor,
//! page by page. A fetching thread asks for the next page while this one
//! writes the last into the replica; pages are committed together with the
//! cursor they lead to, in batches, so a cut pull resumes where the last
//! commit left it. A pulled person the server erased is erased in this
//! device's own records and sent changes in the same commit.

use std::collections::HashMap;
use std::sync::mpsc;

use sigap_shared::wire::{MAX_PULL_LIMIT, PullPage};
use uuid::Uuid;

use super::client::Client;
use super::{Reporter, Summary};
use crate::error::{CliError, Result};
use crate::i18n::t;
use crate::store::{self, Store, erasure, key, now_text, replica};

/// Persons written per local transaction.
const COMMIT_EVERY: usize = 20_000;
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
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::sync_channel(AHEAD);
        scope.spawn(move || fetch(client, device, from, &tx));
        // Pages are gathered in memory and written in one short
        // transaction, so the write lock (which `sigap register` in
        // another terminal also needs) is never held while waiting for
        // the network.
        let mut batch: Vec<PullPage> = Vec::new();
        let mut in_batch = 0usize;
        let mut batch_cursor = None;
        for got in rx {
            let (page, next) = match got {
                Ok(v) => v,
                Err(e) => {
                    // What was pulled so far is kept.
                    summary.erased += write_batch(store, &batch, batch_cursor)?;
                    return Err(e);
                }
            };
            let n = page.persons.len();
            in_batch += n;
            batch_cursor = Some(next);
            batch.push(page);
            summary.received += n as u64;
            summary.pull_cursor = next;
            rep.step(n as u64);
            if in_batch >= COMMIT_EVERY {
                summary.erased += write_batch(store, &batch, batch_cursor.take())?;
                batch.clear();
                in_batch = 0;
            }
        }
        summary.erased += write_batch(store, &batch, batch_cursor)?;
        Ok(())
    })
}

/// Writes pages into the replica with the cursor they lead to, in one
/// transaction, then copies the WAL into the database while the next
/// pages are on their way. A person the server says was erased
/// (`erased_at`) who is also one of this device's own has their personal
/// data overwritten here too, in the same transaction (see
/// [`erasure`]); returns how many of this device's persons were.
fn write_batch(store: &mut Store, pages: &[PullPage], cursor: Option<u64>) -> Result<u64> {
    let Some(next) = cursor else {
        return Ok(0);
    };
    let tx = store
        .conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut erased: HashMap<String, u64> = HashMap::new();
    for p in pages.iter().flat_map(|page| &page.persons) {
        replica::upsert(&tx, p)?;
        if let Some(at) = p.erased_at {
            // The latest, should a batch hold the person twice.
            let e = erased.entry(p.nik_hash.clone()).or_insert(at);
            *e = (*e).max(at);
        }
    }
    let mut overwritten = 0;
    if !erased.is_empty()
        && let Some(replica_key) = replica::key(&tx)?
    {
        // Pending changes are left alone: the agent's unsent work.
        overwritten = erasure::apply(&tx, &replica_key, &erased)?;
    }
    store::set(&tx, key::PULL_CURSOR, &next.to_string())?;
    store::set(&tx, key::LAST_PULL_AT, &now_text())?;
    tx.commit()?;
    store.checkpoint()?;
    Ok(overwritten)
}
