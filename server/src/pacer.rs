//! Event coalescing for a single-threaded runtime.
//!
//! Left alone, the runtime thread sleeps in `epoll_wait` and is woken for every packet:
//! with hundreds of clients each sending 60 inputs a second, tens of thousands of wake-ups
//! a second, each a context switch that does almost no work. The pacer instead puts the
//! thread to sleep for a short, fixed slice whenever the runtime has caught up, and then
//! lets it take every event that arrived meanwhile in one pass, much as a network card
//! coalesces interrupts. Inputs only matter at the next tick, so the cost is at most one
//! slice of added latency (default 1 ms against a 16.7 ms tick).
//!
//! Only for a current-thread runtime: on a multi-threaded one it would stall a worker.

use std::time::Duration;

/// Sleeps the runtime thread for `slice` between passes over ready events, until
/// `shutdown` is cancelled.
pub async fn run(slice: Duration, shutdown: tokio_util::sync::CancellationToken) {
    while !shutdown.is_cancelled() {
        // Blocking on purpose: while this thread sleeps, events queue up in the kernel
        // instead of waking it one by one.
        std::thread::sleep(slice);
        // Deferred until the runtime has polled its I/O driver and run what that woke.
        tokio::task::yield_now().await;
    }
}
