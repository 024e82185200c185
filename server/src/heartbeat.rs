//! Keep-alive: when to ping a client, and when to give up on one that has gone silent.
//!
//! The server pings every client at a fixed interval (a WebSocket ping, which every
//! WebSocket library answers by itself) and ends a connection from which nothing at all,
//! not even a pong, has arrived for the idle timeout. That finds peers that vanished
//! without closing (a pulled cable, a suspended laptop), which TCP alone may not notice for
//! many minutes. Pure: the caller says what time it is and whether it heard the client.

use std::time::{Duration, Instant};

/// The two durations that govern keep-alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// How often the server pings.
    pub ping_interval: Duration,
    /// How long a client may stay silent before its connection is ended.
    pub idle_timeout: Duration,
}

/// What to do for one client now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// Nothing.
    Quiet,
    /// Send a ping.
    Ping,
    /// Nothing was heard for the idle timeout: end the connection.
    Dead,
}

/// One client's keep-alive state.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    last_heard: Instant,
    last_ping: Instant,
}

impl Liveness {
    /// A client heard from, and pinged, at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            last_heard: now,
            last_ping: now,
        }
    }

    /// Called now and then (every tick in a room): `heard` says whether anything arrived
    /// from the client since the last call.
    pub fn check(&mut self, now: Instant, heard: bool, rules: KeepAlive) -> Beat {
        if heard {
            self.last_heard = now;
        }
        if now.saturating_duration_since(self.last_heard) >= rules.idle_timeout {
            return Beat::Dead;
        }
        if now.saturating_duration_since(self.last_ping) >= rules.ping_interval {
            self.last_ping = now;
            return Beat::Ping;
        }
        Beat::Quiet
    }

    /// When the next call to [`Liveness::check`] could have something to do.
    pub fn next_due(&self, rules: KeepAlive) -> Instant {
        (self.last_ping + rules.ping_interval).min(self.last_heard + rules.idle_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: KeepAlive = KeepAlive {
        ping_interval: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(15),
    };

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn pings_at_the_interval_while_the_client_answers() {
        let t0 = Instant::now();
        let mut live = Liveness::new(t0);
        assert_eq!(live.check(t0 + secs(1), true, RULES), Beat::Quiet);
        assert_eq!(live.check(t0 + secs(5), false, RULES), Beat::Ping);
        assert_eq!(live.check(t0 + secs(6), true, RULES), Beat::Quiet);
        assert_eq!(live.check(t0 + secs(10), false, RULES), Beat::Ping);
        for s in 11..40 {
            let beat = live.check(t0 + secs(s), true, RULES);
            assert_ne!(beat, Beat::Dead, "an answering client never dies ({s} s)");
        }
    }

    #[test]
    fn a_silent_client_is_dead_after_the_idle_timeout() {
        let t0 = Instant::now();
        let mut live = Liveness::new(t0);
        assert_eq!(live.check(t0 + secs(5), false, RULES), Beat::Ping);
        assert_eq!(live.check(t0 + secs(10), false, RULES), Beat::Ping);
        assert_eq!(live.check(t0 + secs(14), false, RULES), Beat::Quiet);
        assert_eq!(live.check(t0 + secs(15), false, RULES), Beat::Dead);
    }

    #[test]
    fn next_due_is_the_earlier_of_ping_and_timeout() {
        let t0 = Instant::now();
        let mut live = Liveness::new(t0);
        assert_eq!(live.next_due(RULES), t0 + secs(5));
        live.check(t0 + secs(5), false, RULES);
        assert_eq!(live.next_due(RULES), t0 + secs(10));
        let short = KeepAlive {
            ping_interval: secs(20),
            idle_timeout: secs(3),
        };
        assert_eq!(Liveness::new(t0).next_due(short), t0 + secs(3));
    }
}
