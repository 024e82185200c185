//! Per-client rate limits: how many messages of a kind a client may send, and when a
//! client that keeps sending too many is closed as a flooder.
//!
//! Two GCRA limiters (the `governor` crate) per kind. The first lets a message through at
//! the configured rate with the configured burst; a message beyond it is dropped. The
//! second counts those drops: it lets them through at a quarter of the rate with the same
//! burst, so a client that goes a little over now and then only loses the excess, while one
//! that keeps sending well over the rate (at twice the rate, for instance) runs out within
//! about a second and a half and is closed. A dropped message is not answered: a reply
//! would only give a flooder more to make us send.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// A rate and a burst, in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Messages per second, on average.
    pub per_second: u32,
    /// Messages allowed at once above the rate.
    pub burst: u32,
}

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: handle it.
    Allow,
    /// Over the limit: drop it and count it.
    Drop,
    /// Over the limit for too long: close the connection.
    Flooding,
}

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// One kind of message's limit for one client.
pub struct FloodGuard<C: Clock = DefaultClock> {
    allowed: Limiter<C>,
    tolerated_drops: Limiter<C>,
}

impl<C: Clock> std::fmt::Debug for FloodGuard<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloodGuard").finish_non_exhaustive()
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl FloodGuard<DefaultClock> {
    /// A guard on the system's monotonic clock.
    pub fn new(limit: Limit) -> Self {
        Self::with_clock(limit, DefaultClock::default())
    }
}

impl<C: Clock + Clone> FloodGuard<C> {
    /// A guard that reads the time from `clock`.
    pub fn with_clock(limit: Limit, clock: C) -> Self {
        let burst = nonzero(limit.burst);
        let allowed = Quota::per_second(nonzero(limit.per_second)).allow_burst(burst);
        // One tolerated drop every 4/rate seconds; the rate is at least 1, so the period is
        // at most 4 s and never zero.
        let drop_period = Duration::from_secs_f64(4.0 / f64::from(limit.per_second.max(1)));
        let tolerated = Quota::with_period(drop_period)
            .unwrap_or(Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            allowed: RateLimiter::direct_with_clock(allowed, clock.clone()),
            tolerated_drops: RateLimiter::direct_with_clock(tolerated, clock),
        }
    }

    /// Decides about one message arriving now.
    pub fn check(&self) -> Verdict {
        if self.allowed.check().is_ok() {
            Verdict::Allow
        } else if self.tolerated_drops.check().is_ok() {
            Verdict::Drop
        } else {
            Verdict::Flooding
        }
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    const LIMIT: Limit = Limit {
        per_second: 100,
        burst: 50,
    };

    /// Sends `per_second` messages a second for `seconds`, evenly spaced; returns the
    /// verdicts' counts and when the first `Flooding` came, in messages.
    fn send(
        guard: &FloodGuard<FakeRelativeClock>,
        clock: &FakeRelativeClock,
        per_second: u32,
        seconds: u32,
    ) -> (u32, u32, Option<u32>) {
        let (mut allowed, mut dropped, mut flooding_at) = (0, 0, None);
        let step = Duration::from_secs(1) / per_second;
        for i in 0..per_second * seconds {
            clock.advance(step);
            match guard.check() {
                Verdict::Allow => allowed += 1,
                Verdict::Drop => dropped += 1,
                Verdict::Flooding => {
                    flooding_at.get_or_insert(i);
                }
            }
        }
        (allowed, dropped, flooding_at)
    }

    #[test]
    fn a_client_within_the_rate_loses_nothing() {
        let clock = FakeRelativeClock::default();
        let guard = FloodGuard::with_clock(LIMIT, clock.clone());
        assert_eq!(send(&guard, &clock, 100, 10), (1000, 0, None));
    }

    #[test]
    fn a_burst_is_allowed_then_the_excess_is_dropped() {
        let clock = FakeRelativeClock::default();
        let guard = FloodGuard::with_clock(LIMIT, clock.clone());
        // All at one instant: the burst passes, the next ones are dropped, not yet flooding.
        let verdicts: Vec<Verdict> = (0..60).map(|_| guard.check()).collect();
        assert!(
            verdicts[..50].iter().all(|v| *v == Verdict::Allow),
            "{verdicts:?}"
        );
        assert!(
            verdicts[50..].iter().all(|v| *v == Verdict::Drop),
            "{verdicts:?}"
        );
        // A second later the bucket has refilled.
        clock.advance(Duration::from_secs(1));
        assert_eq!(guard.check(), Verdict::Allow);
    }

    #[test]
    fn slightly_over_the_rate_only_loses_the_excess() {
        let clock = FakeRelativeClock::default();
        let guard = FloodGuard::with_clock(LIMIT, clock.clone());
        // 110 a second: 10 dropped a second, under the 25 a second tolerated.
        let (allowed, dropped, flooding_at) = send(&guard, &clock, 110, 20);
        assert_eq!(flooding_at, None);
        assert!(dropped > 0 && allowed >= 100 * 20, "{allowed} {dropped}");
    }

    #[test]
    fn a_sustained_flood_is_closed_within_two_seconds() {
        let clock = FakeRelativeClock::default();
        let guard = FloodGuard::with_clock(LIMIT, clock.clone());
        // Twice the rate: drops come at 100 a second, tolerated at 25 a second, so the
        // 50 tolerated at once run out after about two thirds of a second of drops.
        let (_, _, flooding_at) = send(&guard, &clock, 200, 3);
        let at = flooding_at.expect("a flooder is found");
        assert!((100..400).contains(&at), "flooding found at message {at}");
    }
}
