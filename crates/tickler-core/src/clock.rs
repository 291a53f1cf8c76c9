use jiff::Timestamp;

/// "Now", injected so that the dispatcher and tests can run as of any instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock stopped at one instant: `dispatch --once --now INSTANT` and tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The wall clock moved to start at another instant, then running at the normal pace: a
/// long-running `dispatch --now INSTANT`, where retries and leases must still come due.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    offset: jiff::SignedDuration,
}

impl ShiftedClock {
    /// A clock whose now is `start` at the moment of this call.
    pub fn starting_at(start: Timestamp) -> ShiftedClock {
        ShiftedClock {
            offset: Timestamp::now().duration_until(start),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        let real = Timestamp::now();
        real.saturating_add(self.offset).unwrap_or(real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_starts_at_its_instant_and_runs_on() {
        let start: Timestamp = "2027-05-02T12:00:00Z".parse().unwrap();
        let clock = ShiftedClock::starting_at(start);
        let first = clock.now();
        assert!(first >= start);
        assert!(first.duration_since(start) < jiff::SignedDuration::from_secs(5));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(clock.now() > first);
    }
}
