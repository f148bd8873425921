//! Hybrid logical clock: wall-clock milliseconds, a counter for events in
//! the same millisecond (or while the wall clock lags a remote one), and the
//! device id as the final tie-breaker. Timestamps are totally ordered and a
//! device never issues the same one twice.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One timestamp. Ordered by `millis`, then `counter`, then `device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
    pub device: Uuid,
}

/// Milliseconds since the Unix epoch by the system clock (0 if the clock is
/// before 1970).
pub fn wall_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Hlc {
    /// The smallest timestamp of a device, before any event.
    pub fn zero(device: Uuid) -> Hlc {
        Hlc {
            millis: 0,
            counter: 0,
            device,
        }
    }

    /// A fixed-width text form that sorts like the timestamp, for storage
    /// in SQL columns: `0001732550400000-0000000000-<uuid>`.
    pub fn to_sortable(&self) -> String {
        let mut out = String::with_capacity(64);
        crate::digits::push_padded(&mut out, self.millis, 16);
        out.push('-');
        crate::digits::push_padded(&mut out, u64::from(self.counter), 10);
        out.push('-');
        let mut uuid = Uuid::encode_buffer();
        out.push_str(self.device.as_hyphenated().encode_lower(&mut uuid));
        out
    }

    /// Reads [`Hlc::to_sortable`] back.
    pub fn from_sortable(text: &str) -> Option<Hlc> {
        let (millis, rest) = text.split_once('-')?;
        let (counter, device) = rest.split_once('-')?;
        Some(Hlc {
            millis: millis.parse().ok()?,
            counter: counter.parse().ok()?,
            device: Uuid::parse_str(device).ok()?,
        })
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sortable())
    }
}

/// The clock of one device. Keep `last` durable between runs (the CLI stores
/// it in its database) so that timestamps keep rising across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    /// A clock for `device` that has issued nothing yet.
    pub fn new(device: Uuid) -> HlcClock {
        HlcClock {
            last: Hlc::zero(device),
        }
    }

    /// A clock resuming after `last`, which it will never repeat.
    pub fn resume(last: Hlc) -> HlcClock {
        HlcClock { last }
    }

    /// The latest timestamp issued or observed.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A new timestamp for a local event, by the system clock.
    pub fn now(&mut self) -> Hlc {
        self.now_at(wall_millis())
    }

    /// A new timestamp for a local event at wall time `wall`.
    pub fn now_at(&mut self, wall: u64) -> Hlc {
        let device = self.last.device;
        self.last = if wall > self.last.millis {
            Hlc {
                millis: wall,
                counter: 0,
                device,
            }
        } else {
            Hlc {
                millis: self.last.millis,
                counter: self.last.counter.saturating_add(1),
                device,
            }
        };
        self.last
    }

    /// Takes a remote timestamp into account, by the system clock, so that
    /// every later local event sorts after it.
    pub fn update(&mut self, remote: &Hlc) -> Hlc {
        self.update_at(remote, wall_millis())
    }

    /// [`HlcClock::update`] at wall time `wall`.
    pub fn update_at(&mut self, remote: &Hlc, wall: u64) -> Hlc {
        let device = self.last.device;
        let millis = wall.max(self.last.millis).max(remote.millis);
        let counter = if millis == self.last.millis && millis == remote.millis {
            self.last.counter.max(remote.counter).saturating_add(1)
        } else if millis == self.last.millis {
            self.last.counter.saturating_add(1)
        } else if millis == remote.millis {
            remote.counter.saturating_add(1)
        } else {
            0
        };
        self.last = Hlc {
            millis,
            counter,
            device,
        };
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dev(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn same_millisecond_events_count_up() {
        let mut c = HlcClock::new(dev(1));
        let a = c.now_at(1000);
        let b = c.now_at(1000);
        let later = c.now_at(999); // wall clock went back
        assert!(a < b && b < later);
        assert_eq!((later.millis, later.counter), (1000, 2));
        assert_eq!(c.now_at(2000).counter, 0);
    }

    #[test]
    fn update_moves_past_a_remote_clock_ahead_of_ours() {
        let mut c = HlcClock::new(dev(1));
        c.now_at(1000);
        let remote = Hlc {
            millis: 5000,
            counter: 7,
            device: dev(2),
        };
        let seen = c.update_at(&remote, 1001);
        assert!(seen > remote);
        assert!(c.now_at(1002) > remote);
    }

    #[test]
    fn device_breaks_ties() {
        let a = Hlc {
            millis: 1,
            counter: 0,
            device: dev(1),
        };
        let b = Hlc {
            millis: 1,
            counter: 0,
            device: dev(2),
        };
        assert!(a < b);
    }

    #[test]
    fn real_clock_is_monotonic() {
        let mut c = HlcClock::new(dev(9));
        let a = c.now();
        let b = c.now();
        assert!(a < b);
        assert!(a.millis > 1_700_000_000_000);
    }

    proptest! {
        #[test]
        fn sortable_text_sorts_like_the_timestamp(
            m1 in 0u64..10_000_000_000_000, c1 in any::<u32>(), d1 in any::<u128>(),
            m2 in 0u64..10_000_000_000_000, c2 in any::<u32>(), d2 in any::<u128>(),
        ) {
            let a = Hlc { millis: m1, counter: c1, device: dev(d1) };
            let b = Hlc { millis: m2, counter: c2, device: dev(d2) };
            prop_assert_eq!(a.cmp(&b), a.to_sortable().cmp(&b.to_sortable()));
            prop_assert_eq!(Hlc::from_sortable(&a.to_sortable()), Some(a));
        }

        #[test]
        fn a_clock_never_goes_back(walls in proptest::collection::vec(0u64..1_000_000, 1..50),
                                   remote in 0u64..2_000_000) {
            let mut c = HlcClock::new(dev(3));
            let mut prev = c.last();
            for (i, w) in walls.iter().enumerate() {
                let next = if i % 5 == 4 {
                    c.update_at(&Hlc { millis: remote, counter: 0, device: dev(4) }, *w)
                } else {
                    c.now_at(*w)
                };
                prop_assert!(next > prev);
                prev = next;
            }
        }
    }
}
