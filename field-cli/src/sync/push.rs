//! Push: pending changes in order, in pages bounded by count and bytes.
//! Two pages are in flight at once, so that the server applies one while
//! this device records the answers to the other; each page's answers and
//! receipt are committed together, in page order. Changes the server
//! answers `pending` (a later page that reached it first) are sent again
//! in a further round.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::thread::ScopedJoinHandle;

use sigap_shared::wire::{ChangeResult, MAX_PUSH_CHANGES, PushResponse};
use sigap_shared::{Outcome, PROTOCOL_VERSION};
use uuid::Uuid;

use super::client::Client;
use super::{RejectedChange, Reporter, Summary, SupersededChange};
use crate::error::{CliError, Result};
use crate::i18n::{n, t};
use crate::store::{Device, Store, now_text, outbox};

/// Most bytes of changes in one push body (the server takes up to 8 MiB).
const MAX_PAGE_BYTES: usize = 6 << 20;
/// Pages sent before the first answer is waited for.
const IN_FLIGHT: usize = 2;

/// One page on its way: the number and NIK of each change (to match the
/// answers and for reports) and the thread that sends it.
struct Sent<'s> {
    niks: HashMap<Uuid, (u64, String)>,
    answer: ScopedJoinHandle<'s, Result<PushResponse>>,
}

/// A page ready to send.
struct Page {
    /// The JSON body of the push.
    body: Vec<u8>,
    /// The number and NIK of each change, by change id.
    niks: HashMap<Uuid, (u64, String)>,
    /// The highest sequence number in the page.
    last: u64,
}

/// The pending changes numbered above `after` as a page, each change
/// serialised once (its size decides where the page ends).
fn page_body(store: &Store, device: Uuid, after: u64) -> Result<Option<Page>> {
    let page = outbox::pending_page(&store.conn, device, after, MAX_PUSH_CHANGES)?;
    if page.is_empty() {
        return Ok(None);
    }
    let mut body =
        format!("{{\"protocol\":{PROTOCOL_VERSION},\"device_id\":\"{device}\",\"changes\":[")
            .into_bytes();
    let start = body.len();
    let mut niks = HashMap::with_capacity(page.len());
    let mut last = after;
    for c in page {
        let json = serde_json::to_vec(&c)?;
        if !niks.is_empty() && body.len() - start + json.len() > MAX_PAGE_BYTES {
            break;
        }
        if !niks.is_empty() {
            body.push(b',');
        }
        body.extend_from_slice(&json);
        niks.insert(c.id, (c.device_seq, c.nik.to_string()));
        last = c.device_seq;
    }
    // The changes still queued after this page, for the supervisors'
    // view of devices (protocol field `pending`).
    let queued = outbox::count_pending_after(&store.conn, last)?;
    body.extend_from_slice(format!("],\"pending\":{queued}}}").as_bytes());
    Ok(Some(Page { body, niks, last }))
}

/// Most rounds of one `sigap sync`. Each round after the first re-sends
/// changes the server answered `pending` and is started only when the
/// round before made the server hold at least one more change, so the
/// rounds end by themselves; this bound only guards against a server that
/// misbehaves.
const MAX_ROUNDS: u32 = 100;

/// What one round of pages did.
#[derive(Default)]
struct Round {
    /// Changes the server now holds.
    held: u64,
    /// Changes answered `pending`: they wait for earlier numbers.
    waiting: u64,
}

/// Sends every pending change, in rounds: the server holds a device's
/// changes in number order, so a page that reaches it before an earlier
/// one comes back `pending`, and is sent again once the earlier pages
/// are answered. Rounds go on while they make progress and something
/// still waits.
pub fn push_all(
    store: &mut Store,
    client: &Client,
    device: &Device,
    summary: &mut Summary,
) -> Result<()> {
    let total = outbox::count_state(&store.conn, outbox::State::Pending)?;
    let mut rep = Reporter::new();
    if total > 0 {
        rep.start(u64::try_from(total).unwrap_or(0), &t!("push-bar"));
    }
    let mut refused = BTreeMap::new();
    let mut out = Ok(());
    for round in 1..=MAX_ROUNDS {
        summary.rounds = round;
        let r = match push_round(store, client, device, summary, &mut refused, &mut rep) {
            Ok(r) => r,
            Err(e) => {
                out = Err(e);
                break;
            }
        };
        if r.waiting == 0 || r.held == 0 {
            break;
        }
        // The first change still to send was refused without being held:
        // sent again now it would be refused again, and all after it wait.
        match outbox::first_pending(&store.conn) {
            Ok(Some((_, Some(_code)))) => break,
            Ok(_) => {}
            Err(e) => {
                out = Err(e);
                break;
            }
        }
    }
    rep.finish();
    summary.not_taken = refused.into_values().collect();
    out
}

