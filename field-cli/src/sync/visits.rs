//! Sends the RT visits the server has not answered for yet, after the
//! changes. A visit is marked synced only once the server's answer names
//! it, so a sync cut before the answer sends it again (the server keeps
//! it once by its id).

use serde::Serialize;
use sigap_shared::PROTOCOL_VERSION;
use sigap_shared::visit_wire::{MAX_VISITS, VisitOutcome, VisitsRequest};

use super::client::Client;
use crate::error::{CliError, Result};
use crate::i18n::{n, t};
use crate::store::{Device, Store, visits};

/// What sending the visits did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VisitsSent {
    /// Visits the server now holds (stored now or before).
    pub synced: u64,
    /// Visits the server refused, with its reasons: kept here, not resent.
    pub refused: Vec<String>,
    /// Visits kept here because the server is older and takes none.
    pub kept_for_newer_server: u64,
}

pub fn send_all(store: &Store, client: &Client, device: &Device) -> Result<VisitsSent> {
    visits::give_ids(&store.conn)?;
    let mut sent = VisitsSent::default();
    loop {
        let batch = visits::unsynced(&store.conn, MAX_VISITS)?;
        if batch.is_empty() {
            return Ok(sent);
        }
        let req = VisitsRequest {
            protocol: PROTOCOL_VERSION,
            device_id: device.id,
            visits: batch.iter().map(|u| u.visit.clone()).collect(),
        };
        let Some(resp) = client.push_visits(&req)? else {
            // The changes went through; the visits wait for an upgrade.
            sent.kept_for_newer_server = visits::count_unsynced(&store.conn)?;
            return Ok(sent);
        };
        let tx = store.conn.unchecked_transaction()?;
        let mut answered = 0;
        for r in &resp.results {
            let Some(u) = batch.iter().find(|u| u.visit.id == r.id) else {
                continue;
            };
            answered += 1;
            match &r.outcome {
                VisitOutcome::Stored | VisitOutcome::Duplicate => {
                    visits::mark(&tx, u.row, None)?;
                    sent.synced += 1;
                }
                VisitOutcome::Rejected { code, reason } => {
                    let text = format!("{code}: {reason}");
                    visits::mark(&tx, u.row, Some(&text))?;
                    sent.refused.push(text);
                }
            }
        }
        tx.commit()?;
        if answered == 0 {
            return Err(CliError::Refused(t!(
                "visits-none-answered",
                count = n(batch.len())
            )));
        }
    }
}
