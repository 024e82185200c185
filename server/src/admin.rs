//! The admin endpoint: a small HTTP server, on its own port, for the operator and the
//! orchestrator rather than for players.
//!
//! - `GET /healthz`: `200 ok` while serving, `503 draining` once shutdown has begun, so a
//!   load balancer stops sending players here.
//! - `GET /metrics`: every metric in the Prometheus (OpenMetrics) text format.
//! - `GET /rooms`: the open rooms as JSON: `[{"id", "players", "capacity", "private"}]`.
//! - `GET /info`: what a page needs to reach the game, as JSON: `{"game", "game_port",
//!   "tick_rate", "send_every", "protocol_version"}`.
//! - With `--playground DIR`, every other path is a file of `DIR` (`/` its `index.html`):
//!   the browser playground, whose operator page reads `/rooms` and `/metrics` from here.
//!
//! It lives on its own port so that it can be kept off the public network (the default
//! binds to loopback) while the game port is open to everyone.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

use crate::context::ServerContext;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What `/info` says: enough for a page served here to open the game's WebSocket.
#[derive(Debug, Clone, serde::Serialize)]
struct Info {
    game: String,
    game_port: u16,
    tick_rate: u16,
    send_every: u32,
    protocol_version: u16,
}

/// Serves the admin endpoint on `listener` for the game listening on `game_addr`, until
/// the server's shutdown is done (the caller drops this future).
///
/// # Errors
/// The listener failed.
pub async fn serve(
    listener: TcpListener,
    game_addr: SocketAddr,
    ctx: Arc<ServerContext>,
) -> std::io::Result<()> {
    let info = Info {
        game: ctx.config.game.clone(),
        game_port: game_addr.port(),
        tick_rate: ctx.config.tick_rate,
        send_every: ctx.config.send_every,
        protocol_version: tickwire_shared::PROTOCOL_VERSION,
    };
    let playground = ctx.config.playground.clone();
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/rooms", get(rooms))
        .route("/info", get(move || async move { axum::Json(info) }))
        .with_state(ctx);
    if let Some(dir) = playground {
        app = app.fallback_service(ServeDir::new(dir));
    }
    axum::serve(listener, app).await
}

async fn healthz(State(ctx): State<Arc<ServerContext>>) -> impl IntoResponse {
    if ctx.shutdown.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else {
        (StatusCode::OK, "ok\n")
    }
}

async fn metrics(State(ctx): State<Arc<ServerContext>>) -> impl IntoResponse {
    // Rooms and players are read from the registry when asked for, rather than kept up
    // to date by every join and leave.
    let rooms = ctx.rooms.list();
    let players: usize = rooms.iter().map(|r| r.players).sum();
    ctx.metrics
        .rooms
        .set(i64::try_from(rooms.len()).unwrap_or(i64::MAX));
    ctx.metrics
        .players
        .set(i64::try_from(players).unwrap_or(i64::MAX));
    ([(header::CONTENT_TYPE, OPENMETRICS)], ctx.metrics.encode())
}

async fn rooms(State(ctx): State<Arc<ServerContext>>) -> impl IntoResponse {
    axum::Json(ctx.rooms.list())
}
