//! Push: pending changes in order, in pages bounded by count and bytes.
//! Two pages are in flight at once, so that the server applies one while
//! this device records the answers to the other; each page's answers and
//! receipt are committed together, in page order.

use std::collections::{HashMap, VecDeque};
use std::thread::ScopedJoinHandle;

use sigap_shared::wire::{ChangeResult, MAX_PUSH_CHANGES, PushResponse};
use sigap_shared::{Outcome, PROTOCOL_VERSION};
use uuid::Uuid;

use super::client::Client;
use super::{RejectedChange, Reporter, Summary};
use crate::error::{CliError, Result};
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
    body.extend_from_slice(b"]}");
    Ok(Some(Page { body, niks, last }))
}

pub fn push_all(
    store: &mut Store,
    client: &Client,
    device: &Device,
    summary: &mut Summary,
) -> Result<()> {
    let total = outbox::count_state(&store.conn, outbox::State::Pending)?;
    let mut rep = Reporter::new();
    if total > 0 {
        rep.start(u64::try_from(total).unwrap_or(0), "sending");
    }
    let out = std::thread::scope(|scope| -> Result<()> {
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
                .map_err(|_| CliError::Local("the push thread failed".into()))??;
            let answered = record(store, &resp, &sent.niks, summary)?;
            store.checkpoint()?;
            summary.sent += answered;
            summary.receipt = Some(resp.receipt.clone());
            rep.step(
                answered,
                &format!("sent {} of {total} change(s)", summary.sent),
            );
            if answered == 0 {
                return Err(CliError::Refused(format!(
                    "the server answered none of the {} change(s) sent; nothing was lost, try `sigap sync` later",
                    sent.niks.len()
                )));
            }
        }
    });
    rep.finish();
    out
}

/// Records the answers of one page and its receipt in one transaction;
/// returns how many answers were for changes of this page.
fn record(
    store: &mut Store,
    resp: &PushResponse,
    niks: &HashMap<Uuid, (u64, String)>,
    summary: &mut Summary,
) -> Result<u64> {
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
    for (r, nik) in &matched {
        match &r.outcome {
            Outcome::Applied => summary.applied += 1,
            Outcome::Merged => summary.merged += 1,
            Outcome::Duplicate => summary.duplicates += 1,
            Outcome::Superseded { .. } => summary.applied += 1,
            Outcome::Pending => {}
            Outcome::Rejected { code, reason } => summary.rejected.push(RejectedChange {
                device_seq: r.device_seq,
                nik: nik.to_string(),
                code: code.clone(),
                reason: reason.clone(),
            }),
        }
    }
    Ok(u64::try_from(updated).unwrap_or(0))
}
