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

use super::client::{Answer, Client};
use super::{Reporter, Summary};
use crate::error::{CliError, Result};
use crate::i18n::t;
use crate::store::{self, Store, erasure, key, now_text, replica};

/// Persons written per local transaction at most. Each commit adds the
/// keys of the persons it wrote to the replica's index of hashes in one
/// pass over it (`replica::index`), kept in memory until then (16 bytes
/// a person), so commits are few: [`HOLD_AT_MOST`] usually decides.
const COMMIT_EVERY: usize = 250_000;
/// Longest a transaction of the pull stays open (a `sigap register` in
/// another terminal waits for it), however few persons it holds.
const HOLD_AT_MOST: Duration = Duration::from_secs(2);
/// The page cache while pulling (KiB). Rows go to the end of the table
/// and the index is walked in key order once per commit, so the cache
/// need not hold either, whatever the feed holds.
const PULL_CACHE_KIB: i64 = 8_192;
/// Decoded pages queued for the writer: none, so the decoding thread
/// holds the next page ready and decodes no further while the writer,
/// the slowest of the three, is busy. Each page queued cost a page's
/// memory at the peak (a queue of two took a 1,000,000-person pull's
/// peak from ~39 to ~52 MiB) and no time: the writer finds the next page
/// decoded either way.
const AHEAD: usize = 0;

