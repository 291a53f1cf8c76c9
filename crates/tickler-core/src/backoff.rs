//! Retry timing for transient delivery failures.

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
    ///
    /// Attempt 0 counts as 1; a jitter outside [0, 1] is clamped and NaN counts as 1 (the
    /// full wait), so a bad random source can never make retries hammer the server. A
    /// negative base or cap counts as zero.
    pub fn delay(&self, attempt: u32, jitter: f64) -> SignedDuration {
        let base = self.base.max(SignedDuration::ZERO);
        let cap = self.cap.max(SignedDuration::ZERO);
        let mut wait = base.min(cap);
        // Doubling stops at the cap, so this runs at most ~100 times even for attempt u32::MAX.
        for _ in 1..attempt {
            if wait >= cap || wait.is_zero() {
                break;
            }
            wait = wait.checked_mul(2).unwrap_or(cap).min(cap);
        }
        let jitter = if jitter.is_nan() {
            1.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        let factor = 0.5 + 0.5 * jitter;
        // In nanoseconds so that short waits keep their precision; the float product may round
        // up past `wait`, hence the clamp back to it.
        let nanos = ((wait.as_nanos() as f64 * factor) as i128).min(wait.as_nanos());
        SignedDuration::try_from_nanos_i128(nanos).unwrap_or(wait)
    }

    /// Whether `attempt` was the last one allowed.
    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn secs(s: i64) -> SignedDuration {
        SignedDuration::from_secs(s)
    }

    #[test]
    fn doubles_from_the_base_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let waits: Vec<i64> = (1..=8).map(|a| policy.delay(a, 1.0).as_secs()).collect();
        assert_eq!(waits, vec![60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }

    #[test]
    fn jitter_scales_between_half_and_full() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, 0.0), secs(30));
        assert_eq!(policy.delay(1, 0.5), secs(45));
        assert_eq!(policy.delay(1, 1.0), secs(60));
        assert_eq!(policy.delay(20, 0.0), secs(1800));
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(2, -3.0), secs(60));
        assert_eq!(policy.delay(2, 7.0), secs(120));
        assert_eq!(policy.delay(2, f64::NEG_INFINITY), secs(60));
        assert_eq!(policy.delay(2, f64::INFINITY), secs(120));
        assert_eq!(policy.delay(2, f64::NAN), secs(120));
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(u32::MAX, 1.0), secs(3600));
        let unbounded = RetryPolicy {
            base: SignedDuration::from_nanos(1),
            cap: SignedDuration::MAX,
            max_attempts: u32::MAX,
        };
        assert_eq!(unbounded.delay(u32::MAX, 1.0), SignedDuration::MAX);
        assert!(unbounded.delay(u32::MAX, 0.0) > SignedDuration::ZERO);
        assert_eq!(unbounded.delay(11, 1.0), SignedDuration::from_nanos(1024));
    }

    #[test]
    fn attempt_zero_counts_as_the_first() {
        assert_eq!(RetryPolicy::default().delay(0, 1.0), secs(60));
    }

    #[test]
    fn odd_policies_stay_sane() {
        let zero = RetryPolicy {
            base: SignedDuration::ZERO,
            cap: secs(60),
            max_attempts: 3,
        };
        assert_eq!(zero.delay(u32::MAX, 1.0), SignedDuration::ZERO);
        let base_over_cap = RetryPolicy {
            base: secs(600),
            cap: secs(60),
            max_attempts: 3,
        };
        assert_eq!(base_over_cap.delay(1, 1.0), secs(60));
        let negative = RetryPolicy {
            base: secs(-5),
            cap: secs(-1),
            max_attempts: 3,
        };
        assert_eq!(negative.delay(4, 1.0), SignedDuration::ZERO);
    }

    #[test]
    fn exhausted_after_the_last_allowed_attempt() {
        let policy = RetryPolicy::default();
        assert!(!policy.exhausted(11));
        assert!(policy.exhausted(12));
        assert!(policy.exhausted(13));
    }

    proptest! {
        #[test]
        fn delays_stay_within_half_and_full_of_the_capped_wait(
            base_ms in 1i64..100_000,
            cap_ms in 1i64..10_000_000,
            attempt in any::<u32>(),
            jitter in any::<f64>(),
        ) {
            let policy = RetryPolicy {
                base: SignedDuration::from_millis(base_ms),
                cap: SignedDuration::from_millis(cap_ms),
                max_attempts: 10,
            };
            let full = policy.delay(attempt, 1.0);
            let d = policy.delay(attempt, jitter);
            prop_assert!(full <= policy.cap);
            prop_assert!(d <= full);
            prop_assert!(d.as_nanos() * 2 >= full.as_nanos() - 1);
        }

        #[test]
        fn delays_never_shrink_as_attempts_grow(attempt in 1u32..200, jitter in 0.0f64..=1.0) {
            let policy = RetryPolicy::default();
            prop_assert!(policy.delay(attempt + 1, jitter) >= policy.delay(attempt, jitter));
        }
    }
}
