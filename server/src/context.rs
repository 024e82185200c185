//! What every task of one server shares: settings, the room registry, counters and the
//! shutdown signal.

use std::sync::atomic::{AtomicU32, Ordering};

use tickwire_shared::PlayerId;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::rooms::Rooms;

/// Shared by an `Arc` between the listener, the connections and the rooms.
#[derive(Debug)]
pub struct ServerContext {
    /// The server's settings.
    pub config: Config,
    /// Every open room.
    pub rooms: Rooms,
    /// Counters.
    pub metrics: Metrics,
    /// Cancelled once, when the server starts shutting down.
    pub shutdown: CancellationToken,
    /// Every connection and room task, so shutdown can wait for them.
    pub tracker: TaskTracker,
    next_player_id: AtomicU32,
}

impl ServerContext {
    /// A context for a server that has not accepted anything yet.
    pub fn new(config: Config, shutdown: CancellationToken) -> Self {
        Self {
            config,
            rooms: Rooms::default(),
            metrics: Metrics::default(),
            shutdown,
            tracker: TaskTracker::new(),
            next_player_id: AtomicU32::new(1),
        }
    }

    /// A player id not given out before by this server (ids start at 1).
    pub fn new_player_id(&self) -> PlayerId {
        self.next_player_id.fetch_add(1, Ordering::Relaxed)
    }
}
