//! Pull: the merged persons of the agent's areas after the stored cursor,
//! page by page; each page and the new cursor are committed together.

use sigap_shared::wire::MAX_PULL_LIMIT;

use super::client::Client;
use super::{Reporter, Summary};
use crate::error::{CliError, Result};
use crate::store::{self, Store, key, now_text, replica};

pub fn cursor(store: &Store) -> Result<u64> {
    Ok(store
        .get(key::PULL_CURSOR)?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

pub fn pull_all(store: &mut Store, client: &Client, summary: &mut Summary) -> Result<()> {
    let mut rep = Reporter::new();
    loop {
        let from = cursor(store)?;
        let page = client.pull(from, MAX_PULL_LIMIT)?;
        let tx = store.conn.transaction()?;
        for p in &page.persons {
            replica::upsert(&tx, p)?;
        }
        let next = page.next_cursor.max(from);
        store::set(&tx, key::PULL_CURSOR, &next.to_string())?;
        store::set(&tx, key::LAST_PULL_AT, &now_text())?;
        tx.commit()?;
        let n = page.persons.len() as u64;
        summary.received += n;
        summary.pull_cursor = next;
        rep.step(n, &format!("received {} person(s)", summary.received));
        if !page.has_more {
            break;
        }
        if next == from && page.persons.is_empty() {
            return Err(CliError::Refused(
                "the server says there is more to pull but sent nothing; try `sigap sync` later"
                    .into(),
            ));
        }
    }
    Ok(())
}
