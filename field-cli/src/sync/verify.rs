//! `sigap sync --verify`: compare what the server holds from this device
//! with the local log and the last kept receipt.

use std::collections::BTreeMap;

use serde::Serialize;
use sigap_shared::wire::ReceiptHash;

use super::client::Client;
use crate::error::Result;
use crate::store::{Device, Store, outbox};

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub verified: bool,
    pub server_count: u64,
    pub server_highest_seq: u64,
    pub server_hash: String,
    pub local_count: u64,
    pub local_hash: String,
    pub differences: Vec<String>,
    /// Changes the server does not hold, queued again for the next sync.
    pub requeued: Vec<i64>,
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
        r.differences.push(format!(
            "the server holds {} change(s) but its receipt of {at} said {count}",
            status.receipt.count
        ));
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
            Some(s) if s != id => r.differences.push(format!(
                "change {seq}: the server holds id {s} but this device sent {id} (sequence conflict)"
            )),
            Some(_) => {}
        }
    }
    let local_seqs: std::collections::HashSet<u64> = local.iter().map(|(s, _)| *s as u64).collect();
    for (seq, id) in &held {
        if local_seqs.contains(seq) {
            continue;
        }
        match outbox::id_of(&store.conn, *seq as i64)? {
            Some(lid) if lid == id.to_string() => r.differences.push(format!(
                "change {seq} reached the server but its answer did not reach this device; the next `sigap sync` confirms it"
            )),
            Some(lid) => r.differences.push(format!(
                "change {seq}: the server holds id {id} but this device has {lid} (sequence conflict)"
            )),
            None => r.differences.push(format!(
                "the server holds change {seq} ({id}) that this device does not know"
            )),
        }
    }
    if !missing.is_empty() {
        let tx = store.conn.transaction()?;
        outbox::requeue(&tx, &missing)?;
        tx.commit()?;
        r.differences.push(format!(
            "the server does not hold {} change(s) this device sent (#{}); they are queued again: run `sigap sync`",
            missing.len(),
            missing.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", #")
        ));
        r.requeued = missing;
    }
    if r.differences.is_empty() {
        r.differences.push(format!(
            "counts or hashes differ (server {} / {}, device {} / {})",
            r.server_count, r.server_hash, r.local_count, r.local_hash
        ));
    }
    Ok(r)
}
