//! A laptop restored from an old backup: the server holds numbers of this
//! device that its database no longer has. Before pushing, `sigap sync`
//! compares the server's receipt with the outbox and numbers the unsent
//! changes after what the server holds, so that none of them is refused as
//! a sequence conflict: nothing rejected, nothing lost, nothing doubled.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sigap_shared::wire::{MAX_PULL_LIMIT, Receipt};
use uuid::Uuid;

use super::client::Client;
use crate::error::Result;
use crate::i18n;
use crate::store::{self, Device, Store, key, outbox, repair};
use sigap_shared::Lang;

/// What was found and done.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// Unsent changes given new numbers.
    pub renumbered: u64,
    /// They now follow this number.
    pub after_seq: u64,
    /// In English, as the JSON output says it.
    pub message: String,
    /// In the agent's language.
    #[serde(skip)]
    pub local: String,
}

/// The numbers and ids the server holds from this device from `after`
/// up to `max_seq`.
fn held(
    client: &Client,
    device: &Device,
    mut after: u64,
    max_seq: u64,
) -> Result<HashMap<u64, Uuid>> {
    let mut held = HashMap::new();
    while after < max_seq {
        let page = client.device_changes(device.id, after, MAX_PULL_LIMIT)?;
        let Some(last) = page.changes.iter().map(|c| c.device_seq).max() else {
            break;
        };
        held.extend(page.changes.into_iter().map(|c| (c.device_seq, c.id)));
        if !page.has_more || last <= after {
            break;
        }
        after = last;
    }
    Ok(held)
}

/// Checks the server's receipt against the outbox; renumbers the unsent
/// changes when the server holds numbers this device has not written.
/// Costs nothing more than the receipt in the usual case (the server holds
/// nothing at or above this device's first unsent number); the server's
/// list of changes is read only when it does.
pub fn check(
    store: &mut Store,
    client: &Client,
    device: &Device,
    receipt: &Receipt,
) -> Result<Option<Restored>> {
    let max_seq = receipt.max_seq;
    let local_max = outbox::last(&store.conn)?.map_or(0, |(s, _)| u64::try_from(s).unwrap_or(0));
    let first = outbox::first_pending(&store.conn)?.map(|(s, _)| u64::try_from(s).unwrap_or(0));
    let noted = store
        .get(key::RESTORE_NOTED_SEQ)?
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    let Some(first) = first.filter(|f| *f <= max_seq) else {
        // Nothing unsent that the server's numbers reach. Still, a server
        // ahead of this whole database means a restored laptop: said once.
        if max_seq > local_max && max_seq > noted {
            store::set(&store.conn, key::RESTORE_NOTED_SEQ, &max_seq.to_string())?;
            return Ok(Some(restored(0, max_seq)));
        }
        return Ok(None);
    };
    let held = held(client, device, first - 1, max_seq)?;
    let pending = outbox::pending_ids(&store.conn)?;
    let conflict = pending.iter().any(|(seq, id)| {
        u64::try_from(*seq)
            .ok()
            .and_then(|s| held.get(&s))
            .is_some_and(|h| h != id)
    });
    if !conflict && max_seq <= local_max {
        // What the server holds at those numbers are these very changes
        // (their answers were lost): the push is answered `duplicate`.
        return Ok(None);
    }
    // Changes the server already holds (by id) keep their numbers; the
    // rest are numbered after everything held and kept.
    let held_ids: HashSet<&Uuid> = held.values().collect();
    let unsent: Vec<i64> = pending
        .iter()
        .filter(|(_, id)| !held_ids.contains(id))
        .map(|(seq, _)| *seq)
        .collect();
    let kept = u64::try_from(outbox::highest_except(&store.conn, &unsent)?).unwrap_or(0);
    let after = max_seq.max(kept);
    repair::renumber(
        &mut store.conn,
        &unsent,
        i64::try_from(after).unwrap_or(i64::MAX),
    )?;
    store::set(&store.conn, key::RESTORE_NOTED_SEQ, &max_seq.to_string())?;
    Ok(Some(restored(unsent.len() as u64, after)))
}

fn restored(renumbered: u64, after_seq: u64) -> Restored {
    let say = |lang| {
        let what = if renumbered == 0 {
            i18n::text(lang, "restore-none-renumbered", &[])
        } else {
            i18n::text(
                lang,
                "restore-renumbered",
                &[
                    ("count", lang.int(renumbered)),
                    ("after", after_seq.to_string()),
                ],
            )
        };
        i18n::text(lang, "restore-found", &[("what", what)])
    };
    Restored {
        renumbered,
        after_seq,
        message: say(Lang::En),
        local: say(i18n::lang()),
    }
}
