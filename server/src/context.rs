//! What every connection task of one server shares: settings, the lobby (with the room
//! registry and the sessions), counters, limits, the handoff queue and the shutdown signal.
//! Rooms get only what they need (a `RoomEnv`), never the settings.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::conn_limits::ConnectionLimits;
use crate::handoff::Handoffs;
use crate::lobby::requests::Lobby;
use crate::metrics::Metrics;
use crate::peer::ClientRules;
use crate::rooms::Rooms;
use crate::sessions::Sessions;

/// Shared by an `Arc` between the listener and the connection tasks.
#[derive(Debug)]
pub struct ServerContext {
    /// The server's settings.
    pub config: Config,
    /// Every open room.
    pub rooms: Arc<Rooms>,
    /// Resume tokens and the players they take back.
    pub sessions: Arc<Sessions>,
    /// The lobby's rules, over the same rooms and sessions.
    pub lobby: Lobby,
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
    /// Where clients and new rooms go to be served by a task of their own.
    pub handoffs: Handoffs,
    /// Cancelled once, when the server starts shutting down.
    pub shutdown: CancellationToken,
    /// This node's place in the cluster; `None` when it runs alone.
    pub cluster: Option<Arc<Cluster>>,
}

impl ServerContext {
    /// A context for a server that has not accepted anything yet, handing its tasks on
    /// through `handoffs`, alone or in `cluster`.
    pub fn new(
        config: Config,
        shutdown: CancellationToken,
        handoffs: Handoffs,
        cluster: Option<Arc<Cluster>>,
    ) -> Self {
        let mut rooms = Rooms::new(config.room_limits());
        if let Some(cluster) = &cluster {
            rooms = rooms.of_node(&cluster.node);
        }
        let rooms = Arc::new(rooms);
        let mut sessions = Sessions::new(std::time::Duration::from_millis(config.resume_grace_ms));
        if let Some(cluster) = &cluster {
            sessions = sessions.of_node(&cluster.node);
        }
        let sessions = Arc::new(sessions);
        let metrics = Arc::new(Metrics::new());
        let mut client_rules = config.client_rules();
        client_rules.anon_node = cluster.as_ref().map(|c| Arc::from(c.node.as_str()));
        let mut lobby = Lobby::new(
            Arc::clone(&rooms),
            Arc::clone(&sessions),
            Arc::clone(&metrics),
            config.tick_rate,
        );
        if let Some(cluster) = &cluster {
            lobby = lobby.in_cluster(Arc::clone(&cluster.tickets));
        }
        Self {
            lobby,
            rooms,
            sessions,
            metrics,
            limits: Arc::new(ConnectionLimits::new(
                config.max_connections,
                config.max_connections_per_ip,
                config.limit_loopback,
            )),
            handshakes: Arc::new(tokio::sync::Semaphore::new(
                config.max_pending_handshakes.max(1),
            )),
            client_rules,
            auth: config
                .auth_secret
                .as_deref()
                .map(|secret| Auth::new(secret.as_bytes())),
            handoffs,
            config,
            shutdown,
            cluster,
        }
    }
}
