//! Counters of what the server did and refused, shared by every task.
//!
//! Plain relaxed atomics: each is written by many tasks and only ever read as a total.

use std::sync::atomic::{AtomicU64, Ordering};

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Connections that completed the WebSocket handshake.
    pub connections_accepted: AtomicU64,
    /// Handshakes that failed or timed out.
    pub handshakes_failed: AtomicU64,
    /// Frames that were not valid messages (answered with an error message).
    pub frames_malformed: AtomicU64,
    /// Connections closed for a text or oversize frame.
    pub frames_refused: AtomicU64,
    /// Inputs refused for NaN or infinite numbers.
    pub inputs_invalid: AtomicU64,
    /// Ticks the rooms gave up after falling too far behind.
    pub ticks_skipped: AtomicU64,
    /// Ticks that took longer than one tick period.
    pub tick_overruns: AtomicU64,
    /// Clients closed because their reliable queue overflowed.
    pub clients_too_slow: AtomicU64,
    /// Clients closed because nothing, not even a pong, arrived for the idle timeout.
    pub clients_timed_out: AtomicU64,
    /// Snapshots replaced by a newer one before a slow socket could take them (added up
    /// when each client leaves its room).
    pub snapshots_replaced: AtomicU64,
}

impl Metrics {
    /// Adds one to `counter`.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One line with every counter, for the log.
    pub fn summary(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "connections_accepted={} handshakes_failed={} frames_malformed={} frames_refused={} \
             inputs_invalid={} ticks_skipped={} tick_overruns={} clients_too_slow={} \
             clients_timed_out={} snapshots_replaced={}",
            get(&self.connections_accepted),
            get(&self.handshakes_failed),
            get(&self.frames_malformed),
            get(&self.frames_refused),
            get(&self.inputs_invalid),
            get(&self.ticks_skipped),
            get(&self.tick_overruns),
            get(&self.clients_too_slow),
            get(&self.clients_timed_out),
            get(&self.snapshots_replaced),
        )
    }
}