/// Sends the pending changes once, in pages, two in flight.
fn push_round(
    store: &mut Store,
    client: &Client,
    device: &Device,
    summary: &mut Summary,
    refused: &mut BTreeMap<u64, RejectedChange>,
    rep: &mut Reporter,
) -> Result<Round> {
    let mut round = Round::default();
    std::thread::scope(|scope| -> Result<()> {
        let mut in_flight: VecDeque<Sent<'_>> = VecDeque::new();
        let mut after = 0u64;
        let mut exhausted = false;
        loop {
            while in_flight.len() < IN_FLIGHT && !exhausted {
                match page_body(store, device.id, after)? {
                    None => exhausted = true,
                    Some(page) => {
                        after = page.last;
                        let (body, niks) = (page.body, page.niks);
                        let answer = scope.spawn(move || client.push_body(&body));
                        in_flight.push_back(Sent { niks, answer });
                    }
                }
            }
            let Some(sent) = in_flight.pop_front() else {
                return Ok(());
            };
            let resp = sent
                .answer
                .join()
                .map_err(|_| CliError::Local(t!("push-thread-failed")))??;
            let (answered, page) = record(store, &resp, &sent.niks, summary, refused)?;
            store.checkpoint()?;
            round.held += page.held;
            round.waiting += page.waiting;
            summary.sent += page.held;
            summary.receipt = Some(resp.receipt.clone());
            rep.step(page.held);
            if answered == 0 {
                return Err(CliError::Refused(t!(
                    "push-none-answered",
                    count = n(sent.niks.len())
                )));
            }
        }
    })?;
    Ok(round)
}

/// Records the answers of one page and its receipt in one transaction;
/// returns how many answers were for changes of this page, and what they
/// were.
fn record(
    store: &mut Store,
    resp: &PushResponse,
    niks: &HashMap<Uuid, (u64, String)>,
    summary: &mut Summary,
    refused: &mut BTreeMap<u64, RejectedChange>,
) -> Result<(u64, Round)> {
    // Only answers for a change of this page, under its own number.
    let mut matched: Vec<(&ChangeResult, &str)> = resp
        .results
        .iter()
        .filter_map(|r| {
            let (seq, nik) = niks.get(&r.id)?;
            (*seq == r.device_seq).then_some((r, nik.as_str()))
        })
        .collect();
    matched.sort_by_key(|(r, _)| r.device_seq);
    matched.dedup_by_key(|(r, _)| r.device_seq);
    let answers: Vec<outbox::Answer<'_>> = matched
        .iter()
        .map(|(r, _)| outbox::Answer {
            device_seq: i64::try_from(r.device_seq).unwrap_or(i64::MAX),
            outcome: &r.outcome,
        })
        .collect();
    let now = now_text();
    // Immediate: another sigap process may write meanwhile, and a deferred
    // transaction that must upgrade to a write would then fail at once.
    let tx = store
        .conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let updated = outbox::record_answers(&tx, &answers, &now)?;
    outbox::store_receipt(&tx, &resp.receipt, &now)?;
    tx.commit()?;
    let mut page = Round::default();
    for (r, nik) in &matched {
        if outbox::is_held(&r.outcome) {
            page.held += 1;
            refused.remove(&r.device_seq);
        }
        let change = |code: &str, reason: &str| RejectedChange {
            device_seq: r.device_seq,
            nik: nik.to_string(),
            code: code.to_string(),
            reason: reason.to_string(),
        };
        match &r.outcome {
            Outcome::Applied => summary.applied += 1,
            Outcome::Merged => summary.merged += 1,
            Outcome::Duplicate => summary.duplicates += 1,
            Outcome::Superseded { fields, by } => summary.superseded.push(SupersededChange {
                device_seq: r.device_seq,
                nik: nik.to_string(),
                fields: fields.iter().map(|f| f.as_str().to_string()).collect(),
                by: by.clone(),
            }),
            Outcome::Pending => page.waiting += 1,
            Outcome::Rejected { code, reason } if outbox::is_held(&r.outcome) => {
                summary.rejected.push(change(code, reason));
            }
            Outcome::Rejected { code, reason } => {
                refused.insert(r.device_seq, change(code, reason));
            }
        }
    }
    Ok((u64::try_from(updated).unwrap_or(0), page))
}
