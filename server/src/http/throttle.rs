//! Failed sign-ins counted per client address.
//!
//! Tokens are 256-bit random, so guessing one is hopeless; the limit is
//! there so that a misconfigured script or a scanner cannot make the
//! server hash and look up tokens as fast as it can send, and so that the
//! log shows one line per burst instead of thousands. Only failures count:
//! an office behind one NAT address with many agents syncing at once is
//! never slowed down by its own successful requests.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed authentications allowed per address and window by default.
pub const DEFAULT_FAILURES_PER_WINDOW: u32 = 20;
/// The window the failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; beyond that the oldest windows are
/// dropped so that a flood from many addresses cannot grow the map.
const MAX_TRACKED: usize = 100_000;

/// Counts failures per address in fixed windows.
#[derive(Debug)]
pub struct AuthThrottle {
    limit: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        AuthThrottle::new(DEFAULT_FAILURES_PER_WINDOW)
    }
}

impl AuthThrottle {
    /// `limit` failures per minute per address; 0 turns the limit off.
    pub fn new(limit: u32) -> AuthThrottle {
        AuthThrottle {
            limit,
            windows: Mutex::default(),
        }
    }

    /// `Some(wait)` when `addr` has used up its failures in the current
    /// window: how long until it may try again.
    pub fn blocked(&self, addr: IpAddr, now: Instant) -> Option<Duration> {
        if self.limit == 0 {
            return None;
        }
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let (start, count) = *windows.get(&addr)?;
        let age = now.saturating_duration_since(start);
        (age < WINDOW && count >= self.limit).then(|| WINDOW - age)
    }

    /// Records one failed authentication from `addr`.
    pub fn failed(&self, addr: IpAddr, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&addr) {
            windows.retain(|_, (start, _)| now.saturating_duration_since(*start) < WINDOW);
            if windows.len() >= MAX_TRACKED {
                windows.clear();
            }
        }
        let entry = windows.entry(addr).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let t = AuthThrottle::new(3);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(t.blocked(ip(1), start), None);
            t.failed(ip(1), start);
        }
        let wait = t.blocked(ip(1), start + Duration::from_secs(10));
        assert_eq!(wait, Some(Duration::from_secs(50)));
        // Another address is not affected.
        assert_eq!(t.blocked(ip(2), start), None);
        // A new window starts afresh.
        let later = start + WINDOW;
        assert_eq!(t.blocked(ip(1), later), None);
        t.failed(ip(1), later);
        assert_eq!(t.blocked(ip(1), later), None);
    }

    #[test]
    fn zero_turns_it_off() {
        let t = AuthThrottle::new(0);
        let now = Instant::now();
        for _ in 0..100 {
            t.failed(ip(1), now);
        }
        assert_eq!(t.blocked(ip(1), now), None);
    }
}
