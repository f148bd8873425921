//! Which stripe of the covered counters a write transaction adds to.
//!
//! Every push adds to the counters of the city, its kecamatan and
//! kelurahan. With one row per count, concurrent pushes queued on those
//! rows, each until the one before had committed: 200 agents pushing at
//! once took 7.9 s on PostgreSQL, 3.6 s with stripes (BENCHMARKS.md).
//! A count is the sum of its stripes, and each transaction of this
//! process adds to a stripe no other of its transactions holds. The
//! lowest free one is given, so a server written to one push at a time
//! keeps every count in stripe 0. Each server on a schema claims a block
//! of stripes of its own (an advisory lock held by a connection kept for
//! the purpose), so two servers' transactions do not meet on a row
//! either; a fifth server shares block 0, and waits as before.

use std::sync::Mutex;

use crate::store::StoreError;

/// How many blocks of stripes the servers on one schema can claim.
const BLOCKS: i32 = 4;

/// Claims the lowest block of stripes no other server on `schema` holds,
/// with a session advisory lock on `client`: the claim lasts as long as
/// that connection. Block 0 when every block is held.
pub(super) async fn claim_block(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<u32, StoreError> {
    let space = schema_key(schema);
    for block in 0..BLOCKS {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&space, &block])
            .await?
            .try_get(0)?;
        if got {
            return Ok(u32::try_from(block).unwrap_or(0));
        }
    }
    Ok(0)
}

/// The advisory lock space of a schema's stripe blocks (FNV-1a of its
/// name): servers of other schemas in the same database claim apart.
fn schema_key(schema: &str) -> i32 {
    let hash = schema.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// The stripes one process hands out: one per pooled connection.
pub(super) struct Stripes {
    /// Bit `n` set: the block's stripe `n` is held.
    held: Mutex<u64>,
    count: u32,
    /// The number of the block's first stripe.
    first: u32,
}

/// A stripe, held until dropped.
pub(super) struct Stripe<'a> {
    stripes: &'a Stripes,
    id: Option<u32>,
}

impl Stripes {
    /// Block `block` of `count` stripes (at most 64: one per connection
    /// of the pool).
    pub(super) fn new(count: usize, block: u32) -> Stripes {
        let count = u32::try_from(count.clamp(1, 64)).unwrap_or(64);
        Stripes {
            held: Mutex::new(0),
            count,
            first: block.saturating_mul(count),
        }
    }

    /// The block's lowest free stripe. When all are held (more
    /// transactions than connections, which the pool does not allow) the
    /// block's first is shared: the transactions then wait for each
    /// other, as without stripes.
    pub(super) fn take(&self) -> Stripe<'_> {
        let id = self.held.lock().ok().and_then(|mut held| {
            let free = (0..self.count).find(|n| *held & (1u64 << n) == 0)?;
            *held |= 1u64 << free;
            Some(free)
        });
        Stripe { stripes: self, id }
    }
}

impl Stripe<'_> {
    /// The stripe's number in the `counters` table.
    pub(super) fn id(&self) -> i16 {
        let n = self.stripes.first + self.id.unwrap_or(0);
        i16::try_from(n).unwrap_or(0)
    }
}

impl Drop for Stripe<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.id
            && let Ok(mut held) = self.stripes.held.lock()
        {
            *held &= !(1u64 << n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_free_stripe_is_given_and_given_back() {
        let stripes = Stripes::new(3, 0);
        let a = stripes.take();
        let b = stripes.take();
        assert_eq!((a.id(), b.id()), (0, 1));
        drop(a);
        // One push at a time: always stripe 0.
        assert_eq!(stripes.take().id(), 0);
        let c = stripes.take();
        let d = stripes.take();
        assert_eq!((c.id(), d.id()), (0, 2));
        // All held: stripe 0 is shared rather than none given.
        let e = stripes.take();
        assert_eq!(e.id(), 0);
        drop(e);
        drop(d);
        assert_eq!(stripes.take().id(), 2);
        // Another block: the same hand-out, numbered from its start.
        let block = Stripes::new(16, 2);
        let (a, b) = (block.take(), block.take());
        assert_eq!((a.id(), b.id()), (32, 33));
    }

    #[test]
    fn schemas_claim_blocks_in_spaces_of_their_own() {
        assert_ne!(schema_key("public"), schema_key("jateng"));
        assert_eq!(schema_key("jateng"), schema_key("jateng"));
    }
}
