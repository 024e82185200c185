//! Getting back after a lost connection: how long to wait before each attempt, and when to
//! give up.
//!
//! Attempt `n` (from 1) waits `min(base · 2^(n−1), cap) · (0.5 + r · 0.5)`, with `r` drawn
//! uniformly from [0, 1): exponential backoff, so a server that is down is not hammered,
//! and jitter, so bots dropped together do not all come back in the same instant.
//!
//! What one attempt does is the caller's [`Rejoin`]: for every kind of bot,
//! [`Rejoiner`](crate::rejoin::Rejoiner), which connects to the next node round the list
//! and presents the resume token when the bot has one (an honest bot), falling back to a
//! hello and join on the same connection when it is refused, or says hello and joins at
//! once when it has none (a misbehaving bot). The policy here is the same for all.

use std::time::Duration;

use tokio::time::{Instant, sleep_until, timeout_at};

use crate::CONNECT_TIMEOUT;
use crate::rng::XorShift64;

/// How a bot gets back after its connection was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// The wait before the first attempt, before jitter; at least 1 ms.
    pub base: Duration,
    /// The longest wait between two attempts, before jitter; at least `base`.
    pub cap: Duration,
    /// Attempts before giving up; at least 1.
    pub max_attempts: u32,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
            max_attempts: 10,
        }
    }
}

impl ReconnectPolicy {
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.base >= Duration::from_millis(1),
            "the backoff base must be at least 1 ms"
        );
        anyhow::ensure!(
            self.cap >= self.base,
            "the backoff cap ({:?}) must be at least its base ({:?})",
            self.cap,
            self.base
        );
        anyhow::ensure!(self.max_attempts >= 1, "max attempts must be at least 1");
        Ok(())
    }

    /// The wait before attempt `attempt` (counted from 1), with `random` in [0, 1) for the
    /// jitter.
    pub(crate) fn delay(&self, attempt: u32, random: f64) -> Duration {
        // 2^(attempt − 1), saturating: from attempt 33 on the cap applies anyway.
        let doubling = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let full = self.base.saturating_mul(doubling).min(self.cap);
        let factor = 0.5 + random.clamp(0.0, 1.0) * 0.5;
        // A factor of at most 1 cannot overflow, but rounding near `Duration::MAX` could.
        Duration::try_from_secs_f64(full.as_secs_f64() * factor).unwrap_or(full)
    }
}

/// One attempt to be back where the bot was: by resume, or afresh.
pub(crate) trait Rejoin {
    /// What a successful attempt gives: a connection back in the room.
    type Conn;

    /// Connects and gets back into the room; any failure is one failed attempt. The caller
    /// bounds it in time.
    async fn attempt(&mut self) -> anyhow::Result<Self::Conn>;
}

/// How a reconnection ended.
pub(crate) enum Outcome<C> {
    /// Back in the room.
    Back(C),
    /// Every attempt failed; `last_error` says why the last one did.
    GaveUp { last_error: String },
    /// The swarm's deadline came first: neither a success nor a failure.
    Deadline,
}