pub fn cursor(store: &Store) -> Result<u64> {
    Ok(store
        .get(key::PULL_CURSOR)?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// A page ready to be written: decoded, its persons' hashes parsed, and
/// the cursor it leads to. Made on the decoding thread, which also frees
/// it once written (see [`decode`]): the writing thread is the pull's
/// slowest, and does neither.
struct Decoded {
    page: PullPage,
    hashes: Vec<replica::StoredHash>,
    next: u64,
}

impl Decoded {
    fn of(client: &Client, page: PullPage, next: u64) -> Result<Decoded> {
        let hashes = page
            .persons
            .iter()
            .map(|p| {
                replica::StoredHash::parse(&p.nik_hash).ok_or_else(|| {
                    CliError::Refused(t!(
                        "client-unreadable-answer",
                        server = client.base(),
                        what = t!("request-pull"),
                        detail = "nik_hash is not 64 hexadecimal digits"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Decoded { page, hashes, next })
    }
}

/// What the asking thread hands the decoding one, in the feed's order.
enum Fetched {
    /// A page not yet decoded, and the cursor it was asked from.
    Answer(Answer, u64),
    /// A page already decoded (a server without the next cursor in its
    /// header), with the cursor it leads to.
    Page(PullPage, u64),
}

/// Fetches pages from `from` on, sending each (with the cursor it leads
/// to) until the server has no more or the receiver hangs up. One thread
/// asks for the pages and another decodes them: the next cursor comes in
/// the answer's header, so the server builds the next page while this
/// one is decoded.
fn fetch(
    client: &Client,
    device: Option<Uuid>,
    from: u64,
    pages: &mpsc::SyncSender<Result<Decoded>>,
    spent: mpsc::Receiver<Decoded>,
) {
    std::thread::scope(|scope| {
        // Handed over, not queued: one page is fetched while one is
        // decoded, and no more are held (see `AHEAD`).
        let (tx, rx) = mpsc::sync_channel(0);
        scope.spawn(move || decode(client, &rx, pages, &spent));
        ask(client, device, from, &tx);
    });
}

/// Asks for the pages in turn; an error goes after the pages before it.
fn ask(
    client: &Client,
    device: Option<Uuid>,
    mut from: u64,
    out: &mpsc::SyncSender<Result<Fetched>>,
) {
    loop {
        let answer = match client.pull_answer(from, MAX_PULL_LIMIT, device) {
            Ok(a) => a,
            Err(e) => {
                let _ = out.send(Err(e));
                return;
            }
        };
        let (next, more, fetched) = match answer.pull_next {
            Some((next, more)) => (next.max(from), more, Fetched::Answer(answer, from)),
            None => {
                // A server without the header: the page gives the cursor.
                let page: PullPage = match client.decode(&t!("request-pull"), &answer) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = out.send(Err(e));
                        return;
                    }
                };
                let next = page.next_cursor.max(from);
                (next, page.has_more, Fetched::Page(page, next))
            }
        };
        if out.send(Ok(fetched)).is_err() {
            return;
        }
        if !more {
            return;
        }
        if next == from {
            // More, the server says, yet it examined nothing: asking
            // again would get the same answer for ever.
            let _ = out.send(Err(CliError::Refused(t!("pull-stuck"))));
            return;
        }
        from = next;
    }
}

/// Decodes the pages [`ask`] fetched, in order, and sends them on. The
/// pages the writer has written come back to be freed here, where their
/// memory was taken, before the next is decoded: a page written is never
/// held longer than one decoded page.
fn decode(
    client: &Client,
    fetched: &mpsc::Receiver<Result<Fetched>>,
    pages: &mpsc::SyncSender<Result<Decoded>>,
    spent: &mpsc::Receiver<Decoded>,
) {
    for got in fetched {
        spent.try_iter().for_each(drop);
        let page = got
            .and_then(|f| match f {
                Fetched::Page(page, next) => Ok((page, next)),
                Fetched::Answer(answer, from) => decode_answer(client, &answer, from),
            })
            .and_then(|(page, next)| Decoded::of(client, page, next));
        let failed = page.is_err();
        if pages.send(page).is_err() || failed {
            return;
        }
    }
}

/// A page read from its answer, which must say in its body what its
/// header said: the next page was asked for from the header's cursor.
fn decode_answer(client: &Client, answer: &Answer, from: u64) -> Result<(PullPage, u64)> {
    let page: PullPage = client.decode(&t!("request-pull"), answer)?;
    let body = (page.next_cursor, page.has_more);
    match answer.pull_next {
        Some(header) if header == body => Ok((page, body.0.max(from))),
        header => Err(CliError::Refused(t!(
            "pull-inconsistent",
            body = next_text(body),
            header = header.map(next_text).unwrap_or_default()
        ))),
    }
}

/// A next cursor as the header writes it (`81234+` when more follow).
fn next_text((cursor, more): (u64, bool)) -> String {
    sigap_shared::wire::pull_next_value(cursor, more)
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
    // Bounded for the pull (see `PULL_CACHE_KIB`); the cache only grows
    // as far as pages are used.
    let cache: i64 = store
        .conn
        .query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    store
        .conn
        .execute_batch(&format!("PRAGMA cache_size=-{PULL_CACHE_KIB}"))?;
    let pulled = std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::sync_channel(AHEAD);
        let (spent, written) = mpsc::channel();
        scope.spawn(move || fetch(client, device, from, &tx, written));
        let mut pull = Pull {
            store,
            rx,
            spent: Some(spent),
            summary,
            rep: &mut rep,
            batch: Batch::default(),
            ended: false,
            failed: None,
            spare: Vec::new(),
        };
        pull.batch.unindexed.reserve(COMMIT_EVERY);
        pull.run()
    });
    store
        .conn
        .execute_batch(&format!("PRAGMA cache_size={cache}"))?;
    pulled
}

/// Index passes of a commit during which pages that arrive meanwhile are
/// written too (their keys go into the next pass); the last pass takes
/// none, so the commit ends.
const PASSES_TAKING_PAGES: usize = 2;

/// A pull under way: the pages coming from the fetching thread and the
/// batch they are written into.
struct Pull<'a> {
    store: &'a Store,
    rx: mpsc::Receiver<Result<Decoded>>,
    /// Where written pages go to be freed (see [`decode`]); without it,
    /// or once the decoding thread has ended, they are freed here.
    spent: Option<mpsc::Sender<Decoded>>,
    summary: &'a mut Summary,
    rep: &'a mut Reporter,
    batch: Batch,
    /// The fetching thread has sent everything it will.
    ended: bool,
    /// Why it stopped early, returned once what came before is committed.
    failed: Option<CliError>,
    /// The keys' other buffer: one is indexed while pages that arrive
    /// meanwhile add theirs to the other.
    spare: Vec<(i64, i64)>,
}

impl Pull<'_> {
    fn run(&mut self) -> Result<()> {
        while !self.ended && self.failed.is_none() {
            // Waiting for the network with the batch open would keep the
            // write lock from `sigap register` in another terminal for
            // as long as the connection stalls: past `HOLD_AT_MOST`, the
            // batch is committed and the wait goes on without it.
            let got = match self.batch.time_left() {
                Some(left) => match self.rx.recv_timeout(left) {
                    Ok(got) => got,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.commit()?;
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
                None => match self.rx.recv() {
                    Ok(got) => got,
                    Err(mpsc::RecvError) => break,
                },
            };
            self.take(got)?;
            if self.batch.full() {
                self.commit()?;
            }
        }
        // What was pulled before a failure is kept.
        self.commit()?;
        match self.failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Writes a page the fetching thread sent, or keeps its error.
    fn take(&mut self, got: Result<Decoded>) -> Result<()> {
        let decoded = match got {
            Ok(v) => v,
            Err(e) => {
                self.failed = Some(e);
                return Ok(());
            }
        };
        let n = decoded.page.persons.len();
        self.batch.write(self.store, &decoded)?;
        self.summary.received += n as u64;
        self.summary.pull_cursor = decoded.next;
        self.rep.step(n as u64);
        if let Some(spent) = &self.spent {
            // Sent back to be freed; if the decoding thread has ended, the
            // page comes back in the error and is freed here.
            let _ = spent.send(decoded);
        }
        Ok(())
    }

    /// Writes the pages that have arrived, without waiting for more.
    fn take_arrived(&mut self) -> Result<()> {
        while !self.ended && self.failed.is_none() {
            match self.rx.try_recv() {
                Ok(got) => self.take(got)?,
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => self.ended = true,
            }
        }
        Ok(())
    }

    /// Indexes the batch's keys and commits it. While a pass over the
    /// index runs, the server goes on sending: pages that arrive are
    /// written into the same transaction (so the fetching thread is not
    /// held up) and their keys indexed by the next pass.
    fn commit(&mut self) -> Result<()> {
        if !self.batch.is_open() {
            return Ok(());
        }
        for _ in 0..PASSES_TAKING_PAGES {
            let mut keys = std::mem::take(&mut self.spare);
            self.batch.unindexed.exchange(&mut keys);
            if keys.is_empty() {
                self.spare = keys;
                break;
            }
            let conn = &self.store.conn;
            let indexed = replica::index_keys(conn, &mut keys, || self.take_arrived());
            self.spare = keys;
            if let Err(e) = indexed {
                // A page that failed has rolled the batch back already.
                if self.batch.is_open() {
                    self.batch.abandon(self.store)?;
                }
                return Err(e);
            }
            if !self.batch.is_open() {
                // A page taken meanwhile failed and rolled the batch back.
                return Ok(());
            }
        }
        self.summary.erased += self.batch.commit(self.store)?;
        Ok(())
    }
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
    /// Rows written whose keys go into the replica's index at commit.
    unindexed: replica::Unindexed,
}

impl Batch {
    fn is_open(&self) -> bool {
        self.began.is_some()
    }

    /// Rolls the open transaction back: nothing of the batch is kept, as
    /// its cursor was never stored.
    fn abandon(&mut self, store: &Store) -> Result<()> {
        self.began = None;
        self.cursor = None;
        self.persons = 0;
        self.erased.clear();
        self.unindexed.clear();
        store.conn.execute_batch("ROLLBACK")?;
        Ok(())
    }

    fn full(&self) -> bool {
        self.persons >= COMMIT_EVERY || self.began.is_some_and(|t| t.elapsed() >= HOLD_AT_MOST)
    }

    /// How much longer the open transaction may stay open; `None` when
    /// there is none.
    fn time_left(&self) -> Option<Duration> {
        self.began.map(|t| HOLD_AT_MOST.saturating_sub(t.elapsed()))
    }

    fn write(&mut self, store: &Store, decoded: &Decoded) -> Result<()> {
        if self.began.is_none() {
            store.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.began = Some(Instant::now());
        }
        let written =
            Self::write_persons(&store.conn, decoded, &mut self.erased, &mut self.unindexed);
        if written.is_err() {
            self.abandon(store)?;
            return written;
        }
        self.persons += decoded.page.persons.len();
        self.cursor = Some(decoded.next);
        Ok(())
    }

    fn write_persons(
        conn: &rusqlite::Connection,
        decoded: &Decoded,
        erased: &mut HashMap<String, u64>,
        unindexed: &mut replica::Unindexed,
    ) -> Result<()> {
        let persons: Vec<_> = decoded
            .hashes
            .iter()
            .copied()
            .zip(&decoded.page.persons)
            .collect();
        for p in &decoded.page.persons {
            if let Some(at) = p.erased_at {
                let e = erased.entry(p.nik_hash.clone()).or_insert(at);
                *e = (*e).max(at);
            }
        }
        replica::Writer::new(conn, unindexed)?.append(&persons)
    }

    /// Commits the open transaction with the cursor its pages lead to,
    /// then copies the WAL into the database while the next pages are on
    /// their way. A person the server erased who is also one of this
    /// device's own has their personal data overwritten here too, in the
    /// same transaction (see [`erasure`]); returns how many of this
    /// device's persons were.
    fn commit(&mut self, store: &Store) -> Result<u64> {
        let (Some(_), Some(next)) = (self.began.take(), self.cursor.take()) else {
            return Ok(0);
        };
        self.persons = 0;
        let erased = std::mem::take(&mut self.erased);
        // The keys first: the erasures below look persons up by them.
        let finished = replica::index(&store.conn, &mut self.unindexed)
            .and_then(|()| Self::finish(&store.conn, &erased, next));
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sigap_shared::wire::PersonState;

    use super::*;
    use crate::store::config::Device;
    use crate::store::tests::budi;

    const KEY: sigap_shared::ReplicaKey = sigap_shared::ReplicaKey::from_bytes([9; 32]);

    /// Persons `ns` as the feed sends them, at positions `ns`.
    fn page(ns: std::ops::RangeInclusive<u64>) -> (PullPage, u64) {
        let (_, fields) = budi();
        let next = *ns.end();
        let persons = ns
            .map(|n| {
                let nik = sigap_shared::Nik::parse(&format!("3372011203850{n:03}")).unwrap();
                PersonState {
                    seq: n,
                    ..PersonState::masked(&KEY, &nik, &fields)
                }
            })
            .collect();
        let page = PullPage {
            protocol: sigap_shared::PROTOCOL_VERSION,
            persons,
            next_cursor: next,
            has_more: true,
        };
        (page, next)
    }

    /// The connection fails while a commit's index pass runs: the pages
    /// that arrived before the failure are committed with their cursor,
    /// findable, and the pull then says why it stopped.
    #[test]
    fn a_failure_that_arrives_during_an_index_pass_keeps_what_came_before() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), None).unwrap();
        let device = Device {
            id: Uuid::nil(),
            name: "laptop".into(),
            server_url: Some("http://127.0.0.1:9".into()),
            token: Some("token".into()),
            ca_cert: None,
            insecure: false,
        };
        let client = Client::new(&device).unwrap();
        // Room for the three things sent below before the pull takes any.
        let (tx, rx) = mpsc::sync_channel(3);
        let mut summary = Summary::default();
        let mut rep = Reporter::new();
        let mut pull = Pull {
            store: &store,
            rx,
            spent: None,
            summary: &mut summary,
            rep: &mut rep,
            batch: Batch::default(),
            ended: false,
            failed: None,
            spare: Vec::new(),
        };
        let ready = |ns| {
            let (page, next) = page(ns);
            Decoded::of(&client, page, next)
        };
        let (first, _) = page(1..=600);
        pull.take(ready(1..=600)).unwrap();
        // On their way while the commit indexes the first page's keys.
        let (second, _) = page(601..=900);
        tx.send(ready(601..=900)).unwrap();
        tx.send(Err(CliError::Network("connection reset by peer".into())))
            .unwrap();
        tx.send(ready(901..=950)).unwrap();
        pull.commit().unwrap();
        assert!(pull.failed.is_some(), "the failure was taken mid-pass");
        assert!(!pull.batch.is_open(), "the batch was committed");
        let err = pull.run().unwrap_err();
        assert!(err.to_string().contains("connection reset"), "{err}");
        drop(tx);
        // Everything before the failure, nothing after it.
        assert_eq!(replica::count(&store.conn).unwrap(), 900);
        for p in [&first.persons[0], &first.persons[599], &second.persons[299]] {
            assert_eq!(
                replica::get_by_hash(&store.conn, p.nik_hash.clone()).unwrap(),
                Some(p.clone())
            );
        }
        assert_eq!(cursor(&store).unwrap(), 900);
        assert_eq!(summary.received, 900);
    }
}
