//! How long a login attempt must wait after failed ones, so that guessing passwords is slow
//! while the team's own logins stay quick.
//!
//! Failures are counted per client address, per account, and per (account, client) pair.
//! A client's own failures delay it, growing with each one, whatever account it tries. An
//! account's failures delay only clients that have failed on that account themselves: an
//! attacker hammering the admin's account slows themselves and fellow guessers, never the
//! admin logging in from a clean address. A delay is served by waiting when it is short, and
//! refused (429) when it is long; since every attempt counts, an attacker who keeps trying
//! only keeps themselves out.

use jiff::{SignedDuration, Timestamp};

/// Failures that cost nothing: typos happen.
pub const FREE_FAILURES: u32 = 5;
/// The longest delay, however many failures.
pub const MAX_DELAY: SignedDuration = SignedDuration::from_secs(15 * 60);
/// A delay up to this long is served by waiting before the check; a longer one is refused.
pub const MAX_WAIT: SignedDuration = SignedDuration::from_secs(2);

/// Failed attempts of one key within the throttle window, before the attempt in hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub count: u32,
    /// When the last of them was counted.
    pub last_at: Option<Timestamp>,
}

/// What to do with a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Check the password, after waiting this long (zero for a client in good standing).
    Check { wait: SignedDuration },
    /// Refuse without a look at the password; trying again after this long may be checked.
    Refuse { retry_after: SignedDuration },
}

/// The delay owed after `failures` failures: none for the first [`FREE_FAILURES`], then one
/// second doubling with each further failure, up to [`MAX_DELAY`].
pub fn delay_after(failures: u32) -> SignedDuration {
    let Some(over) = failures.checked_sub(FREE_FAILURES) else {
        return SignedDuration::ZERO;
    };
    let seconds = 1i64.checked_shl(over.min(62)).unwrap_or(i64::MAX);
    SignedDuration::from_secs(seconds).min(MAX_DELAY)
}

/// The failures that bear on an attempt by a client on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    /// This client's failures, on any account.
    pub client: Failures,
    /// This account's failures, from any client.
    pub account: Failures,
    /// This client's failures on this account.
    pub pair: Failures,
}

/// Whether and when an attempt at `now` is checked.
pub fn admit(standing: Standing, now: Timestamp) -> Admission {
    let owed = |failures: Failures| match failures.last_at {
        // A failure stamped later than now (another instance's clock) counts as now.
        Some(last) => {
            let since = last.duration_until(now).max(SignedDuration::ZERO);
            (delay_after(failures.count) - since).max(SignedDuration::ZERO)
        }
        None => SignedDuration::ZERO,
    };
    let mut remaining = owed(standing.client);
    if standing.pair.count > 0 {
        remaining = remaining.max(owed(standing.account));
    }
    if remaining <= MAX_WAIT {
        Admission::Check { wait: remaining }
    } else {
        Admission::Refuse {
            retry_after: remaining,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn failures(count: u32, last: i64) -> Failures {
        Failures {
            count,
            last_at: Some(at(last)),
        }
    }

    #[test]
    fn delays_grow_from_the_sixth_failure_and_stop_growing() {
        let seconds: Vec<i64> = (0..12).map(|n| delay_after(n).as_secs()).collect();
        assert_eq!(seconds, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64]);
        assert_eq!(delay_after(40), MAX_DELAY);
        assert_eq!(delay_after(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn short_delays_are_waited_and_long_ones_refused() {
        let now = at(0);
        let client = |count| Standing {
            client: failures(count, 0),
            ..Standing::default()
        };
        assert_eq!(
            admit(client(4), now),
            Admission::Check {
                wait: SignedDuration::ZERO
            }
        );
        assert_eq!(
            admit(client(5), now),
            Admission::Check {
                wait: SignedDuration::from_secs(1)
            }
        );
        assert_eq!(admit(client(6), now), Admission::Check { wait: MAX_WAIT });
        assert_eq!(
            admit(client(7), now),
            Admission::Refuse {
                retry_after: SignedDuration::from_secs(4)
            }
        );
        // Once the delay has passed, the attempt is checked at once.
        assert_eq!(
            admit(client(7), at(4)),
            Admission::Check {
                wait: SignedDuration::ZERO
            }
        );
    }

    #[test]
    fn an_attacked_account_slows_only_clients_that_failed_on_it() {
        let hammered = failures(500, 0);
        let clean = Standing {
            account: hammered,
            ..Standing::default()
        };
        assert_eq!(
            admit(clean, at(0)),
            Admission::Check {
                wait: SignedDuration::ZERO
            }
        );
        let guesser = Standing {
            account: hammered,
            client: failures(1, 0),
            pair: failures(1, 0),
        };
        assert_eq!(
            admit(guesser, at(0)),
            Admission::Refuse {
                retry_after: MAX_DELAY
            }
        );
    }

    proptest! {
        #[test]
        fn more_failures_never_mean_a_shorter_delay(n in 0u32..200) {
            prop_assert!(delay_after(n) <= delay_after(n + 1));
            prop_assert!(delay_after(n) <= MAX_DELAY);
        }

        #[test]
        fn a_client_that_has_not_failed_is_checked_at_once(
            account in 0u32..10_000, last in -1000i64..1000, now in -1000i64..1000,
        ) {
            let standing = Standing { account: failures(account, last), ..Standing::default() };
            prop_assert_eq!(admit(standing, at(now)), Admission::Check { wait: SignedDuration::ZERO });
        }

        #[test]
        fn waiting_never_makes_an_attempt_worse_and_the_delay_ends(
            client in 0u32..100, account in 0u32..100, pair in 0u32..5,
            ago in 0i64..2000, now in -1000i64..1000, later in 0i64..2000,
        ) {
            let last = now - ago;
            let standing = Standing {
                client: failures(client, last),
                account: failures(account, last),
                pair: failures(pair, last),
            };
            let owed = |a: Admission| match a {
                Admission::Check { wait } => wait,
                Admission::Refuse { retry_after } => retry_after,
            };
            let first = owed(admit(standing, at(now)));
            let second = owed(admit(standing, at(now + later)));
            prop_assert!(second <= first);
            prop_assert!(first <= MAX_DELAY);
            prop_assert_eq!(
                admit(standing, at(now) + first),
                Admission::Check { wait: SignedDuration::ZERO }
            );
        }
    }
}
