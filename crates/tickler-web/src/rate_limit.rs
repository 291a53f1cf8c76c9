//! A per-address limit on the public pages (the customer's answer links), which anyone on
//! the internet can reach: a fixed one-minute window per client address, kept in memory.
//! Each instance counts for itself; behind a load balancer the limit is per instance.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Addresses remembered at most; beyond this, windows that have ended are forgotten.
const MAX_TRACKED: usize = 10_000;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: per_minute.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `client` at `now`; false when it is over the limit.
    pub fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let Ok(mut windows) = self.windows.lock() else {
            // A panic while counting poisoned the lock: serving beats refusing everyone.
            return true;
        };
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_quota_per_minute_and_others_are_not_affected() {
        let limiter = RateLimiter::new(3);
        let start = Instant::now();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert!((0..3).all(|_| limiter.allow(a, start)));
        assert!(!limiter.allow(a, start + Duration::from_secs(59)));
        assert!(limiter.allow(b, start));
        assert!(limiter.allow(a, start + WINDOW));
    }

    #[test]
    fn old_windows_are_forgotten_when_too_many_addresses_are_tracked() {
        let limiter = RateLimiter::new(1);
        let start = Instant::now();
        for i in 0..MAX_TRACKED as u32 {
            limiter.allow(IpAddr::from(i.to_be_bytes()), start);
        }
        let later = start + WINDOW;
        assert!(limiter.allow([203, 0, 113, 9].into(), later));
        assert!(limiter.windows.lock().expect("lock").len() <= 2);
    }
}
