//! Tickwire's server: an authoritative, fixed-timestep multiplayer game-state server over
//! binary WebSocket.
//!
//! Clients connect, say hello, join a room, and send inputs; each room runs its game at a
//! fixed tick rate in its own task and sends every player a MessagePack snapshot each tick.
//! `ARCHITECTURE.md` maps the modules; `PROTOCOL.md` describes the wire.
//!
//! Embedding the server: bind a listener, then run until a token is cancelled.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use tokio_util::sync::CancellationToken;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7000").await?;
//! let shutdown = CancellationToken::new();
//! tickwire_server::run(listener, tickwire_server::Config::default(), shutdown).await
//! # }
//! ```

pub mod admin;
pub mod auth;
pub mod chat;
pub mod client;
pub mod cluster;
pub mod config;
pub mod conn_limits;
pub mod connection;
pub mod context;
pub mod game;
pub mod games;
pub mod handoff;
pub mod handshake;
pub mod heartbeat;
pub mod identity;
pub mod inbound;
pub mod link;
pub mod listener;
pub mod lobby;
pub mod metrics;
pub mod outbox;
pub mod peer;
pub mod rate_limit;
pub mod record;
pub mod registry;
pub mod room;
pub mod rooms;
pub mod sessions;
pub mod snapshot;
pub mod socket;
pub mod stage;
pub mod testing;
pub mod tick_clock;
pub mod transport;
pub mod workers;

pub use config::Config;
pub use listener::{run, run_with_admin};
