//! What every task of one server shares: settings, the room registry, counters and the
//! shutdown signal.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tickwire_shared::PlayerId;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::client::ClientRules;
use crate::config::Config;
use crate::conn_limits::ConnectionLimits;
use crate::metrics::Metrics;
use crate::rooms::Rooms;
use crate::sessions::Sessions;

/// Shared by an `Arc` between the listener, the connections and the rooms.
#[derive(Debug)]
pub struct ServerContext {
    /// The server's settings.
    pub config: Config,
    /// Every open room.
    pub rooms: Rooms,
    /// Resume tokens and the players they take back.
    pub sessions: Sessions,
    /// What the server did and refused.
    pub metrics: Arc<Metrics>,
    /// Connections counted against the total and per-address limits.
    pub limits: Arc<ConnectionLimits>,
    /// Permits for handshakes under way, so slow handshakes cannot hold unbounded sockets.
    pub handshakes: Arc<tokio::sync::Semaphore>,
    /// The limits each client is held to.
    pub client_rules: ClientRules,
    /// Checks the token of every handshake; `None` runs the server in anonymous
    /// development mode, where anyone can connect as anyone.
    pub auth: Option<Auth>,
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
            metrics: Arc::new(Metrics::new()),
            limits: Arc::new(ConnectionLimits::new(
                config.max_connections,
                config.max_connections_per_ip,
                config.limit_loopback,
            )),
            handshakes: Arc::new(tokio::sync::Semaphore::new(
                config.max_pending_handshakes.max(1),
            )),
            client_rules: config.client_rules(),
            auth: config
                .auth_secret
                .as_deref()
                .map(|secret| Auth::new(secret.as_bytes())),
            sessions: Sessions::new(std::time::Duration::from_millis(config.resume_grace_ms)),
            config,
            rooms: Rooms::default(),
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
