//! The server restored from a backup older than what it acknowledged to
//! this device: its receipt holds fewer numbers than this device has had
//! answered. The changes it lost go back in the queue and are sent again
//! (same ids, same numbers), and the feed is read again from the start,
//! since the restored server numbers its feed from the backup's point on.
//! Without this, the device's next changes would wait forever behind the
//! numbers the server no longer has.

use sigap_shared::wire::Receipt;

use crate::error::Result;
use crate::store::{self, Store, key, outbox};

/// Requeues every answered change numbered above what the server holds;
/// how many.
pub fn resend(store: &mut Store, receipt: &Receipt) -> Result<u64> {
    let held = i64::try_from(receipt.max_seq).unwrap_or(i64::MAX);
    let lost = outbox::answered_after(&store.conn, held)?;
    if lost.is_empty() {
        return Ok(0);
    }
    let tx = store.conn.transaction()?;
    outbox::requeue(&tx, &lost)?;
    store::set(&tx, key::PULL_CURSOR, "0")?;
    tx.commit()?;
    Ok(lost.len() as u64)
}
