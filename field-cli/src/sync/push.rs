//! Push: pending changes in order, in pages bounded by count and bytes.
//! Each page's answers and receipt are committed before the next page.

use std::collections::HashMap;

use sigap_shared::wire::{MAX_PUSH_CHANGES, PushRequest};
use sigap_shared::{Outcome, PROTOCOL_VERSION};

use super::client::Client;
use super::{RejectedChange, Reporter, Summary};
use crate::error::{CliError, Result};
use crate::store::{Device, Store, now_text, outbox};

/// Most bytes of changes in one push body (the server takes up to 8 MiB).
const MAX_PAGE_BYTES: usize = 2 << 20;

pub fn push_all(
    store: &mut Store,
    client: &Client,
    device: &Device,
    summary: &mut Summary,
) -> Result<()> {
    let total = outbox::count_state(&store.conn, "pending")?;
    let mut rep = Reporter::new();
    if total > 0 {
        rep.start(u64::try_from(total).unwrap_or(0), "sending");
    }
    loop {
        let page = outbox::pending_page(&store.conn, device.id, MAX_PUSH_CHANGES)?;
        if page.is_empty() {
            break;
        }
        let mut changes = Vec::with_capacity(page.len());
        let mut bytes = 0usize;
        for c in page {
            let n = serde_json::to_vec(&c)?.len();
            if !changes.is_empty() && bytes + n > MAX_PAGE_BYTES {
                break;
            }
            bytes += n;
            changes.push(c);
        }
        let niks: HashMap<_, _> = changes.iter().map(|c| (c.id, c.nik.to_string())).collect();
        let req = PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id: device.id,
            changes,
        };
        let resp = client.push(&req)?;
        let now = now_text();
        let tx = store.conn.transaction()?;
        let mut answered = 0u64;
        for r in &resp.results {
            if !niks.contains_key(&r.id) || !outbox::record_result(&tx, r, &now)? {
                continue;
            }
            answered += 1;
            match &r.outcome {
                Outcome::Applied => summary.applied += 1,
                Outcome::Merged => summary.merged += 1,
                Outcome::Duplicate => summary.duplicates += 1,
                Outcome::Rejected { code, reason } => summary.rejected.push(RejectedChange {
                    device_seq: r.device_seq,
                    nik: niks.get(&r.id).cloned().unwrap_or_default(),
                    code: code.clone(),
                    reason: reason.clone(),
                }),
            }
        }
        outbox::store_receipt(&tx, &resp.receipt, &now)?;
        tx.commit()?;
        summary.sent += answered;
        summary.receipt = Some(resp.receipt.clone());
        rep.step(
            answered,
            &format!("sent {} of {total} change(s)", summary.sent),
        );
        if answered == 0 {
            rep.finish();
            return Err(CliError::Refused(format!(
                "the server answered none of the {} change(s) sent; nothing was lost, try `sigap sync` later",
                req.changes.len()
            )));
        }
    }
    rep.finish();
    Ok(())
}
