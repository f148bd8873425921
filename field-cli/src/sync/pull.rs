//! Pull: the merged persons of the agent's areas after the stored cursor,
//! page by page. A fetching thread asks for the next page while this one
//! writes the last into the replica; pages are committed together with the
//! cursor they lead to, in batches, so a cut pull resumes where the last
//! commit left it.

use std::sync::mpsc;

use sigap_shared::wire::{MAX_PULL_LIMIT, PullPage};

use super::client::Client;
use super::{Reporter, Summary};
use crate::error::{CliError, Result};
use crate::store::{self, Store, key, now_text, replica};

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
fn fetch(client: &Client, mut from: u64, pages: &mpsc::SyncSender<Result<(PullPage, u64)>>) {
    loop {
        let page = match client.pull(from, MAX_PULL_LIMIT) {
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
            let _ = pages.send(Err(CliError::Refused(
                "the server says there is more to pull but sent nothing; try `sigap sync` later"
                    .into(),
            )));
            return;
        }
        if !more {
            return;
        }
        from = next;
    }
}

pub fn pull_all(store: &mut Store, client: &Client, summary: &mut Summary) -> Result<()> {
    let mut rep = Reporter::new();
    let from = cursor(store)?;
    summary.pull_cursor = from;
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::sync_channel(AHEAD);
        scope.spawn(move || fetch(client, from, &tx));
        let mut batch = store.conn.transaction()?;
        let mut in_batch = 0usize;
        let mut pending_cursor = None;
        for got in rx {
            let (page, next) = match got {
                Ok(v) => v,
                Err(e) => {
                    // What was pulled so far is kept.
                    finish_batch(batch, pending_cursor)?;
                    return Err(e);
                }
            };
            for p in &page.persons {
                replica::upsert(&batch, p)?;
            }
            let n = page.persons.len();
            in_batch += n;
            pending_cursor = Some(next);
            summary.received += n as u64;
            summary.pull_cursor = next;
            rep.step(
                n as u64,
                &format!("received {} person(s)", summary.received),
            );
            if in_batch >= COMMIT_EVERY {
                finish_batch(batch, pending_cursor.take())?;
                batch = store.conn.transaction()?;
                in_batch = 0;
            }
        }
        finish_batch(batch, pending_cursor)
    })
}

/// Stores the cursor the written pages lead to and commits them together.
fn finish_batch(tx: rusqlite::Transaction<'_>, cursor: Option<u64>) -> Result<()> {
    if let Some(next) = cursor {
        store::set(&tx, key::PULL_CURSOR, &next.to_string())?;
        store::set(&tx, key::LAST_PULL_AT, &now_text())?;
    }
    tx.commit()?;
    Ok(())
}
