//! The progress line printed to stderr once a second while the swarm runs:
//! `t=3s connected=480/500 snapshots/s=28800 errors=0`.
//!
//! The bots bump a few shared atomic counters as they go (relaxed: the line only needs
//! numbers that are roughly current, not ordered with anything else), and one small task
//! reads them once a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval_at};

/// Counters the bots update and the progress line reads.
#[derive(Debug, Default)]
pub(crate) struct LiveCounters {
    /// Bots in their room right now.
    connected: AtomicUsize,
    /// Snapshots received by all bots so far.
    snapshots: AtomicU64,
    /// Errors seen by all bots so far.
    errors: AtomicU64,
}

impl LiveCounters {
    pub(crate) fn joined(&self) {
        self.connected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn left(&self) {
        self.connected.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) {
        self.snapshots.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Starts the task printing the line once a second; abort it when the swarm is done.
pub(crate) fn spawn_printer(
    counters: Arc<LiveCounters>,
    start: Instant,
    bots: usize,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let second = Duration::from_secs(1);
        let mut ticks = interval_at(start + second, second);
        // A late line is better than a burst of catch-up lines.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut last_at = start;
        let mut last_snapshots = 0;
        loop {
            ticks.tick().await;
            let now = Instant::now();
            let snapshots = counters.snapshots.load(Ordering::Relaxed);
            // Divide by the real time since the last line, which a busy machine stretches.
            let per_s = rate(snapshots.saturating_sub(last_snapshots), now - last_at);
            eprintln!(
                "{}",
                line(
                    now - start,
                    counters.connected.load(Ordering::Relaxed),
                    bots,
                    per_s,
                    counters.errors.load(Ordering::Relaxed),
                )
            );
            last_at = now;
            last_snapshots = snapshots;
        }
    })
}

/// `count` events over `over`, per second, rounded; 0 over no time.
fn rate(count: u64, over: Duration) -> u64 {
    if over.is_zero() {
        0
    } else {
        (count as f64 / over.as_secs_f64()).round() as u64
    }
}

/// The progress line itself.
fn line(
    elapsed: Duration,
    connected: usize,
    bots: usize,
    snapshots_per_s: u64,
    errors: u64,
) -> String {
    format!(
        "t={}s connected={connected}/{bots} snapshots/s={snapshots_per_s} errors={errors}",
        elapsed.as_secs_f64().round()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_reads_as_documented() {
        assert_eq!(
            line(Duration::from_millis(3004), 480, 500, 28800, 0),
            "t=3s connected=480/500 snapshots/s=28800 errors=0"
        );
    }

    #[test]
    fn rate_divides_by_real_elapsed_time() {
        assert_eq!(rate(28800, Duration::from_secs(1)), 28800);
        assert_eq!(rate(30000, Duration::from_millis(1250)), 24000);
        assert_eq!(rate(5, Duration::ZERO), 0);
    }

    #[test]
    fn counters_count() {
        let c = LiveCounters::default();
        c.joined();
        c.joined();
        c.left();
        c.snapshot();
        c.error();
        assert_eq!(c.connected.load(Ordering::Relaxed), 1);
        assert_eq!(c.snapshots.load(Ordering::Relaxed), 1);
        assert_eq!(c.errors.load(Ordering::Relaxed), 1);
    }
}
