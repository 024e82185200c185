//! The real Tickwire server, started in this process on a free port of 127.0.0.1, with
//! its admin endpoint on another: what the bots' tests run against, and where they read
//! the server's own counters (`/metrics`) when the server, not the bot, is the witness.

#![allow(dead_code)] // each test file uses its own part of this

use std::time::Duration;

use tickwire_server::Config;
use tokio::time::{Instant, sleep};

pub use tickwire_server::testing::LocalServer as RealServer;
use tickwire_server::testing::WAIT;

/// The defaults, but for a short shutdown grace: the bots have closed by the time a test
/// stops its server, and a test should not wait the full default for stragglers.
pub fn test_config() -> Config {
    Config {
        shutdown_grace_ms: 200,
        ..Config::default()
    }
}

/// Waits until `series` of the server's metrics reaches at least `at_least` (the server
/// counts a connection's end once it has dealt with it, a tick or so after the peer went),
/// and returns its value then; gives up after [`WAIT`] with the value it has.
pub async fn metric_reaching(server: &RealServer, series: &str, at_least: f64) -> f64 {
    let give_up = Instant::now() + WAIT;
    loop {
        let value = server.metric(series).await;
        if value >= at_least || Instant::now() >= give_up {
            return value;
        }
        // The server has no way to announce a metric; a tick is its grain.
        sleep(Duration::from_millis(10)).await;
    }
}
