//! `sigap sync --verify`: compare what the server holds from this device
//! with the local log and the last kept receipt.

use std::collections::BTreeMap;

use serde::Serialize;
use sigap_shared::wire::ReceiptHash;

use super::client::Client;
use crate::error::Result;
use crate::i18n::both;
use crate::store::{Device, Store, outbox};

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub verified: bool,
    pub server_count: u64,
    pub server_highest_seq: u64,
    pub server_hash: String,
    pub local_count: u64,
    pub local_hash: String,
    /// In English, as the JSON output says them.
    pub differences: Vec<String>,
    /// The same in the agent's language.
    #[serde(skip)]
    pub local_differences: Vec<String>,
    /// Changes the server does not hold, queued again for the next sync.
    pub requeued: Vec<i64>,
}

impl Report {
    /// Notes a difference, in English and in the agent's language.
    fn differ(&mut self, id: &str, args: &[(&str, String)]) {
        let (en, local) = both(id, args);
        self.differences.push(en);
        self.local_differences.push(local);
    }
}

pub fn verify(store: &mut Store, client: &Client, device: &Device) -> Result<Report> {
    let status = client.device_status(device.id)?;
    let local = outbox::answered(&store.conn)?;
    let local_hash = ReceiptHash::of(local.iter().map(|(_, id)| id)).to_hex();
    let mut r = Report {
        server_count: status.receipt.count,
        server_highest_seq: status.receipt.highest_seq,
        server_hash: status.receipt.hash.clone(),
        local_count: local.len() as u64,
        local_hash: local_hash.clone(),
        ..Report::default()
    };
    if let Some((at, count, _, _)) = outbox::last_receipt(&store.conn)?
        && status.receipt.count < u64::try_from(count).unwrap_or(0)
    {
        r.differ(
            "verify-receipt-shrank",
            &[
                ("count", status.receipt.count.to_string()),
                ("at", at),
                ("receipt", count.to_string()),
            ],
        );
    }
    if r.server_count == r.local_count && status.receipt.hash.eq_ignore_ascii_case(&local_hash) {
        r.verified = r.differences.is_empty();
        return Ok(r);
    }
    // Find the differences change by change.
    let mut held: BTreeMap<u64, uuid::Uuid> = BTreeMap::new();
    let mut after = 0u64;
    loop {
        let page = client.device_changes(device.id, after, 1000)?;
        let last = page.changes.iter().map(|c| c.device_seq).max();
        for c in page.changes {
            held.insert(c.device_seq, c.id);
        }
        match last {
            Some(l) if page.has_more && l > after => after = l,
            _ => break,
        }
    }
    let mut missing = Vec::new();
    for (seq, id) in &local {
        match held.get(&(*seq as u64)) {
            None => missing.push(*seq),
            Some(s) if s != id => r.differ(
                "verify-seq-conflict-sent",
                &[
                    ("seq", seq.to_string()),
                    ("server_id", s.to_string()),
                    ("id", id.to_string()),
                ],
            ),
            Some(_) => {}
        }
    }
    let local_seqs: std::collections::HashSet<u64> = local.iter().map(|(s, _)| *s as u64).collect();
    for (seq, id) in &held {
        if local_seqs.contains(seq) {
            continue;
        }
        match outbox::id_of(&store.conn, *seq as i64)? {
            Some(lid) if lid == id.to_string() => {
                r.differ("verify-answer-lost", &[("seq", seq.to_string())])
            }
            Some(lid) => r.differ(
                "verify-seq-conflict-held",
                &[
                    ("seq", seq.to_string()),
                    ("server_id", id.to_string()),
                    ("id", lid),
                ],
            ),
            None => r.differ(
                "verify-unknown-change",
                &[("seq", seq.to_string()), ("id", id.to_string())],
            ),
        }
    }
    if !missing.is_empty() {
        let tx = store.conn.transaction()?;
        outbox::requeue(&tx, &missing)?;
        tx.commit()?;
        r.differ(
            "verify-missing",
            &[
                ("count", missing.len().to_string()),
                (
                    "seqs",
                    missing
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(", #"),
                ),
            ],
        );
        r.requeued = missing;
    }
    if r.differences.is_empty() {
        let args = [
            ("server_count", r.server_count.to_string()),
            ("server_hash", r.server_hash.clone()),
            ("local_count", r.local_count.to_string()),
            ("local_hash", r.local_hash.clone()),
        ];
        r.differ("verify-hash-differs", &args);
    }
    Ok(r)
}
