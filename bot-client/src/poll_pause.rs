//! Reading in batches: a task that holds the bots' runtime thread still for a moment
//! between polls of its sockets ([`SwarmConfig::poll_pause`](crate::SwarmConfig)).
//!
//! A bot thread that keeps up with the server sleeps in the kernel until the next packet
//! and is woken for each one, so each wake-up serves one snapshot. Paused between polls,
//! it finds many sockets ready at each poll instead, and the server's sends need not wake
//! a sleeping reader: on this machine the bots then spent 5-10% less CPU at 2,000
//! clients (README, "Load testing with the bot swarm"). The price is that a snapshot may
//! be timed up to one pause late, so intervals carry up to that much more jitter.

use std::time::Duration;

use tokio::time::Instant;

/// Until `until`: blocks the thread for `pause`, then yields, which lets the runtime poll
/// its I/O driver and run every bot that became ready before this task runs again.
///
/// Meant for a current-thread runtime (the bots' default); on a multi-thread one it holds
/// only the worker it runs on.
pub(crate) async fn run(pause: Duration, until: Instant) {
    while Instant::now() < until {
        // Blocking on purpose: the point is that nothing else runs on this thread meanwhile.
        std::thread::sleep(pause);
        tokio::task::yield_now().await;
    }
}
