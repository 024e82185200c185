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
use std::time::{Duration, Instant};

use governor::clock::FakeRelativeClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
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

type Limiter = RateLimiter<NotKeyed, InMemoryState, FakeRelativeClock, NoOpMiddleware<Nanos>>;

/// One kind of message's limit for one client, on the caller's clock.
///
/// The limiters read a [`FakeRelativeClock`] that [`FloodGuard::check`] moves forward to
/// the time it is given, so the guard never reads a clock of its own: a room decides at the
/// tick's time, and a test decides at whatever time it says.
pub struct FloodGuard {
    allowed: Limiter,
    tolerated_drops: Limiter,
    clock: FakeRelativeClock,
    /// The time the clock started at, and how far it has been moved since.
    origin: Instant,
    elapsed: Duration,
}

impl std::fmt::Debug for FloodGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloodGuard").finish_non_exhaustive()
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl FloodGuard {
    /// A guard with a full bucket at `now`.
    pub fn new(limit: Limit, now: Instant) -> Self {
        let burst = nonzero(limit.burst);
        let allowed = Quota::per_second(nonzero(limit.per_second)).allow_burst(burst);
        // One tolerated drop every 4/rate seconds; the rate is at least 1, so the period is
        // at most 4 s and never zero.
        let drop_period = Duration::from_secs_f64(4.0 / f64::from(limit.per_second.max(1)));
        let tolerated = Quota::with_period(drop_period)
            .unwrap_or(Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        let clock = FakeRelativeClock::default();
        Self {
            allowed: RateLimiter::direct_with_clock(allowed, clock.clone()),
            tolerated_drops: RateLimiter::direct_with_clock(tolerated, clock.clone()),
            clock,
            origin: now,
            elapsed: Duration::ZERO,
        }
    }

    /// Decides about one message arriving at `now`. Time never runs backwards for the
    /// guard: an earlier `now` than one seen before counts as that one.
    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.origin);
        if elapsed > self.elapsed {
            self.clock.advance(elapsed - self.elapsed);
            self.elapsed = elapsed;
        }
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
    use super::*;

    const LIMIT: Limit = Limit {
        per_second: 100,
        burst: 50,
    };

    /// Sends `per_second` messages a second for `seconds`, evenly spaced from `t0`; returns
    /// the verdicts' counts and when the first `Flooding` came, in messages.
    fn send(
        guard: &mut FloodGuard,
        t0: Instant,
        per_second: u32,
        seconds: u32,
    ) -> (u32, u32, Option<u32>) {
        let (mut allowed, mut dropped, mut flooding_at) = (0, 0, None);
        let step = Duration::from_secs(1) / per_second;
        for i in 0..per_second * seconds {
            match guard.check(t0 + step * (i + 1)) {
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
        let t0 = Instant::now();
        let mut guard = FloodGuard::new(LIMIT, t0);
        assert_eq!(send(&mut guard, t0, 100, 10), (1000, 0, None));
    }

    #[test]
    fn a_burst_is_allowed_then_the_excess_is_dropped() {
        let t0 = Instant::now();
        let mut guard = FloodGuard::new(LIMIT, t0);
        // All at one instant: the burst passes, the next ones are dropped, not yet flooding.
        let verdicts: Vec<Verdict> = (0..60).map(|_| guard.check(t0)).collect();
        assert!(
            verdicts[..50].iter().all(|v| *v == Verdict::Allow),
            "{verdicts:?}"
        );
        assert!(
            verdicts[50..].iter().all(|v| *v == Verdict::Drop),
            "{verdicts:?}"
        );
        // A second later the bucket has refilled.
        assert_eq!(guard.check(t0 + Duration::from_secs(1)), Verdict::Allow);
    }

    #[test]
    fn slightly_over_the_rate_only_loses_the_excess() {
        let t0 = Instant::now();
        let mut guard = FloodGuard::new(LIMIT, t0);
        // 110 a second: 10 dropped a second, under the 25 a second tolerated.
        let (allowed, dropped, flooding_at) = send(&mut guard, t0, 110, 20);
        assert_eq!(flooding_at, None);
        assert!(dropped > 0 && allowed >= 100 * 20, "{allowed} {dropped}");
    }

    #[test]
    fn a_sustained_flood_is_closed_within_two_seconds() {
        let t0 = Instant::now();
        let mut guard = FloodGuard::new(LIMIT, t0);
        // Twice the rate: drops come at 100 a second, tolerated at 25 a second, so the
        // 50 tolerated at once run out after about two thirds of a second of drops.
        let (_, _, flooding_at) = send(&mut guard, t0, 200, 3);
        let at = flooding_at.expect("a flooder is found");
        assert!((100..400).contains(&at), "flooding found at message {at}");
    }

    #[test]
    fn an_earlier_time_than_one_seen_counts_as_that_one() {
        let t0 = Instant::now();
        let mut guard = FloodGuard::new(
            Limit {
                per_second: 1,
                burst: 1,
            },
            t0,
        );
        let later = t0 + Duration::from_secs(10);
        assert_eq!(guard.check(later), Verdict::Allow);
        // Going back does not refill the bucket, nor fail.
        assert_eq!(guard.check(t0), Verdict::Drop);
        assert_eq!(guard.check(later + Duration::from_secs(1)), Verdict::Allow);
    }
}
