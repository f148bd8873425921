//! Which stripe of the covered counters a write transaction adds to.
//!
//! Every push adds to the counters of the city, its kecamatan and
//! kelurahan. With one row per count, concurrent pushes queued on those
//! rows, each until the one before had committed: 200 agents pushing at
//! once took 7.9 s on PostgreSQL, 3.6 s with stripes (BENCHMARKS.md).
//! A count is the sum of its stripes, and each transaction of this
//! process adds to a stripe no other of its transactions holds. The
//! lowest free one is given, so a server written to one push at a time
//! keeps every count in stripe 0. Two servers on one database hand out
//! the same numbers: their transactions may still meet on a row, and
//! then wait as before.

use std::sync::Mutex;

/// The stripes one process hands out: one per pooled connection.
pub(super) struct Stripes {
    /// Bit `n` set: stripe `n` is held.
    held: Mutex<u64>,
    count: u32,
}

/// A stripe, held until dropped.
pub(super) struct Stripe<'a> {
    stripes: &'a Stripes,
    id: Option<u32>,
}

impl Stripes {
    /// `count` stripes (at most 64: one per connection of the pool).
    pub(super) fn new(count: usize) -> Stripes {
        Stripes {
            held: Mutex::new(0),
            count: u32::try_from(count.clamp(1, 64)).unwrap_or(64),
        }
    }

    /// The lowest free stripe. When all are held (more transactions than
    /// connections, which the pool does not allow) stripe 0 is shared:
    /// the transactions then wait for each other, as without stripes.
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
        self.id.and_then(|n| i16::try_from(n).ok()).unwrap_or(0)
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
        let stripes = Stripes::new(3);
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
    }
}
