//! Retry timing for transient delivery failures. HELPER: implement and test.

use jiff::SignedDuration;

/// Capped exponential backoff with jitter, and a limit after which a transient failure is
/// treated as permanent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: SignedDuration,
    pub cap: SignedDuration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: SignedDuration::from_secs(60),
            cap: SignedDuration::from_secs(3600),
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1 = the first try): base * 2^(attempt-1),
    /// capped, then scaled by a jitter factor in [0.5, 1.0] taken from `jitter` in [0, 1].
    pub fn delay(&self, attempt: u32, jitter: f64) -> SignedDuration {
        let _ = (attempt, jitter);
        todo!("helper")
    }

    /// Whether `attempt` was the last one allowed.
    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts
    }
}