/// Tries `rejoin` up to `policy.max_attempts` times, waiting the backoff before each, until
/// one succeeds or `deadline` comes. Each attempt is bounded by [`CONNECT_TIMEOUT`].
pub(crate) async fn reconnect<R: Rejoin>(
    policy: &ReconnectPolicy,
    deadline: Instant,
    rng: &mut XorShift64,
    rejoin: &mut R,
) -> Outcome<R::Conn> {
    let mut last_error = String::new();
    for attempt in 1..=policy.max_attempts {
        let at = Instant::now() + policy.delay(attempt, rng.next_unit());
        if at >= deadline {
            return Outcome::Deadline;
        }
        sleep_until(at).await;
        let limit = deadline.min(Instant::now() + CONNECT_TIMEOUT);
        match timeout_at(limit, rejoin.attempt()).await {
            Ok(Ok(conn)) => return Outcome::Back(conn),
            // Each failure is a single message; `{:#}` would repeat an I/O cause.
            Ok(Err(failure)) => last_error = failure.to_string(),
            Err(_) if limit == deadline => return Outcome::Deadline,
            Err(_) => last_error = format!("no Joined within {CONNECT_TIMEOUT:?}"),
        }
        tracing::trace!(attempt, "reconnect failed: {last_error}");
    }
    Outcome::GaveUp { last_error }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_wait_doubles_from_the_base_up_to_the_cap() {
        let p = ReconnectPolicy::default();
        // The largest jitter factor (r → 1) is the full wait.
        let full = |attempt| p.delay(attempt, 1.0);
        assert_eq!(full(1), ms(100));
        assert_eq!(full(2), ms(200));
        assert_eq!(full(3), ms(400));
        assert_eq!(full(6), ms(3200));
        assert_eq!(full(7), ms(5000));
        assert_eq!(full(10), ms(5000));
    }

    #[test]
    fn jitter_takes_between_half_and_all_of_the_wait() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.delay(1, 0.0), ms(50));
        assert_eq!(p.delay(1, 0.5), ms(75));
        assert_eq!(p.delay(3, 0.0), ms(200));
        assert_eq!(p.delay(20, 0.0), ms(2500));
        // Out-of-range randomness is clamped rather than trusted.
        assert_eq!(p.delay(1, -3.0), ms(50));
        assert_eq!(p.delay(1, 7.0), ms(100));
        let mut rng = XorShift64::seeded(9);
        for attempt in 1..=12 {
            let full = p.delay(attempt, 1.0);
            let d = p.delay(attempt, rng.next_unit());
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn absurd_attempt_numbers_saturate_at_the_cap() {
        let p = ReconnectPolicy {
            base: Duration::from_secs(1),
            cap: Duration::MAX,
            max_attempts: u32::MAX,
        };
        assert_eq!(p.delay(0, 1.0), Duration::from_secs(1));
        assert_eq!(p.delay(32, 1.0), Duration::from_secs(1 << 31));
        assert_eq!(p.delay(33, 1.0), Duration::from_secs(u64::from(u32::MAX)));
        assert_eq!(
            p.delay(u32::MAX, 1.0),
            Duration::from_secs(u64::from(u32::MAX))
        );
        let huge = ReconnectPolicy {
            base: Duration::MAX,
            ..p
        };
        assert!(huge.delay(5, 1.0) >= Duration::from_secs(u64::MAX / 2));
    }

    #[test]
    fn unusable_policies_are_refused() {
        assert!(ReconnectPolicy::default().check().is_ok());
        for bad in [
            ReconnectPolicy {
                base: Duration::ZERO,
                ..ReconnectPolicy::default()
            },
            ReconnectPolicy {
                cap: ms(50),
                ..ReconnectPolicy::default()
            },
            ReconnectPolicy {
                max_attempts: 0,
                ..ReconnectPolicy::default()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }

    /// A `Rejoin` that fails a given number of times, then succeeds.
    struct FailsFirst {
        failures_left: u32,
        attempts: u32,
    }

    impl Rejoin for FailsFirst {
        type Conn = u32;

        async fn attempt(&mut self) -> anyhow::Result<u32> {
            self.attempts += 1;
            if self.failures_left == 0 {
                return Ok(self.attempts);
            }
            self.failures_left -= 1;
            anyhow::bail!("refused")
        }
    }

    fn quick(max_attempts: u32) -> ReconnectPolicy {
        ReconnectPolicy {
            base: ms(1),
            cap: ms(4),
            max_attempts,
        }
    }

    #[tokio::test]
    async fn tries_until_back_or_out_of_attempts() {
        let far = Instant::now() + Duration::from_secs(10);
        let mut rng = XorShift64::seeded(1);
        let mut flaky = FailsFirst {
            failures_left: 2,
            attempts: 0,
        };
        match reconnect(&quick(3), far, &mut rng, &mut flaky).await {
            Outcome::Back(3) => {}
            _ => panic!("expected to be back at the third attempt"),
        }

        let mut dead = FailsFirst {
            failures_left: u32::MAX,
            attempts: 0,
        };
        match reconnect(&quick(4), far, &mut rng, &mut dead).await {
            Outcome::GaveUp { last_error } => assert_eq!(last_error, "refused"),
            _ => panic!("expected to give up"),
        }
        assert_eq!(dead.attempts, 4);
    }

    #[tokio::test]
    async fn the_deadline_ends_a_reconnection_without_failing_it() {
        let soon = Instant::now() + ms(20);
        let mut rng = XorShift64::seeded(1);
        let policy = ReconnectPolicy {
            base: ms(100),
            cap: ms(100),
            max_attempts: 10,
        };
        let mut never = FailsFirst {
            failures_left: u32::MAX,
            attempts: 0,
        };
        assert!(matches!(
            reconnect(&policy, soon, &mut rng, &mut never).await,
            Outcome::Deadline
        ));
        assert_eq!(never.attempts, 0);
    }
}
